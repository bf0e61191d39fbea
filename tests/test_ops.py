"""specimg.ops: edits in calibrated units that keep the parameters and record a history."""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import scipy.ndimage
from PIL import Image, ImageDraw

import specimg
from specimg import ops
from specimg.errors import ParameterError
from specimg.image import SpectrogramImage

from .conftest import SAMPLE_DATA, sine

SPEECH = SAMPLE_DATA / "speech.wav"
MUSIC = SAMPLE_DATA / "music.wav"


def frozen(img: SpectrogramImage) -> SpectrogramImage:
    """The same image with read-only pixels: an op that writes into its input fails."""
    pixels = img.pixels.copy()
    pixels.setflags(write=False)
    return SpectrogramImage(pixels, img.params)


@pytest.fixture(scope="module")
def speech() -> SpectrogramImage:
    y, sr = specimg.read_audio(SPEECH)
    return frozen(specimg.encode(y, sr))


@pytest.fixture(scope="module")
def stereo() -> SpectrogramImage:
    y, sr = specimg.read_audio(MUSIC)
    return frozen(specimg.encode(y[:, : 2 * sr], sr, n_fft=512))


@pytest.fixture(scope="module")
def noisy_speech() -> tuple[SpectrogramImage, SpectrogramImage]:
    """Clean and noisy (white noise at 5 dB SNR, seeded) encodings of the speech sample."""
    y, sr = specimg.read_audio(SPEECH)
    noise = np.random.default_rng(0).standard_normal(y.shape)
    noise *= np.sqrt(np.mean(y**2) / np.mean(noise**2)) / 10 ** (5 / 20)
    return specimg.encode(y, sr), frozen(specimg.encode(y + noise, sr))


def db_error(img: SpectrogramImage, clean: SpectrogramImage) -> float:
    """RMS dB error over the bins where the clean spectrogram is above -80 dB."""
    keep = clean.db > -80
    return float(np.sqrt(np.mean((img.db[keep] - clean.db[keep]) ** 2)))


def magnitude_snr(img: SpectrogramImage, clean: SpectrogramImage) -> float:
    """10 log10(‖C‖² / ‖D − C‖²) of the calibrated magnitudes, in dB."""
    C, D = clean.magnitude, img.magnitude
    return float(10 * np.log10(np.sum(C**2) / np.sum((D - C) ** 2)))


def check_edit(out: SpectrogramImage, img: SpectrogramImage, op: str) -> dict[str, Any]:
    """Same params except one more edits entry, a plain JSON dict; the input untouched."""
    assert out is not img and out.pixels is not img.pixels
    assert out.params.replace(edits=()) == img.params.replace(edits=())
    assert out.params.edits[:-1] == img.params.edits
    edit = out.params.edits[-1]
    assert edit["op"] == op
    assert json.loads(json.dumps(edit, allow_nan=False)) == edit  # tuples would come back as lists
    assert out.pixels.dtype == img.pixels.dtype and out.shape == img.shape
    return dict(edit)


# ---------------------------------------------------------------------------- history
OPS: dict[str, Callable[[SpectrogramImage], SpectrogramImage]] = {
    "erase": lambda img: ops.erase(img, time=(1.0, 1.3)),
    "gain": lambda img: ops.gain(img, -6.0, freq=(0.0, 1000.0)),
    "denoise": lambda img: ops.denoise(img, "median"),
    "inpaint": lambda img: ops.inpaint(img, np.pad(np.ones((4, 4), bool), ((10, img.shape[0] - 14), (10, img.shape[1] - 14)))),
    "apply_mask": lambda img: ops.apply_mask(img, np.eye(*img.shape, dtype=bool)),
    "apply": lambda img: ops.apply(img, np.flipud),
}


@pytest.mark.parametrize("op", list(OPS))
def test_every_op_keeps_params_and_appends_one_edit(speech: SpectrogramImage, op: str) -> None:
    before = speech.pixels.copy()
    out = OPS[op](speech)
    check_edit(out, speech, op)
    assert np.array_equal(speech.pixels, before)
    again = OPS[op](out)  # the history grows in order
    assert [e["op"] for e in again.params.edits] == [op, op]


def test_history_survives_save_and_load(speech: SpectrogramImage, tmp_path: Path) -> None:
    out = ops.gain(ops.erase(speech, time=(1.0, 1.3), freq=(None, 4000)), 3.0, time=(2, None))
    assert out.params.edits == (
        {"op": "erase", "time": [1.0, 1.3], "freq": [0.0, 4000.0], "fade": 0.02, "fade_hz": 4 * 22050 / 2048},
        {"op": "gain", "db": 3.0, "time": [2.0, 127904 / 22050], "freq": None, "fade": 0.02, "fade_hz": 4 * 22050 / 2048},
    )
    loaded = specimg.load(specimg.save(out, tmp_path / "edited.png"))
    assert loaded.params == out.params
    assert np.array_equal(loaded.pixels, out.pixels)


