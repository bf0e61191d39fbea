"""specimg.legacy: arrays from scipy/librosa, min-max pictures, audio-diffusion and riffusion images."""

from __future__ import annotations

import importlib.util
import io

import librosa
import numpy as np
import pytest
import scipy.signal
from PIL import Image

import specimg
from specimg import AssumptionWarning, FormatError, LossyWarning, ParameterError, legacy
from specimg.metrics import db_correlation, magnitude_convergence, spectral_convergence
from specimg.spectral import calibration

from .conftest import SAMPLE_DATA, sine

SR = 22050


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    assert sr == SR
    return y[: 3 * SR]


# ------------------------------------------------------------------ scipy.signal.spectrogram


@pytest.mark.parametrize("scaling", ["density", "spectrum"])
@pytest.mark.parametrize("mode", ["psd", "magnitude", "complex"])
def test_scipy_full_scale_sine_reads_0_dbfs(scaling: str, mode: str) -> None:
    freq = 100 * SR / 1024  # on a bin centre
    f, t, Sxx = scipy.signal.spectrogram(
        sine(freq), SR, window="hann", nperseg=1024, noverlap=768, scaling=scaling, mode=mode
    )
    img = legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann", scaling=scaling, mode=mode)
    p = img.params
    assert (p.n_fft, p.hop_length, p.center, p.scale, p.window) == (1024, 256, False, "linear", "hann")
    assert img.n_frames == len(t)
    assert abs(float(img.db.max())) < 0.01


def test_scipy_infers_nperseg_and_noverlap_from_f_and_t() -> None:
    f, t, Sxx = scipy.signal.spectrogram(sine(440.0), SR, window="hann", nperseg=512, noverlap=384)
    img = legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann")
    assert (img.params.n_fft, img.params.hop_length) == (512, 128)


def test_scipy_round_trip_on_speech(speech: np.ndarray) -> None:
    f, t, Sxx = scipy.signal.spectrogram(speech, SR, window="hann", nperseg=1024, noverlap=768)
    img = legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann", nperseg=1024, noverlap=768)
    y_hat, sr = specimg.decode(img)
    assert sr == SR
    assert 0 <= len(speech) - len(y_hat) < img.params.hop_length
    ref = speech[: len(y_hat)]
    assert spectral_convergence(y_hat, ref, img.params) < -25.0
    assert db_correlation(y_hat, speech, img.params) > 0.95


def test_scipy_stereo_is_two_channels(speech: np.ndarray) -> None:
    x = np.stack([speech, 0.5 * speech])
    f, t, Sxx = scipy.signal.spectrogram(x, SR, window="hann", nperseg=1024, noverlap=768)
    img = legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann")
    assert img.params.n_channels == 2
    db = img.db
    assert np.allclose(db[0].max() - db[1].max(), 20 * np.log10(2), atol=0.01)


def test_scipy_default_overlap_warns_lossy() -> None:
    f, t, Sxx = scipy.signal.spectrogram(sine(440.0), SR)  # tukey, nperseg 256, noverlap 32
    with pytest.warns(LossyWarning, match=r"redundancy of only 1\.14"):
        img = legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR)
    assert img.params.window == ("tukey", 0.25) and img.params.hop_length == 224


def test_scipy_errors_name_the_fix() -> None:
    f, t, Sxx = scipy.signal.spectrogram(sine(440.0), SR, window="hann", nperseg=1024, noverlap=768)
    with pytest.raises(ParameterError, match=r"step is 256 samples \(expected 512\).*noverlap"):
        legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann", noverlap=512)
    with pytest.raises(ParameterError, match=r"which is nperseg=1024, not nperseg=2048"):
        legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann", nperseg=2048)
    with pytest.raises(ParameterError, match="phase only"):
        legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, mode="angle")
    with pytest.raises(ParameterError, match="zero-padded"):
        legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, nperseg=1024, nfft=2048)
    with pytest.raises(ParameterError, match=r"does not match len\(f\)"):
        legacy.from_scipy_spectrogram(f, t, Sxx[:, :-1], fs=SR)
    with pytest.raises(ParameterError, match=r"which is fs=22050 for nperseg=1024, not fs=32000"):
        legacy.from_scipy_spectrogram(f, t, Sxx, fs=32000)
    with pytest.raises(ParameterError, match="first segment is centred at"):
        legacy.from_scipy_spectrogram(f, t + 0.5, Sxx, fs=SR, noverlap=768)


