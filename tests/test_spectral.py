"""mel_to_linear: accuracy against librosa's NNLS, exact zeros, shapes, powers and filterbanks."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

import specimg
from specimg.metrics import magnitude_convergence
from specimg.params import SpectrogramParams
from specimg.spectral import magnitude, mel_basis, mel_to_linear, stft_magnitude

from .conftest import CORPUS, SAMPLE_DATA

# Mel-domain relative error ‖B x̂ − P‖_F / ‖P‖_F, P = M**power, that mel_to_linear must reach on
# real audio that it can fit exactly (measured: 1e-7 to 1e-6 for power 2, ~1e-7 for power 1).
# librosa.feature.inverse.mel_to_stft leaves 4e-2 to 1.4e-1 on the same inputs.
REL_ERR_MAX = 1e-5


def mel_params(sr: int, **kw: object) -> SpectrogramParams:
    return SpectrogramParams(sr=sr, n_fft=2048, hop_length=512, scale="mel", **kw)  # type: ignore[arg-type]


def rel_err(X: np.ndarray, M: np.ndarray, p: SpectrogramParams) -> float:
    """‖B X**power − M**power‖_F / ‖M**power‖_F."""
    P = np.asarray(M, dtype=np.float64) ** p.power
    return float(np.linalg.norm(np.einsum("mf,...ft->...mt", mel_basis(p), X**p.power) - P) / np.linalg.norm(P))


def librosa_mel_to_stft(M: np.ndarray, p: SpectrogramParams) -> np.ndarray:
    return librosa.feature.inverse.mel_to_stft(
        np.asarray(M, dtype=np.float64) ** p.power, sr=p.sr, n_fft=p.n_fft, power=p.power,
        fmin=p.fmin, fmax=p.fmax, htk=p.htk, norm=p.norm,
    )


def real_file(name: str):
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def check_against_librosa(path, power: float) -> None:
    """Mel-domain error at most librosa's (and below REL_ERR_MAX); linear SC no worse than librosa's + 0.5 dB."""
    y, sr = specimg.read_audio(path)
    p = mel_params(sr, power=power)
    M = magnitude(y, p)
    X = mel_to_linear(M, p)
    X_lr = librosa_mel_to_stft(M, p)
    ours, theirs = rel_err(X, M, p), rel_err(X_lr, M, p)
    assert ours <= REL_ERR_MAX, f"mel rel err {ours:.2e}"
    assert ours <= theirs, f"mel rel err {ours:.2e} vs librosa {theirs:.2e}"
    S = stft_magnitude(y, p)
    sc, sc_lr = magnitude_convergence(X, S), magnitude_convergence(X_lr, S)
    assert sc <= sc_lr + 0.5, f"linear SC {sc:.2f} dB vs librosa {sc_lr:.2f} dB"


@pytest.mark.corpus
@pytest.mark.parametrize("power", [2.0, 1.0])
def test_beats_librosa_mel_to_stft_on_corpus_speech(power):
    # measured: rel err 4.6e-7 vs 1.1e-1 (power 2), 1.1e-7 vs 4.3e-2 (power 1);
    # linear SC -14.4 vs -8.2 dB (power 2), -12.8 vs -11.4 dB (power 1)
    check_against_librosa(real_file("speech_human.wav"), power)


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_beats_librosa_mel_to_stft_on_sample_speech(power):
    # measured: rel err 4.3e-7 vs 1.0e-1 (power 2), 1.1e-7 vs 3.6e-2 (power 1);
    # linear SC -12.1 vs -8.3 dB (power 2), -11.3 vs -10.6 dB (power 1)
    check_against_librosa(SAMPLE_DATA / "speech.wav", power)


def test_beats_librosa_on_quantised_8bit_image():
    """8-bit pixels (0.5 dB steps) and the dB floor: the user path of decode."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    with pytest.warns(specimg.LossyWarning):
        img = specimg.encode(y, sr, scale="mel", bit_depth=8)
    M, p = img.magnitude, img.params
    X = mel_to_linear(M, p)
    ours, theirs = rel_err(X, M, p), rel_err(librosa_mel_to_stft(M, p), M, p)
    # measured: 4.6e-7 vs 1.0e-1
    assert ours <= REL_ERR_MAX and ours <= theirs


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"power": 1.0},
        {"power": 1.5, "n_mels": 80},
        {"norm": None},
        {"htk": True},
        {"n_mels": 64},
        {"n_mels": 256},
        {"fmin": 300.0, "fmax": 8000.0},
    ],
    ids=["default", "power1", "power1.5", "norm-none", "htk", "mels64", "mels256", "fmin-fmax"],
)
def test_fits_the_mel_spectrogram_of_real_audio(kw):
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    p = mel_params(sr, **kw)
    M = magnitude(y, p)
    X = mel_to_linear(M, p)
    assert X.shape == (p.n_fft // 2 + 1, M.shape[-1]) and X.dtype == np.float64
    assert np.all(X >= 0) and np.all(np.isfinite(X))
    assert rel_err(X, M, p) <= REL_ERR_MAX


def test_silence_gives_exact_zeros():
    p = mel_params(22050)
    X = mel_to_linear(np.zeros((p.n_mels, 7)), p)
    assert X.shape == (1025, 7) and X.dtype == np.float64
    assert not X.any()
    # silent frames and silent channels inside real audio stay exactly zero too
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    M = magnitude(y[: 20 * 512], mel_params(sr))
    M[:, 5:9] = 0.0
    M2 = np.stack([M, np.zeros_like(M)])
    X2 = mel_to_linear(M2, p)
    assert not X2[:, :, 5:9].any() and not X2[1].any()
    assert X2[0, :, :5].any()


def test_uncovered_bins_are_zero():
    p = mel_params(22050, fmin=500.0, fmax=5000.0)
    covered = mel_basis(p).sum(axis=0) > 0
    assert not covered.all()
    y, _ = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    X = mel_to_linear(magnitude(y, p), p)
    assert not X[~covered].any()
    assert X[covered].any()
    freqs = np.fft.rfftfreq(p.n_fft, 1 / p.sr)
    assert not X[freqs < 500.0].any() and not X[freqs > 5000.0].any()


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_batch_shapes_solve_each_channel_independently(power):
    y, sr = specimg.read_audio(SAMPLE_DATA / "music.wav")  # stereo
    assert y.ndim == 2 and y.shape[0] == 2
    p = mel_params(sr, power=power)
    M = magnitude(y, p)  # (2, n_mels, T)
    X = mel_to_linear(M, p)
    assert X.shape == (2, 1025, M.shape[-1]) and X.dtype == np.float64
    for c in range(2):
        np.testing.assert_allclose(X[c], mel_to_linear(M[c], p), rtol=1e-12, atol=0)
    assert rel_err(X, M, p) <= REL_ERR_MAX
    # more leading dimensions, and frames spread over several solver blocks
    M4 = np.broadcast_to(M[:, None], (2, 3) + M.shape[1:])
    assert mel_to_linear(M4, p).shape == (2, 3, 1025, M.shape[-1])


def test_one_homogeneous_and_dtype():
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    p = mel_params(sr)
    M = magnitude(y[: 40 * 512], p)
    X = mel_to_linear(M, p)
    np.testing.assert_allclose(mel_to_linear(10.0 * M, p), 10.0 * X, rtol=1e-6, atol=1e-12 * X.max())
    X32 = mel_to_linear(M.astype(np.float32), p)
    assert X32.dtype == np.float64
    assert rel_err(X32, M.astype(np.float32), p) <= REL_ERR_MAX


def test_degenerate_inputs():
    p = mel_params(22050)
    assert mel_to_linear(np.zeros((p.n_mels, 0)), p).shape == (1025, 0)
    with pytest.raises(ValueError, match="n_mels"):
        mel_to_linear(np.ones((p.n_mels + 1, 3)), p)
    with pytest.raises(ValueError, match="finite"):
        mel_to_linear(np.full((p.n_mels, 3), np.nan), p)
    # negative values (e.g. from resampling an image) are read as zero
    M = np.ones((p.n_mels, 3))
    M[:, 1] = -1.0
    X = mel_to_linear(M, p)
    assert not X[:, 1].any() and X[:, 0].any()


def test_mel_reweight_imposes_the_mel_bands_and_keeps_fine_structure():
    """The helper for mel-constrained phase reconstruction: B x**p = M**p, shape of S kept inside bands."""
    from specimg.spectral import match_mel

    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    p = mel_params(sr, fmin=100.0, fmax=9000.0)
    S_true = stft_magnitude(y, p)
    M = magnitude(y, p)
    # the true magnitude already has these mel bands: it is (nearly) a fixed point
    covered = mel_basis(p).sum(axis=0) > 0
    X = match_mel(S_true, M, p)
    assert X.shape == S_true.shape and X.dtype == np.float64
    assert rel_err(X, M, p) <= REL_ERR_MAX  # measured 9e-7
    assert magnitude_convergence(X[covered], S_true[covered]) <= -25.0  # measured -32.0 dB
    # a spectrum 6 dB too loud with a different envelope is brought to the stored mel bands
    tilt = np.linspace(0.5, 2.0, S_true.shape[0])[:, None]
    X2 = match_mel(2.0 * tilt * S_true, M, p)
    assert rel_err(X2, M, p) <= REL_ERR_MAX  # measured 1.1e-6
    assert magnitude_convergence(X2[covered], S_true[covered]) <= -25.0  # measured -31.9 dB
    assert not X2[~covered].any() and np.all(X2 >= 0)
    # where S vanishes, the minimum-norm solution of mel_to_linear is used
    S0 = S_true.copy()
    S0[:, 3] = 0.0
    X0 = match_mel(S0, M, p)
    np.testing.assert_allclose(X0[:, 3], mel_to_linear(M[:, 3:4], p)[:, 0], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("n_fft, hop_length, win_length", [(512, 128, None), (1023, 300, 700), (64, 16, 32)])
@pytest.mark.parametrize("n", [2000, 2047, 4096])
def test_geometry_has_one_source(center, n_fft, hop_length, win_length, n):
    """Frame count, span, window and calibration come from spectral's resolver, and agree
    with librosa.stft and with SpectrogramParams."""
    from specimg.spectral import analysis_window, calibration, frame_count, span_length, stft, stft_lengths, window_for

    y = np.random.default_rng(n).standard_normal(n)
    p = SpectrogramParams(sr=8000, n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=center)
    assert stft_lengths(n_fft, win_length, hop_length) == (p.win_length, p.hop_length)
    X_lr = librosa.stft(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=center, pad_mode="constant")
    count = frame_count(n, n_fft=n_fft, hop_length=hop_length, center=center)
    assert count == X_lr.shape[-1] == p.frames_for(n)
    assert span_length(count, n_fft=n_fft, hop_length=hop_length, center=center) == p.length_for(count)
    if n_fft % 2 == 0:  # librosa.istft keeps one more sample for an odd n_fft when centred
        istft = librosa.istft(X_lr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=center)
        assert len(istft) == p.length_for(count)
    np.testing.assert_array_equal(window_for(p), analysis_window(p.window, p.win_length, n_fft))
    assert calibration(p) == 2.0 / window_for(p).sum()
    X = stft(y, p)
    np.testing.assert_allclose(X, X_lr * calibration(p), rtol=1e-12)
    np.testing.assert_allclose(np.abs(X), stft_magnitude(y, p), rtol=1e-12)


def test_get_window_is_the_old_name_of_window_for():
    from specimg import spectral

    with pytest.warns(DeprecationWarning, match="window_for"):
        assert spectral.get_window is spectral.window_for


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 400, 511, 1024, 2048, 4097])
def test_numpy_hann_is_scipys(n: int) -> None:
    """The default window is computed without scipy.signal (start-up time): the same values."""
    import scipy.signal

    from specimg.geometry import analysis_window

    assert np.array_equal(analysis_window("hann", n, n), scipy.signal.get_window("hann", n, fftbins=True))