# ---------------------------------------------------------------------------- erase / gain
def test_erase_full_band_region(speech: SpectrogramImage) -> None:
    p = speech.params
    t0, t1, fade = 1.0, 1.3, 0.1
    out = ops.erase(speech, time=(t0, t1), fade=fade)
    edit = check_edit(out, speech, "erase")
    assert edit == {"op": "erase", "time": [t0, t1], "freq": None, "fade": fade, "fade_hz": 4 * p.sr / p.n_fft}
    times = speech.times
    inside = (times >= t0) & (times <= t1)
    far = (times < t0 - fade) | (times > t1 + fade)
    assert inside.sum() >= 12
    assert np.all(out.db[:, inside] == p.db_min)
    assert np.all(out.pixels[:, inside] == 0)
    assert np.array_equal(out.pixels[:, far], speech.pixels[:, far])  # pixel-exact
    # the soft edge: the attenuation (the same for every bin of a frame, apart from
    # quantisation and the floor) grows monotonically towards the region on both sides
    before = np.flatnonzero((times >= t0 - fade) & (times < t0))  # far → near
    after = np.flatnonzero((times > t1) & (times <= t1 + fade))[::-1]  # far → near
    for frames in (before, after):
        loss = []
        for t in frames:
            live = out.db[:, t] > p.db_min  # none left: the whole frame went below the floor
            loss.append(float(np.median(speech.db[live, t] - out.db[live, t])) if live.any() else np.inf)
        finite = [v for v in loss if np.isfinite(v)]
        assert len(finite) >= 3 and loss[: len(finite)] == finite, loss
        assert np.all(np.diff(finite) > 0), loss
        assert 0 <= loss[0] < 3.0 and loss[-1] > 12.0, loss


def test_erase_and_gain_are_pixel_exact_outside_their_region(speech: SpectrogramImage) -> None:
    for out in (ops.erase(speech, time=(1, 2), freq=(500, 1500)), ops.gain(speech, 4.0, time=(1, 2), freq=(500, 1500))):
        w = ops.region_mask(speech, time=(1, 2), freq=(500, 1500))
        untouched = (w == 0)[::-1]  # bin order → image orientation (flip)
        assert np.array_equal(out.pixels[untouched], speech.pixels[untouched])
        assert not np.array_equal(out.pixels, speech.pixels)


@pytest.mark.parametrize("db", [6.0, -6.0])
def test_gain_in_region_measured_in_db(speech: SpectrogramImage, db: float) -> None:
    p = speech.params
    out = ops.gain(speech, db, time=(1.0, 3.0), freq=(200.0, 4000.0))
    edit = check_edit(out, speech, "gain")
    assert edit["db"] == db and edit["time"] == [1.0, 3.0] and edit["freq"] == [200.0, 4000.0]
    w = ops.region_mask(speech, time=(1.0, 3.0), freq=(200.0, 4000.0))
    before, after = speech.db, out.db
    room = (before > p.db_min + 6.01) & (before < p.db_max - 6.01)
    full = (w == 1) & room
    assert full.sum() > 10_000
    step = (p.db_max - p.db_min) / 65535
    np.testing.assert_allclose(after[full] - before[full], db, atol=step)
    edge = (w > 0) & (w < 1) & room
    assert edge.any()
    assert np.all(np.abs(after[edge] - before[edge]) <= abs(db) + step)
    assert np.array_equal(after[w == 0], before[w == 0])
    silent = (w == 1) & (before == p.db_min)
    assert silent.any() and np.all(after[silent] == p.db_min)  # silence stays silent


def test_gain_warns_when_it_clips(speech: SpectrogramImage) -> None:
    with pytest.warns(specimg.ClippingWarning, match="db_max"):
        ops.gain(speech, 60.0)


def test_region_mask_soft_edges(speech: SpectrogramImage) -> None:
    w = ops.region_mask(speech, time=(2.0, 3.0), freq=(1000.0, 2000.0), fade=0.2, fade_hz=200.0)
    assert w.shape == (speech.params.n_bins, speech.n_frames)
    assert w.min() == 0.0 and w.max() == 1.0
    f, t = speech.frequencies, speech.times
    assert np.all(w[(f >= 1000) & (f <= 2000)][:, (t >= 2) & (t <= 3)] == 1.0)
    row = w[np.argmin(np.abs(f - 1500))]
    rising = row[(t > 1.8) & (t < 2.0)]
    assert np.all(np.diff(rising) > 0) and 0 < rising[0] < 0.5  # raised cosine
    col = w[:, np.argmin(np.abs(t - 2.5))]
    assert np.all(col[f < 800] == 0) and np.all(col[f > 2200] == 0)
    assert np.all(np.diff(col[(f > 800) & (f < 1000)]) > 0)
    np.testing.assert_array_equal(ops.region_mask(speech), np.ones_like(w))
    # a click shorter than a hop still covers the frame nearest to it
    k = 100
    click = ops.region_mask(speech, time=(t[k] + 0.003, t[k] + 0.008), fade=0)  # between two centres
    assert np.flatnonzero(click[0]).tolist() == [k]


