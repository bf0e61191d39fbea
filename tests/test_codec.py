from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest

import specimg
from specimg import ClippingWarning, LossyWarning, ParameterError
from specimg.metrics import level_difference_db, magnitude_convergence, spectral_convergence
from specimg.spectral import magnitude, stft_magnitude

from .conftest import SAMPLE_DATA, real_audio_files, sine


@pytest.mark.parametrize("freq", [440.0, 1000.0, 4000.0])
def test_full_scale_sine_reads_0_dbfs(freq):
    sr, n_fft = 22050, 2048
    on_bin = round(freq * n_fft / sr) * sr / n_fft
    img = specimg.encode(sine(on_bin, sr), sr)
    assert img.db[:, 2:-2].max() == pytest.approx(0.0, abs=0.01)
    img = specimg.encode(sine(on_bin, sr, amp=0.1), sr)
    assert img.db[:, 2:-2].max() == pytest.approx(-20.0, abs=0.01)


def test_absolute_scale_keeps_relative_loudness():
    sr = 22050
    loud = specimg.decode(specimg.encode(sine(500, sr, amp=0.5), sr))[0]
    quiet = specimg.decode(specimg.encode(sine(500, sr, amp=0.05), sr))[0]
    assert level_difference_db(loud, quiet) == pytest.approx(20.0, abs=0.1)


def test_ref_max_is_stored_and_undone():
    sr = 22050
    y = sine(700, sr, amp=0.25)
    img = specimg.encode(y, sr, ref="max")
    assert img.params.ref == pytest.approx(stft_magnitude(y, img.params).max())
    assert img.db.max() == pytest.approx(0.0, abs=1e-3)
    y_hat, _ = specimg.decode(img)
    assert abs(level_difference_db(y_hat, y)) < 0.1


@pytest.mark.parametrize("path", real_audio_files())
def test_round_trip_on_real_audio(path, tmp_path):
    """Issue 2 acceptance: same sr, channels, length; RMS within 0.5 dB; SC <= librosa.griffinlim."""
    y, sr = specimg.read_audio(path)
    img = specimg.encode_file(path, tmp_path / "x.png")
    y_hat, sr_hat = specimg.decode_file(tmp_path / "x.png", tmp_path / "x.wav", n_iter=32, subtype="FLOAT")
    assert sr_hat == sr and y_hat.shape == y.shape
    back, sr_file = specimg.read_audio(tmp_path / "x.wav")
    assert sr_file == sr and back.shape == y.shape
    assert abs(level_difference_db(y_hat, y)) <= 0.5
    ours = spectral_convergence(y_hat, y, img.params)
    ys = y.reshape(-1, y.shape[-1])
    S = np.abs(librosa.stft(ys, n_fft=2048, hop_length=512, pad_mode="constant"))
    y_lr = librosa.griffinlim(S, n_iter=32, hop_length=512, length=y.shape[-1], random_state=0)
    theirs = spectral_convergence(y_lr.reshape(y.shape), y, img.params)
    assert ours <= theirs, f"specimg SC {ours:.1f} dB vs librosa {theirs:.1f} dB"


@pytest.mark.parametrize("path", real_audio_files())
@pytest.mark.parametrize("bit_depth, bound", [(16, -80.0), (8, -35.0)])
def test_quantisation_alone(path, bit_depth, bound):
    """Issue 2 acceptance: encode → pixels → dB costs < -80 dB SC at 16 bit, < -35 dB at 8 bit."""
    y, sr = specimg.read_audio(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossyWarning)
        img = specimg.encode(y, sr, bit_depth=bit_depth)
    exact = magnitude(y.reshape(img.params.n_channels, -1), img.params)
    assert magnitude_convergence(img.magnitude.reshape(exact.shape), exact) < bound


