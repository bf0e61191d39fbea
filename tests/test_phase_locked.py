"""specimg.phase.phase_locked: the phase known (held), the magnitude refined under a bound.

Figures on one second of two tones (one gliding) and a little noise at 8 kHz: with the true
phase held, a magnitude blurred by ±3 dB comes back from -20 dB to -26 dB SC when every
bin is known to be within ±3 dB, and a 40-band mel picture from -15 dB (its least-squares
linear start) to -38 dB, where the magnitude-only mel decode reaches -8 dB.
"""

from __future__ import annotations

import numpy as np
import pytest

from specimg import SpectrogramParams
from specimg.errors import ParameterError
from specimg.phase import StftPair, mel_start, phase_locked
from specimg.spectral import calibration, magnitude, match_mel, stft, stft_magnitude, window_for

SR = 8000


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    t = np.arange(SR) / SR
    y = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1230 * t * (1 + 0.05 * t))
    return (y + 0.02 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)


def _sc(y_hat: np.ndarray, X: np.ndarray, p: SpectrogramParams) -> float:
    S = stft_magnitude(y_hat, p)[:, : X.shape[1]]
    return float(20 * np.log10(np.linalg.norm(S - np.abs(X)) / np.linalg.norm(np.abs(X))))


def test_true_phase_and_cell_bound_bring_a_blurred_magnitude_back(signal: np.ndarray) -> None:
    p = SpectrogramParams(sr=SR, n_fft=512, n_samples=SR)
    X = stft(signal, p)
    rough = np.abs(X) * 10 ** (np.random.default_rng(1).uniform(-3, 3, X.shape) / 20)
    lo, hi = np.abs(X) / 10 ** (3 / 20), np.abs(X) * 10 ** (3 / 20)

    def cell(mag: np.ndarray) -> np.ndarray:
        return np.clip(mag, lo, hi)

    before = _sc(phase_locked(rough, np.angle(X), p, bound=cell, n_iter=0), X, p)
    after = _sc(phase_locked(rough, np.angle(X), p, bound=cell, n_iter=32), X, p)
    assert before > -21.0 and after < -25.0, (before, after)


def test_mel_bound_with_the_true_phase_finds_the_linear_magnitude(signal: np.ndarray) -> None:
    import specimg

    p = SpectrogramParams(sr=SR, n_fft=512, n_samples=SR, scale="mel", n_mels=40)
    X = stft(signal, p)
    M = magnitude(signal, p)

    def bands(mag: np.ndarray) -> np.ndarray:
        return match_mel(mag, M, p).astype(np.float32)

    start = mel_start(M, p)
    y0 = phase_locked(start, np.angle(X), p, bound=bands, n_iter=0)
    y16 = phase_locked(start, np.angle(X), p, bound=bands, n_iter=16)
    alone = specimg.decode(specimg.encode(signal, SR, scale="mel", n_mels=40, n_fft=512), quality="fast")[0]
    assert _sc(y0, X, p) > -16.0 and _sc(y16, X, p) < -36.0 and _sc(alone, X, p) > -12.0
    assert y16.dtype == np.float32 and y16.shape == (SR,)


def test_held_bins_keep_their_phase_and_free_bins_follow_the_stft(signal: np.ndarray) -> None:
    p = SpectrogramParams(sr=SR, n_fft=512, n_samples=SR)
    X = stft(signal, p)
    held = np.zeros(X.shape, dtype=bool)
    held[:60] = True  # the 440 Hz tone and below, at its true phase; the rest starts at 0
    phase = np.where(held, np.angle(X), 0.0)
    scs = [_sc(phase_locked(np.abs(X), phase, p, held=held, n_iter=n), X, p) for n in (0, 16, 32)]
    assert scs[0] > -8.0 and scs[1] < -16.0 and scs[2] < scs[1] - 2.0, scs  # Griffin-Lim in the free bins
    # n_iter=0 is the ISTFT of S · e^{iφ}
    pair = StftPair(n_fft=p.n_fft, hop_length=p.hop_length, window=window_for(p), n_frames=X.shape[1],
                    length=SR, center=p.center)  # fmt: skip
    direct = pair.inverse((np.abs(X) / calibration(p) * np.exp(1j * phase)).astype(np.complex64).T)
    assert np.allclose(phase_locked(np.abs(X), phase, p, n_iter=0), direct, atol=1e-6)


def test_phase_locked_refuses_bad_arguments() -> None:
    p = SpectrogramParams(sr=SR, n_fft=64)
    S, phase = np.ones((33, 5)), np.zeros((33, 5))
    with pytest.raises(ParameterError, match=r"S of shape \(32, 5\)"):
        phase_locked(np.ones((32, 5)), phase, p)
    with pytest.raises(ParameterError, match="phase of shape"):
        phase_locked(S, np.zeros((33, 4)), p)
    with pytest.raises(ParameterError, match="held of shape"):
        phase_locked(S, phase, p, held=np.ones((33, 4), dtype=bool))
    with pytest.raises(ParameterError, match="n_iter=-1"):
        phase_locked(S, phase, p, n_iter=-1)
    with pytest.raises(ParameterError, match="SpectrogramParams"):
        phase_locked(S, phase, {"n_fft": 64})  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        phase_locked(-S, phase, p)
