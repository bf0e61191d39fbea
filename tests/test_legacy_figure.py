"""specimg.legacy.from_figure: real librosa.display.specshow figures back to calibrated images."""

from __future__ import annotations

import io
from functools import cache

import matplotlib

matplotlib.use("Agg")

import librosa
import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

import specimg
from specimg.errors import AssumptionWarning, FormatError, ParameterError
from specimg.legacy import default_peak_db, from_figure
from specimg.legacy._figure import _row_cells

from .conftest import CORPUS, SAMPLE_DATA

SR = 22050
SECONDS = 2.5


@cache
def _audio(name: str) -> np.ndarray:
    y, sr = sf.read(SAMPLE_DATA / f"{name}.wav", always_2d=True)
    assert sr == SR
    return np.ascontiguousarray(y.mean(axis=1)[: int(SECONDS * SR)])


@cache
def _xdb(name: str, y_axis: str, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    y = _audio(name)
    if y_axis == "mel":
        S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=n_fft, hop_length=hop_length)
        return librosa.power_to_db(S, ref=np.max)
    return librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)), ref=np.max)


def _figure(
    X: np.ndarray,
    *,
    size: tuple[float, float] = (6.4, 4.8),
    fmt: str = "png",
    y_axis: str = "hz",
    cmap: str = "magma",
    hop_length: int = 512,
    clean: bool = True,
) -> Image.Image:
    """A specshow figure as the user makes it, saved at dpi 100 and read back."""
    if clean:
        fig = plt.figure(figsize=size, dpi=100)
        ax = fig.add_axes([0, 0, 1, 1])
        ax.axis("off")
        librosa.display.specshow(X, sr=SR, hop_length=hop_length, x_axis="time", y_axis=y_axis, cmap=cmap, ax=ax)
    else:  # the default recipe: axes, labels, colorbar and title around the plot
        fig = plt.figure()
        librosa.display.specshow(X, sr=SR, hop_length=hop_length, x_axis="time", y_axis=y_axis, cmap=cmap)
        plt.colorbar(format="%+2.0f dB")
        plt.title("spectrogram")
    buf = io.BytesIO()
    if fmt == "jpg":
        fig.savefig(buf, format="jpeg", dpi=100, pil_kwargs={"quality": 95})
    else:
        fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    buf.seek(0)
    im = Image.open(buf)
    im.load()
    return im


def _correlation(img: specimg.SpectrogramImage, X: np.ndarray) -> float:
    D = img.db - img.db.max()
    keep = X > -80
    return float(np.corrcoef(D[keep], X[keep])[0, 1])


@pytest.mark.parametrize(
    "name, y_axis, cmap, size, fmt, min_r",
    [
        # big lossless figures: cells are averaged over their pixels
        ("speech", "hz", "magma", (20, 20), "png", 0.95),
        ("music", "log", "gray", (20, 20), "png", 0.95),
        ("music", "mel", "viridis", (20, 20), "png", 0.95),
        # 640x480: fewer pixel rows than STFT bins, rows are interpolated
        ("speech", "hz", "gray", (6.4, 4.8), "png", 0.9),
        ("music", "hz", "viridis", (6.4, 4.8), "png", 0.9),
        ("speech", "log", "magma", (6.4, 4.8), "png", 0.9),
        ("music", "log", "viridis", (6.4, 4.8), "png", 0.9),
        ("speech", "mel", "gray", (6.4, 4.8), "png", 0.9),
        ("music", "mel", "magma", (6.4, 4.8), "png", 0.9),
        # JPEG quality 95
        ("music", "hz", "magma", (6.4, 4.8), "jpg", 0.9),
        ("speech", "log", "viridis", (6.4, 4.8), "jpg", 0.9),
        ("music", "mel", "gray", (6.4, 4.8), "jpg", 0.9),
        ("speech", "mel", "magma", (20, 20), "jpg", 0.95),
    ],
)
def test_recovers_the_plotted_levels(name, y_axis, cmap, size, fmt, min_r):
    X = _xdb(name, y_axis)
    n = len(_audio(name))
    img = from_figure(_figure(X, size=size, fmt=fmt, y_axis=y_axis, cmap=cmap), n_samples=n, y_axis=y_axis,
                      cmap=cmap, peak_db=-10.0)
    assert img.db.shape == X.shape
    assert img.params.n_samples == n
    assert img.params.scale == ("mel" if y_axis == "mel" else "linear")
    assert _correlation(img, X) >= min_r
    # the loudest bin is where the user put it (resampling to fewer pixels than bins can only lower it)
    assert -18.0 <= img.db.max() <= -10.0 + 80 / 256