def test_mel_images_map_hz_through_mel_centre_frequencies() -> None:
    y, sr = specimg.read_audio(SPEECH)
    mel = specimg.encode(y[: sr], sr, scale="mel", n_mels=64, fmax=8000.0)
    centres = mel.params.frequencies
    w = ops.region_mask(mel, freq=(500.0, 2000.0), fade_hz=0)
    rows = w[:, 0] == 1
    np.testing.assert_array_equal(rows, (centres >= 500) & (centres <= 2000))
    linear_rows = (np.fft.rfftfreq(mel.params.n_fft, 1 / sr)[:64] >= 500)
    assert rows.sum() != linear_rows.sum()  # not mistaken for STFT bins
    out = ops.erase(mel, freq=(500.0, 2000.0), fade_hz=0)
    assert np.all(out.db[rows] == mel.params.db_min)
    assert np.array_equal(out.db[~rows], mel.db[~rows])
    ops.erase(mel, freq=(0, 8000.0))  # fmax is the top of a mel image
    with pytest.raises(ParameterError, match="8500.*fmax"):
        ops.erase(mel, freq=(0, 8500.0))


def test_stereo_ops_work_per_channel(stereo: SpectrogramImage) -> None:
    out = ops.erase(stereo, time=(0.5, 1.0))
    times = stereo.times
    inside = (times >= 0.5) & (times <= 1.0)
    far = (times < 0.5 - 0.02) | (times > 1.0 + 0.02)
    assert np.all(out.db[:, :, inside] == stereo.params.db_min)  # both channels
    assert np.array_equal(out.pixels[:, far], stereo.pixels[:, far])
    for method in ("nlmeans", "gate"):
        d = ops.denoise(stereo, method)
        check_edit(d, stereo, "denoise")
        assert not np.array_equal(d.pixels, stereo.pixels)
    # a per-channel mask block applies to every channel
    block = np.zeros((stereo.params.n_bins, stereo.n_frames), bool)
    block[100:110, 20:30] = True
    filled = ops.inpaint(stereo, block)
    hole = np.tile(block, (2, 1))
    assert np.array_equal(filled.pixels[~hole], stereo.pixels[~hole])
    assert filled.params.edits[-1]["pixels"] == 2 * 100


# ---------------------------------------------------------------------------- denoise
HAVE_PYWT = importlib.util.find_spec("pywt") is not None
DENOISERS = ["nlmeans", "tv", pytest.param("wavelet", marks=pytest.mark.skipif(
    not HAVE_PYWT, reason="PyWavelets is not installed")), "bilateral", "median", "gate"]  # fmt: skip


@pytest.mark.parametrize("method", DENOISERS)
def test_denoise_helps_on_speech_in_white_noise(noisy_speech: tuple[SpectrogramImage, SpectrogramImage], method: str) -> None:
    clean, noisy = noisy_speech
    out = ops.denoise(noisy, method)
    edit = check_edit(out, noisy, "denoise")
    assert edit["method"] == method and edit["strength"] == ops.DENOISE_STRENGTH[method]
    assert set(edit) == {"op", "method", "strength", "noise", *ops.DENOISE_OPTIONS[method]}
    # measured with the defaults: noisy 14.8 dB error / 5.8 dB SNR; every method is
    # below 11.5 dB error and above 8.6 dB SNR (nlmeans 10.3 / 13.0, gate 10.4 / 14.2)
    e_noisy, e_out = db_error(noisy, clean), db_error(out, clean)
    s_noisy, s_out = magnitude_snr(noisy, clean), magnitude_snr(out, clean)
    assert e_out < e_noisy - 3.0, (e_noisy, e_out)
    assert s_out > s_noisy + 2.5, (s_noisy, s_out)


def test_best_denoiser_gains_5_db_of_magnitude_snr(noisy_speech: tuple[SpectrogramImage, SpectrogramImage]) -> None:
    clean, noisy = noisy_speech
    best = max(magnitude_snr(ops.denoise(noisy, m), clean) for m in ("nlmeans", "gate"))
    assert best > magnitude_snr(noisy, clean) + 5.0


def test_picture_filters_alone_smooth_without_subtracting(noisy_speech: tuple[SpectrogramImage, SpectrogramImage]) -> None:
    _, noisy = noisy_speech
    plain = ops.denoise(noisy, "median", subtract=False)
    assert plain.params.edits[-1]["subtract"] is False
    expected = SpectrogramImage.from_db(scipy.ndimage.median_filter(noisy.db, size=(3, 3), mode="nearest"), plain.params)
    assert np.array_equal(plain.pixels, expected.pixels)
    # smoothing lowers the scatter of the noise but not its level; subtraction lowers both
    quiet = slice(105, 112)  # frames 2.44-2.58 s: a pause in the speech
    sub = ops.denoise(noisy, "median")
    assert plain.db[:, quiet].std() < noisy.db[:, quiet].std() - 1.0
    assert abs(plain.db[:, quiet].mean() - noisy.db[:, quiet].mean()) < 3.0
    assert sub.db[:, quiet].mean() < noisy.db[:, quiet].mean() - 15.0


