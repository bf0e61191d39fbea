"""Joint estimation of the linear magnitude and the phase of a mel image.

A mel image stores the mel bands ``M`` of an STFT, not its magnitude: many magnitudes share
those bands, and the decoder must pick one together with a phase. As in the joint
magnitude-and-phase estimation of Masuyama, Ueno and Ono [1]_ [2]_, the magnitude is not fixed
in advance (mel → linear, then Griffin-Lim, lets the errors of the first step accumulate in
the second): inside the phase iterations, every other iteration takes the magnitude of the current
STFT estimate and replaces it by the closest magnitude whose mel bands are ``M``, so the
fine structure under each band is the one the consistent STFT converges to.

"Closest" is the weighted least-squares fit of :func:`specimg.spectral.match_mel`: with
``s = |X|**power`` and ``p = M**power`` per frame, ``x = s ⊙ Bᵀc`` minimises
``Σ_f x_f² / s_f`` subject to ``B x = p``, ``c`` solving the tridiagonal system
``(B diag(s) Bᵀ) c = p``. Here it runs as one compiled pass per frame (each FFT bin lies under
at most two adjacent triangular filters), about 10× cheaper than the sparse products of
``match_mel``, so that the iterations it runs in can be twice as many for the same time.

References
----------
.. [1] Y. Masuyama, N. Ueno, N. Ono, "Signal reconstruction from mel-spectrogram based on
   bi-level consistency of full-band magnitude and phase", IEEE WASPAA 2023.
   arXiv:2307.12232
.. [2] Y. Masuyama, N. Ueno, N. Ono, "Mel-spectrogram inversion via alternating direction
   method of multipliers", arXiv:2501.05557, 2025.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError
from ..spectral import filters_per_bin, match_mel, mel_basis
from ._lowband import decimation_for
from ._reconstruct import resolve_quality

if TYPE_CHECKING:
    from ..params import SpectrogramParams
    from ._gla import Refine

__all__ = ["MEL_ITERATIONS", "MEL_LOW_ITERATIONS", "MelFit", "mel_fit", "mel_iterations", "mel_low_band",
           "mel_refiner", "mel_start"]


class MelFit:
    """The mel filterbank of ``params`` laid out for the compiled per-frame fit.

    ``bands[f]`` holds the (at most two, adjacent) filters over bin ``f`` (−1: none) and
    ``weights[f]`` their values. ``banded`` is False when some bin lies under more than two
    filters, or two that are not neighbours; :meth:`fit` then falls back to
    :func:`specimg.spectral.match_mel`. With ``n_bins`` (fewer than the STFT's), the fit of
    the low band alone: only the ``n_mels`` filters that lie wholly below bin ``n_bins``
    (ParameterError if they are not banded), and the bins that only the others cover are
    returned as received.
    """

    def __init__(self, params: SpectrogramParams, n_bins: int | None = None) -> None:
        B = mel_basis(params).astype(np.float64)
        covered = np.any(B > 0, axis=0)
        self.truncated = n_bins is not None and n_bins < B.shape[1]
        #: the filters fitted: all, or those that lie wholly below bin n_bins (over those bins)
        self.kept: np.ndarray = np.arange(B.shape[0])
        if n_bins is not None and self.truncated:
            last = np.array([np.flatnonzero(row).max(initial=-1) for row in B])
            self.kept = np.flatnonzero((last >= 0) & (last < n_bins))
            B = B[self.kept, :n_bins]
            covered = covered[:n_bins]
        n_mels, n_bins = B.shape
        self.params, self.power = params, float(params.power)
        per_bin = filters_per_bin(B)
        self.banded = per_bin is not None
        self.bands: np.ndarray = np.full((n_bins, 2), -1, dtype=np.int64) if per_bin is None else per_bin[0]
        self.weights: np.ndarray = np.zeros((n_bins, 2)) if per_bin is None else per_bin[1]
        self.n_mels = n_mels
        # bins that only filters beyond the band cover (the truncated fit returns them as received)
        self.uncovered = (self.bands[:, 0] < 0) & covered
        if self.truncated and (not self.banded or n_mels == 0):
            raise ParameterError(
                f"the low band's fit needs a filterbank with at most two adjacent filters over each bin and one filter"
                f" wholly below bin {n_bins} at least; this one has {n_mels}"
            )
        # runs of consecutive bins under the same filters, for the compiled fit
        change = np.flatnonzero(np.any(self.bands[1:] != self.bands[:-1], axis=1)) + 1
        self.edges = np.concatenate([[0], change, [n_bins]]).astype(np.int64)
        self.over = np.ascontiguousarray(self.bands[self.edges[:-1]])

    def fit(self, A: np.ndarray | None, P: np.ndarray) -> np.ndarray:
        """Magnitudes closest to ``A`` [shape=(n_frames, n_bins)] whose mel powers are ``P`` [shape=(n_frames, n_mels)].

        Returns float32 [shape=(n_frames, n_bins)]. ``A=None`` stands for a flat ``A`` (all
        ones), and a frame of ``A`` that is 0 under every filter is fitted as a flat one.
        Raises ParameterError if ``A`` is not of that shape.
        """
        n_bins = len(self.bands)
        if not self.banded:
            M = np.maximum(P, 0.0) ** (1.0 / self.power)
            A = np.ones((P.shape[0], n_bins)) if A is None else A
            return np.ascontiguousarray(match_mel(A.T, M.T, self.params).T, dtype=np.float32)
        from ._kernels_mel import fit_frames  # numba, on first use

        if A is not None and np.shape(A) != (P.shape[0], n_bins):
            raise ParameterError(f"magnitude of shape {np.shape(A)} must be (n_frames, n_bins) = {(P.shape[0], n_bins)}")
        out = np.empty((P.shape[0], n_bins), dtype=np.float32)
        flat = A is None
        A = out if A is None else np.ascontiguousarray(A)
        fit_frames(
            A, np.ascontiguousarray(P), self.edges, self.over, self.weights, self.n_mels, self.power, out, flat
        )
        if self.truncated and not flat:
            out[:, self.uncovered] = A[:, self.uncovered]
        return out


_FITS: dict[tuple, MelFit] = {}


def mel_fit(params: SpectrogramParams, n_bins: int | None = None) -> MelFit:
    """The :class:`MelFit` of the filterbank of ``params``, of its first ``n_bins`` bins if given (cached for the last few)."""
    key = (params.sr, params.n_fft, params.n_mels, params.fmin, params.fmax, params.htk, params.norm, params.power, n_bins)
    if key not in _FITS:
        if len(_FITS) >= 8:
            _FITS.pop(next(iter(_FITS)))
        _FITS[key] = MelFit(params, n_bins)
    return _FITS[key]


def mel_refiner(M: np.ndarray, params: SpectrogramParams, start: np.ndarray) -> Refine:
    """``refine`` hook of :func:`specimg.phase.reconstruct` that imposes the mel amplitude ``M``.

    ``M`` [shape=(n_mels, n_frames)] is calibrated mel amplitude (as an image stores it) and
    ``start`` the magnitude of :func:`mel_start` that the iterations start from. The hook
    receives and returns calibrated linear magnitudes [shape=(n_bins, n_block_frames)] for
    the frames ``frames`` of the whole signal. Its first call for a block returns the
    geometric mean of the non-negative least-squares magnitude of those frames
    (:func:`specimg.spectral.mel_to_linear`, recovered from ``start`` as ``start² / flat``;
    0 where the flat fit is 0, as ``start``) and the fit of the magnitude it receives to
    ``M`` (:meth:`MelFit.fit`); every later call that fit alone. A call with fewer rows
    than ``n_fft // 2 + 1`` (the low-band iterations of :func:`mel_low_band`) fits the bands
    that lie wholly within those rows (``MelFit(params, n_bins)``).

    Raises
    ------
    ParameterError
        If ``M`` does not have ``params.n_mels`` rows or ``start`` is not
        (n_fft // 2 + 1, n_frames).

    Examples
    --------
    >>> import numpy as np
    >>> from specimg import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=256, scale="mel", n_mels=16)
    >>> M = np.ones((16, 5), dtype=np.float32)
    >>> refine = mel_refiner(M, p, mel_start(M, p))
    >>> refine(np.ones((129, 5), dtype=np.float32), slice(0, 5)).shape
    (129, 5)
    """
    M, start = np.asarray(M), np.asarray(start)
    if M.ndim != 2 or M.shape[0] != params.n_mels:
        raise ParameterError(f"M has shape {M.shape}; expected (n_mels={params.n_mels}, n_frames)")
    if start.shape != (params.n_fft // 2 + 1, M.shape[1]):
        raise ParameterError(
            f"start has shape {start.shape}; expected (n_fft // 2 + 1, n_frames) = {(params.n_fft // 2 + 1, M.shape[1])}"
            " (mel_start(M, params) gives it)"
        )
    fit = mel_fit(params)
    n_bins = params.n_fft // 2 + 1
    P = np.ascontiguousarray((np.maximum(np.asarray(M, dtype=np.float64), 0.0) ** fit.power).T)
    started: set[int | None] = set()

    def refine(A: np.ndarray, frames: slice) -> np.ndarray:
        if A.shape[0] < n_bins:  # the low band alone (griffin_lim's n_low)
            low = mel_fit(params, A.shape[0])
            return low.fit(A.T, P[frames][:, low.kept]).T
        if frames.start not in started:
            started.add(frames.start)
            flat = fit.fit(None, P[frames]).T
            S = np.asarray(start[:, frames], dtype=np.float32)
            least_squares = np.divide(S * S, flat, out=np.zeros_like(flat), where=flat > 0)
            return np.sqrt(least_squares * fit.fit(A.T, P[frames]).T)
        return fit.fit(A.T, P[frames]).T

    return refine


#: Frames of :func:`mel_start` solved at a time (bounds its float64 temporaries).
_START_BLOCK = 2048


def mel_start(M: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Starting magnitude of a mel decode: √(flat fit × non-negative least squares), per bin.

    The non-negative least-squares magnitude (:func:`specimg.spectral.mel_to_linear`) has
    the stored bands but isolated peaks and exact zeros, which leave PGHI's phase gradients
    arbitrary; the flat fit (:meth:`MelFit.fit` of a flat spectrum: each bin's power
    interpolated between band centres) has no structure of its own. Their geometric mean
    keeps the peaks on a smooth floor. PGHI's phase from it, with the least-squares
    magnitude as the first target (:func:`mel_refiner`), measured best on the corpus speech
    (PESQ) and mel fit (benchmarks/PHASE_MEL.md).

    Parameters
    ----------
    M : np.ndarray [shape=(n_mels, n_frames)], non-negative, calibrated mel amplitude
    params : SpectrogramParams, of a mel image

    Returns
    -------
    np.ndarray [shape=(n_fft // 2 + 1, n_frames)], float32, calibrated like ``M``

    Examples
    --------
    >>> import numpy as np
    >>> from specimg import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=256, scale="mel", n_mels=16)
    >>> mel_start(np.ones((16, 3)), p).shape
    (129, 3)
    """
    from ..spectral import mel_to_linear

    fit = mel_fit(params)
    M = np.asarray(M, dtype=np.float64)
    n_frames = M.shape[-1]
    out = np.empty((params.n_fft // 2 + 1, n_frames), dtype=np.float32)
    for a in range(0, n_frames, _START_BLOCK):
        b = min(a + _START_BLOCK, n_frames)
        P = np.ascontiguousarray((np.maximum(M[:, a:b], 0.0) ** fit.power).T)
        flat = fit.fit(None, P).T
        out[:, a:b] = np.sqrt(flat * mel_to_linear(M[:, a:b], params))
    return out


#: Phase iterations of a mel decode per quality preset (fast Griffin-Lim with the mel fit of
#: :func:`mel_refiner` every other iteration; the linear presets' RAAR/accelerated schemes
#: do not apply, since the target magnitude changes as the fit proceeds: accelerated
#: Griffin-Lim with the fit measured 17 dB worse mel SC on speech). "fast" and "high" are
#: 2× the linear presets' former counts (12/500): the mel SC and PESQ keep rising with
#: iterations. "balanced" was 168 full-band iterations (the fewest at which no corpus file's
#: mel SC was more than 0.5 dB worse than before issue 13, benchmarks/PHASE_MEL.md); it is
#: now 112 with :data:`MEL_LOW_ITERATIONS` on the low band before the last 16 of them: the
#: same time, every corpus file's mel SC better (−0.6 … −12 dB) and the speech benchmark's
#: synthetic median PESQ-WB 3.29 → 3.38 (benchmarks/SPEECH.md, round 6).
MEL_ITERATIONS: dict[str, int] = {"fast": 24, "balanced": 112, "high": 1000}


def mel_iterations(quality: str, n_iter: int | None = None) -> int:
    """Number of phase iterations of a mel decode at a quality preset, or ``n_iter`` if given.

    Parameters
    ----------
    quality : {"fast", "balanced", "high"}
    n_iter : int or None
        Overrides the preset.

    Returns
    -------
    int
        ``n_iter``, else :data:`MEL_ITERATIONS` of the preset.

    Raises
    ------
    ParameterError
        If ``quality`` is not a preset (:func:`resolve_quality`).

    Examples
    --------
    >>> mel_iterations("balanced"), mel_iterations("fast", 5)
    (112, 5)
    """
    resolve_quality(quality, n_iter)  # checks the name
    return MEL_ITERATIONS[quality] if n_iter is None else n_iter


#: Low-band iterations of a mel decode per quality preset (:func:`specimg.phase.griffin_lim`'s
#: ``n_low``: before the last 16 of its :data:`MEL_ITERATIONS`; each costs about a quarter of
#: a full one at 22 050 Hz, 200 about what 55 full ones cost). 200 low-band iterations
#: buy on voices what 168 more full-band ones do (benchmarks/SPEECH.md, round 6). "fast"
#: and "high" run none: they were not measured with them.
MEL_LOW_ITERATIONS: dict[str, int] = {"fast": 0, "balanced": 200, "high": 0}

#: Fewest mel filters wholly inside the low band for :func:`mel_low_band` to run its iterations.
_MIN_LOW_BANDS = 8


def mel_low_band(params: SpectrogramParams, quality: str, n_iter: int | None = None) -> tuple[int, int]:
    """``(n_low, decimation)`` of a mel decode: its low-band iterations and their decimation.

    ``n_low`` is :data:`MEL_LOW_ITERATIONS` of the preset, scaled by ``n_iter`` over the
    preset's :data:`MEL_ITERATIONS` when ``n_iter`` is given; 0 when no decimation fits
    the picture's geometry (:func:`decimation_for`), when its filterbank has more than two
    filters over some bin, or when fewer than 8 of its filters lie wholly in the band
    (a high ``fmin``).

    Raises
    ------
    ParameterError
        If ``quality`` is not a preset or ``n_iter`` not an integer >= 0.

    Examples
    --------
    >>> from specimg import SpectrogramParams
    >>> p = SpectrogramParams(sr=22050, n_fft=2048, hop_length=512, scale="mel", n_mels=128)
    >>> mel_low_band(p, "balanced"), mel_low_band(p, "balanced", n_iter=0), mel_low_band(p, "fast")
    ((200, 4), (0, 4), (0, 4))
    """
    full = mel_iterations(quality, None)
    if n_iter is not None and (isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0):
        raise ParameterError(f"n_iter={n_iter!r} must be an integer >= 0")
    n_low = MEL_LOW_ITERATIONS[quality]
    if n_iter is not None:
        n_low = int(round(n_low * n_iter / full)) if full else 0
    decimation = decimation_for(params.sr, params.n_fft, params.hop_length)
    if decimation < 2 or not mel_fit(params).banded:
        return 0, decimation
    try:
        inside = mel_fit(params, params.n_fft // (2 * decimation) + 1).n_mels
    except ParameterError:  # no filter wholly in the band
        inside = 0
    return (n_low if inside >= _MIN_LOW_BANDS else 0), decimation