def test_mel_round_trip_on_speech():
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    img = specimg.encode(y, sr, scale="mel", n_mels=128)
    assert img.shape == (128, 1 + len(y) // 512)
    y_hat, _ = specimg.decode(img)
    assert y_hat.shape == y.shape
    assert abs(level_difference_db(y_hat, y)) < 1.0
    # mel-domain SC of the decoded audio against the stored mel amplitude
    mel_hat = magnitude(y_hat, img.params)
    assert magnitude_convergence(mel_hat, magnitude(y, img.params)) < -12.0


def test_silence_round_trips_to_silence():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = specimg.encode(np.zeros(4096), 8000)
        y, sr = specimg.decode(img)
    assert sr == 8000 and y.shape == (4096,) and not np.any(y)


def test_decode_is_deterministic_for_a_seed():
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    img = specimg.encode(y[: sr * 2], sr)
    a = specimg.decode(img, rng=3)[0]
    assert np.array_equal(a, specimg.decode(img, rng=3)[0])
    assert not np.array_equal(a, specimg.decode(img, rng=4)[0])


def test_8bit_warns_and_clipping_warns():
    sr = 22050
    with pytest.warns(LossyWarning, match="bit_depth=8"):
        specimg.encode(sine(440, sr), sr, bit_depth=8)
    with pytest.warns(ClippingWarning, match="db_max=-20.0"):
        specimg.encode(sine(440, sr), sr, db_max=-20.0, db_min=-90.0)


def test_integer_pcm_is_scaled():
    sr = 8000
    pcm = np.round(sine(1000, sr, amp=0.5) * 32767).astype(np.int16)
    a = specimg.encode(pcm / 32768.0, sr, n_fft=512)
    b = specimg.encode(pcm, sr, n_fft=512)
    assert np.array_equal(a.pixels, b.pixels)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("n_fft, hop_length, win_length", [(512, 128, None), (1024, 300, 800)])
def test_geometries_keep_length(center, n_fft, hop_length, win_length, rng):
    sr = 16000
    y = rng.standard_normal(sr) * 0.1
    img = specimg.encode(y, sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=center)
    y_hat, _ = specimg.decode(img, n_iter=16)
    assert y_hat.shape == y.shape
    assert spectral_convergence(y_hat, y, img.params) < -5.0
    # SC is blind to the ends, where the window is ~0: check the level and the peak too
    assert abs(level_difference_db(y_hat, y)) < 0.5
    assert np.max(np.abs(y_hat)) < 2 * np.max(np.abs(y))


@pytest.mark.parametrize("kwargs", [dict(hop_length=2048), dict(win_length=256, hop_length=512)])
def test_geometries_that_leave_gaps_are_refused(kwargs):
    with pytest.raises(specimg.ParameterError, match="leaves gaps"):
        specimg.encode(np.zeros(8192), 22050, **kwargs)


@pytest.mark.parametrize("n_fft, hop_length, n", [(511, 100, 1000), (513, 128, 4096), (1023, 256, 5000)])
def test_odd_n_fft_frames_match_librosa(n_fft, hop_length, n, rng):
    y = rng.standard_normal(n) * 0.1
    img = specimg.encode(y, 8000, n_fft=n_fft, hop_length=hop_length)
    assert img.n_frames == librosa.stft(y, n_fft=n_fft, hop_length=hop_length).shape[-1]
    assert specimg.decode(img, n_iter=2)[0].shape == y.shape


def test_integer_pcm_keeps_channels_and_offsets_unsigned():
    sr = 8000
    stereo = np.round(np.stack([sine(500, sr, amp=0.5), sine(900, sr, amp=0.25)]) * 32767).astype(np.int16)
    img = specimg.encode(stereo, sr, n_fft=512)
    assert (img.params.n_channels, img.params.n_samples) == (2, sr)
    assert np.array_equal(img.pixels, specimg.encode(stereo / 32768.0, sr, n_fft=512).pixels)
    silence_u8 = np.full(4000, 128, np.uint8)  # unsigned 8-bit PCM: 128 is 0
    assert specimg.encode(silence_u8, sr, n_fft=512).db.max() == -120.0


def test_default_length_when_n_samples_is_unknown():
    p = specimg.SpectrogramParams(sr=8000, n_fft=512, hop_length=128)
    assert p.length_for(10) == 9 * 128
    assert p.replace(center=False).length_for(10) == 9 * 128 + 512


def test_mel_decode_with_subnormal_magnitudes_gives_no_nan() -> None:
    """Riffusion-like geometry leaves float32 magnitudes near 1e-42 in silent frames; the
    fastmath magnitude projection once turned them into NaN audio."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    img = specimg.encode(
        y, sr, scale="mel", n_fft=8820, hop_length=220, win_length=2205, htk=True, norm=None, power=1
    )
    y_hat, _ = specimg.decode(img, quality="fast")
    assert np.all(np.isfinite(y_hat)) and len(y_hat) == len(y)


@pytest.mark.parametrize("scale", ["linear", "mel"])
def test_unknown_quality_raises_naming_the_presets(scale) -> None:
    """A typo in quality used to run 0 mel refinements silently; it is refused up front."""
    img = specimg.encode(sine(440, 8000), 8000, n_fft=512, scale=scale, n_mels=32)
    with pytest.raises(ParameterError, match="quality='hgih'") as info:
        specimg.decode(img, quality="hgih")
    for name in ("'fast'", "'balanced'", "'high'"):
        assert name in str(info.value)
    with pytest.raises(ParameterError, match="quality='hgih'"):
        specimg.decode(img, quality="hgih", n_iter=2)  # n_iter does not hide the typo


def test_decode_is_reconstruct_of_the_calibrated_magnitude() -> None:
    """decode holds no unit glue: it is phase.reconstruct(channel magnitude, params)."""
    from specimg.phase import reconstruct

    img = specimg.encode(sine(440, 8000) + 0.1 * sine(1234, 8000), 8000, n_fft=512)
    y_hat, _ = specimg.decode(img, n_iter=4, rng=0)
    direct = reconstruct(img.channel_magnitude(0), img.params, n_iter=4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(y_hat, direct)
