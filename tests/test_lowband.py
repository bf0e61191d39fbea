"""Iterations on the low band alone (``griffin_lim(n_low=...)``, the mel decode's last stage)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import specimg
from specimg.errors import ParameterError
from specimg.metrics import magnitude_convergence
from specimg.params import SpectrogramParams
from specimg.phase import MEL_LOW_ITERATIONS, decimation_for, griffin_lim, mel_low_band
from specimg.phase._mel import mel_fit
from specimg.phase._stft import StftPair
from specimg.spectral import magnitude, mel_basis, stft_magnitude

from .conftest import SAMPLE_DATA


def _stft_mag(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    import librosa

    return np.abs(librosa.stft(np.asarray(y, np.float64), n_fft=n_fft, hop_length=hop, pad_mode="constant"))


def test_the_low_bins_of_a_band_limited_signal_are_its_decimated_stft() -> None:
    """What the low-band iterations rest on: bins below sr / (2D) of the STFT are D times the
    STFT of the signal decimated by D, with the window and hop decimated too."""
    sr, n_fft, hop, D = 22050, 2048, 512, 4
    t = np.arange(sr) / sr
    y = sum(a * np.sin(2 * np.pi * f * t + ph) for a, f, ph in ((0.5, 210.0, 0.3), (0.3, 640.0, 1.0), (0.2, 1310.0, 2.0)))
    w = scipy.signal.get_window("hann", n_fft, fftbins=True)
    n_frames = 1 + len(y) // hop
    full = StftPair(n_fft=n_fft, hop_length=hop, window=w, n_frames=n_frames, length=len(y), dtype=np.float64)
    low = StftPair(n_fft=n_fft // D, hop_length=hop // D, window=w[::D], n_frames=n_frames, length=len(y) // D,
                   dtype=np.float64)  # fmt: skip
    n_low = n_fft // (2 * D) + 1
    X, Z = full.forward(y)[2:-2, :n_low], low.forward(y[::D])[2:-2]  # not the frames over the signal's ends
    assert np.max(np.abs(X - D * Z)) < 1e-6 * np.max(np.abs(X))


def test_low_band_iterations_lower_the_low_band_error_and_keep_the_rest() -> None:
    """On speech, 100 low-band iterations after 16 full ones bring the low band's spectral
    convergence well below that of the 16 alone, leave the bins above the band as they
    were, and cost the whole far less than 100 more full iterations would bring."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = y[: sr * 2]
    S = _stft_mag(y, 1024, 256)
    kw = dict(n_fft=1024, hop_length=256, length=len(y), rng=0, n_iter=16)
    base = griffin_lim(S, **kw)
    low = griffin_lim(S, n_low=100, decimation=4, **kw)
    band, above = slice(0, 100), slice(160, None)  # the band: 129 bins, its own phase up to 82 %
    S_base, S_low = _stft_mag(base, 1024, 256), _stft_mag(low, 1024, 256)
    sc_band = magnitude_convergence(S_low[band], S[band]), magnitude_convergence(S_base[band], S[band])
    assert sc_band[0] < sc_band[1] - 3.0, sc_band
    sc_above = magnitude_convergence(S_low[above], S[above]), magnitude_convergence(S_base[above], S[above])
    assert abs(sc_above[0] - sc_above[1]) < 0.5, sc_above


