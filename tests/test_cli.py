"""The ``specimg`` command, run in-process through click's ``CliRunner`` (fast), and a few
smoke tests that run the installed command in a subprocess exactly as a user runs it.

Every command exits 0 on success; on bad input it exits 1 with one ``specimg: error: ...``
line on stderr, no traceback, and no output file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from PIL import Image

import specimg
from specimg.cli import cli

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
SPEECH = SAMPLE_DATA / "speech.wav"
MUSIC = SAMPLE_DATA / "music.wav"


@dataclass
class Ran:
    """What a run of the command left: exit status and the text of stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run(*args: object, cwd: Path) -> Ran:
    """``specimg ARGS`` in-process, in folder ``cwd``; an exception that escaped the command
    is appended to stderr as a traceback, so that the tests' checks report it."""
    with working_directory(cwd):
        result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="specimg")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit) and result.exc_info:
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return Ran(result.exit_code, result.stdout, stderr)


def run_installed(*args: object, cwd: Path, module: str | None = None) -> Ran:
    """The installed ``specimg`` console script (or ``python -m MODULE``) in a subprocess."""
    if module is None:
        script = Path(sys.executable).with_name("specimg")
        if not script.exists():
            pytest.skip(f"console script not installed beside {sys.executable}")
        command = [str(script)]
    else:
        command = [sys.executable, "-m", module]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS",)}
    done = subprocess.run([*command, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300, check=False)  # fmt: skip
    return Ran(done.returncode, done.stdout, done.stderr)


def assert_ok(result: Ran) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr


def assert_one_line_error(result: Ran, *fragments: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"stderr must be one line, got:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("specimg: error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Inputs made in-process (fast): a valid PNG, the same without metadata, and broken files."""
    d = tmp_path_factory.mktemp("inputs")
    y, sr = specimg.read_audio(SPEECH)
    sf.write(d / "clip.wav", y[:sr], sr, subtype="PCM_16")  # 1 s, for fast failures after encoding
    good = specimg.save(specimg.encode(y[:sr], sr, n_fft=512), d / "good.png")
    with Image.open(good) as im:
        Image.fromarray(np.array(im)).save(d / "bare.png")  # same pixels, no metadata
    data = good.read_bytes()
    (d / "truncated.png").write_bytes(data[: len(data) // 2])
    (d / "notes.wav").write_text("this is a text file, not audio\n")
    (d / "notes.png").write_text("this is a text file, not an image\n")
    return {"good": good, "bare": d / "bare.png", "truncated": d / "truncated.png", "clip": d / "clip.wav",
            "not_audio": d / "notes.wav", "not_image": d / "notes.png"}  # fmt: skip


# ---------------------------------------------------------------------------- happy paths
def test_encode_info_decode_speech(tmp_path: Path) -> None:
    png, wav = tmp_path / "speech.png", tmp_path / "speech.decoded.wav"
    original = sf.info(SPEECH)

    enc = run("encode", SPEECH, png, cwd=tmp_path)
    assert_ok(enc)
    assert enc.stderr == ""
    assert png.is_file()
    assert "1 channel(s)" in enc.stdout and f"{original.samplerate} Hz" in enc.stdout

    info = run("info", png, cwd=tmp_path)
    assert_ok(info)
    assert info.stderr == ""
    out = info.stdout
    assert "metadata: embedded" in out
    assert re.search(rf"^\s+sr\s+{original.samplerate}$", out, re.MULTILINE), out
    assert re.search(rf"^\s+n_samples\s+{original.frames}$", out, re.MULTILINE), out
    assert re.search(r"^\s+n_channels\s+1$", out, re.MULTILINE), out
    db_line = re.search(r"^\s+dB in pixels\s+(-?\d+\.\d+) … (-?\d+\.\d+) dB \(median (-?\d+\.\d+)\)$", out, re.MULTILINE)
    assert db_line, out
    lo, hi, median = map(float, db_line.groups())
    params = specimg.read_metadata(png)
    assert params is not None
    assert params.db_min <= lo <= median <= hi <= params.db_max
    assert hi > params.db_min + 20  # speech is not silence

    dec = run("decode", png, wav, cwd=tmp_path)
    assert_ok(dec)
    assert wav.is_file()
    decoded = sf.info(wav)
    assert (decoded.frames, decoded.channels, decoded.samplerate) == (
        original.frames, original.channels, original.samplerate)  # fmt: skip
    assert listing(tmp_path) == ["speech.decoded.wav", "speech.png"]


def test_stereo_round_trip(tmp_path: Path) -> None:
    tif, wav = tmp_path / "music.tif", tmp_path / "music.flac"
    original = sf.info(MUSIC)
    assert original.channels == 2

    assert_ok(run("encode", MUSIC, tif, "--n-fft", "1024", cwd=tmp_path))
    img = specimg.load(tif)
    assert img.params.n_channels == 2 and img.shape[0] == 2 * 513

    dec = run("decode", tif, wav, "--quality", "fast", cwd=tmp_path)
    assert_ok(dec)
    assert "2 channel(s)" in dec.stdout
    decoded = sf.info(wav)
    assert (decoded.frames, decoded.channels, decoded.samplerate) == (
        original.frames, original.channels, original.samplerate)  # fmt: skip
    y_hat, _ = sf.read(wav)
    assert np.all(np.std(y_hat, axis=0) > 1e-3), "both channels must carry sound"


def test_bit_depth_8_warns_on_one_line(tmp_path: Path) -> None:
    png = tmp_path / "speech8.png"
    result = run("encode", SPEECH, png, "--bit-depth", "8", cwd=tmp_path)
    assert_ok(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("specimg: warning: ") and "bit_depth=8" in lines[0], lines[0]
    with Image.open(png) as im:
        assert im.mode == "L"
    assert specimg.read_metadata(png).bit_depth == 8  # type: ignore[union-attr]


def test_sidecar_and_decode_with_params(files: dict[str, Path], tmp_path: Path) -> None:
    png = tmp_path / "speech.png"
    assert_ok(run("encode", files["clip"], png, "--n-fft", "1024", "--scale", "mel", "--n-mels", "80", "--sidecar",
                  cwd=tmp_path))  # fmt: skip
    sidecar = tmp_path / "speech.png.json"
    assert sidecar.is_file()
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    assert meta["format"] == "specimg" and meta["scale"] == "mel" and meta["n_mels"] == 80
    assert specimg.SpectrogramParams.from_dict(meta) == specimg.read_metadata(png)

    # A tool that strips metadata: same pixels, no iTXt chunk, saved elsewhere (no sidecar).
    stripped_dir = tmp_path / "stripped"
    stripped_dir.mkdir()
    stripped = stripped_dir / "speech.png"
    with Image.open(png) as im:
        Image.fromarray(np.array(im)).save(stripped)
    params_json = tmp_path / "x.json"
    shutil.copy(sidecar, params_json)

    info = run("info", stripped, "--params", params_json, cwd=tmp_path)
    assert_ok(info)
    assert "metadata: --params" in info.stdout

    wav = stripped_dir / "speech.wav"
    dec = run("decode", stripped, wav, "--params", params_json, "--quality", "fast", cwd=tmp_path)
    assert_ok(dec)
    decoded, original = sf.info(wav), sf.info(files["clip"])
    assert (decoded.frames, decoded.channels) == (original.frames, original.channels)

    # The sidecar beside a stripped image is found without --params, and info says so.
    shutil.copy(sidecar, stripped_dir / "speech.png.json")
    info = run("info", stripped, cwd=tmp_path)
    assert_ok(info)
    assert "metadata: sidecar speech.png.json" in info.stdout


def info_version(result: Ran) -> tuple[int, int]:
    """The format version ``info`` prints in its first line and in its ``version`` row."""
    assert_ok(result)
    head = re.search(r"format version (\d+)\)$", result.stdout.splitlines()[0])
    row = re.search(r"^\s+version\s+(\d+)$", result.stdout, re.MULTILINE)
    assert head and row, result.stdout
    return int(head.group(1)), int(row.group(1))


@pytest.mark.parametrize("store_phase, version", [(False, 1), (True, 2)], ids=["no-phase", "stored-phase"])
def test_info_prints_the_stored_format_version(store_phase: bool, version: int, files: dict[str, Path],
                                               tmp_path: Path) -> None:  # fmt: skip
    """A file saved without stored phase holds version 1 (earlier releases read it), one with
    it version 2; ``info`` prints what the file holds, embedded, in a sidecar, or in ``--params``."""
    png = tmp_path / "clip.png"
    phase = ["--store-phase"] if store_phase else []
    assert_ok(run("encode", files["clip"], png, "--n-fft", "512", "--sidecar", *phase, cwd=tmp_path))
    with Image.open(png) as im:
        assert json.loads(im.text["specimg"])["version"] == version  # what save wrote (FORMAT.md §8)
    assert info_version(run("info", png, cwd=tmp_path)) == (version, version)

    # the same pixels without metadata: the sidecar beside them, then --params
    bare = tmp_path / "bare" / "clip.png"
    bare.parent.mkdir()
    with Image.open(png) as im:
        Image.fromarray(np.array(im)).save(bare)
    shutil.copy(tmp_path / "clip.png.json", tmp_path / "bare" / "clip.png.json")
    result = run("info", bare, cwd=tmp_path)
    assert "metadata: sidecar clip.png.json" in result.stdout
    assert info_version(result) == (version, version)
    (tmp_path / "bare" / "clip.png.json").rename(tmp_path / "params.json")
    result = run("info", bare, "--params", tmp_path / "params.json", cwd=tmp_path)
    assert "metadata: --params" in result.stdout
    assert info_version(result) == (version, version)


def test_demo(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run("demo", "--out", out, cwd=tmp_path)
    assert_ok(result)
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.split()}
    assert "speech.wav" in rows and "music.wav" in rows, result.stdout
    for name in ("speech.wav", "music.wav"):
        assert rows[name].split()[-1] == "yes", rows[name]  # same length and channels
    assert set(listing(out)) == {"speech.png", "speech.decoded.wav", "music.png", "music.decoded.wav"}


# ---------------------------------------------------------------------------- as a user runs it
def test_console_script_error(tmp_path: Path) -> None:
    """The installed ``specimg`` entry point: one error line, exit 1, no traceback."""
    result = run_installed("encode", "missing.wav", "x.png", cwd=tmp_path)
    assert_one_line_error(result, "missing.wav")
    assert result.stdout == "" and listing(tmp_path) == []


def test_console_script_round_trip_with_a_warning(files: dict[str, Path], tmp_path: Path) -> None:
    """``specimg encode`` with a warning on one line, then ``specimg decode``, as a user runs them."""
    png, wav = tmp_path / "clip.png", tmp_path / "clip.wav"
    enc = run_installed("encode", files["clip"], png, "--n-fft", "512", "--bit-depth", "8", cwd=tmp_path)
    assert_ok(enc)
    lines = enc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("specimg: warning: ") and "bit_depth=8" in lines[0], enc.stderr
    dec = run_installed("decode", png, wav, "--quality", "fast", cwd=tmp_path)
    assert_ok(dec)
    assert dec.stderr == "" and sf.info(wav).frames == sf.info(files["clip"]).frames


def test_python_dash_m(files: dict[str, Path], tmp_path: Path) -> None:
    """``python -m specimg`` and ``python -m specimg.cli`` are the command too."""
    version = run_installed("--version", cwd=tmp_path, module="specimg")
    assert_ok(version)
    assert version.stdout.strip() == f"specimg, version {specimg.__version__}"
    info = run_installed("info", files["bare"], cwd=tmp_path, module="specimg.cli")
    assert_one_line_error(info, "bare.png", "no specimg metadata")


def test_in_process_warnings_are_shown_not_raised(files: dict[str, Path], tmp_path: Path) -> None:
    """Under pytest's ``filterwarnings = error`` the command still prints its warnings as
    lines, as in a subprocess, and leaves the caller's warning filters as they were."""
    import warnings

    filters, show = list(warnings.filters), warnings.showwarning
    result = run("encode", files["clip"], tmp_path / "x.png", "--n-fft", "512", "--bit-depth", "8", cwd=tmp_path)
    assert_ok(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("specimg: warning: ") and "bit_depth=8" in lines[0], result.stderr
    assert warnings.filters == filters and warnings.showwarning is show


# ---------------------------------------------------------------------------- bad input
# (arguments with {good}/{bare}/... placeholders, fragments the error line must contain)
BAD_INPUT = [
    pytest.param(["encode", "missing.wav", "{out}/x.png"], ["no such file", "missing.wav"], id="encode-missing"),
    pytest.param(["decode", "{bare}", "{out}/x.wav", "--params", "missing.json"], ["missing.json"],
                 id="params-missing"),
    pytest.param(["encode", "{not_audio}", "{out}/x.png"], ["notes.wav", "not an audio file"], id="not-audio"),
    pytest.param(["decode", "{bare}", "{out}/x.wav", "--params", "{not_audio}"], ["notes.wav", "not valid JSON"],
                 id="params-not-json"),
    pytest.param(["encode", "{clip}", "{out}/x.png", "--n-fft", "512", "--hop-length", "1000"],
                 ["hop_length=1000", "hop_length <= n_fft"], id="hop-gt-n-fft"),
    pytest.param(["encode", "{clip}", "{out}/x.png", "--fmax", "20000"], ["fmax=20000", "Nyquist", "11025"],
                 id="fmax-above-nyquist"),
    pytest.param(["decode", "{bare}", "{out}/x.wav"], ["bare.png", "no specimg metadata", "--params"],
                 id="decode-no-metadata"),
    pytest.param(["info", "{bare}"], ["bare.png", "no specimg metadata", "--params"], id="info-no-metadata"),
    pytest.param(["decode", "{truncated}", "{out}/x.wav"], ["truncated.png", "truncated or corrupt"],
                 id="decode-truncated"),
    pytest.param(["info", "{truncated}"], ["truncated.png", "truncated or corrupt"], id="info-truncated"),
    pytest.param(["encode", "{clip}", "{out}/x.bmp"], ["x.bmp", ".png"], id="encode-unknown-extension"),
    pytest.param(["decode", "{good}", "{out}/x.xyz"], ["x.xyz", ".wav"], id="decode-unknown-extension"),
    # the output's folder is created, and removed again when the command fails
    pytest.param(["encode", "{clip}", "{out}/sub/x.png", "--n-fft", "1"], ["n_fft=1"], id="no-output-folder"),
    pytest.param(["decode", "{good}", "{out}/x.wav", "--subtype", "NOPE"], ["NOPE"], id="unknown-subtype"),
    pytest.param(["decode", "{good}", "{out}/x.wav", "--momentum", "nan"], ["momentum=nan"], id="momentum-nan"),
]


@pytest.mark.parametrize("args, fragments", BAD_INPUT)
def test_bad_input(args: list[str], fragments: list[str], files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    names = {**{k: str(v) for k, v in files.items()}, "out": str(out)}
    result = run(*[a.format(**names) for a in args], cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert result.stdout == ""
    assert listing(out) == [], "no output (not even a hidden .part file) may be left behind"
    assert listing(tmp_path) == ["out"]