# ------------------------------------------------------------------ arrays (librosa, torchaudio)


def test_array_kinds_agree_with_specimg_encode(speech: np.ndarray) -> None:
    D = np.abs(librosa.stft(speech))
    ref = specimg.encode(speech, SR)
    loud = ref.db > -100
    for kind, S in [("magnitude", D), ("power", D**2), ("db", librosa.amplitude_to_db(D, top_db=None))]:
        img = legacy.from_array(S, kind, sr=SR)  # type: ignore[arg-type]
        assert img.params.scale == "linear" and img.params.n_fft == 2048 and img.params.hop_length == 512
        assert np.max(np.abs(img.db[loud] - ref.db[loud])) < 0.01, kind


def test_array_mel_power_equals_specimg_mel(speech: np.ndarray) -> None:
    M = librosa.feature.melspectrogram(y=speech, sr=SR)
    img = legacy.from_array(M, "power", sr=SR)
    ref = specimg.encode(speech, SR, scale="mel")
    assert img.params.scale == "mel" and img.params.n_mels == 128 and img.params.power == 2.0
    loud = ref.db > -100
    assert np.max(np.abs(img.db[loud] - ref.db[loud])) < 0.01
    same = legacy.from_array(librosa.power_to_db(M, top_db=None), "db", sr=SR)
    assert np.max(np.abs(same.db[loud] - ref.db[loud])) < 0.01


def test_array_mel_decodes_better_than_librosa_mel_to_audio(speech: np.ndarray) -> None:
    M = librosa.feature.melspectrogram(y=speech, sr=SR)
    img = legacy.from_array(M, "power", sr=SR, n_samples=len(speech))
    y_hat, _ = specimg.decode(img, quality="fast")
    y_lib = librosa.feature.inverse.mel_to_audio(M, sr=SR, n_iter=32, length=len(speech))

    def mel_sc(y: np.ndarray) -> float:
        return magnitude_convergence(np.sqrt(librosa.feature.melspectrogram(y=y, sr=SR)), np.sqrt(M))

    assert len(y_hat) == len(speech)
    assert mel_sc(y_hat) < mel_sc(y_lib) - 6.0


def test_array_ref_max_needs_a_level(speech: np.ndarray) -> None:
    Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(speech)), ref=np.max)
    with pytest.warns(AssumptionWarning, match=r"absolute level is unknown.*-11.7 dBFS.*peak_db"):
        img = legacy.from_array(Xdb, "db", sr=SR, ref=np.max)
    assert float(img.db.max()) == pytest.approx(-11.7, abs=0.06)
    img = legacy.from_array(Xdb, "db", sr=SR, ref=np.max, peak_db=-3.0)
    assert float(img.db.max()) == pytest.approx(-3.0, abs=0.01)
    with pytest.warns(AssumptionWarning, match="pass ref=np.max"):
        legacy.from_array(Xdb, "db", sr=SR)


def test_array_torchaudio_convention_defaults() -> None:
    S = np.ones((80, 10))
    img = legacy.from_array(S, "power", convention="torchaudio", scale="mel")
    p = img.params
    assert (p.sr, p.n_fft, p.win_length, p.hop_length, p.scale, p.n_mels, p.htk, p.norm) == (
        16000, 400, 400, 200, "mel", 80, True, None
    )


def test_array_infers_n_fft_from_rows_and_refuses_contradictions() -> None:
    with pytest.warns(AssumptionWarning, match=r"513 rows, read as a linear STFT with n_fft=1024; pass scale="):
        assert legacy.from_array(np.ones((513, 4)), sr=SR).params.n_fft == 1024
    with pytest.warns(AssumptionWarning, match=r"501 rows, read as 501 mel bands of n_fft=2048"):
        legacy.from_array(np.ones((501, 4)), sr=SR)  # a linear STFT with n_fft=1000 needs n_fft=
    assert legacy.from_array(np.ones((501, 4)), sr=SR, n_fft=1000).params.scale == "linear"
    assert legacy.from_array(np.ones((513, 4)), sr=SR, scale="mel", n_fft=2048).params.n_mels == 513
    with pytest.raises(ParameterError, match=r"has 1025 rows, but this one has 513; pass n_fft=1024"):
        legacy.from_array(np.ones((513, 4)), sr=SR, n_fft=2048, scale="linear")
    with pytest.raises(ParameterError, match="negative values"):
        legacy.from_array(-np.ones((1025, 4)), "magnitude", sr=SR)
    with pytest.raises(ParameterError, match="NaN"):
        legacy.from_array(np.full((1025, 4), np.nan), sr=SR)
    with pytest.raises(ParameterError, match="kind="):
        legacy.from_array(np.ones((1025, 4)), "amplitude", sr=SR)  # type: ignore[arg-type]


