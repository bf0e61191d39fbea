"""Hostile inputs of issue 12 (items 2, 7, 8 and the misleading messages): each ends in one
``SpecimgError`` with a short one-line message, or for the CLI in exit 1 and one
``specimg: error:`` line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image, PngImagePlugin

import specimg
from specimg import SpectrogramImage, SpectrogramParams, legacy
from specimg.codec import write_audio
from specimg.errors import FormatError, ParameterError, SpecimgError
from specimg.messages import MESSAGE_LIMIT, shorten
from specimg.metrics import region_diff
from specimg.pictures import write_png

from .test_cli import assert_one_line_error, listing, run

SR = 8000
HUGE = "x" * 5_000_000  # a 5 MB string (the report had 50 MB: same path, 10× faster)


def one_line(exc: BaseException, *fragments: str, limit: int = 2 * MESSAGE_LIMIT + 300) -> str:
    text = str(exc)
    assert isinstance(exc, SpecimgError), type(exc)
    assert "\n" not in text and len(text) < limit, (len(text), text[:400])
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return text


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR)).astype(np.float32)
    img = specimg.encode(y, SR, n_fft=256)
    sf.write(d / "a.wav", y, SR)
    specimg.save(img, d / "a.png")
    write_png(d / "bare.png", img.pixels)
    loud = specimg.encode(4 * y, SR, n_fft=256, db_max=20.0)
    specimg.save(loud, d / "loud.png")
    return {"dir": d, "wav": d / "a.wav", "png": d / "a.png", "bare": d / "bare.png", "loud": d / "loud.png"}


def metadata_png(path: Path, pixels: np.ndarray, *texts: str) -> Path:
    info = PngImagePlugin.PngInfo()
    for text in texts:
        info.add_itxt("specimg", text)
    Image.fromarray(pixels).save(path, pnginfo=info)
    return path


# ---------------------------------------------------------------------------- capped messages
def test_shorten_caps_the_echo() -> None:
    assert shorten("hann") == "'hann'"
    text = shorten(HUGE)
    assert len(text) < MESSAGE_LIMIT + 40 and text.endswith(f"({len(HUGE) + 2} characters)")
    assert len(shorten(list(range(10_000)))) < MESSAGE_LIMIT + 40


def test_huge_window_string_gives_a_short_message() -> None:
    with pytest.raises(ParameterError) as ei:
        SpectrogramParams(sr=SR, n_fft=256, window=HUGE)
    one_line(ei.value, "window=", "characters", "hann")
    with pytest.raises(FormatError) as ei2:
        SpectrogramParams.from_dict({**SpectrogramParams(sr=SR).to_dict(), "window": HUGE})
    one_line(ei2.value, "window=")
    with pytest.raises(ParameterError) as ei3:
        SpectrogramParams(sr=HUGE)  # type: ignore[arg-type]
    one_line(ei3.value, "sr=")


def test_cli_huge_window_is_one_short_line(files: dict[str, Path], tmp_path: Path) -> None:
    result = run("encode", files["wav"], tmp_path / "x.png", "--window", "y" * 200_000, cwd=tmp_path)
    line = assert_one_line_error(result, "window=")
    assert len(line) < 1000
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------- diff grid
def test_region_diff_grid_is_bounded_before_work(files: dict[str, Path]) -> None:
    a = specimg.load(files["png"])
    with pytest.raises(ParameterError) as ei:
        region_diff(a, a, grid=(100_000, 100_000))
    one_line(ei.value, "grid=100000x100000", f"{a.n_frames}x{a.params.n_bins}")
    with pytest.raises(ParameterError):
        region_diff(a, a, grid=(2, 2), max_segments=1)
    with pytest.raises(ParameterError, match="freq_bands has"):
        region_diff(a, a, freq_bands=np.linspace(1, 3999, 500))
    assert region_diff(a, a, grid=(a.n_frames, a.params.n_bins)).mean_db.shape == (a.params.n_bins, a.n_frames)


def test_cli_diff_huge_grid(files: dict[str, Path], tmp_path: Path) -> None:
    result = run("diff", files["png"], files["png"], "--grid", "100000x100000", cwd=tmp_path)
    assert_one_line_error(result, "grid=100000x100000", "at most")


# ---------------------------------------------------------------------------- smaller (item 8)
def test_one_frame_image_without_length_is_refused(tmp_path: Path) -> None:
    p = SpectrogramParams(sr=SR, n_fft=512)
    img = SpectrogramImage(np.zeros((257, 1), np.uint16), p)
    with pytest.raises(FormatError) as ei:
        specimg.decode(img)
    one_line(ei.value, "too few frames (1)", "0 samples")
    specimg.save(img, tmp_path / "thin.png")
    result = run("decode", "thin.png", "out.wav", cwd=tmp_path)
    assert_one_line_error(result, "too few frames")
    assert listing(tmp_path) == ["thin.png"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"db_min": -1e308, "db_max": 1e308}, "db_min=-1e+308 dB is out of range"),
        ({"db_max": 1e308}, "db_max=1e+308"),
        ({"db_min": -2000.0}, "db_min=-2000.0"),
        ({"ref": 1e308}, "ref=1e+308 is out of range"),
        ({"ref": 1e-308}, "ref=1e-308 is out of range"),
        ({"power": 1e308}, "power=1e+308"),
    ],
)
def test_extreme_levels_fail_validation(changes: dict, fragment: str, files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as ei:
        SpectrogramParams(sr=SR, **changes)
    one_line(ei.value, fragment)
    # the same values in a file's metadata: FormatError at load, exit 1 from the CLI
    img = specimg.load(files["png"])
    text = json.dumps({**img.params.to_dict(), **changes})
    metadata_png(tmp_path / "m.png", img.pixels, text)
    with pytest.raises(FormatError) as ei2:
        specimg.load(tmp_path / "m.png")
    one_line(ei2.value, fragment)
    assert_one_line_error(run("decode", "m.png", "o.wav", cwd=tmp_path), fragment)


def test_two_metadata_chunks_are_refused(files: dict[str, Path], tmp_path: Path) -> None:
    img = specimg.load(files["png"])
    text = img.params.to_json()
    metadata_png(tmp_path / "dup.png", img.pixels, text, text.replace('"db_max": 6.0', '"db_max": 0.0'))
    with pytest.raises(FormatError) as ei:
        specimg.load(tmp_path / "dup.png")
    one_line(ei.value, "dup.png", "2 'specimg' text chunks")
    with pytest.raises(FormatError):
        specimg.read_metadata(tmp_path / "dup.png")
    assert_one_line_error(run("info", "dup.png", cwd=tmp_path), "text chunks")
    metadata_png(tmp_path / "one.png", img.pixels, text)  # one chunk stays fine
    assert specimg.load(tmp_path / "one.png").params == img.params


def test_api_type_slips_name_the_argument(files: dict[str, Path], tmp_path: Path) -> None:
    img = specimg.load(files["png"])
    cases = [
        (lambda: specimg.load(files["bare"], params={"sr": SR}), "params={'sr': 8000}", "SpectrogramParams"),  # type: ignore[arg-type]
        (lambda: specimg.load(files["bare"], like=3), "like=3", "SpectrogramImage"),  # type: ignore[arg-type]
        (lambda: specimg.load(None), "path=None", "path-like"),  # type: ignore[arg-type]
        (lambda: specimg.save("str", tmp_path / "x.png"), "img='str'", "SpectrogramImage"),  # type: ignore[arg-type]
        (lambda: specimg.save(img, 42), "path=42", "path-like"),  # type: ignore[arg-type]
        (lambda: specimg.decode(img, rng="x"), "rng='x'", "Generator"),  # type: ignore[arg-type]
        (lambda: specimg.decode(img, rng=-1), "rng=-1", "seed"),
        (lambda: specimg.encode_file(None, tmp_path / "x.png"), "in_path=None", "path-like"),  # type: ignore[arg-type]
        (lambda: specimg.encode_file(files["wav"], None), "out_path=None", "path-like"),  # type: ignore[arg-type]
        (lambda: write_audio(None, np.zeros(8), SR), "path=None", "path-like"),  # type: ignore[arg-type]
    ]
    for call, *fragments in cases:
        with pytest.raises(ParameterError) as ei:
            call()
        one_line(ei.value, *fragments)
    assert listing(tmp_path) == []


def test_external_edit_with_a_list_bit_depth(files: dict[str, Path], tmp_path: Path) -> None:
    img = specimg.load(files["png"])
    bad = {"op": "external", "file": "x.png", "bit_depth": [1]}
    with pytest.raises(ParameterError) as ei:
        img.params.replace(edits=(bad,))
    one_line(ei.value, "edits[0]", "bit_depth=[1]")
    metadata_png(tmp_path / "ext.png", img.pixels, json.dumps({**img.params.to_dict(), "edits": [bad]}))
    result = run("decode", "ext.png", "o.wav", "--phase-from", files["wav"], cwd=tmp_path)
    assert_one_line_error(result, "bit_depth=[1]")
    assert listing(tmp_path) == ["ext.png"]


@pytest.mark.parametrize("tag", ["sample_rate", "step_size_ms", "max_frequency", "max_value"])
def test_riffusion_exif_1e300_is_a_format_error(tag: str) -> None:
    t = legacy.RIFFUSION_EXIF_TAGS
    tags = {t["sample_rate"]: 44100, t["stereo"]: False, t["step_size_ms"]: 10, t["window_duration_ms"]: 100,
            t["padded_duration_ms"]: 400, t["num_frequencies"]: 64, t["min_frequency"]: 0,
            t["max_frequency"]: 10000, t["power_for_image"]: 0.25, t["max_value"]: 100.0}  # fmt: skip
    tags[t[tag]] = 1e300
    im = Image.fromarray(np.full((64, 20, 3), 128, np.uint8))
    exif = im.getexif()
    exif.update(tags.items())
    buf = io.BytesIO()
    im.save(buf, format="PNG", exif=exif)
    buf.seek(0)
    with pytest.raises(FormatError) as ei:
        legacy.from_riffusion(buf)
    one_line(ei.value, f"riffusion parameter {tag}", "1e+300")


def test_full_disk_names_the_output_not_the_temp(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(file: object, *args: object, **kwargs: object) -> None:
        Path(str(file)).write_bytes(b"RIFF")  # a partial write, then the failure
        raise sf.LibsndfileError(2, f"Error opening {str(file)!r}: ")

    monkeypatch.setattr(sf, "write", full)
    with pytest.raises(SpecimgError) as ei:
        write_audio(tmp_path / "o.wav", np.zeros(64, np.float32), SR)
    text = one_line(ei.value, "o.wav", "System error")
    assert ".part" not in text
    assert listing(tmp_path) == []
    result = run("decode", files["png"], "o.wav", "--n-iter", "1", cwd=tmp_path)
    line = assert_one_line_error(result, "cannot write audio to 'o.wav'")
    assert ".part" not in line
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------- misleading messages
def test_clip_warning_names_the_cli_flag(files: dict[str, Path], tmp_path: Path) -> None:
    result = run("decode", files["loud"], "o.wav", "--n-iter", "1", "--subtype", "PCM_16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--subtype FLOAT" in result.stderr and "clips" in result.stderr


def test_erase_past_the_end_speaks_cli(files: dict[str, Path], tmp_path: Path) -> None:
    line = assert_one_line_error(run("edit", files["png"], "e.png", "--erase", "20:30", cwd=tmp_path),
                                 "--erase '20:30'", "T1=30 s", "leave the field empty")  # fmt: skip
    assert "None" not in line and "time=" not in line
    line = assert_one_line_error(run("edit", files["png"], "e.png", "--gain", "-6:0:1:0:300", cwd=tmp_path),
                                 "--gain '-6:0:1:0:300'", "T1=1 s")  # fmt: skip
    assert "None" not in line
    assert listing(tmp_path) == []


def test_info_without_metadata_suggests_only_what_info_takes(files: dict[str, Path], tmp_path: Path) -> None:
    line = assert_one_line_error(run("info", files["bare"], cwd=tmp_path), "no specimg metadata", "--params FILE.json")
    assert "like=" not in line and "params=SpectrogramParams" not in line


def test_commands_create_the_output_folder(files: dict[str, Path], tmp_path: Path) -> None:
    result = run("encode", files["wav"], "new/deeper/x.png", "--n-fft", "256", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "deeper" / "x.png").is_file()
    result = run("decode", "new/deeper/x.png", "dec/x.wav", "--n-iter", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dec" / "x.wav").is_file()
    result = run("edit", "new/deeper/x.png", "ed/x.png", "--gain", "-3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ed" / "x.png").is_file()
    # a command that fails leaves no folder behind
    assert_one_line_error(run("encode", files["wav"], "gone/sub/x.png", "--n-fft", "1", cwd=tmp_path), "n_fft=1")
    assert_one_line_error(run("decode", files["bare"], "gone2/x.wav", cwd=tmp_path), "no specimg metadata")
    assert sorted(listing(tmp_path)) == ["dec", "ed", "new"]
