"""Memory budget and estimates before work (issue 12, "small files force huge memory").

Every case is a small crafted file or a low ``SPECIMG_MAX_MEMORY``: nothing here allocates
what the refused job would have needed.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import specimg
from specimg import FormatError, ParameterError, ResourceError, SpecimgError, SpectrogramParams
from specimg.cli import cli
from specimg.pictures import read_picture
from specimg.resources import (
    ENV_VAR,
    check_memory,
    decode_bytes,
    format_size,
    memory_budget,
    memory_limit,
    parse_size,
    stft_bytes,
)

SR = 22050


def _png_header_only(path: Path, width: int, height: int, *, bit_depth: int = 16, text: str | None = None) -> Path:
    """A PNG whose IHDR claims ``width`` × ``height`` gray pixels, with ``text`` in the specimg
    iTXt chunk and one empty IDAT: reading its pixels would fail, so any error about its
    size proves that no pixel was decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    itxt = b"" if text is None else chunk(b"iTXt", b"specimg\x00\x00\x00\x00\x00" + text.encode())
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + itxt + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
def no_env_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


# ---------------------------------------------------------------------------- the budget
@pytest.mark.parametrize(
    "text, expected",
    [("2G", 2 << 30), ("512M", 512 << 20), ("1.5GiB", 3 << 29), ("64kb", 64 << 10), ("1000", 1000), (4096, 4096)],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "", "-1G", "0", "2X", "1e3", True])
def test_parse_size_refuses(text: object) -> None:
    with pytest.raises(ParameterError, match="size such as 2G"):
        parse_size(text)  # type: ignore[arg-type]


def test_budget_default_env_and_limit(monkeypatch: pytest.MonkeyPatch, no_env_budget: None) -> None:
    default = memory_budget()
    assert 0 < default < 1 << 50
    monkeypatch.setenv(ENV_VAR, "3G")
    assert memory_budget() == 3 << 30
    with memory_limit("1G") as budget:
        assert budget == memory_budget() == 1 << 30
        assert os.environ[ENV_VAR] == str(1 << 30)  # worker processes inherit it
    assert memory_budget() == 3 << 30 and os.environ[ENV_VAR] == "3G"
    monkeypatch.setenv(ENV_VAR, "nonsense")
    with pytest.raises(ParameterError, match=ENV_VAR):
        memory_budget()


def test_check_memory_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "6G")
    check_memory(5 << 30, "a job")
    with pytest.raises(ResourceError) as info:
        check_memory(11.8 * 2**30, "decode (n_fft=131072, 3000 frames)", "use a smaller n_fft")
    message = str(info.value)
    assert "\n" not in message
    for fragment in ("decode (n_fft=131072, 3000 frames) needs ~11.8 GiB", "budget is 6.0 GiB", "use a smaller n_fft",
                     "--max-memory", ENV_VAR):  # fmt: skip
        assert fragment in message
    assert isinstance(info.value, MemoryError) and isinstance(info.value, SpecimgError)
    assert format_size(10) == "10 B"


def test_estimates_scale_with_the_sizes() -> None:
    assert stft_bytes(60 * 44100, n_fft=2048, hop_length=1) > 50 << 30
    assert stft_bytes(60 * 44100, n_fft=2048, hop_length=512) < 200 << 20
    # decode works in blocks of 2048 frames: frames beyond that cost little
    assert decode_bytes(131072, 3000) > 10 << 30
    assert decode_bytes(2048, 20000) < 2 * decode_bytes(2048, 2048)


# ---------------------------------------------------------------------------- load: header before pixels
def test_huge_picture_with_small_metadata_fails_before_pixels(tmp_path: Path) -> None:
    """The 2 MB PNG of 32768×32768 16-bit zeros with metadata for 257 rows (here without its
    pixel data at all: decoding it would fail differently)."""
    p = SpectrogramParams(sr=SR, n_fft=512, n_samples=SR)
    path = _png_header_only(tmp_path / "bomb.png", 32768, 32768, text=p.to_json())
    start = time.perf_counter()
    for call in (lambda: specimg.load(path), lambda: specimg.decode(path, quality="fast")):
        with pytest.raises(FormatError, match=r"has 32768 rows \(from its header\) but its parameters call for 257"):
            call()
    assert time.perf_counter() - start < 1.0


def test_columns_checked_from_header(tmp_path: Path) -> None:
    p = SpectrogramParams(sr=SR, n_fft=512, n_samples=SR)
    path = _png_header_only(tmp_path / "wide.png", 100_000, 257, text=p.to_json())
    with pytest.raises(FormatError, match="has 100000 columns .* calls for 173 frames"):
        specimg.load(path)


def test_pixel_decode_is_estimated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    img = specimg.encode(np.sin(np.linspace(0, 400, SR)), SR, n_fft=256)
    path = specimg.save(img, tmp_path / "a.png")
    monkeypatch.setenv(ENV_VAR, "16K")
    with pytest.raises(ResourceError, match=r"reading the pixels of .*a\.png.* needs ~"):
        read_picture(path)
    with pytest.raises(ResourceError):
        specimg.load(path)
    assert read_picture(path, pixels=False).size == (1, 129, img.n_frames)  # the header costs nothing
    monkeypatch.setenv(ENV_VAR, "1G")
    assert np.array_equal(specimg.load(path).pixels, img.pixels)