def test_params_and_decode(tmp_path):
    X = _xdb("speech", "mel")
    path = tmp_path / "mel.png"
    _figure(X, y_axis="mel").save(path)
    with pytest.warns(AssumptionWarning, match="peak_db"):
        img = from_figure(path, duration=SECONDS, y_axis="mel", fmax=SR / 2)
    p = img.params
    assert (p.scale, p.n_mels, p.fmin, p.fmax, p.htk, p.norm, p.power) == ("mel", 128, 0.0, SR / 2, False, "slaney", 2.0)
    assert (p.sr, p.n_fft, p.hop_length, p.win_length, p.window, p.center) == (SR, 2048, 512, 2048, "hann", True)
    assert p.n_samples == round(SECONDS * SR) and img.shape == (128, p.frames_for(p.n_samples))
    assert img.db.max() == pytest.approx(default_peak_db(img.params), abs=0.5)
    y, sr = specimg.decode(img)
    assert sr == SR and y.shape[-1] == p.n_samples


def test_linear_params_and_gray_input():
    X = _xdb("music", "hz")
    gray = _figure(X, cmap="gray").convert("L")  # a gray figure saved or converted to one channel
    assert np.asarray(gray).ndim == 2
    img = from_figure(gray, n_samples=len(_audio("music")), cmap="gray", peak_db=0.0)
    assert img.params.scale == "linear" and img.shape == (1025, X.shape[1])
    assert _correlation(img, X) >= 0.9