# ------------------------------------------------------------------ min-max pictures


def _minmax_png(y: np.ndarray, *, invert: bool = False) -> np.ndarray:
    Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    u8 = np.rint(255 * (Xdb - Xdb.min()) / (Xdb.max() - Xdb.min())).astype(np.uint8)
    u8 = np.flipud(u8)
    return 255 - u8 if invert else u8


def test_minmax_levels_match_the_original(speech: np.ndarray) -> None:
    Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(speech)), ref=np.max)
    img = legacy.from_minmax_image(_minmax_png(speech), peak_db=-10.0)
    p = img.params
    assert (p.sr, p.n_fft, p.hop_length, p.scale, p.n_samples) == (SR, 2048, 512, "linear", None)
    shown = Xdb > -79.5
    assert np.max(np.abs(img.db[shown] - (Xdb[shown] - 10.0))) < 80 / 255 / 2 + 0.01


def test_minmax_inverted_and_unflipped_read_the_same(speech: np.ndarray) -> None:
    plain = legacy.from_minmax_image(_minmax_png(speech), peak_db=0.0)
    inv = legacy.from_minmax_image(_minmax_png(speech, invert=True), invert=True, peak_db=0.0)
    top = legacy.from_minmax_image(np.flipud(_minmax_png(speech)), flip=False, peak_db=0.0)
    assert np.array_equal(plain.pixels, inv.pixels) and np.array_equal(plain.pixels, top.pixels)


def test_minmax_png_file_denoised_with_opencv_decodes(tmp_path, speech: np.ndarray) -> None:
    cv2 = pytest.importorskip("cv2")
    skio = pytest.importorskip("skimage.io")
    path = tmp_path / "spec.png"
    skio.imsave(path, cv2.fastNlMeansDenoising(_minmax_png(speech), None, h=5), check_contrast=False)
    with pytest.warns(AssumptionWarning):
        img = legacy.from_minmax_image(path)
    y_hat, _ = specimg.decode(img)
    assert 0 <= len(speech) - len(y_hat) < 512
    assert db_correlation(y_hat, speech, img.params) > 0.9