def test_covers_is_scipys_nola() -> None:
    import scipy.signal

    from specimg.geometry import analysis_window, covers

    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        n_fft = int(rng.integers(2, 600))
        win, hop = int(rng.integers(1, n_fft + 1)), int(rng.integers(1, n_fft))
        for name in ("hann", ("kaiser", 8.0), "boxcar", "triang"):
            w = analysis_window(name, win, n_fft)
            expected = bool(scipy.signal.check_NOLA(w, n_fft, n_fft - hop))
            assert covers(w, hop) == expected, (n_fft, win, hop, name)
            seen.add(expected)
    assert seen == {True, False}


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_mel_to_linear_meets_the_optimality_conditions_where_nothing_fits(power):
    """Bands no non-negative spectrum fits (every other band empty, jagged levels): x must be
    the minimiser of ½‖Bx − p‖² + ½μ‖x‖² over x ≥ 0, i.e. its gradient is 0 where x > 0 and
    ≥ 0 where x = 0 (checked to 1e-6 of its scale), and the mel error is that of a true
    non-negative least-squares solve (scipy.optimize.nnls with the same ridge) within 1e-9."""
    import scipy.optimize

    from specimg.spectral import _MEL_RIDGE

    p = mel_params(16000, n_mels=40, power=power)
    rng = np.random.default_rng(7)
    M = rng.uniform(0.1, 1.0, (40, 12)) * (np.arange(40) % 2 == 0)[:, None]
    X = mel_to_linear(M, p)
    B, P = mel_basis(p).astype(np.float64), M**power
    mu = _MEL_RIDGE * float(np.max(np.sum(B * B, axis=1)))
    x = X**power
    grad = B.T @ (B @ x - P) + mu * x
    scale = np.abs(B.T @ P).max()
    assert np.abs(grad[x > 0]).max() < 1e-6 * scale
    assert grad[x == 0].min() > -1e-6 * scale
    A = np.vstack([B, np.sqrt(mu) * np.eye(B.shape[1])])
    for t in range(M.shape[1]):
        ref, _ = scipy.optimize.nnls(A, np.concatenate([P[:, t], np.zeros(B.shape[1])]))
        assert np.linalg.norm(B @ x[:, t] - P[:, t]) <= np.linalg.norm(B @ ref - P[:, t]) * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("B", [np.ones(5), np.ones((2, 3, 4)), np.array([[1.0, np.nan]]), np.array([["a", "b"]]),
                               np.ones((2, 2), complex)])
def test_filters_per_bin_refuses_what_is_not_a_filterbank(B):
    from specimg.errors import ParameterError
    from specimg.spectral import filters_per_bin

    with pytest.raises(ParameterError, match="must be a 2-D filterbank"):
        filters_per_bin(B)