@pytest.mark.parametrize("y_axis", ["hz", "log", "mel"])
def test_row_geometry_matches_matplotlib(y_axis):
    """Row edges computed by from_figure are where matplotlib draws specshow's cells."""
    n_rows = 128 if y_axis == "mel" else 1025
    data = np.zeros((n_rows, 10))
    fig = plt.figure(figsize=(4, 4), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.axis("off")
    librosa.display.specshow(data, sr=SR, x_axis="time", y_axis=y_axis, ax=ax)
    fig.canvas.draw()
    if y_axis == "mel":
        coords = librosa.mel_frequencies(n_mels=n_rows, fmin=0.0, fmax=SR / 2)
    else:
        coords = librosa.fft_frequencies(sr=SR, n_fft=2048)
    d = np.diff(coords) / 2
    edges = np.concatenate([[coords[0] - d[0]], coords[:-1] + d, [coords[-1] + d[-1]]])
    pts = np.column_stack([np.zeros_like(edges), edges])
    drawn = ax.transAxes.inverted().transform(ax.transData.transform(pts))[:, 1]
    plt.close(fig)
    params = specimg.SpectrogramParams(sr=SR, scale="mel" if y_axis == "mel" else "linear")
    lo, hi = _row_cells(y_axis, params)
    np.testing.assert_allclose(lo, drawn[:-1], atol=1e-9)
    np.testing.assert_allclose(hi, drawn[1:], atol=1e-9)


def test_known_pattern_is_recovered_exactly():
    """Each mel row holds its own level: a 2000 px tall picture gives every row back."""
    levels = np.linspace(-80, 0, 128)
    X = np.repeat(levels[::-1, None], 44, axis=1)  # loud at the bottom, descending upwards
    img = from_figure(_figure(X, size=(8, 20), y_axis="mel"), n_samples=43 * 512, y_axis="mel", peak_db=0.0)
    err = np.abs(img.db - X)
    assert img.shape == (128, 44)
    assert err.max() <= 80 / 256 + 0.01  # one colour step


# ---------------------------------------------------------------------- checks
def test_unknown_colormap_suggests_close_names():
    X = _xdb("speech", "hz")
    with pytest.raises(ParameterError, match=r"cmap='magama'.*'magma'"):
        from_figure(_figure(X), duration=SECONDS, cmap="magama")


def test_unknown_y_axis():
    with pytest.raises(ParameterError, match=r"y_axis='cqt'.*'hz', 'linear', 'fft', 'log', 'mel'"):
        from_figure(np.zeros((10, 10, 3), np.uint8), duration=1.0, y_axis="cqt")


@pytest.mark.parametrize("drawn, given, fmt", [("viridis", "magma", "png"), ("inferno", "magma", "jpg"),
                                               ("magma", "gray", "png")])
def test_wrong_colormap_names_the_ones_that_fit(drawn, given, fmt):
    X = _xdb("music", "log")
    with pytest.raises(FormatError, match=rf"do not match cmap='{given}'.*fit best: '{drawn}'"):
        from_figure(_figure(X, y_axis="log", cmap=drawn, fmt=fmt), duration=SECONDS, y_axis="log", cmap=given,
                    peak_db=0.0)


@pytest.mark.parametrize("cmap, fmt", [("magma", "png"), ("viridis", "jpg"), ("gray", "png"), ("gray_r", "png")])
def test_axes_labels_and_margins_are_refused(cmap, fmt):
    X = _xdb("speech", "hz")
    with pytest.raises(FormatError, match=r"margins, axes, labels or a colorbar.*add_axes\(\[0, 0, 1, 1\]\)"):
        from_figure(_figure(X, cmap=cmap, fmt=fmt, clean=False), duration=SECONDS, cmap=cmap, peak_db=0.0)


def test_silence_in_gray_r_is_not_a_margin():
    """gray_r paints silence white: silent starts and ends are data, not margins."""
    y = np.concatenate([np.zeros(SR // 2), _audio("speech")[: 2 * SR], np.zeros(SR // 2)])
    X = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    img = from_figure(_figure(X, cmap="gray_r"), n_samples=len(y), cmap="gray_r", peak_db=0.0)
    assert _correlation(img, X) >= 0.9


def test_duration_contradicting_the_figure():
    X = _xdb("speech", "hz")  # 108 frames, drawn 1000 px wide: ~9 px per frame
    im = _figure(X, size=(10, 4))
    with pytest.raises(ParameterError, match=r"shows about 108 frames.*make 216.*duration ≈ 2\.4\d s"):
        from_figure(im, duration=2 * SECONDS, peak_db=0.0)


def test_frame_count_read_from_the_figure():
    X = _xdb("speech", "hz")
    with pytest.warns(AssumptionWarning, match="shows 108 frames"):
        img = from_figure(_figure(X, size=(10, 4), fmt="jpg"), peak_db=0.0)
    assert img.n_frames == 108 and img.params.n_samples == 107 * 512


def test_no_duration_and_a_small_figure():
    X = _xdb("speech", "hz")
    with pytest.raises(ParameterError, match="duration="):
        from_figure(_figure(X, size=(1.0, 4.8)), peak_db=0.0)  # 100 px for 108 frames


def test_n_fft_contradicting_the_rows():
    X = _xdb("speech", "hz", n_fft=512, hop_length=128)  # 257 bins drawn 1000 px tall
    im = _figure(X, size=(4, 10), hop_length=128)
    with pytest.raises(ParameterError, match=r"about 257 frequency bins.*n_fft=2048 makes 1025.*n_fft ≈ 512"):
        from_figure(im, duration=SECONDS, hop_length=128, peak_db=0.0)
    img = from_figure(im, duration=SECONDS, n_fft=512, hop_length=128, peak_db=0.0)
    assert _correlation(img, X) >= 0.95


def test_duration_and_n_samples_must_agree():
    X = _xdb("speech", "hz")
    with pytest.raises(ParameterError, match="pass only one"):
        from_figure(_figure(X), duration=SECONDS, n_samples=1000, peak_db=0.0)


def test_plt_imread_float_rgba_reads_like_the_file(tmp_path):
    """plt.imread returns float32 RGBA in [0, 1]; it must read exactly as the PNG does."""
    path = tmp_path / "fig.png"
    _figure(_xdb("speech", "log"), y_axis="log").save(path)
    from_file = from_figure(path, duration=SECONDS, y_axis="log", peak_db=-12.0)
    from_array = from_figure(plt.imread(path), duration=SECONDS, y_axis="log", peak_db=-12.0)
    assert from_array.pixels.dtype == from_file.pixels.dtype
    assert np.max(np.abs(from_array.db - from_file.db)) < 1e-6


def test_hop_length_defaults_to_librosa_win_length_over_4():
    X = _xdb("speech", "hz", n_fft=1024, hop_length=256)
    img = from_figure(_figure(X, hop_length=256), n_fft=1024, duration=SECONDS, peak_db=-12.0)
    assert (img.params.hop_length, img.shape) == (256, (513, X.shape[1]))


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "music_love_theme.wav").is_file(), reason=f"{CORPUS} is absent")
def test_a_looped_sound_is_not_taken_for_cells():
    """A loop repeated across a 60-s figure is structure in the sound, not pcolormesh cells:
    the size check once read this 10-s theme looped 6 times as 6 frames and refused it."""
    loop, _ = sf.read(CORPUS / "music_love_theme.wav")
    y = np.tile(loop, 6)[: 60 * SR]
    X = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    img = from_figure(_figure(X, y_axis="log"), duration=60.0, y_axis="log", peak_db=-12.0)
    assert img.shape == (1025, X.shape[1])
