"""Bad input at the library level: the right SpecimgError subclass, a message that names
the bad value and/or the fix, and no output file left behind by the ``*_file`` functions.

pytest runs with ``filterwarnings = error`` (pyproject.toml); the silent-audio tests also
turn warnings into errors explicitly so that they do not depend on that setting.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import tifffile
from PIL import Image, PngImagePlugin

import specimg
from specimg import (
    AudioError,
    FormatError,
    MissingFileError,
    ParameterError,
    SpecimgError,
    decode,
    decode_file,
    encode,
    encode_file,
    load,
    read_audio,
    read_metadata,
    save,
)
from specimg.formats import PNG_KEYWORD

SR = 22050
N_FFT = 512
N = SR // 2  # 0.5 s


# ---------------------------------------------------------------------------- helpers
def noise(n: int = N, channels: int = 1) -> np.ndarray:
    y = 0.1 * np.random.default_rng(7).standard_normal((channels, n))
    return y[0] if channels == 1 else y


def assert_empty(folder: Path) -> None:
    """Nothing at all in ``folder``: no output, no hidden ``.*.part`` temporary file."""
    left = sorted(p.name for p in folder.iterdir())
    assert left == [], f"files left behind in {folder}: {left}"


def assert_message(exc: BaseException, *fragments: str) -> None:
    text = str(exc)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in error message {text!r}"


def write_png(path: Path, pixels: np.ndarray, metadata: str | dict | None) -> Path:
    """A PNG written by hand with Pillow, with ``metadata`` in the ``specimg`` iTXt chunk."""
    info = PngImagePlugin.PngInfo()
    if metadata is not None:
        info.add_itxt(PNG_KEYWORD, metadata if isinstance(metadata, str) else json.dumps(metadata))
    Image.fromarray(pixels).save(path, format="PNG", pnginfo=info)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty output folder, separate from the inputs."""
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def good() -> specimg.SpectrogramImage:
    """A valid 16-bit linear image of 0.5 s of noise."""
    return encode(noise(), SR, n_fft=N_FFT)


# ---------------------------------------------------------------------------- exception classes
@pytest.mark.parametrize(
    "cls, builtins",
    [
        (ParameterError, (ValueError,)),
        (FormatError, (ValueError,)),
        (AudioError, (ValueError,)),
        (MissingFileError, (FileNotFoundError, OSError)),
    ],
)
def test_error_classes_inherit_builtins(cls: type, builtins: tuple[type, ...]) -> None:
    assert issubclass(cls, SpecimgError)
    for builtin in builtins:
        assert issubclass(cls, builtin)
    for other in (ParameterError, FormatError, AudioError, MissingFileError):
        if other is not cls:
            assert not issubclass(cls, other)


