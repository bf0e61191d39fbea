"""The STFT geometry: window lengths, hop, frame offsets and counts, the analysis window.

The one place where the shape of an STFT is worked out (librosa's conventions:
``win_length=None → n_fft``, ``hop_length=None → win_length // 4``, ``center=True`` pads
``n_fft // 2`` samples on both sides). :mod:`specimg.params` resolves its fields with these
functions, :mod:`specimg.spectral` and :mod:`specimg.phase` frame their transforms with them.
It sits below every other module but :mod:`specimg.errors`: it takes plain numbers, never a
:class:`~specimg.SpectrogramParams`.

scipy.signal is imported on first use, and not at all for the default Hann window, so that
``import specimg`` and reading a file's parameters stay fast.
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import ParameterError
from .typing import Window

__all__ = ["stft_lengths", "frame_offset", "frame_count", "span_length", "analysis_window", "covers"]

def stft_lengths(n_fft: int, win_length: int | None = None, hop_length: int | None = None) -> tuple[int, int]:
    """Resolve and check ``(win_length, hop_length)`` with librosa's defaults.

    Parameters
    ----------
    n_fft : int > 0 [scalar]
        FFT size in samples (checked by the caller).
    win_length : int, 0 < win_length <= n_fft, or None
        ``None`` → ``n_fft``.
    hop_length : int, 0 < hop_length <= n_fft, or None
        ``None`` → ``win_length // 4`` (as :func:`librosa.stft`).

    Returns
    -------
    (win_length, hop_length) : tuple of int

    Raises
    ------
    ParameterError
        If a length is not an integer or out of range, or ``hop_length`` is None and
        ``win_length < 4`` (``win_length // 4`` would be 0).

    Examples
    --------
    >>> stft_lengths(2048)
    (2048, 512)
    >>> stft_lengths(1024, win_length=800)
    (800, 200)
    """
    for name, value in (("win_length", win_length), ("hop_length", hop_length)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
            raise ParameterError(f"{name}={value!r} must be an integer")
    win = n_fft if win_length is None else win_length
    if not 1 <= win <= n_fft:
        raise ParameterError(f"win_length={win!r} is out of range [1, {n_fft}]; use win_length <= n_fft")
    if hop_length is None and win < 4:
        raise ParameterError(f"win_length={win} is too short to derive hop_length = win_length // 4; pass hop_length")
    hop = win // 4 if hop_length is None else hop_length
    if not 1 <= hop <= n_fft:
        raise ParameterError(f"hop_length={hop!r} is out of range [1, {n_fft}]; use 0 < hop_length <= n_fft")
    return int(win), int(hop)


def frame_offset(n_fft: int, center: bool) -> int:
    """Zero samples padded before the signal: frame ``t`` covers samples
    ``t * hop_length - frame_offset`` to ``t * hop_length - frame_offset + n_fft``.

    ``n_fft // 2`` if ``center`` (frame ``t`` is centred on sample ``t * hop_length``), else 0,
    as :func:`librosa.stft`. The centre of frame ``t`` is sample
    ``t * hop_length - frame_offset + n_fft // 2``.

    Parameters
    ----------
    n_fft : int > 0, samples per frame
    center : bool, as :func:`librosa.stft`

    Returns
    -------
    int, samples

    Examples
    --------
    >>> frame_offset(2048, True), frame_offset(2048, False)
    (1024, 0)
    """
    return n_fft // 2 if center else 0


def frame_count(n_samples: int, *, n_fft: int, hop_length: int, center: bool) -> int:
    """Number of STFT frames of a signal of ``n_samples`` samples (FORMAT.md §1.2).

    ``1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length`` if ``center``, else
    ``1 + (n_samples - n_fft) // hop_length`` (at least 1), as :func:`librosa.stft` with
    ``pad_mode="constant"``.

    Parameters
    ----------
    n_samples : int >= 0, length of the signal
    n_fft : int > 0
    hop_length : int > 0
    center : bool

    Returns
    -------
    int >= 1, frames

    Examples
    --------
    >>> frame_count(22050, n_fft=2048, hop_length=512, center=True)
    44
    """
    pad = 2 * (n_fft // 2) if center else 0
    return 1 + max(n_samples + pad - n_fft, 0) // hop_length


def span_length(n_frames: int, *, n_fft: int, hop_length: int, center: bool) -> int:
    """Samples that ``n_frames`` frames span: ``(n_frames - 1) * hop_length``, plus ``n_fft``
    if not ``center`` (for an even ``n_fft``, the length :func:`librosa.istft` returns without
    ``length``).

    Parameters
    ----------
    n_frames : int >= 1
    n_fft : int > 0
    hop_length : int > 0
    center : bool

    Returns
    -------
    int, samples

    Examples
    --------
    >>> span_length(44, n_fft=2048, hop_length=512, center=True)
    22016
    """
    span = (n_frames - 1) * hop_length
    return span if center else span + n_fft


def analysis_window(window: Window, win_length: int, n_fft: int) -> np.ndarray:
    """A periodic window of ``win_length`` samples, zero-padded and centred to ``n_fft``.

    Parameters
    ----------
    window : str, tuple or np.ndarray
        Anything :func:`scipy.signal.get_window` accepts (``"hann"``, ``("kaiser", 8.0)``),
        or the window samples themselves [shape=(win_length,) or (n_fft,)].
    win_length : int, 0 < win_length <= n_fft
    n_fft : int > 0

    Returns
    -------
    np.ndarray [shape=(n_fft,)], float64 (as :func:`librosa.filters.get_window` followed
    by :func:`librosa.util.pad_center`); read-only for a named window (it is cached).

    Raises
    ------
    ParameterError
        If the window is unknown or the lengths do not fit.
    """
    if isinstance(window, np.ndarray):
        w = np.asarray(window, dtype=np.float64)
        if w.ndim != 1 or len(w) not in (win_length, n_fft):
            raise ParameterError(f"window array of shape {w.shape} must have win_length={win_length} or n_fft={n_fft} samples")
        if len(w) == n_fft:
            return w
        return _pad(w, n_fft)
    if not 0 < win_length <= n_fft:
        raise ParameterError(f"win_length={win_length} must be in (0, n_fft={n_fft}]")
    try:
        return _cached_window(window, win_length, n_fft)
    except TypeError:  # an unhashable part, e.g. ("kaiser", [8.0])
        raise ParameterError(f"window={window!r} is not a window scipy.signal.get_window knows") from None


#: Names :func:`scipy.signal.get_window` gives the Hann window for, computed here without
#: importing scipy.signal (1 to 2 s of start-up that ``specimg info`` would pay).
_HANN_NAMES = frozenset({"hann", "han", "hanning"})


def _periodic_hann(win_length: int) -> np.ndarray:
    """:func:`scipy.signal.get_window("hann", win_length)`, the same float64 values, in numpy.

    scipy's general cosine window, periodic: ``0.5 + 0.5 cos(x)`` on ``win_length + 1``
    points from -π to π, the last point dropped (tests/test_spectral.py checks equality).
    """
    if win_length == 1:
        return np.ones(1)
    fac = np.linspace(-np.pi, np.pi, win_length + 1, dtype=np.float64)
    w = np.zeros(win_length + 1, dtype=np.float64)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(1 * fac)
    return w[:-1]


@functools.lru_cache(maxsize=32)
def _cached_window(window: str | tuple, win_length: int, n_fft: int) -> np.ndarray:
    if isinstance(window, str) and window.lower() in _HANN_NAMES:
        w = _periodic_hann(win_length)
    else:
        import scipy.signal

        try:
            w = scipy.signal.get_window(window, win_length, fftbins=True).astype(np.float64)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"window={window!r} is not a window scipy.signal.get_window knows: {exc}") from None
    out = _pad(w, n_fft)
    out.setflags(write=False)  # shared by the cache
    return out


def _pad(w: np.ndarray, n_fft: int) -> np.ndarray:
    lpad = (n_fft - len(w)) // 2
    return np.pad(w, (lpad, n_fft - len(w) - lpad))


def covers(window: np.ndarray, hop_length: int, *, tol: float = 1e-10) -> bool:
    """Whether frames of ``window`` every ``hop_length`` samples leave no gap (nonzero overlap-add).

    The NOLA condition of :func:`scipy.signal.check_NOLA` (the same sums and tolerance),
    without importing scipy.signal: every sample is covered by the squared window of
    some frame by more than ``tol``, so the ISTFT can rebuild the audio.

    Parameters
    ----------
    window : np.ndarray [shape=(n_fft,)], the padded analysis window
    hop_length : int, 0 < hop_length <= n_fft
    tol : float

    Returns
    -------
    bool

    Examples
    --------
    >>> w = analysis_window("hann", 1024, 2048)
    >>> covers(w, 512), covers(w, 1536)
    (True, False)
    """
    nperseg = len(window)
    step = int(hop_length)
    binsums = np.zeros(step)
    for k in range(nperseg // step):
        binsums += window[k * step : (k + 1) * step] ** 2
    if nperseg % step != 0:
        binsums[: nperseg % step] += window[-(nperseg % step) :] ** 2
    return bool(np.min(binsums) > tol)
