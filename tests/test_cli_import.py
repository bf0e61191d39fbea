"""``specimg import``, run in-process through click's ``CliRunner``, on inputs made by the producing
libraries' own calls (scipy, librosa, matplotlib) and by the conventions of audio-diffusion
and riffusion, from two seconds of the bundled sample audio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from PIL import Image

import specimg
from specimg.legacy import RIFFUSION_EXIF_TAGS, default_peak_db

from .test_cli import MUSIC, SPEECH, assert_ok, assert_one_line_error, listing, run

SECONDS = 2


@pytest.fixture(scope="module")
def audio() -> dict[str, Any]:
    """Two seconds of speech (mono) and of music (its left channel), at 22050 Hz."""
    y, sr = specimg.read_audio(SPEECH)
    m, sr_m = specimg.read_audio(MUSIC)
    assert sr == sr_m == 22050
    return {"speech": np.ascontiguousarray(y[: SECONDS * sr]), "music": np.ascontiguousarray(m[0, : SECONDS * sr]),
            "sr": sr}  # fmt: skip


def minmax_png(y: np.ndarray, path: Path) -> Path:
    """The usual script: dB re max, min-max to 0..255, flipped, saved by scikit-image."""
    import skimage.io

    Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    scaled = (Xdb - Xdb.min()) / (Xdb.max() - Xdb.min()) * 255
    skimage.io.imsave(path, np.flipud(scaled).astype(np.uint8), check_contrast=False)
    return path


@pytest.fixture(scope="module")
def inputs(audio: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("legacy")
    y, m, sr = audio["speech"], audio["music"], audio["sr"]

    f, t, Sxx = scipy.signal.spectrogram(y, sr, window="hann", nperseg=1024, noverlap=768)
    np.savez(d / "scipy.npz", f=f, t=t, Sxx=Sxx)
    np.savez(d / "no_sxx.npz", f=f, t=t)

    minmax_png(y, d / "minmax.png")

    M = librosa.feature.melspectrogram(y=m, sr=sr)
    np.save(d / "mel.npy", M)
    np.savez(d / "two.npz", mel=M, other=M[:10])

    (d / "notes.png").write_text("this is a text file, not an image\n")
    return {"scipy": d / "scipy.npz", "no_sxx": d / "no_sxx.npz", "minmax": d / "minmax.png", "mel": d / "mel.npy",
            "two": d / "two.npz", "not_image": d / "notes.png"}  # fmt: skip


def decoded_frames(image: Path, cwd: Path) -> int:
    """``specimg decode IMAGE`` (fast preset): the number of samples of the WAV written."""
    wav = image.with_suffix(".decoded.wav")
    result = run("decode", image, wav, "--quality", "fast", "--subtype", "FLOAT", cwd=cwd)
    assert_ok(result)
    return int(sf.info(wav).frames)


def level_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "absolute level is unknown" in line]


# ---------------------------------------------------------------------------- each KIND
def test_scipy_spectrogram(inputs: dict[str, Path], audio: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "scipy.png"
    result = run("import", "scipy", inputs["scipy"], out, "--sr", 22050, "--window", "hann", "--nperseg", 1024,
                 "--noverlap", 768, cwd=tmp_path)  # fmt: skip
    assert_ok(result)
    assert result.stderr == "", "scipy's PSD carries the absolute level: nothing to warn about"
    assert result.stdout.startswith(f"{out}: 513×")
    p = specimg.load(out).params
    assert (p.sr, p.scale, p.n_fft, p.hop_length, p.center, p.bit_depth) == (22050, "linear", 1024, 256, False, 16)
    # scipy drops the last partial segment: the length is known to one hop
    assert abs(decoded_frames(out, tmp_path) - audio["speech"].size) <= p.hop_length


def test_minmax_png_warns_about_the_level_on_one_line(inputs: dict[str, Path], audio: dict[str, Any],
                                                      tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "minmax.png"
    result = run("import", "minmax", inputs["minmax"], out, cwd=tmp_path)
    assert_ok(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("specimg: warning: ") and "absolute level is unknown" in lines[0], lines[0]
    assert "--peak-db" in lines[0]
    img = specimg.load(out)
    p = img.params
    assert (p.sr, p.scale, p.n_fft, p.hop_length, p.center) == (22050, "linear", 2048, 512, True)
    assert img.db.max() == pytest.approx(default_peak_db(img.params), abs=0.06)
    assert abs(decoded_frames(out, tmp_path) - audio["speech"].size) <= p.hop_length

    # --peak-db sets the level, and the warning goes away
    out2 = tmp_path / "minmax_20.tif"
    result = run("import", "minmax", inputs["minmax"], out2, "--peak-db", -20, "--sr", 22050, cwd=tmp_path)
    assert_ok(result)
    assert result.stderr == ""
    img2 = specimg.load(out2)
    assert img2.db.max() == pytest.approx(-20.0, abs=0.02)
    np.testing.assert_allclose(img2.db[img2.db > img2.params.db_min], img.db[img.db > p.db_min] - 20 - p.db_max,
                               atol=0.02)  # fmt: skip


@pytest.mark.parametrize("y_axis", ["log", "mel"])
def test_specshow_figure(y_axis: str, audio: dict[str, Any], tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import librosa.display
    import matplotlib.pyplot as plt

    m, sr = audio["music"], audio["sr"]
    if y_axis == "mel":
        Xdb = librosa.power_to_db(librosa.feature.melspectrogram(y=m, sr=sr), ref=np.max)
    else:
        Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(m)), ref=np.max)
    fig = plt.figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.axis("off")
    librosa.display.specshow(Xdb, sr=sr, y_axis=y_axis, cmap="magma", ax=ax)
    figure = tmp_path / "figure.png"
    fig.savefig(figure, dpi=100)
    plt.close(fig)

    out = tmp_path / "rescued.png"
    result = run("import", "figure", figure, out, "--y-axis", y_axis, "--sr", sr, "--duration", SECONDS,
                 "--peak-db", -20, cwd=tmp_path)  # fmt: skip
    assert_ok(result)
    assert result.stderr == ""
    img = specimg.load(out)
    p = img.params
    expected_scale = "mel" if y_axis == "mel" else "linear"
    assert (p.sr, p.scale, p.n_fft, p.hop_length, p.n_samples) == (sr, expected_scale, 2048, 512, m.size)
    assert img.shape == Xdb.shape and (p.scale != "mel" or p.n_mels == 128)
    # the colours were read back to the levels the figure showed
    loud = Xdb > -60
    assert np.corrcoef(img.db[loud], Xdb[loud])[0, 1] > 0.9
    assert decoded_frames(out, tmp_path) == m.size


def test_array_npy_and_npz(inputs: dict[str, Path], audio: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "mel.png"
    result = run("import", "array", inputs["mel"], out, "--kind", "power", "--sr", 22050, cwd=tmp_path)
    assert_ok(result)
    assert result.stderr == "", "a power mel spectrogram carries the absolute level"
    img = specimg.load(out)
    p = img.params
    assert (p.sr, p.scale, p.n_mels, p.n_fft, p.hop_length, p.power) == (22050, "mel", 128, 2048, 512, 2.0)
    assert abs(decoded_frames(out, tmp_path) - audio["music"].size) <= p.hop_length

    # the same array out of an .npz with two arrays, with its exact length
    out2 = tmp_path / "mel_from_npz.png"
    n = audio["music"].size
    result = run("import", "array", inputs["two"], out2, "--key", "mel", "--kind", "power", "--n-samples", n,
                 cwd=tmp_path)  # fmt: skip
    assert_ok(result)
    img2 = specimg.load(out2)
    assert img2.params.n_samples == n
    np.testing.assert_array_equal(img2.pixels, img.pixels)
    assert decoded_frames(out2, tmp_path) == n


def test_audio_diffusion(audio: dict[str, Any], tmp_path: Path) -> None:
    """diffusers' Mel.audio_slice_to_image, as its docstring describes it (x_res = y_res = 64)."""
    m, sr = audio["music"], audio["sr"]
    x_res, y_res, hop, top_db = 64, 64, 512, 80
    audio_slice = m[: x_res * hop - 1]
    S = librosa.feature.melspectrogram(y=audio_slice, sr=sr, n_fft=2048, hop_length=hop, n_mels=y_res)
    log_S = librosa.power_to_db(S, ref=np.max, top_db=top_db)
    bytedata = (((log_S + top_db) * 255 / top_db).clip(0, 255) + 0.5).astype(np.uint8)
    src = tmp_path / "audio_diffusion.png"
    Image.fromarray(bytedata).save(src)

    out = tmp_path / "ad.png"
    result = run("import", "audio-diffusion", src, out, "--peak-db", -26, cwd=tmp_path)
    assert_ok(result)
    assert result.stderr == ""
    p = specimg.load(out).params
    assert (p.sr, p.scale, p.n_mels, p.n_fft, p.hop_length, p.n_samples) == (sr, "mel", y_res, 2048, hop,
                                                                             x_res * hop - 1)  # fmt: skip
    assert decoded_frames(out, tmp_path) == x_res * hop - 1


