"""Figures of merit for a round trip: spectral convergence and level difference."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .params import SpectrogramParams
from .spectral import stft_magnitude

__all__ = [
    "spectral_convergence",
    "magnitude_convergence",
    "db_correlation",
    "rms_db",
    "level_difference_db",
]


def magnitude_convergence(S_hat: np.ndarray, S: np.ndarray) -> float:
    """Spectral convergence of two magnitudes, in dB.

    ``20 * log10(‖S_hat − S‖_F / ‖S‖_F)``; lower is better, ``-inf`` for identical input.

    Parameters
    ----------
    S_hat, S : np.ndarray, same shape, non-negative magnitudes
    """
    num = float(np.linalg.norm(np.asarray(S_hat, dtype=np.float64) - S))
    den = float(np.linalg.norm(S))
    if den == 0.0:
        return -np.inf if num == 0.0 else np.inf
    if num == 0.0:
        return -np.inf
    return 20.0 * np.log10(num / den)


def spectral_convergence(y_hat: np.ndarray, y: np.ndarray, params: SpectrogramParams) -> float:
    """Linear-magnitude spectral convergence of ``y_hat`` against ``y``, in dB.

    ``SC = 20 log10(‖|STFT(y_hat)| − |STFT(y)|‖_F / ‖|STFT(y)|‖_F)`` with the STFT geometry
    of ``params`` (always linear frequency, whatever ``params.scale``).

    Parameters
    ----------
    y_hat, y : np.ndarray [shape=(..., n_samples)], same shape
    params : SpectrogramParams
    """
    if np.shape(y_hat) != np.shape(y):
        raise ParameterError(f"y_hat {np.shape(y_hat)} and y {np.shape(y)} must have the same shape")
    return magnitude_convergence(stft_magnitude(y_hat, params), stft_magnitude(y, params))


def db_correlation(y_hat: np.ndarray, y: np.ndarray, params: SpectrogramParams, *, top_db: float = 80.0) -> float:
    """Pearson correlation of the dB spectrograms of ``y_hat`` and ``y``.

    Both are taken as ``librosa.amplitude_to_db(|STFT|, ref=np.max, top_db=top_db)`` on the
    linear STFT grid of ``params``, and compared on the bins where ``y`` is within
    ``top_db`` of its loudest bin. Insensitive to a level offset, so it judges the shape
    of a spectrogram whose absolute level was lost. When the lengths differ (a decoder
    that could only know the length to within a hop), the shorter length is used.

    Parameters
    ----------
    y_hat, y : np.ndarray [shape=(..., n_samples)]
    params : SpectrogramParams, the STFT geometry
    top_db : float > 0, dB range below the peak that counts

    Returns
    -------
    float in [-1, 1]; nan if fewer than two bins qualify or either side is constant
    """
    n = min(np.shape(y_hat)[-1], np.shape(y)[-1])
    A = stft_magnitude(np.asarray(y)[..., :n], params)
    B = stft_magnitude(np.asarray(y_hat)[..., :n], params)

    def to_rel_db(S: np.ndarray) -> np.ndarray:
        peak = float(S.max())
        if peak <= 0:
            return np.full(S.shape, -top_db)
        with np.errstate(divide="ignore"):
            return np.maximum(20.0 * np.log10(np.maximum(S, 1e-30) / peak), -top_db)

    a, b = to_rel_db(A), to_rel_db(B)
    keep = a > -top_db
    if keep.sum() < 2 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def rms_db(y: np.ndarray) -> float:
    """RMS level of ``y`` in dBFS (``-inf`` for silence)."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(y, dtype=np.float64)))))
    return 20.0 * np.log10(rms) if rms > 0 else -np.inf


def level_difference_db(y_hat: np.ndarray, y: np.ndarray) -> float:
    """RMS level of ``y_hat`` minus that of ``y``, in dB (0 when both are silent)."""
    a, b = rms_db(y_hat), rms_db(y)
    if np.isinf(a) and np.isinf(b):
        return 0.0
    return a - b