# ---------------------------------------------------------------------------- decode
def _big_fft_png(tmp_path: Path) -> Path:
    """Header of the 526 KB image with valid metadata: n_fft 131072, hop 32768, 3000 frames."""
    p = SpectrogramParams(sr=44100, n_fft=131072, hop_length=32768, n_samples=32768 * 2999)
    assert p.n_frames == 3000
    return _png_header_only(tmp_path / "bigfft.png", 3000, 65537, text=p.to_json())


def test_decode_refuses_before_reading_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _big_fft_png(tmp_path)
    monkeypatch.setenv(ENV_VAR, "4G")
    start = time.perf_counter()
    with pytest.raises(ResourceError, match=r"decode \(n_fft=131072, 3000 frames\) needs ~1\d\.\d GiB .* 4\.0 GiB"):
        specimg.decode(path, n_iter=2)
    with pytest.raises(ResourceError):
        specimg.decode_file(path, tmp_path / "out.wav", n_iter=2)
    assert time.perf_counter() - start < 1.0
    assert not (tmp_path / "out.wav").exists()


def test_decode_of_an_image_in_memory_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    img = specimg.encode(np.sin(np.linspace(0, 400, SR)), SR, n_fft=256)
    monkeypatch.setenv(ENV_VAR, "1M")
    with pytest.raises(ResourceError, match=r"decode \(n_fft=256"):
        specimg.decode(img, quality="fast")
    monkeypatch.setenv(ENV_VAR, "1G")
    assert specimg.decode(img, quality="fast")[0].shape == (SR,)


# ---------------------------------------------------------------------------- encode and read_audio
def test_encode_refuses_a_huge_stft(monkeypatch: pytest.MonkeyPatch) -> None:
    y = 0.1 * np.sin(np.linspace(0, 4000, SR))
    monkeypatch.setenv(ENV_VAR, "100M")
    with pytest.raises(ResourceError, match=r"encode \(n_fft=2048, hop_length=1: 22051 frames of 1025 bins\)"):
        specimg.encode(y, SR, hop_length=1)
    assert specimg.encode(y, SR).n_frames == 44  # the default hop fits


def test_sample_rate_checked_before_reading_or_resampling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(SR), SR)

    def no_resampling(*args: object, **kwargs: object) -> None:
        raise AssertionError("resampled before checking sr")

    monkeypatch.setattr("librosa.resample", no_resampling)
    for sr in (2_000_000_000, 0, -5):
        with pytest.raises(ParameterError, match=f"sr={sr} is out of range"):
            specimg.read_audio(wav, sr=sr)
        with pytest.raises(ParameterError):
            specimg.encode_file(wav, tmp_path / "a.png", sr=sr)
    assert not (tmp_path / "a.png").exists()


def test_read_audio_estimates_reading_and_resampling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(SR), SR)
    monkeypatch.setenv(ENV_VAR, "1M")  # 22050 samples read: ~350 KB; at 1 MHz: ~1 MB more
    assert specimg.read_audio(wav)[0].shape == (SR,)
    with pytest.raises(ResourceError, match=r"resampled from 22050 to 1000000 Hz.*lower sr"):
        specimg.read_audio(wav, sr=1_000_000)


# ---------------------------------------------------------------------------- CLI
def test_cli_max_memory(tmp_path: Path, no_env_budget: None) -> None:
    wav = tmp_path / "a.wav"
    sf.write(wav, 0.1 * np.sin(np.linspace(0, 4000, SR)), SR)
    runner = CliRunner()
    before = memory_budget()
    result = runner.invoke(cli, ["--max-memory", "64K", "encode", str(wav), str(tmp_path / "a.png")])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("specimg: error: ") and "needs ~" in lines[0]
    assert "budget is 64 KiB (set by --max-memory)" in lines[0]
    assert not (tmp_path / "a.png").exists()
    assert ENV_VAR not in os.environ and abs(memory_budget() - before) < before // 2  # restored after the run
    result = runner.invoke(cli, ["--max-memory", "lots", "info", str(wav)])
    assert result.exit_code == 1 and "--max-memory" in result.stderr  # a usage error: one line, exit 1
    result = runner.invoke(cli, ["--max-memory", "1G", "encode", str(wav), str(tmp_path / "a.png")])
    assert result.exit_code == 0, result.output


def test_refusal_peak_memory_stays_small(tmp_path: Path) -> None:
    """The decode refusal in a fresh process: peak RSS stays near that of ``import specimg``."""
    path = _big_fft_png(tmp_path)
    code = (
        "import resource, sys, specimg\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        f"    specimg.decode({str(path)!r}, n_iter=2)\n"
        "except specimg.ResourceError:\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n"
    )
    env = dict(os.environ, **{ENV_VAR: "4G"})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout.strip(), out.stderr
    assert int(out.stdout) < 100 * 1024  # KiB: under 100 MB above the import