def test_riffusion_with_exif_tags(audio: dict[str, Any], tmp_path: Path) -> None:
    """riffusion's image_from_spectrogram, with its EXIF tags, on a torchaudio-style mel of magnitudes."""
    y, sr = audio["music"], audio["sr"]
    rp = {"sample_rate": sr, "stereo": False, "step_size_ms": 10, "window_duration_ms": 100,
          "padded_duration_ms": 400, "num_frequencies": 128, "min_frequency": 0, "max_frequency": 10000,
          "power_for_image": 0.25}  # fmt: skip
    n_fft = int(rp["padded_duration_ms"] / 1000.0 * sr)
    win = int(rp["window_duration_ms"] / 1000.0 * sr)
    hop = int(rp["step_size_ms"] / 1000.0 * sr)
    X = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, window="hann", pad_mode="reflect"))
    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=128, fmin=0.0, fmax=10000.0, htk=True, norm=None)
    M = fb @ X
    max_value = float(M.max())
    data = 255 - (M / max_value) ** rp["power_for_image"] * 255  # type: ignore[operator]
    image = Image.fromarray(data.astype(np.uint8)).convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    exif = Image.Exif()
    for name, value in rp.items():
        exif[RIFFUSION_EXIF_TAGS[name]] = value
    exif[RIFFUSION_EXIF_TAGS["max_value"]] = max_value
    src = tmp_path / "riffusion.png"
    image.save(src, exif=exif)

    out = tmp_path / "riff.png"
    result = run("import", "riffusion", src, out, cwd=tmp_path)
    assert_ok(result)
    assert result.stderr == "", "the EXIF tags carry every parameter and the level"
    p = specimg.load(out).params
    assert (p.sr, p.scale, p.n_mels, p.n_fft, p.win_length, p.hop_length, p.htk, p.power) == (
        sr, "mel", 128, n_fft, win, hop, True, 1.0)  # fmt: skip
    assert abs(decoded_frames(out, tmp_path) - y.size) <= hop