def test_nlmeans_on_8_bit_and_float_images(noisy_speech: tuple[SpectrogramImage, SpectrogramImage]) -> None:
    clean, noisy = noisy_speech
    ref = ops.denoise(noisy, "nlmeans")
    for depth in (8, 32):
        img = SpectrogramImage.from_db(noisy.db, noisy.params.replace(bit_depth=depth))
        out = ops.denoise(img, "nlmeans")
        assert out.params.bit_depth == depth and out.pixels.dtype == img.pixels.dtype
        assert db_error(out, clean) < db_error(img, clean) - 3.0
        if depth == 32:  # the same 16-bit picture goes to OpenCV
            assert np.mean(np.abs(out.db - ref.db)) < 0.01


def test_gate_with_a_noise_region_keeps_the_tone() -> None:
    sr = 22050
    y = 0.01 * np.random.default_rng(1).standard_normal(2 * sr)
    y[sr // 2 :] += sine(1000, sr, 1.5, amp=0.3)
    img = specimg.encode(y, sr, n_fft=1024)
    out = ops.denoise(img, "gate", noise=(0.0, 0.4), reduction=25.0)
    edit = check_edit(out, img, "denoise")
    assert edit["noise"] == [0.0, 0.4] and edit["reduction"] == 25.0
    k = np.argmin(np.abs(img.frequencies - 1000))
    late = img.times > 0.7
    np.testing.assert_allclose(out.db[k, late], img.db[k, late], atol=1e-9)  # the tone passes
    far = np.abs(img.frequencies - 1000) > 300
    drop = img.db[far][:, late] - out.db[far][:, late]
    assert np.median(drop) == pytest.approx(25.0, abs=0.01)  # the noise is gated
    band = ops.denoise(img, "gate", noise=(0.0, 0.4, 3000.0, 6000.0))
    outside = (img.frequencies < 3000) | (img.frequencies > 6000)
    assert np.array_equal(band.db[outside], img.db[outside])  # only the band is gated
    assert band.params.edits[-1]["noise"] == [0.0, 0.4, 3000.0, 6000.0]


@pytest.mark.parametrize("method", ["gate", "median"])
def test_denoise_on_a_region_changes_only_the_region_and_replays(method: Any) -> None:
    sr = 16000
    y = 0.02 * np.random.default_rng(2).standard_normal(2 * sr)
    y[sr:] += sine(700, sr, 1.0, amp=0.3)
    img = specimg.encode(y, sr, n_fft=512)
    whole = ops.denoise(img, method, noise=(0.0, 0.5))
    out = ops.denoise(img, method, noise=(0.0, 0.5), time=(0.8, 1.6), freq=(0, 4000), fade=0.05, fade_hz=200)
    w = ops.region_mask(img, time=(0.8, 1.6), freq=(0, 4000), fade=0.05, fade_hz=200)
    keep = specimg.image.stack_channels(w[np.newaxis] == 0, img.params)
    assert np.array_equal(out.pixels[keep], img.pixels[keep])  # outside the region and its fade: unchanged
    full = specimg.image.stack_channels(w[np.newaxis] == 1, img.params)
    assert np.array_equal(out.pixels[full], whole.pixels[full])  # inside: the whole-image denoise
    edge = (w > 0) & (w < 1)
    lo, hi = np.minimum(img.db, whole.db)[edge], np.maximum(img.db, whole.db)[edge]
    assert np.all((out.db[edge] >= lo - 1e-3) & (out.db[edge] <= hi + 1e-3))  # the fade goes between them
    edit = check_edit(out, img, "denoise")
    assert edit["time"] == [0.8, 1.6] and edit["freq"] == [0.0, 4000.0] and edit["fade"] == 0.05 and edit["noise"] == [0.0, 0.5]
    assert np.array_equal(ops.replay(img, [edit]).pixels, out.pixels)
    assert "time" not in whole.params.edits[-1]  # a whole-image entry is as before
    with pytest.raises(ParameterError, match="time"):
        ops.denoise(img, method, time=(1.5, 9.0))


def test_denoise_argument_errors(speech: SpectrogramImage, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ParameterError, match="'sharpen'"):
        ops.denoise(speech, "sharpen")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'radius'.*template_size"):
        ops.denoise(speech, "nlmeans", radius=3)
    with pytest.raises(ParameterError, match="strength=-1"):
        ops.denoise(speech, "tv", strength=-1)
    with pytest.raises(ParameterError, match="median.*size"):
        ops.denoise(speech, "median", strength=3.0)
    with pytest.raises(ParameterError, match="template_size=4"):
        ops.denoise(speech, "nlmeans", template_size=4)
    with pytest.raises(ParameterError, match=r"noise=\(1, 2, 3\)"):
        ops.denoise(speech, "gate", noise=(1, 2, 3))
    with pytest.raises(ParameterError, match="t1=60"):
        ops.denoise(speech, "gate", noise=(0, 60))
    with pytest.raises(ParameterError, match="wavelet=3"):
        ops.denoise(speech, "wavelet", wavelet=3)
    with pytest.raises(ParameterError, match="quantile=0"):
        ops.denoise(speech, "gate", quantile=0)
    monkeypatch.setitem(sys.modules, "pywt", None)  # as if PyWavelets were not installed
    with pytest.raises(ParameterError, match="PyWavelets"):
        ops.denoise(speech, "wavelet")


# ---------------------------------------------------------------------------- inpaint
@pytest.mark.parametrize("method", ["telea", "ns", "biharmonic"])
def test_inpaint_fills_from_the_surroundings(speech: SpectrogramImage, method: str) -> None:
    hole = np.zeros(speech.shape, bool)
    hole[600:620, 120:126] = True  # about 1 kHz, 2.8 s
    ring = np.zeros_like(hole)
    ring[597:623, 117:129] = True
    ring &= ~hole
    erased = ops.apply(speech, lambda a: np.where(hole, -1000.0, a))  # the hole holds silence
    out = ops.inpaint(erased, hole, method=method)
    edit = check_edit(out, erased, "inpaint")
    assert edit == {"op": "inpaint", "method": method, "radius": None if method == "biharmonic" else 3.0,
                    "mask": None, "pixels": 120}  # fmt: skip
    assert np.array_equal(out.pixels[~hole], erased.pixels[~hole])  # bit-exact outside
    level = out.db[::-1]  # image orientation
    original = speech.db[::-1]
    fill, around = level[hole], original[ring]
    assert around.min() - 10 <= fill.min() and fill.max() <= around.max() + 10
    assert np.mean(np.abs(fill - original[hole])) < 15.0
    assert np.mean(np.abs(erased.db[::-1][hole] - original[hole])) > 30.0


def test_inpaint_from_a_painted_file_and_errors(speech: SpectrogramImage, tmp_path: Path) -> None:
    rows, cols = speech.shape
    im = Image.new("RGB", (cols, rows), "black")
    ImageDraw.Draw(im).rectangle([50, 400, 59, 419], fill="white")  # x0, y0, x1, y1 inclusive
    im.save(tmp_path / "hole.png")
    out = ops.inpaint(speech, tmp_path / "hole.png", method="ns")
    hole = np.zeros(speech.shape, bool)
    hole[400:420, 50:60] = True
    assert np.array_equal(out.pixels[~hole], speech.pixels[~hole])
    assert out.params.edits[-1]["mask"] == str(tmp_path / "hole.png")
    assert out.params.edits[-1]["pixels"] == 200
    with pytest.raises(ParameterError, match="'fill'"):
        ops.inpaint(speech, hole, method="fill")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=f"200×100.*{cols}×{rows}"):
        ops.inpaint(speech, np.zeros((100, 200), bool))
    with pytest.raises(specimg.MissingFileError, match="nothere.png"):
        ops.inpaint(speech, tmp_path / "nothere.png")


