"""Argument checks shared by PGHI and Griffin-Lim."""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import ParameterError
from ..geometry import analysis_window, stft_lengths
from ..typing import Window

__all__ = ["as_generator", "check_magnitude", "renamed_magnitude", "stft_geometry"]


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself, or a generator seeded with it (None: fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (int, np.integer))):
        raise ParameterError(f"rng={rng!r} must be an int seed, a numpy Generator, or None")
    return np.random.default_rng(rng)


def stft_geometry(
    n_bins: int, n_fft: int | None, hop_length: int | None, win_length: int | None, window: Window
) -> tuple[int, int, int, np.ndarray]:
    """Resolve and check an STFT geometry as librosa does: ``n_fft=None`` → ``2 * (n_bins - 1)``,
    then :func:`specimg.spectral.stft_lengths`; returns (n_fft, hop_length, win_length, padded window)."""
    n_fft = 2 * (n_bins - 1) if n_fft is None else n_fft
    if isinstance(n_fft, bool) or not isinstance(n_fft, (int, np.integer)):
        raise ParameterError(f"n_fft={n_fft!r} must be an integer")
    if n_bins != n_fft // 2 + 1:
        raise ParameterError(f"magnitude has {n_bins} bins, but n_fft={n_fft} makes {n_fft // 2 + 1}")
    win_length, hop_length = stft_lengths(int(n_fft), win_length, hop_length)
    return int(n_fft), hop_length, win_length, analysis_window(window, win_length, int(n_fft))


def check_magnitude(S: np.ndarray) -> None:
    """Raise ParameterError unless ``S`` is a real, finite, non-negative (..., n_bins >= 2, n_frames >= 1) array."""
    if S.ndim < 2 or S.shape[-2] < 2 or S.shape[-1] < 1:
        raise ParameterError(f"magnitude S of shape {S.shape} must be (..., n_bins >= 2, n_frames >= 1)")
    if not np.issubdtype(S.dtype, np.number) or np.iscomplexobj(S):
        raise ParameterError(f"magnitude S of dtype {S.dtype} must be real (pass np.abs(X) for an STFT)")
    if not np.all(np.isfinite(S)) or np.any(S < 0):
        raise ParameterError("magnitude S must be finite and non-negative")


def renamed_magnitude(S: np.ndarray | None, magnitude: np.ndarray | None, function: str) -> np.ndarray:
    """The magnitude passed as ``S`` or, deprecated, as ``magnitude=`` (warns)."""
    if magnitude is not None:
        if S is not None:
            raise ParameterError(f"{function}() got both S and magnitude=; pass S only")
        warnings.warn(
            f"{function}(magnitude=...) is deprecated and will be removed in the next release; "
            f"pass the magnitude as the first argument S",
            DeprecationWarning,
            stacklevel=3,
        )
        S = magnitude
    if S is None:
        raise TypeError(f"{function}() missing 1 required argument: 'S'")
    return np.asarray(S)