# ---------------------------------------------------------------------------- bad input
BAD_INPUT = [
    pytest.param(["minmax", "{minmax}", "--n-fft", "1024"], ["n_fft=1024", "1025 rows"], id="wrong-n-fft"),
    pytest.param(["figure", "{minmax}", "--cmap", "magmaa", "--duration", "2"], ["magmaa", "'magma'"],
                 id="unknown-cmap"),
    pytest.param(["minmax", "missing.png"], ["no such file", "missing.png"], id="missing-file"),
    pytest.param(["minmax", "{not_image}"], ["notes.png", "not an image"], id="not-an-image"),
    pytest.param(["scipy", "{scipy}", "--cmap", "magma"], ["--cmap", "KIND scipy", "--nperseg"],
                 id="option-not-for-kind"),
    pytest.param(["array", "{mel}", "--flip"], ["--flip", "KIND array", "--key"], id="flag-not-for-kind"),
    pytest.param(["array", "{two}"], ["two.npz", "2 arrays", "--key"], id="npz-needs-key"),
    pytest.param(["array", "{two}", "--key", "nope"], ["'nope'", "mel, other"], id="npz-unknown-key"),
    pytest.param(["scipy", "{no_sxx}", "--sr", "22050"], ["no_sxx.npz", "Sxx"], id="scipy-without-sxx"),
    pytest.param(["minmax", "{minmax}", "--out-ext", ".jpg"], ["x.jpg", ".png"], id="unknown-out-extension"),
    pytest.param(["unknown-tool", "{minmax}"], ["KIND", "'unknown-tool'", "'minmax'", "'riffusion'"],
                 id="unknown-kind"),
    pytest.param(["minmax", "{minmax}", "--y-axis", "log", "--scale", "bark"], ["--scale", "'bark'", "'mel'"],
                 id="bad-choice"),
]