# ---------------------------------------------------------------------------- apply_mask
def test_apply_mask_from_a_pillow_painting(speech: SpectrogramImage, tmp_path: Path) -> None:
    p = speech.params
    rows, cols = speech.shape
    painted = np.zeros(speech.shape, bool)
    painted[200:400, 30:80] = True
    painted[700:710, 150:200] = True
    im = Image.new("RGB", (cols, rows), (0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.rectangle([30, 200, 79, 399], fill=(255, 255, 255))
    draw.rectangle([150, 700, 199, 709], fill=(255, 240, 250))  # an off-white brush
    im.save(tmp_path / "strokes.png")
    out = ops.apply_mask(speech, tmp_path / "strokes.png", db=-40.0)
    edit = check_edit(out, speech, "apply_mask")
    assert edit == {"op": "apply_mask", "mask": str(tmp_path / "strokes.png"), "db": -40.0, "threshold": 0.5,
                    "fade": 0.0, "invert": False, "pixels": int(painted.sum())}  # fmt: skip
    before, after = speech.db[::-1], out.db[::-1]  # image orientation
    assert np.array_equal(out.pixels[~painted], speech.pixels[~painted])
    step = (p.db_max - p.db_min) / 65535
    expected = np.maximum(before[painted] - 40.0, p.db_min)
    expected[before[painted] == p.db_min] = p.db_min
    np.testing.assert_allclose(after[painted], expected, atol=step)
    # the same strokes black on white, RGBA, with invert=True
    Image.fromarray(np.where(painted, 0, 255).astype(np.uint8)).convert("RGBA").save(tmp_path / "black.png")
    inv = ops.apply_mask(speech, tmp_path / "black.png", db=-40.0, invert=True)
    assert np.array_equal(inv.pixels, out.pixels)


def test_apply_mask_continuous_16_bit_and_fade(speech: SpectrogramImage, tmp_path: Path) -> None:
    p = speech.params
    gray = np.zeros(speech.shape, np.uint16)
    gray[300:320, 100:110] = 32768  # half gray
    Image.fromarray(gray).save(tmp_path / "soft.png")
    out = ops.apply_mask(speech, tmp_path / "soft.png", db=-20.0, threshold=None)
    region = gray > 0
    live = speech.db[::-1][region] > p.db_min + 20
    delta = out.db[::-1][region][live] - speech.db[::-1][region][live]
    np.testing.assert_allclose(delta, -20.0 * 32768 / 65535, atol=0.01)
    assert ops.apply_mask(speech, tmp_path / "soft.png", threshold=0.6).params.edits[-1]["pixels"] == 0
    # a fade spreads the attenuation outward along time, not across frequency
    faded = ops.apply_mask(speech, gray > 0, db=-20.0, fade=0.1)
    changed = faded.pixels != speech.pixels
    assert changed[300:320, 95:100].any() and not changed[290:300].any() and not changed[:, :95].any()


def test_apply_mask_errors(speech: SpectrogramImage, tmp_path: Path) -> None:
    rows, cols = speech.shape
    Image.new("L", (cols - 1, rows)).save(tmp_path / "small.png")
    with pytest.raises(ParameterError, match=rf"small.png is {cols - 1}×{rows} \(width×height\) but the image is {cols}×{rows}"):
        ops.apply_mask(speech, tmp_path / "small.png")
    with pytest.raises(ParameterError, match="outside"):
        ops.apply_mask(speech, np.full(speech.shape, 2.0))
    with pytest.raises(ParameterError, match="threshold=1.5"):
        ops.apply_mask(speech, np.zeros(speech.shape, bool), threshold=1.5)
    with pytest.raises(ParameterError, match="db=nan"):
        ops.apply_mask(speech, np.zeros(speech.shape, bool), db=float("nan"))


def test_mask_files_are_read_by_the_picture_rules(speech: SpectrogramImage, tmp_path: Path) -> None:
    """Alpha over black (transparent = not painted), BT.601 gray, each dtype by its full scale."""
    from specimg import pictures

    rows, cols = speech.shape
    rgba = np.zeros((rows, cols, 4), np.uint8)
    rgba[100:200, 10:60] = (255, 255, 255, 255)  # painted white
    rgba[300:400, 10:60] = (255, 255, 255, 0)  # white but transparent: not painted
    rgba[500:600, 10:60] = (255, 0, 0, 255)  # red: BT.601 gray round(0.299 * 255) = 76
    rgba[700:800, 10:60] = (255, 255, 255, 128)  # half transparent white: gray 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    gray = pictures.read_gray(tmp_path / "rgba.png")
    assert gray.dtype == np.uint8
    assert (gray[150, 30], gray[350, 30], gray[550, 30], gray[750, 30]) == (255, 0, 76, 128)
    out = ops.apply_mask(speech, tmp_path / "rgba.png", db=-30.0, threshold=None)
    unit = pictures.unit_gray(pictures.read_picture(tmp_path / "rgba.png").pixels)  # luma keeps its fraction
    assert np.array_equal(out.pixels, ops.apply_mask(speech, unit, db=-30.0, threshold=None).pixels)
    changed = out.pixels != speech.pixels
    assert changed[100:200, 10:60].any() and not changed[300:400].any()
    live = speech.db[::-1] > speech.params.db_min + 30
    delta = (out.db[::-1] - speech.db[::-1])[500:600, 10:60][live[500:600, 10:60]]
    np.testing.assert_allclose(delta, -30.0 * 0.299, atol=0.01)
    # other modes give the gray level the picture door reads, scaled by the dtype's full scale
    L = np.where(gray > 100, 200, 0).astype(np.uint8)
    Image.fromarray(np.dstack([L, np.full_like(L, 255)]), "LA").save(tmp_path / "la.png")
    Image.fromarray(L > 0).save(tmp_path / "one.png")
    Image.fromarray(L.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    Image.fromarray(L, "L").convert("P").save(tmp_path / "palette.png")
    expected_of = {"la.png": L, "one.png": L > 0, "sixteen.png": L.astype(np.uint16) * 257, "palette.png": L}
    for name, expected in expected_of.items():
        got = ops.apply_mask(speech, tmp_path / name, db=-30.0, threshold=None)
        assert np.array_equal(got.pixels, ops.apply_mask(speech, expected, db=-30.0, threshold=None).pixels), name
    (tmp_path / "not.png").write_bytes(b"not a picture")
    with pytest.raises(specimg.FormatError, match="not.png"):
        ops.apply_mask(speech, tmp_path / "not.png")


# ---------------------------------------------------------------------------- apply
def test_apply_gaussian_blur(speech: SpectrogramImage) -> None:
    blur = functools.partial(cv2.GaussianBlur, ksize=(5, 5), sigmaX=1.0)
    out = ops.apply(speech, blur)
    edit = check_edit(out, speech, "apply")
    assert edit == {"op": "apply", "func": "cv2.GaussianBlur", "domain": "db"}
    expected = SpectrogramImage.from_db(cv2.GaussianBlur(speech.db[::-1].copy(), (5, 5), 1.0)[::-1], out.params)
    assert np.array_equal(out.pixels, expected.pixels)
    assert out.params.replace(edits=()) == speech.params


def test_apply_sees_the_image_orientation_and_units(speech: SpectrogramImage) -> None:
    p = speech.params
    seen: list[np.ndarray] = []

    def record(a: np.ndarray) -> np.ndarray:
        seen.append(a.copy())
        return a

    ops.apply(speech, record)
    np.testing.assert_array_equal(seen[0], speech.db[::-1])  # low frequencies at the bottom
    ops.apply(speech, record, domain="unit")
    np.testing.assert_allclose(seen[1], (speech.db[::-1] - p.db_min) / (p.db_max - p.db_min))
    assert ops.apply(speech, lambda u: u * 0, domain="unit").params.edits[-1]["domain"] == "unit"
    clipped = ops.apply(speech, lambda a: a + 500.0)
    assert np.all(clipped.db == p.db_max)


def test_unit_level_does_not_depend_on_invert(speech: SpectrogramImage) -> None:
    """0 is the floor and 1 db_max in the unit domain, whatever params.invert says."""
    inverted = SpectrogramImage.from_db(speech.db, speech.params.replace(invert=True))
    seen: list[np.ndarray] = []

    def record(a: np.ndarray) -> np.ndarray:
        seen.append(a.copy())
        return a**2

    a, b = ops.apply(speech, record, domain="unit"), ops.apply(inverted, record, domain="unit")
    np.testing.assert_array_equal(seen[0], seen[1])
    np.testing.assert_array_equal(a.db, b.db)
    for method in ("nlmeans", "tv"):  # the filters see the same level too
        np.testing.assert_array_equal(ops.denoise(speech, method).db, ops.denoise(inverted, method).db)


def test_apply_errors(speech: SpectrogramImage) -> None:
    with pytest.raises(ParameterError, match=r"shape \(1025, 249\).*\(1025, 250\)"):
        ops.apply(speech, lambda a: a[:, 1:])
    with pytest.raises(ParameterError, match="NaN"):
        ops.apply(speech, lambda a: a * np.nan)
    with pytest.raises(ParameterError, match="callable"):
        ops.apply(speech, "blur")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="domain='pixels'"):
        ops.apply(speech, np.flipud, domain="pixels")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="SpectrogramImage"):
        ops.apply(speech.pixels, np.flipud)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- bad regions
BAD_REGIONS = [
    ({"time": (-0.5, 1.0)}, "t0=-0.5"),
    ({"time": (1.0, 60.0)}, "t1=60"),
    ({"time": (2.0, 1.0)}, "t0=2 is after t1=1"),
    ({"freq": (0.0, 20000.0)}, "f1=20000 Hz is past the Nyquist"),
    ({"freq": (3000.0, 1000.0)}, "f0=3000 is after f1=1000"),
    ({"freq": (-10.0, 100.0)}, "f0=-10"),
    ({"time": (1.0,)}, r"time=\(1.0,\)"),
    ({"time": "1:2"}, "time='1:2'"),
    ({"time": (0.0, float("nan"))}, "nan"),
    ({"freq": (0, 100), "fade_hz": -1}, "fade_hz=-1"),
    ({"time": (0, 1), "fade": -0.1}, "fade=-0.1"),
]


@pytest.mark.parametrize(("region", "message"), BAD_REGIONS, ids=[m for _, m in BAD_REGIONS])
@pytest.mark.parametrize("op", ["erase", "gain", "region_mask"])
def test_bad_regions_raise_parameter_error(speech: SpectrogramImage, op: str, region: dict, message: str) -> None:
    call = {"erase": ops.erase, "gain": functools.partial(ops.gain, db=-6.0), "region_mask": ops.region_mask}[op]
    with pytest.raises(ParameterError, match=message):
        call(speech, **region)


@pytest.mark.parametrize("method", ["tv", "wavelet", "bilateral"])
def test_zero_strength_is_refused_where_the_library_misreads_it(method):
    from specimg import ParameterError, ops

    img = specimg.encode(np.random.default_rng(0).standard_normal(8192) * 0.1, 8000, n_fft=256)
    with pytest.raises(ParameterError, match="strength=0"):
        ops.denoise(img, method, strength=0)


def test_an_edit_over_the_memory_budget_is_refused_before_work(speech: SpectrogramImage, monkeypatch) -> None:
    monkeypatch.setenv("SPECIMG_MAX_MEMORY", "1M")
    with pytest.raises(specimg.ResourceError, match="editing a 250×1025 image"):
        ops.gain(speech, -6.0)


# ------------------------------------------------------------------ frames_of: edits on a crop
def _crop(img: SpectrogramImage, a: int, b: int) -> SpectrogramImage:
    """Frames [a, b) as an image of their own, as specimg studio cuts them."""
    p = img.params
    cols = np.arange(img.pixels.shape[1])[a:b]
    return SpectrogramImage(img.pixels[:, cols], p.replace(n_samples=None))


@pytest.mark.parametrize("fade", [0.0, 0.02])
def test_frames_of_gives_the_whole_image_edit_at_frame_aligned_edges(speech: SpectrogramImage, fade: float) -> None:
    """A region whose ends fall exactly on frame times (the case that a crop re-timed in
    seconds from its own start gets wrong by one frame): every op equals the whole call."""
    times = speech.times
    checked = 0
    for k0, k1 in [(10, 15), (40, 41), (100, 160), (3, 200)]:
        time = (float(times[k0]), float(times[k1]))
        a, b = max(k0 - 8, 0), min(k1 + 9, speech.n_frames)
        calls: list[Callable[[SpectrogramImage], SpectrogramImage]] = [
            lambda im: ops.erase(im, time=time, fade=fade),
            lambda im: ops.gain(im, -12.0, time=time, freq=(0.0, 300.0), fade=fade),
            # the noise floor measured inside the crop (alone, gate measures it on the whole picture)
            lambda im: ops.denoise(im, "gate", time=time, fade=fade, noise=(float(times[a]), float(times[a + 4]))),
        ]
        for call in calls:
            whole = call(speech)
            with ops.frames_of(a, speech.n_frames, n_samples=speech.params.n_samples):
                part = call(_crop(speech, a, b))
            assert np.array_equal(part.pixels, whole.pixels[:, a:b]), (k0, k1, whole.params.edits[-1]["op"])
            assert part.params.edits[-1] == whole.params.edits[-1]
            # outside the crop the whole call changed nothing
            outside = np.ones(speech.n_frames, bool)
            outside[a:b] = False
            assert np.array_equal(whole.pixels[:, outside], speech.pixels[:, outside])
            checked += 1
    assert checked == 12


def test_frames_of_on_a_stereo_mel_crop(stereo: SpectrogramImage) -> None:
    img = stereo
    times = img.times
    time = (float(times[20]), float(times[31]))
    whole = ops.erase(img, time=time, freq=(200.0, 2000.0))
    with ops.frames_of(12, img.n_frames, n_samples=img.params.n_samples):
        part = ops.erase(_crop(img, 12, 45), time=time, freq=(200.0, 2000.0))
    assert np.array_equal(part.pixels, whole.pixels[:, 12:45]) and part.params.edits[-1] == whole.params.edits[-1]


def test_frames_of_refuses_a_crop_that_does_not_fit(speech: SpectrogramImage) -> None:
    with pytest.raises(ParameterError, match=r"does not fit in frames_of\(200, 210\)"):
        with ops.frames_of(200, 210):
            ops.erase(_crop(speech, 0, 20), time=(0.1, 0.2))
    for bad in [(-1, 10), (0, 0), (1.5, 10)]:
        with pytest.raises(ParameterError, match="must be an integer"):
            with ops.frames_of(*bad):  # type: ignore[arg-type]
                pass
    # outside the block, the crop is an image of its own again
    assert ops.erase(_crop(speech, 0, 20), time=(0.1, 0.2)).params.edits[-1]["time"] == [0.1, 0.2]


@pytest.mark.parametrize("name, kwargs, says", [
    ("scipy.ndimage.gaussian_filter", {"sigma": 1e9}, "sigma=1000000000.0 for scipy.ndimage.gaussian_filter must be a number from 0 to 64"),
    ("scipy.ndimage.gaussian_filter", {"sigma": 1, "output": "float16"}, "'output' is not taken .* it takes: sigma, mode, cval, truncate"),
    ("scipy.ndimage.gaussian_filter", {}, "needs kwargs 'sigma'"),
    ("scipy.ndimage.median_filter", {"size": 3, "footprint": [1]}, "'footprint' is not taken .* it takes: size, mode, cval"),
    ("scipy.ndimage.uniform_filter", {"size": 3.5}, "must be an integer from 1 to 255"),
    ("scipy.ndimage.maximum_filter", {"size": [3, 100000]}, "must be an integer from 1 to 255"),
    ("scipy.ndimage.minimum_filter", {"size": 3, "mode": "explode"}, "must be one of reflect, constant"),
])  # fmt: skip
def test_apply_kwargs_are_checked_per_function_also_in_replay(name: str, kwargs: dict, says: str) -> None:
    img = specimg.encode(np.zeros(4000), 8000)
    with pytest.raises(ParameterError, match=says):
        ops.apply_function(name, kwargs)
    with pytest.raises(ParameterError, match=says):
        ops.replay(img, [{"op": "apply", "func": name, "kwargs": kwargs, "domain": "db"}])
    func, kw = ops.apply_function(name, {"sigma": [1, 2], "truncate": 3} if "gaussian" in name else {"size": [3, 5], "mode": "nearest"})
    assert func(np.ones((8, 8))).shape == (8, 8) and kw
