"""Figures of merit for a round trip: spectral convergence and level difference."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .params import SpectrogramParams
from .spectral import stft_magnitude

__all__ = ["spectral_convergence", "magnitude_convergence", "rms_db", "level_difference_db"]


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