def test_low_band_iterations_keep_held_coefficients() -> None:
    """Coefficients held with ``hold`` stay held through the low-band iterations."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = y[: sr]
    import librosa

    X = librosa.stft(y.astype(np.float64), n_fft=512, hop_length=128, pad_mode="constant")
    S = np.abs(X)
    mask = np.zeros(S.shape, dtype=bool)
    mask[:, : S.shape[1] // 2] = True
    kw = dict(n_fft=512, hop_length=128, length=len(y), rng=0, n_iter=10, n_low=60, decimation=2)
    init = np.where(mask, np.angle(X), 0.0)
    held = griffin_lim(S, hold=(mask, X), init=init, **kw)
    X_held = librosa.stft(held.astype(np.float64), n_fft=512, hop_length=128, pad_mode="constant")
    inner = slice(8, S.shape[1] // 2 - 8)
    np.testing.assert_allclose(X_held[:, inner], X[:, inner], atol=1e-3 * S.max())


def test_the_low_band_fit_imposes_the_bands_wholly_inside_it() -> None:
    p = SpectrogramParams(sr=22050, n_fft=2048, scale="mel", n_mels=128)
    y, _ = specimg.read_audio(SAMPLE_DATA / "speech.wav", sr=p.sr)
    y = y[p.sr // 2 : p.sr // 2 + p.hop_length * 39]
    M = magnitude(y, p)
    rng = np.random.default_rng(0)
    k = 250
    A = (stft_magnitude(y, p)[:k] * np.exp(0.35 * rng.standard_normal((k, M.shape[1])))).T.astype(np.float32)
    low = mel_fit(p, k)
    B = mel_basis(p)
    inside = [m for m in range(B.shape[0]) if np.flatnonzero(B[m]).max() < k]
    assert low.n_mels == len(inside) and 60 < low.n_mels < 80
    out = low.fit(A, (M[: low.n_mels] ** 2).T)
    assert out.shape == A.shape
    bands = B[inside, :k] @ out.T.astype(np.float64) ** 2
    assert np.linalg.norm(bands - M[inside] ** 2) / np.linalg.norm(M[inside] ** 2) < 5e-3
    free = low.uncovered
    assert free.sum() > 0 and np.array_equal(out[:, free], A[:, free])  # under none of them: as received
    assert not low.uncovered[: np.flatnonzero(B[inside[-1]])[0]].any()


def test_mel_decode_runs_the_low_band_of_its_preset(monkeypatch) -> None:
    """The balanced mel decode ends with MEL_LOW_ITERATIONS on the low band; they keep the
    stored bands (mel SC) and bring the low band's consistency up."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = y[: sr * 2]
    img = specimg.encode(y, sr, scale="mel", n_mels=128)
    p = img.params
    assert mel_low_band(p, "balanced") == (MEL_LOW_ITERATIONS["balanced"], 4) and MEL_LOW_ITERATIONS["balanced"] > 0
    with_low, _ = specimg.decode(img)
    monkeypatch.setitem(MEL_LOW_ITERATIONS, "balanced", 0)
    without, _ = specimg.decode(img)
    mel = magnitude(y, p)
    sc = [magnitude_convergence(magnitude(z, p), mel) for z in (with_low, without)]
    assert sc[0] < -30.0 and sc[0] < sc[1] + 1.0, sc
    n_fft, hop = p.n_fft, p.hop_length
    S = _stft_mag(y, n_fft, hop)[:200]
    low_sc = [magnitude_convergence(_stft_mag(z[: len(y)], n_fft, hop)[:200], S) for z in (with_low, without)]
    assert low_sc[0] < low_sc[1], low_sc


def test_decimation_follows_the_sampling_rate() -> None:
    for sr in (16000, 22050, 44100, 48000):
        D = decimation_for(sr, 2048, 512)
        assert sr / (2 * D) >= 2500 > sr / (4 * D)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_low=-1), "n_low=-1 must be an integer >= 0"),
        (dict(n_low=2.5), "n_low=2.5"),
        (dict(n_low=4, decimation=3), "decimation=3 must divide n_fft=512 and hop_length=128"),
        (dict(n_low=4, decimation=1), "decimation=1 must be an integer >= 2"),
        (dict(n_low=4, decimation=True), "decimation=True"),
    ],
)
def test_griffin_lim_refuses_bad_low_band_arguments(kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        griffin_lim(np.ones((257, 10), dtype=np.float32), hop_length=128, **kwargs)


def test_the_low_band_fit_needs_a_banded_filterbank(monkeypatch) -> None:
    """librosa's triangles are always banded; a filterbank that is not (as the fallback of
    MelFit.fit allows for) gets no low-band iterations."""
    import specimg.phase._mel as mel

    p = SpectrogramParams(sr=16000, n_fft=512, hop_length=128, scale="mel", n_mels=40, fmax=7900.0)
    assert mel.mel_low_band(p, "balanced")[0] > 0
    monkeypatch.setattr(mel, "filters_per_bin", lambda B: None)
    monkeypatch.setattr(mel, "_FITS", {})  # not the banded fits cached above
    with pytest.raises(ParameterError, match="low band's fit needs"):
        mel.MelFit(p, 64)
    assert mel.MelFit(p).banded is False and mel_low_band(p, "balanced")[0] == 0


def test_low_band_iterations_run_block_by_block_without_a_seam() -> None:
    """A long signal decoded in blocks (each holding the frames the previous one converged
    to) with low-band iterations is as consistent as the one-piece decode."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = np.tile(y[: sr * 2], 3)
    S = _stft_mag(y, 512, 128)
    assert S.shape[1] > 2 * 256
    kw = dict(n_fft=512, hop_length=128, length=len(y), rng=0, n_iter=24, n_low=60, decimation=2)
    whole, blocks = griffin_lim(S, **kw), griffin_lim(S, block_frames=256, **kw)
    sc = [magnitude_convergence(_stft_mag(z, 512, 128), S) for z in (whole, blocks)]
    assert sc[1] < sc[0] + 1.0, sc