def test_minmax_checks(speech: np.ndarray) -> None:
    png = _minmax_png(speech)
    with pytest.raises(ParameterError, match=r"1025 rows, which is n_fft=2048, not n_fft=1024"):
        legacy.from_minmax_image(png, n_fft=1024, peak_db=0.0)
    with pytest.raises(FormatError, match="from_figure"):
        legacy.from_minmax_image(np.stack([png, png // 2, png], axis=-1), peak_db=0.0)
    with pytest.warns(AssumptionWarning, match="is flip=False right"):
        legacy.from_minmax_image(png, flip=False, peak_db=0.0)
    with pytest.raises(ParameterError, match="top_db"):
        legacy.from_minmax_image(png, top_db=0, peak_db=0.0)
    with pytest.raises(specimg.MissingFileError):
        legacy.from_minmax_image("no/such/file.png")


# ------------------------------------------------------------------ audio-diffusion and riffusion


def _audio_diffusion_image(y: np.ndarray) -> Image.Image:
    """What diffusers' Mel.audio_slice_to_image makes (defaults: 256 x 256, hop 512)."""
    S = librosa.feature.melspectrogram(y=y[: 256 * 512 - 1], sr=SR, n_fft=2048, hop_length=512, n_mels=256)
    log_S = librosa.power_to_db(S, ref=np.max, top_db=80)
    return Image.fromarray((((log_S + 80) * 255 / 80).clip(0, 255) + 0.5).astype(np.uint8))


def test_audio_diffusion_image() -> None:
    y, _ = specimg.read_audio(SAMPLE_DATA / "music.wav")
    y = np.pad(librosa.to_mono(y), (0, 131071))  # Mel.load_audio pads short audio with silence
    with pytest.warns(AssumptionWarning, match="audio-diffusion"):
        img = legacy.from_audio_diffusion(_audio_diffusion_image(y))
    p = img.params
    assert (p.scale, p.n_mels, p.n_fft, p.hop_length, p.n_samples) == ("mel", 256, 2048, 512, 131071)
    y_hat, _ = specimg.decode(img)
    assert len(y_hat) == 131071
    assert db_correlation(y_hat, y[:131071], p.replace(scale="linear")) > 0.85

    class Mel:  # duck-typed stand-in for diffusers' Mel with other settings
        sr, n_fft, hop_length, top_db = 16000, 1024, 256, 60

    img = legacy.from_audio_diffusion(_audio_diffusion_image(y), mel=Mel(), peak_db=-20.0)
    assert (img.params.sr, img.params.n_fft, img.params.hop_length) == (16000, 1024, 256)


@pytest.mark.skipif(importlib.util.find_spec("diffusers") is None, reason="diffusers (and torch) not installed")
def test_audio_diffusion_with_diffusers_own_mel() -> None:  # pragma: no cover - optional dependency
    pytest.importorskip("torch")
    from diffusers.pipelines.deprecated.audio_diffusion.mel import Mel

    y, _ = specimg.read_audio(SAMPLE_DATA / "music.wav")
    mel = Mel()
    mel.load_audio(raw_audio=librosa.to_mono(y))
    img = legacy.from_audio_diffusion(mel.audio_slice_to_image(0), mel=mel, peak_db=-20.0)
    assert np.array_equal(img.db.shape, (256, 256))


def _riffusion_png(M: np.ndarray, tags: dict[int, object]) -> io.BytesIO:
    """riffusion's image_from_spectrogram + EXIF, for a (channels, n_mels, frames) array."""
    data = (255 - (np.power(M / M.max(), 0.25) * 255)).astype(np.uint8)
    if data.shape[0] == 1:
        im = Image.fromarray(data[0], mode="L").convert("RGB")
    else:
        im = Image.fromarray(np.stack([np.zeros_like(data[0]), data[0], data[1]], axis=-1), mode="RGB")
    im = im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    exif = im.getexif()
    exif.update(tags.items())
    buf = io.BytesIO()
    im.save(buf, format="PNG", exif=exif)
    buf.seek(0)
    return buf


def _riffusion_mel(y: np.ndarray, sr: int = 44100) -> np.ndarray:
    return librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=17640, hop_length=441, win_length=4410, window="hann", center=True,
        pad_mode="reflect", power=1.0, n_mels=512, fmin=0, fmax=10000, htk=True, norm=None,
    )


def _riffusion_tags(M: np.ndarray, stereo: bool = False) -> dict[int, object]:
    t = legacy.RIFFUSION_EXIF_TAGS
    return {
        t["sample_rate"]: 44100, t["stereo"]: stereo, t["step_size_ms"]: 10, t["window_duration_ms"]: 100,
        t["padded_duration_ms"]: 400, t["num_frequencies"]: 512, t["min_frequency"]: 0,
        t["max_frequency"]: 10000, t["power_for_image"]: 0.25, t["max_value"]: float(M.max()),
    }


def test_riffusion_image_is_calibrated_from_its_exif() -> None:
    y, sr = specimg.read_audio(SAMPLE_DATA / "music.wav")
    y = librosa.resample(librosa.to_mono(y), orig_sr=sr, target_sr=44100)[: 441 * 200]
    M = _riffusion_mel(y)[np.newaxis]
    img = legacy.from_riffusion(Image.open(_riffusion_png(M, _riffusion_tags(M))))
    p = img.params
    assert (p.sr, p.n_fft, p.win_length, p.hop_length, p.n_mels, p.fmax, p.htk, p.norm, p.power) == (
        44100, 17640, 4410, 441, 512, 10000.0, True, None, 1.0
    )
    assert float(img.db.max()) == pytest.approx(20 * np.log10(M.max() * calibration(p)), abs=0.05)
    # riffusion keeps u = 255 - uint8(255 - 255 v) = ceil(255 v), v = (x / max) ** 0.25: every
    # band must lie within the half-step around the middle of (u - 1, u], 80·log10((u - ½)/(u - 1)) dB
    true_db = 20 * np.log10(M[0] * calibration(p))
    u = np.ceil(255 * (M[0] / M.max()) ** 0.25)
    shown = (u >= 20) & (u < 255)
    half_step = 80 * np.log10((u[shown] - 0.5) / (u[shown] - 1))
    assert np.all(np.abs(img.db[shown] - true_db[shown]) <= half_step + 0.01)
    assert abs(float(np.median(img.db[shown] - true_db[shown]))) < 0.05  # unbiased
    y_hat, _ = specimg.decode(img, quality="fast")
    assert abs(len(y_hat) - len(y)) <= 441
    n = min(len(y), len(y_hat))
    assert db_correlation(y_hat[:n], y[:n], specimg.SpectrogramParams(sr=44100)) > 0.85


def test_riffusion_stereo_and_missing_tags() -> None:
    y, sr = specimg.read_audio(SAMPLE_DATA / "music.wav")
    y = librosa.resample(y[:, : sr], orig_sr=sr, target_sr=44100)
    M = np.stack([_riffusion_mel(c) for c in y])
    img = legacy.from_riffusion(_riffusion_png(M, _riffusion_tags(M, stereo=True)))
    assert img.params.n_channels == 2
    db = img.db  # channel 0 from green, channel 1 from blue, each at its own level
    for c in (0, 1):
        true_db = 20 * np.log10(np.maximum(M[c], 1e-30) * calibration(img.params))
        loud = true_db > true_db.max() - 30
        assert np.median(np.abs(db[c][loud] - true_db[loud])) < 0.2
    bare = Image.open(_riffusion_png(M[:1], {}))
    with pytest.warns(AssumptionWarning) as record:
        img = legacy.from_riffusion(bare)
    messages = " ".join(str(w.message) for w in record)
    assert "no riffusion EXIF tag for sample_rate" in messages and "max_value" in messages
    assert float(img.db.max()) == pytest.approx(legacy.default_peak_db(img.params), abs=0.06)
    with pytest.raises(FormatError, match="num_frequencies=256"):
        legacy.from_riffusion(Image.open(_riffusion_png(M[:1, :256], _riffusion_tags(M))))
    with pytest.raises(ParameterError, match="unknown riffusion parameter"):
        legacy.from_riffusion(bare, hop=3)


@pytest.mark.parametrize(("tag", "value"), [("power_for_image", 0.0), ("power_for_image", -1.0), ("sample_rate", "abc")])
def test_riffusion_bad_exif_values_name_the_tag(tag: str, value: object) -> None:
    M = np.abs(np.random.default_rng(0).standard_normal((1, 512, 20))) + 0.1
    tags = _riffusion_tags(M)
    tags[legacy.RIFFUSION_EXIF_TAGS[tag]] = value
    with pytest.raises(FormatError, match=rf"riffusion parameter {tag} \(EXIF tag \d+\) is"):
        legacy.from_riffusion(_riffusion_png(M, tags))


def test_read_pixels_composites_every_dtype_over_black() -> None:
    from specimg.legacy._common import read_pixels

    for dtype, full in [(np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0)]:
        rgba = np.zeros((2, 2, 4), dtype=dtype)
        rgba[..., :3] = np.array(0.4 * full, dtype=dtype)
        rgba[0, :, 3] = np.array(full, dtype=dtype)  # opaque row keeps its value, clear row holds nothing
        rgb, _ = read_pixels(rgba)
        assert rgb.dtype == dtype
        np.testing.assert_allclose(rgb[0].astype(float), float(np.array(0.4 * full, dtype=dtype)), rtol=1e-6)
        np.testing.assert_allclose(rgb[1].astype(float), 0.0)


def test_scipy_odd_nperseg_error_says_so() -> None:
    f, t, Sxx = scipy.signal.spectrogram(sine(440.0), SR, window="hann", nperseg=255, noverlap=191)
    with pytest.raises(ParameterError, match="odd nperseg cannot be told from f"):
        legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann")
    img = legacy.from_scipy_spectrogram(f, t, Sxx, fs=SR, window="hann", nperseg=255)
    assert (img.params.n_fft, img.params.hop_length) == (255, 64)


def test_audio_diffusion_bad_input() -> None:
    gray = np.asarray(_audio_diffusion_image(sine(440.0, seconds=6.0)))
    colour = np.stack([gray, gray // 2, gray], axis=-1)
    with pytest.raises(FormatError, match="audio-diffusion image is in colour"):
        legacy.from_audio_diffusion(colour, peak_db=-20.0)
    with pytest.raises(ParameterError, match="must be diffusers' Mel"):
        legacy.from_audio_diffusion(gray, mel=object(), peak_db=-20.0)
    with pytest.raises(specimg.MissingFileError):
        legacy.from_audio_diffusion("no/such/image.png")
