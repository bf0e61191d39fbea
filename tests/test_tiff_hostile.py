"""Hostile TIFFs (issue 19, item 4): what tifffile logs about a damaged file becomes one
``specimg: error:`` line (or, for the stored phase's tag, one ``PhaseWarning``), and the
chain of pages is walked no further than a specimg TIFF can reach.

Each file is a stereo specimg TIFF with a stored phase, patched with ``struct``: an IFD
chain that loops back to the first page, a phase tag (65111) claiming 2³¹ bytes, a phase
tag of numbers, StripOffsets/StripByteCounts claiming 2³⁰ values, and 300 000 pages.
"""

from __future__ import annotations

import logging
import struct
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

import specimg
from specimg.cli import cli
from specimg.errors import FormatError, PhaseWarning
from specimg.image import SpectrogramImage
from specimg.params import SpectrogramParams
from specimg.pictures import MAX_TIFF_PAGES, read_picture, tiff_log_captured
from specimg.stored_phase import StoredPhase


def _ifds(data: bytes) -> list[tuple[int, dict[int, int], int]]:
    """(offset, {tag: offset of its 12-byte entry}, offset of the next-IFD pointer) of each IFD of a little-endian TIFF."""
    assert data[:4] == b"II*\x00"
    out = []
    offset = struct.unpack_from("<I", data, 4)[0]
    while offset:
        n = struct.unpack_from("<H", data, offset)[0]
        entries = {struct.unpack_from("<H", data, offset + 2 + 12 * i)[0]: offset + 2 + 12 * i for i in range(n)}
        out.append((offset, entries, offset + 2 + 12 * n))
        offset = struct.unpack_from("<I", data, offset + 2 + 12 * n)[0]
    return out


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stereo 16-bit specimg TIFF with a stored phase (random pixels and phase: no STFT, no librosa)."""
    params = SpectrogramParams(sr=8000, n_fft=256, n_channels=2, n_samples=8000)
    rng, frames = np.random.default_rng(19), int(params.n_frames or 0)
    pixels = rng.integers(0, 1 << 16, (params.n_channels * params.n_bins, frames)).astype(np.uint16)
    stft = np.exp(1j * rng.uniform(-np.pi, np.pi, (params.n_channels, params.n_fft // 2 + 1, frames)))
    img = SpectrogramImage(pixels, params, StoredPhase.from_stft(stft, pixels, params))
    return specimg.save(img, tmp_path_factory.mktemp("tiff") / "original.tif")


@pytest.fixture(scope="module")
def many_pages(original: Path) -> Path:
    return _patched(original, "pages", original.parent)


def _patched(original: Path, case: str, folder: Path) -> Path:
    data = bytearray(original.read_bytes())
    pages = _ifds(bytes(data))
    assert len(pages) == 2 and 65111 in pages[0][1]
    if case == "loop":  # the last page's next-IFD pointer leads back to the first page
        struct.pack_into("<I", data, pages[-1][2], pages[0][0])
    elif case == "phase_count":  # tag 65111 (UNDEFINED) claims 2**31 bytes
        struct.pack_into("<I", data, pages[0][1][65111] + 4, 1 << 31)
    elif case == "phase_numbers":  # tag 65111 as one LONG 2**31 - 1: bytes(value) would allocate 2 GiB
        struct.pack_into("<HII", data, pages[0][1][65111] + 2, 4, 1, (1 << 31) - 1)
    elif case == "strips":  # StripOffsets and StripByteCounts claim 2**30 values
        for tag in (273, 279):
            struct.pack_into("<I", data, pages[0][1][tag] + 4, 1 << 30)
    elif case == "pages":  # 300 000 pages: page 2's IFD again and again (~48 MB)
        second, _, pointer = pages[1]
        ifd = np.frombuffer(bytes(data[second:pointer]) + bytes(4), np.uint8)
        start, n = len(data), 300_000 - 2
        struct.pack_into("<I", data, pointer, start)
        copies = np.tile(ifd, (n, 1))
        nexts = (start + len(ifd) * np.arange(1, n + 1)).astype("<u4")
        nexts[-1] = 0
        copies[:, -4:] = nexts.view(np.uint8).reshape(n, 4)
        data += copies.tobytes()
    else:
        raise AssertionError(case)
    path = folder / f"{case}.tif"
    path.write_bytes(bytes(data))
    return path


def _info(path: Path, caplog: pytest.LogCaptureFixture) -> tuple[int, str, str]:
    """``specimg info PATH`` in-process: exit status, stdout, stderr; checks that nothing reached the logging system."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = CliRunner().invoke(cli, ["info", str(path)], prog_name="specimg")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert not [r for r in caplog.records if r.name.startswith("tifffile")], caplog.text
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("case", "expected"),
    [("loop", "the chain of pages loops"), ("strips", "TiffTag 273"), ("pages", f"more than {MAX_TIFF_PAGES} pages")],
)
def test_a_damaged_tiff_is_one_error_line(
    original: Path, tmp_path: Path, case: str, expected: str, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    path = request.getfixturevalue("many_pages") if case == "pages" else _patched(original, case, tmp_path)
    status, _, stderr = _info(path, caplog)
    assert status == 1
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("specimg: error: ") and expected in stderr, stderr
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(("case", "expected"), [("phase_count", "TiffTag 65111"), ("phase_numbers", "not bytes")])
def test_an_unreadable_phase_tag_is_one_phase_warning(
    original: Path, tmp_path: Path, case: str, expected: str, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = _patched(original, case, tmp_path)
    status, stdout, stderr = _info(path, caplog)
    assert status == 0, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("specimg: warning: ") and "phase tag" in stderr and expected in stderr, stderr
    assert "stored phase    none" in stdout
    assert capsys.readouterr() == ("", "")
    with pytest.warns(PhaseWarning, match=expected) as caught:
        img = specimg.load(path)
    assert len(caught) == 1 and img.phase is None
    assert np.array_equal(img.pixels, specimg.load(original).pixels)


def test_the_page_walk_stops_after_max_pages(
    many_pages: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = many_pages
    seen = []
    init = tifffile.TiffPage.__init__

    def spy(self: tifffile.TiffPage, *args: object, **kwargs: object) -> None:
        seen.append(1)
        init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tifffile.TiffPage, "__init__", spy)
    start = time.perf_counter()
    with pytest.raises(FormatError, match=f"more than {MAX_TIFF_PAGES} pages"):
        read_picture(path, pixels=False)
    elapsed = time.perf_counter() - start
    assert len(seen) <= MAX_TIFF_PAGES + 1, len(seen)
    with capsys.disabled():
        print(f"\n  300 000-page TIFF refused after reading {len(seen)} pages in {elapsed:.3f} s", file=sys.stderr)


def test_the_installed_command_refuses_300000_pages_at_once(many_pages: Path) -> None:
    script = Path(sys.executable).with_name("specimg")
    if not script.exists():
        pytest.skip(f"console script not installed beside {sys.executable}")
    path = many_pages
    start = time.perf_counter()
    done = subprocess.run([str(script), "info", str(path)], capture_output=True, text=True, timeout=60, check=False)
    elapsed = time.perf_counter() - start
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith("specimg: error: ")
    print(f"specimg info on 300 000 pages: {elapsed:.2f} s (was > 90 s)")


def test_a_capture_restores_the_logger_and_keeps_threads_apart() -> None:
    logger = logging.getLogger("tifffile")
    before = (logger.propagate, logger.level, list(logger.handlers))
    barrier = threading.Barrier(2)
    got: dict[str, list[str]] = {}

    def work(name: str) -> None:
        with tiff_log_captured() as records:
            barrier.wait()
            logger.error(f"from {name}")
            barrier.wait()
        got[name] = [r.getMessage() for r in records]

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {"a": ["from a"], "b": ["from b"]}
    with tiff_log_captured() as outer:
        with tiff_log_captured() as inner:
            logger.warning("inner")
        logger.warning("outer")
    assert [r.getMessage() for r in inner] == ["inner"] and [r.getMessage() for r in outer] == ["outer"]
    assert (logger.propagate, logger.level, list(logger.handlers)) == before


def test_an_intact_tiff_reads_without_warnings(original: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = specimg.load(original)
    assert img.phase is not None and img.params.n_channels == 2
