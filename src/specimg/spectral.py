"""Calibrated STFT magnitude, mel filterbank, and dB conversion.

The magnitude is calibrated so that a full-scale sine (amplitude 1.0) centred on a bin
reads 1.0, that is 0 dBFS: ``|X| * 2 / sum(window)``.
"""

from __future__ import annotations

import functools

import librosa
import numpy as np
import scipy.signal

from .params import SpectrogramParams

__all__ = [
    "get_window",
    "calibration",
    "stft_magnitude",
    "mel_basis",
    "magnitude",
    "to_db",
    "from_db",
    "mel_to_linear",
]

#: Smallest amplitude taken into the logarithm; below ``db_min`` in any sane setting.
AMIN = 1e-30


@functools.lru_cache(maxsize=32)
def _window(window: str | tuple, win_length: int, n_fft: int) -> np.ndarray:
    w = scipy.signal.get_window(window, win_length, fftbins=True).astype(np.float64)
    return librosa.util.pad_center(w, size=n_fft)


def get_window(params: SpectrogramParams) -> np.ndarray:
    """Analysis window of ``params``, zero-padded and centred to ``n_fft`` samples.

    Returns
    -------
    np.ndarray [shape=(n_fft,)], float64
    """
    return _window(params.window, params.win_length, params.n_fft)


def calibration(params: SpectrogramParams) -> float:
    """Factor from raw STFT magnitude to calibrated amplitude: ``2 / sum(window)``."""
    return 2.0 / float(np.sum(get_window(params)))


def stft_magnitude(y: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Calibrated linear STFT magnitude.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n_samples)], real-valued, finite
    params : SpectrogramParams

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], float64, non-negative
        ``|STFT(y)| * 2 / sum(window)``; a full-scale sine reads 1.0.
    """
    X = librosa.stft(
        np.asarray(y, dtype=np.float64),
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        win_length=params.win_length,
        window=params.window,
        center=params.center,
        pad_mode="constant",
    )
    return np.abs(X) * calibration(params)


@functools.lru_cache(maxsize=16)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool, norm: str | None) -> np.ndarray:
    return librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, dtype=np.float64  # type: ignore[arg-type]
    )


def mel_basis(params: SpectrogramParams) -> np.ndarray:
    """Mel filterbank of ``params`` (as :func:`librosa.filters.mel`).

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)], float64, non-negative
    """
    return _mel_basis(params.sr, params.n_fft, params.n_mels, params.fmin, params.fmax, params.htk, params.norm)  # type: ignore[arg-type]


def magnitude(y: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """The calibrated amplitude that an image stores, linear or mel.

    For ``scale="mel"`` this is ``(mel_basis @ |X|**power) ** (1 / power)`` with ``|X|`` the
    calibrated STFT magnitude, so the result is an amplitude whatever ``power`` is.

    Returns
    -------
    np.ndarray [shape=(..., n_bins, n_frames)], float64, non-negative
    """
    S = stft_magnitude(y, params)
    if params.scale == "mel":
        M = np.einsum("bf,...ft->...bt", mel_basis(params), S**params.power, optimize=True)
        S = M ** (1.0 / params.power)
    return S


def to_db(S: np.ndarray, ref: float = 1.0) -> np.ndarray:
    """Amplitude to decibels: ``20 * log10(max(S, AMIN) / ref)``.

    Parameters
    ----------
    S : np.ndarray, non-negative amplitude
    ref : float > 0, the amplitude that reads 0 dB

    Returns
    -------
    np.ndarray, float64, same shape as ``S``
    """
    return 20.0 * np.log10(np.maximum(np.asarray(S, dtype=np.float64), AMIN) / ref)


def from_db(S_db: np.ndarray, ref: float = 1.0) -> np.ndarray:
    """Decibels to amplitude, the inverse of :func:`to_db`."""
    return ref * np.power(10.0, np.asarray(S_db, dtype=np.float64) / 20.0)


def mel_to_linear(M: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Approximate linear STFT magnitude from a mel amplitude by non-negative least squares.

    Parameters
    ----------
    M : np.ndarray [shape=(..., n_mels, n_frames)], non-negative mel amplitude as made by
        :func:`magnitude`
    params : SpectrogramParams with ``scale="mel"``

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative calibrated magnitude

    References
    ----------
    Solved with :func:`librosa.util.nnls` (L-BFGS-B), as :func:`librosa.feature.inverse.mel_to_stft`.
    """
    P = librosa.util.nnls(mel_basis(params), np.asarray(M, dtype=np.float64) ** params.power)
    return np.power(np.maximum(P, 0.0), 1.0 / params.power)