def test_errors_are_caught_by_their_builtin(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        encode(noise(), SR, n_fft=N_FFT, hop_length=0)
    with pytest.raises(FileNotFoundError):
        read_audio(tmp_path / "missing.wav")


# ---------------------------------------------------------------------------- encode(): arrays
def _with_bad_sample(value: float, channels: int = 1) -> np.ndarray:
    y = noise(channels=channels).copy()
    y[..., N // 2] = value
    return y


@pytest.mark.parametrize(
    "y, fragments",
    [
        pytest.param(np.zeros(0), ["empty", "0 samples"], id="empty-mono"),
        pytest.param(np.zeros((2, 0)), ["empty", "0 samples"], id="empty-stereo"),
        pytest.param(np.zeros(0, dtype=np.int16), ["empty"], id="empty-int16"),
        pytest.param(_with_bad_sample(np.nan), ["NaN", "nan_to_num"], id="nan"),
        pytest.param(_with_bad_sample(np.inf), ["infinite", "nan_to_num"], id="inf"),
        pytest.param(_with_bad_sample(-np.inf), ["infinite"], id="-inf"),
        pytest.param(_with_bad_sample(np.nan, channels=2), ["NaN"], id="nan-stereo"),
        pytest.param(noise(100), ["100 samples", "n_fft=512", "smaller n_fft"], id="shorter-than-n_fft"),
        pytest.param(noise(N_FFT - 1, channels=2), [f"{N_FFT - 1} samples", "n_fft=512"], id="stereo-short"),
        pytest.param(noise()[None, None], ["(1, 1, 11025)"], id="3-d"),
        pytest.param(noise().astype(np.complex128), ["complex128", "floating point"], id="complex"),
    ],
)
def test_encode_bad_audio(y: np.ndarray, fragments: list[str]) -> None:
    with pytest.raises(AudioError) as ei:
        encode(y, SR, n_fft=N_FFT)
    assert_message(ei.value, *fragments)


BAD_PARAMS = [
    pytest.param({"hop_length": 0}, ["hop_length=0", "0 < hop_length <= n_fft"], id="hop-0"),
    pytest.param({"hop_length": -128}, ["hop_length=-128", "0 < hop_length <= n_fft"], id="hop-negative"),
    pytest.param({"hop_length": N_FFT + 1}, ["hop_length=513", "0 < hop_length <= n_fft"], id="hop-gt-n_fft"),
    pytest.param({"scale": "mel", "n_mels": N_FFT // 2 + 2}, ["n_mels=258", "n_fft // 2 + 1 = 257"], id="n_mels"),
    pytest.param({"fmax": SR / 2 + 1}, ["fmax=11026.0", "Nyquist", "11025"], id="fmax-above-nyquist"),
    pytest.param({"scale": "mel", "fmax": 20000.0}, ["fmax=20000.0", "Nyquist"], id="mel-fmax"),
    pytest.param({"db_min": -20.0, "db_max": -20.0}, ["db_min=-20.0", "db_max=-20.0"], id="db-equal"),
    pytest.param({"db_min": 0.0, "db_max": -80.0}, ["db_min=0.0", "below db_max=-80.0"], id="db-reversed"),
    pytest.param({"db_min": float("nan")}, ["db_min=nan", "finite"], id="db-nan"),
    pytest.param({"win_length": N_FFT * 2}, ["win_length=1024", "win_length <= n_fft"], id="win-gt-n_fft"),
    pytest.param({"bit_depth": 24}, ["bit_depth=24", "8, 16 or 32"], id="bit-depth"),
    pytest.param({"ref": 0.0}, ["ref=0.0", "positive"], id="ref-zero"),
    pytest.param({"ref": "loud"}, ["ref='loud'", "'max'"], id="ref-string"),
    pytest.param({"window": "nonsense"}, ["window='nonsense'"], id="window"),
]


@pytest.mark.parametrize("kwargs, fragments", BAD_PARAMS)
def test_encode_bad_parameters(kwargs: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ParameterError) as ei:
        encode(noise(), SR, n_fft=N_FFT, **kwargs)
    assert_message(ei.value, *fragments)


@pytest.mark.parametrize("sr, fragment", [(0, "sr=0"), (-22050, "sr=-22050"), (22050.5, "sr=22050.5")])
def test_encode_bad_sample_rate(sr: Any, fragment: str) -> None:
    with pytest.raises(ParameterError) as ei:
        encode(noise(), sr, n_fft=N_FFT)
    assert_message(ei.value, fragment)


# ---------------------------------------------------------------------------- encode_file()
@pytest.fixture
def wav(inputs: Path) -> Path:
    path = inputs / "noise.wav"
    sf.write(path, noise(), SR)
    return path


def test_encode_file_missing_input(inputs: Path, out: Path) -> None:
    missing = inputs / "no_such_recording.wav"
    with pytest.raises(MissingFileError) as ei:
        encode_file(missing, out / "x.png", n_fft=N_FFT)
    assert isinstance(ei.value, FileNotFoundError)
    assert_message(ei.value, "no such file", "no_such_recording.wav")
    assert_empty(out)


@pytest.mark.parametrize(
    "make, fragments",
    [
        pytest.param(lambda p: p.write_text("this is not audio\n"), ["not an audio file", "notes.wav"], id="text"),
        pytest.param(lambda p: p.write_bytes(b""), ["not an audio file", "notes.wav"], id="zero-bytes"),
        pytest.param(lambda p: sf.write(p, np.zeros(0), SR), ["empty", "0 samples"], id="wav-0-frames"),
        pytest.param(lambda p: sf.write(p, np.zeros((0, 2)), SR), ["empty"], id="stereo-wav-0-frames"),
        pytest.param(lambda p: sf.write(p, noise(300), SR), ["300 samples", "n_fft=512"], id="wav-shorter-than-n_fft"),
        pytest.param(
            lambda p: sf.write(p, _with_bad_sample(np.nan), SR, subtype="FLOAT"), ["NaN"], id="float-wav-with-nan"
        ),
        pytest.param(
            lambda p: sf.write(p, _with_bad_sample(np.inf), SR, subtype="DOUBLE"), ["infinite"], id="wav-with-inf"
        ),
    ],
)
def test_encode_file_bad_audio(inputs: Path, out: Path, make: Callable[[Path], Any], fragments: list[str]) -> None:
    path = inputs / "notes.wav"
    make(path)
    with pytest.raises(AudioError) as ei:
        encode_file(path, out / "x.png", n_fft=N_FFT)
    assert_message(ei.value, *fragments)
    assert_empty(out)


def test_encode_file_resampling_empty_wav(inputs: Path, out: Path) -> None:
    path = inputs / "empty.wav"
    sf.write(path, np.zeros(0), SR)
    with pytest.raises(AudioError) as ei:
        encode_file(path, out / "x.png", sr=16000, n_fft=N_FFT)
    assert_message(ei.value, "empty", "0 samples")
    assert_empty(out)


@pytest.mark.parametrize("kwargs, fragments", BAD_PARAMS)
def test_encode_file_bad_parameters(wav: Path, out: Path, kwargs: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ParameterError) as ei:
        encode_file(wav, out / "x.png", n_fft=N_FFT, **kwargs)
    assert_message(ei.value, *fragments)
    assert_empty(out)


@pytest.mark.parametrize("sr", [0, -16000])
def test_encode_file_bad_resample_rate(wav: Path, out: Path, sr: int) -> None:
    with pytest.raises(ParameterError) as ei:
        encode_file(wav, out / "x.png", sr=sr, n_fft=N_FFT)
    assert_message(ei.value, f"sr={sr}")
    assert_empty(out)


@pytest.mark.parametrize(
    "name, kwargs, fragments",
    [
        pytest.param("x.bmp", {}, ["x.bmp", ".png", ".tif"], id="unknown-extension"),
        pytest.param("x", {}, [".png"], id="no-extension"),
        pytest.param("x.png", {"bit_depth": 32}, ["bit_depth=32", ".tiff"], id="float-png"),
    ],
)
def test_encode_file_bad_output_name(wav: Path, out: Path, name: str, kwargs: dict, fragments: list[str]) -> None:
    with pytest.raises(ParameterError) as ei:
        encode_file(wav, out / name, n_fft=N_FFT, **kwargs)
    assert_message(ei.value, *fragments)
    assert_empty(out)


def test_encode_file_missing_output_folder(wav: Path, out: Path) -> None:
    with pytest.raises(MissingFileError) as ei:
        encode_file(wav, out / "sub" / "x.png", n_fft=N_FFT)
    assert_message(ei.value, "sub", "does not exist")
    assert_empty(out)


def test_failed_encode_leaves_existing_output_untouched(inputs: Path, out: Path) -> None:
    bad = inputs / "bad.wav"
    bad.write_text("not audio")
    target = out / "x.png"
    target.write_bytes(b"previous result")
    with pytest.raises(AudioError):
        encode_file(bad, target, n_fft=N_FFT)
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in out.iterdir()] == ["x.png"]


def test_write_failure_leaves_no_partial_file(wav: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure half-way through writing (disk full) removes the temporary file."""

    def half_write(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        Path(fp).write_bytes(b"\x89PNG\r\n\x1a\n partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_write)
    with pytest.raises(OSError, match="No space left"):
        encode_file(wav, out / "x.png", n_fft=N_FFT)
    assert_empty(out)


def test_audio_write_failure_leaves_no_partial_file(
    good: specimg.SpectrogramImage, inputs: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = save(good, inputs / "good.png")

    def half_write(file: Any, *args: Any, **kwargs: Any) -> None:
        Path(file).write_bytes(b"RIFF partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf, "write", half_write)
    with pytest.raises(OSError, match="No space left"):
        decode_file(png, out / "x.wav", quality="fast")
    assert_empty(out)


# ---------------------------------------------------------------------------- images and metadata
def _meta(good: specimg.SpectrogramImage, **changes: Any) -> dict:
    data = good.params.to_dict()
    for key, value in changes.items():
        if value is _DROP:
            del data[key]
        else:
            data[key] = value
    return data


_DROP = object()


def _rgb(good: specimg.SpectrogramImage) -> tuple[np.ndarray, dict]:
    gray = (good.pixels >> 8).astype(np.uint8)
    return np.stack([gray] * 3, axis=-1), good.params.replace(bit_depth=8).to_dict()


# (pixels, metadata) of a PNG written by hand → expected error fragments
BAD_IMAGES: dict[str, tuple[Callable[[specimg.SpectrogramImage], tuple[np.ndarray, Any]], list[str]]] = {
    "rgb": (_rgb, ["RGB", "grayscale"]),
    "cropped-columns": (
        lambda g: (np.ascontiguousarray(g.pixels[:, :-7]), _meta(g)),
        [f"{N // 128 + 1 - 7} columns", f"n_samples={N}", f"{N // 128 + 1} frames"],
    ),
    "cropped-rows": (
        lambda g: (np.ascontiguousarray(g.pixels[:-1]), _meta(g)),
        [f"{N_FFT // 2} rows", f"{N_FFT // 2 + 1}"],
    ),
    "8-bit-pixels-16-bit-metadata": (
        lambda g: ((g.pixels >> 8).astype(np.uint8), _meta(g)),
        ["uint8", "bit_depth=16"],
    ),
    "no-metadata": (lambda g: (g.pixels, None), ["no specimg metadata", "params="]),
    "unknown-version": (lambda g: (g.pixels, _meta(g, version=3)), ["version 3", "reads versions 1, 2", "upgrade"]),
    "missing-key": (lambda g: (g.pixels, _meta(g, hop_length=_DROP)), ["lacks", "hop_length"]),
    "unknown-key": (lambda g: (g.pixels, _meta(g, colour="blue")), ["unknown key", "colour"]),
    "not-specimg": (lambda g: (g.pixels, _meta(g, format="other")), ["not specimg metadata"]),
    "not-json": (lambda g: (g.pixels, '{"format": "specimg", '), ["not valid JSON"]),
    "negative-sr": (lambda g: (g.pixels, _meta(g, sr=-22050)), ["invalid value", "sr=-22050"]),
    "huge-n_fft": (lambda g: (g.pixels, _meta(g, n_fft=10**9)), ["invalid value", "n_fft=1000000000"]),
    "hop-gt-n_fft": (lambda g: (g.pixels, _meta(g, hop_length=4096)), ["hop_length=4096"]),
    "db-reversed": (lambda g: (g.pixels, _meta(g, db_min=10.0, db_max=-10.0)), ["db_min=10.0", "db_max=-10.0"]),
    "sr-as-string": (lambda g: (g.pixels, _meta(g, sr="22050")), ["sr='22050'", "integer"]),
}


@pytest.fixture(params=sorted(BAD_IMAGES))
def bad_image(request: pytest.FixtureRequest, good: specimg.SpectrogramImage, inputs: Path) -> tuple[Path, list[str]]:
    make, fragments = BAD_IMAGES[request.param]
    pixels, metadata = make(good)
    return write_png(inputs / "bad.png", pixels, metadata), fragments


def test_load_bad_image(bad_image: tuple[Path, list[str]]) -> None:
    path, fragments = bad_image
    with pytest.raises(FormatError) as ei:
        load(path)
    assert_message(ei.value, *fragments)


def test_decode_bad_image(bad_image: tuple[Path, list[str]]) -> None:
    path, fragments = bad_image
    with pytest.raises(FormatError) as ei:
        decode(path, quality="fast")
    assert_message(ei.value, *fragments)


def test_decode_file_bad_image(bad_image: tuple[Path, list[str]], out: Path) -> None:
    path, fragments = bad_image
    with pytest.raises(FormatError) as ei:
        decode_file(path, out / "x.wav", quality="fast")
    assert_message(ei.value, *fragments)
    assert_empty(out)


@pytest.mark.parametrize("name", ["unknown-version", "missing-key", "negative-sr", "huge-n_fft", "not-json"])
def test_read_metadata_bad_metadata(name: str, good: specimg.SpectrogramImage, inputs: Path) -> None:
    make, fragments = BAD_IMAGES[name]
    path = write_png(inputs / "bad.png", *make(good))
    with pytest.raises(FormatError) as ei:
        read_metadata(path)
    assert_message(ei.value, *fragments)


def test_params_do_not_rescue_an_rgb_image(good: specimg.SpectrogramImage, inputs: Path) -> None:
    pixels, _ = _rgb(good)
    path = write_png(inputs / "rgb.png", pixels, None)
    with pytest.raises(FormatError) as ei:
        load(path, params=good.params.replace(bit_depth=8))
    assert_message(ei.value, "RGB", "grayscale")


def test_params_must_match_a_bare_image(good: specimg.SpectrogramImage, inputs: Path) -> None:
    path = write_png(inputs / "bare.png", good.pixels, None)
    with pytest.raises(FormatError) as ei:
        load(path, params=good.params.replace(bit_depth=8))
    assert_message(ei.value, "uint16", "bit_depth=8")
    assert load(path, params=good.params).params == good.params  # the right params work


def test_invalid_sidecar(good: specimg.SpectrogramImage, inputs: Path) -> None:
    path = write_png(inputs / "bare.png", good.pixels, None)
    (inputs / "bare.png.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(FormatError) as ei:
        load(path)
    assert_message(ei.value, "sidecar", "bare.png.json", "not valid JSON")


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_image(good: specimg.SpectrogramImage, inputs: Path, out: Path, suffix: str, keep: float) -> None:
    whole = save(good, inputs / f"good{suffix}").read_bytes()
    path = inputs / f"truncated{suffix}"
    path.write_bytes(whole[: int(len(whole) * keep)])
    for call in (lambda: load(path), lambda: decode_file(path, out / "x.wav")):
        with pytest.raises(FormatError) as ei:
            call()
        assert_message(ei.value, f"truncated{suffix}", "truncated or corrupt")
    assert_empty(out)
    # read_metadata reads headers only: intact headers give exactly the original
    # parameters, cut ones a FormatError, never anything else
    try:
        assert read_metadata(path) == good.params
    except FormatError as exc:
        assert_message(exc, f"truncated{suffix}")


def test_rgb_tiff(good: specimg.SpectrogramImage, inputs: Path) -> None:
    pixels, meta = _rgb(good)
    path = inputs / "rgb.tif"
    tifffile.imwrite(path, pixels, photometric="rgb", description=json.dumps(meta))
    with pytest.raises(FormatError) as ei:
        load(path)
    assert_message(ei.value, "rgb.tif", "grayscale")


def test_not_an_image(inputs: Path, out: Path) -> None:
    path = inputs / "notes.png"
    path.write_text("just text\n")
    with pytest.raises(FormatError) as ei:
        decode_file(path, out / "x.wav")
    assert_message(ei.value, "notes.png")
    assert_empty(out)


def test_decode_file_missing_input(inputs: Path, out: Path) -> None:
    with pytest.raises(MissingFileError) as ei:
        decode_file(inputs / "no_such_image.png", out / "x.wav")
    assert isinstance(ei.value, FileNotFoundError)
    assert_message(ei.value, "no such file", "no_such_image.png")
    assert_empty(out)


@pytest.mark.parametrize("name", ["x.xyz", "x"])
def test_decode_file_unknown_audio_extension(good: specimg.SpectrogramImage, inputs: Path, out: Path, name: str) -> None:
    png = save(good, inputs / "good.png")
    with pytest.raises(ParameterError) as ei:
        decode_file(png, out / name)
    assert_message(ei.value, name, ".wav")
    assert_empty(out)


def test_decode_file_missing_output_folder(good: specimg.SpectrogramImage, inputs: Path, out: Path) -> None:
    png = save(good, inputs / "good.png")
    with pytest.raises(MissingFileError) as ei:
        decode_file(png, out / "sub" / "x.wav", quality="fast")
    assert_message(ei.value, "sub", "does not exist")
    assert_empty(out)


@pytest.mark.parametrize(
    "kwargs, fragments",
    [
        pytest.param({"quality": "ultra"}, ["quality='ultra'", "balanced"], id="quality"),
        pytest.param({"n_iter": -1}, ["n_iter=-1"], id="n_iter"),
        pytest.param({"momentum": -0.5}, ["momentum=-0.5"], id="momentum"),
        pytest.param({"momentum": float("nan")}, ["momentum=nan"], id="momentum-nan"),
        pytest.param({"init": "magic"}, ["init='magic'", "pghi"], id="init"),
    ],
)
def test_decode_bad_parameters(good: specimg.SpectrogramImage, kwargs: dict, fragments: list[str]) -> None:
    with pytest.raises(ParameterError) as ei:
        decode(good, **kwargs)
    assert_message(ei.value, *fragments)


@pytest.mark.parametrize("name, subtype", [("x.wav", "NOPE"), ("x.flac", "FLOAT")])
def test_decode_file_bad_subtype(
    good: specimg.SpectrogramImage, inputs: Path, out: Path, name: str, subtype: str
) -> None:
    png = save(good, inputs / "good.png")
    with pytest.raises(ParameterError) as ei:
        decode_file(png, out / name, subtype=subtype, quality="fast")
    assert_message(ei.value, subtype)
    assert_empty(out)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_write_audio_refuses_non_finite_samples(out: Path, value: float) -> None:
    y = _with_bad_sample(value)
    with pytest.raises(AudioError) as ei:
        specimg.write_audio(out / "x.wav", y, SR)
    assert_message(ei.value, "NaN or infinite")
    assert_empty(out)


# ---------------------------------------------------------------------------- silence
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="linear-16"),
        pytest.param({"scale": "mel", "n_mels": 64}, id="mel"),
        pytest.param({"ref": "max"}, id="ref-max"),
        pytest.param({"invert": True}, id="invert"),
        pytest.param({"bit_depth": 32}, id="float32"),
    ],
)
@pytest.mark.parametrize("channels", [1, 2])
def test_silence_round_trip_is_exact_and_quiet(kwargs: dict[str, Any], channels: int) -> None:
    y = np.zeros((channels, N)) if channels > 1 else np.zeros(N)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = encode(y, SR, n_fft=N_FFT, **kwargs)
        p_max = {16: 65535, 32: 1.0}[img.params.bit_depth]
        floor = p_max if img.params.invert else 0
        assert np.all(img.pixels == floor), "silence must sit at the floor pixel value"
        assert np.all(img.magnitude == 0.0)
        y_hat, sr = decode(img)
    assert sr == SR
    assert y_hat.shape == y.shape
    assert np.all(np.isfinite(y_hat))
    assert np.all(y_hat == 0.0), f"silence decoded to a peak of {np.max(np.abs(y_hat))}"


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_silent_file_round_trip_is_exact_and_quiet(inputs: Path, out: Path, suffix: str) -> None:
    wav = inputs / "silence.wav"
    sf.write(wav, np.zeros((N, 2)), SR, subtype="PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode_file(wav, out / f"silence{suffix}", n_fft=N_FFT)
        decode_file(out / f"silence{suffix}", out / "silence.wav")
    data, sr = sf.read(out / "silence.wav", always_2d=True)
    assert sr == SR
    assert data.shape == (N, 2)
    assert np.all(data == 0.0)
    assert sorted(p.name for p in out.iterdir()) == sorted([f"silence{suffix}", "silence.wav"])