@pytest.mark.parametrize("args, fragments", BAD_INPUT)
def test_bad_input(args: list[str], fragments: list[str], inputs: dict[str, Path], tmp_path: Path) -> None:
    """A bad file, a bad value or an option KIND does not take (a usage error too): one line, exit 1."""
    out = tmp_path / "out"
    out.mkdir()
    args = [a.format(**{k: str(v) for k, v in inputs.items()}) for a in args]
    target = out / "x.png"
    if "--out-ext" in args:
        i = args.index("--out-ext")
        target = out / f"x{args[i + 1]}"
        del args[i : i + 2]
    result = run("import", args[0], args[1], target, *args[2:], cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert result.stdout == ""
    assert listing(out) == [], "no output (not even a hidden .part file) may be left behind"


# ---------------------------------------------------------------------------- folders
@pytest.mark.parametrize("workers", [1, 2])
def test_folder_one_bad_file_among_good_ones(audio: dict[str, Any], tmp_path: Path, workers: int) -> None:
    src, out = tmp_path / "figures", tmp_path / "rescued"
    src.mkdir()
    minmax_png(audio["speech"], src / "a_speech.png")
    minmax_png(audio["music"], src / "c_music.png")
    (src / "b_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (src / "readme.txt").write_text("not an input\n")

    result = run("import", "minmax", src, out, "--workers", str(workers), cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # issue 12: 2 = some files failed
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("specimg: error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"specimg: error: {src / 'b_broken.png'}: "), result.stderr
    # the same warning for every file is shown once, naming the first file
    warned = level_warnings(result.stderr)
    assert len(warned) == 1 and warned[0].startswith(f"specimg: warning: {src / 'a_speech.png'}: "), result.stderr
    assert len(lines) == 2, result.stderr
    assert result.stdout.splitlines() == [
        f"{out}: imported 2 of 3 file(s), 1 failed (1 repeated warning(s) not shown again)"
    ]
    assert listing(out) == ["a_speech.png", "c_music.png"]
    assert specimg.load(out / "c_music.png").params.n_fft == 2048
    assert abs(decoded_frames(out / "a_speech.png", tmp_path) - audio["speech"].size) <= 512


def test_folder_needs_a_folder_out(audio: dict[str, Any], tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    minmax_png(audio["speech"], src / "a.png")
    result = run("import", "minmax", src, tmp_path / "out.png", "--peak-db", -20, cwd=tmp_path)
    assert_one_line_error(result, "must be a folder", "out.png")
    assert listing(tmp_path) == ["in"]


def test_import_help(tmp_path: Path) -> None:
    result = run("import", "--help", cwd=tmp_path)
    assert_ok(result)
    assert "audio-diffusion" in result.stdout and "--peak-db" in result.stdout



def test_out_is_never_in(inputs: dict[str, Path], tmp_path: Path) -> None:
    """OUT may be a folder for one file, but never the input itself (nor the input folder)."""
    src = tmp_path / "in"
    src.mkdir()
    picture = src / "speech.png"
    picture.write_bytes(inputs["minmax"].read_bytes())
    before = picture.read_bytes()
    for out in (picture, src):
        assert_one_line_error(run("import", "minmax", picture if out == picture else src, out, cwd=tmp_path),
                              "is IN itself" if out == picture else "is the folder IN")  # fmt: skip
    assert_one_line_error(run("import", "minmax", picture, src, cwd=tmp_path), "is IN itself")
    assert picture.read_bytes() == before and listing(src) == ["speech.png"]

    # a folder as OUT for one file: OUT/<stem>.png
    out = tmp_path / "rescued"
    out.mkdir()
    result = run("import", "minmax", picture, out, "--peak-db", -20, cwd=tmp_path)
    assert_ok(result)
    assert listing(out) == ["speech.png"] and result.stdout.startswith(f"{out / 'speech.png'}: ")


def test_a_warning_that_explains_the_error_is_shown_with_it(audio: dict[str, Any], tmp_path: Path) -> None:
    """An odd nperseg without --sr: the sample rate read from f is wrong, and the warning
    saying where it came from must come out with the error it causes."""
    f, t, Sxx = scipy.signal.spectrogram(audio["speech"], audio["sr"], window="hann", nperseg=255, noverlap=191)
    np.savez(tmp_path / "odd.npz", f=f, t=t, Sxx=Sxx)
    out = tmp_path / "odd.png"
    result = run("import", "scipy", tmp_path / "odd.npz", out, "--window", "hann", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("specimg: warning: the sample rate is not given"), lines
    assert lines[1].startswith("specimg: error: ") and "odd nperseg" in lines[1], lines
    assert not out.exists()


def test_import_folder_library_call(audio: dict[str, Any], tmp_path: Path) -> None:
    """What the CLI prints comes from specimg.legacy.import_folder's results: one per file,
    name clashes first, then the files in name order; a bad file fails alone."""
    from specimg.errors import ParameterError
    from specimg.legacy import import_folder

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    minmax_png(audio["speech"], src / "a.png")
    (src / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (src / "b.tif").write_bytes(b"not read: its output name is taken")
    seen: list[Any] = []
    results = import_folder("minmax", src, out, on_result=seen.append, peak_db=-20.0)
    assert results == seen
    assert [(r.source.name, r.ok) for r in results] == [("b.tif", False), ("a.png", True), ("b.png", False)]
    assert "rename one" in results[0].error and results[1].warnings == () and results[1].target == out / "a.png"
    assert listing(out) == ["a.png"]
    with pytest.raises(ParameterError, match="in_dir itself"):
        import_folder("minmax", src, src)
