"""The calibrated STFT, mel filterbank and dB.

The magnitude is calibrated so that a full-scale sine (amplitude 1.0) centred on a bin
reads 1.0, that is 0 dBFS: ``|X| * 2 / sum(window)``. The STFT geometry (window padding,
centre offset, frame count, librosa's default lengths) is :mod:`specimg.geometry`'s; its
functions are also importable from here, where they lived before.

Heavy dependencies (scipy.signal, scipy.sparse, librosa's submodules) are imported on first
use, so that ``import specimg`` stays fast.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import librosa  # lazy: submodules load on first attribute access
import numpy as np

from .errors import ParameterError
from .geometry import analysis_window, frame_count, frame_offset, span_length, stft_lengths
from .params import SpectrogramParams


__all__ = [
    "stft_lengths",
    "frame_offset",
    "frame_count",
    "span_length",
    "analysis_window",
    "window_for",
    "calibration",
    "stft",
    "stft_magnitude",
    "mel_basis",
    "filters_per_bin",
    "linear_bins_of",
    "magnitude",
    "to_db",
    "from_db",
    "mel_to_linear",
    "match_mel",
]

#: Smallest amplitude taken into the logarithm; below ``db_min`` in any sane setting.
AMIN = 1e-30


# ---------------------------------------------------------------------------- geometry
def window_for(params: SpectrogramParams) -> np.ndarray:
    """Analysis window of ``params``, zero-padded and centred to ``n_fft`` samples.

    Parameters
    ----------
    params : SpectrogramParams
        Its ``window``, ``win_length`` and ``n_fft``.

    Returns
    -------
    np.ndarray [shape=(n_fft,)], float64, read-only
    """
    return analysis_window(params.window, params.win_length, params.n_fft)


def __getattr__(name: str) -> Any:
    """``get_window``, the former name of :func:`window_for` (it shadowed
    :func:`scipy.signal.get_window` with another signature), warns for one release."""
    if name == "get_window":
        warnings.warn(
            "specimg.spectral.get_window(params) is now window_for(params); the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return window_for
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def calibration(params: SpectrogramParams) -> float:
    """Factor from raw STFT magnitude (librosa's units) to calibrated amplitude: ``2 / sum(window)``.

    Examples
    --------
    >>> from specimg import SpectrogramParams
    >>> calibration(SpectrogramParams(sr=22050, n_fft=2048)) == 2 / 1024
    True
    """
    return 2.0 / float(np.sum(window_for(params)))


# ---------------------------------------------------------------------------- transform
def _librosa_stft(y: np.ndarray, params: SpectrogramParams, dtype: Any) -> np.ndarray:
    """Complex STFT in librosa's units (not calibrated)."""
    return librosa.stft(
        np.asarray(y, dtype=dtype),
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        win_length=params.win_length,
        window=params.window,
        center=params.center,
        pad_mode="constant",
    )


def stft(y: np.ndarray, params: SpectrogramParams, *, dtype: Any = np.float64) -> np.ndarray:
    """Calibrated complex STFT: :func:`librosa.stft` times :func:`calibration`.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n_samples)], real-valued, finite
    params : SpectrogramParams
        ``n_fft``, ``hop_length``, ``win_length``, ``window`` and ``center``; the signal is
        zero-padded (``pad_mode="constant"``).
    dtype : np.float64 (default) or np.float32
        Working precision; the result is complex128 or complex64.

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], complex
        ``n_frames = frame_count(n_samples, ...)``; ``abs`` of it is :func:`stft_magnitude`
        (to rounding): a full-scale sine reads 1.0. The phase is librosa's (referred to the
        start of each frame).

    Examples
    --------
    >>> import numpy as np
    >>> from specimg import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=512)
    >>> X = stft(np.cos(2 * np.pi * 1000 * np.arange(8000) / 8000), p)
    >>> X.shape, round(float(np.abs(X[64, 10])), 6)
    ((257, 63), 1.0)
    """
    X = _librosa_stft(y, params, dtype)
    X *= X.real.dtype.type(calibration(params))
    return X


def stft_magnitude(y: np.ndarray, params: SpectrogramParams, *, dtype: Any = np.float64) -> np.ndarray:
    """Calibrated linear STFT magnitude.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n_samples)], real-valued, finite
    params : SpectrogramParams
    dtype : np.float64 (default) or np.float32
        Working precision. float32 halves the memory of long inputs; its rounding
        (~1e-7 of the loudest bin of a frame) is far below a 16-bit pixel step.

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], ``dtype``, non-negative
        ``|STFT(y)| * 2 / sum(window)``; a full-scale sine reads 1.0.
    """
    S = np.abs(_librosa_stft(y, params, dtype))
    S *= S.dtype.type(calibration(params))
    return S


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
    return _mel_basis(params.sr, params.n_fft, params.n_mels, params.fmin, params.fmax, params.htk, params.norm)


def linear_bins_of(mel_mask: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Linear STFT bins under any marked mel band: where a change of the mel bands reaches.

    Parameters
    ----------
    mel_mask : np.ndarray [shape=(n_mels, n_frames)], bool
    params : SpectrogramParams, a mel scale

    Returns
    -------
    np.ndarray [shape=(n_fft // 2 + 1, n_frames)], bool: bin ``k`` of frame ``m`` is True
    when a band whose filter is non-zero at ``k`` is marked in frame ``m``.

    Examples
    --------
    >>> from specimg import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=256, scale="mel", n_mels=16)
    >>> mask = np.zeros((16, 3), dtype=bool); mask[0, 1] = True
    >>> out = linear_bins_of(mask, p)
    >>> out.shape, bool(out[:, 1].any()), bool(out[:, 0].any())
    ((129, 3), True, False)
    """
    support = (mel_basis(params) > 0).T.astype(np.float32)
    return (support @ np.asarray(mel_mask).astype(np.float32)) > 0


def magnitude(y: np.ndarray, params: SpectrogramParams, *, dtype: type = np.float64) -> np.ndarray:
    """The calibrated amplitude that an image stores, linear or mel.

    For ``scale="mel"`` this is ``(mel_basis @ |X|**power) ** (1 / power)`` with ``|X|`` the
    calibrated STFT magnitude, so the result is an amplitude whatever ``power`` is.
    ``dtype`` is the working precision, as for :func:`stft_magnitude`.

    Returns
    -------
    np.ndarray [shape=(..., n_bins, n_frames)], ``dtype``, non-negative
    """
    S = stft_magnitude(y, params, dtype=dtype)
    if params.scale == "mel":
        M = np.einsum("bf,...ft->...bt", mel_basis(params).astype(S.dtype), S**params.power, optimize=True)
        S = M ** (1.0 / params.power)
    return S


def to_db(S: np.ndarray, ref: float = 1.0) -> np.ndarray:
    """Amplitude to decibels: ``20 * log10(max(S, AMIN) / ref)``.

    As :func:`librosa.amplitude_to_db` with ``amin=1e-30`` and no ``top_db``: the image's
    ``db_min`` does the clipping.

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


#: Ridge weight of :func:`mel_to_linear`, relative to the largest diagonal entry of
#: ``B @ B.T``; the relative mel-domain residual it leaves is 1 to 100 times this. Much
#: smaller (1e-9) makes Newton stall on frames that no non-negative spectrum fits.
_MEL_RIDGE = 1e-7
#: A frame is solved when the dual residual ``‖B x + μ λ − P‖`` is below this fraction of ``‖P‖``.
_MEL_TOL = 1e-7
#: Newton steps at most (real audio needs 4 to 20).
_MEL_MAX_ITER = 60
#: Line search: at most this many Illinois steps, stopping at ``|dφ/dt| <= _MEL_LS_TOL |dφ/dt(0)|``.
_MEL_LS_ITER = 20
_MEL_LS_TOL = 0.1
#: Frames solved together: bounds the working memory to a few arrays of ``n_freqs × _MEL_BLOCK``.
_MEL_BLOCK = 1024


class _Banded:
    """The mel filterbank ``B`` as sparse operators, and the tridiagonal pieces of ``B D Bᵀ``."""

    def __init__(self, B: np.ndarray) -> None:
        import scipy.sparse

        G = B @ B.T
        self.tridiagonal = bool(np.all(np.triu(G, 2) == 0))
        self.B = scipy.sparse.csr_matrix(B)
        self.BT = scipy.sparse.csr_matrix(B.T)
        self.B2 = scipy.sparse.csr_matrix(B * B)  # diag(B D Bᵀ) = (B∘B) @ D
        self.C = scipy.sparse.csr_matrix(B[:-1] * B[1:])  # off-diagonal of B D Bᵀ = (B_m ∘ B_m+1) @ D
        self.g_diag = np.diag(G).copy()
        self.g_off = np.diag(G, 1).copy()
        self.mu = _MEL_RIDGE * float(self.g_diag.max(initial=0.0))
        per_bin = filters_per_bin(B)  # None exactly when B Bᵀ is not tridiagonal
        self.bands: np.ndarray = np.empty((0, 2), np.int64) if per_bin is None else per_bin[0]
        self.weights: np.ndarray = np.empty((0, 2)) if per_bin is None else per_bin[1]


def filters_per_bin(B: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The mel filters over each FFT bin of a filterbank, when at most two adjacent ones overlap.

    Parameters
    ----------
    B : np.ndarray [shape=(n_mels, n_bins)], non-negative, a mel filterbank
        (:func:`mel_basis`)

    Returns
    -------
    (bands, weights) or None
        ``bands`` [shape=(n_bins, 2), int64]: the indices of the (at most two, adjacent)
        filters over each bin in increasing order, −1 for none; ``weights`` [shape=(n_bins,
        2), float64]: their values there (0 for none). None when some bin lies under more
        than two filters or under two that are not neighbours (not librosa's triangles).

    Raises
    ------
    ParameterError
        If ``B`` is not a 2-D array of finite real numbers.

    Examples
    --------
    >>> import numpy as np
    >>> bands, weights = filters_per_bin(np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]]))
    >>> bands.tolist(), weights.tolist()
    ([[0, -1], [0, 1], [1, -1]], [[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    >>> filters_per_bin(np.ones((3, 2))) is None
    True
    """
    B = np.asarray(B)
    if B.ndim != 2 or not np.issubdtype(B.dtype, np.number) or np.iscomplexobj(B) or not np.all(np.isfinite(B)):
        raise ParameterError(f"B of shape {B.shape}, dtype {B.dtype} must be a 2-D filterbank (n_mels, n_bins) of finite"
                             " real numbers, as mel_basis(params) gives")  # fmt: skip
    n_bins = B.shape[1]
    bands = np.full((n_bins, 2), -1, dtype=np.int64)
    weights = np.zeros((n_bins, 2))
    for f in range(n_bins):
        (over,) = np.nonzero(B[:, f])
        if len(over) > 2 or (len(over) == 2 and over[1] != over[0] + 1):
            return None
        bands[f, : len(over)] = over
        weights[f, : len(over)] = B[over, f]
    return bands, weights


@functools.lru_cache(maxsize=16)
def _banded(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool, norm: str | None) -> _Banded:
    return _Banded(_mel_basis(sr, n_fft, n_mels, fmin, fmax, htk, norm))


def _solve_tridiagonal(d: np.ndarray, e: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve the symmetric positive-definite tridiagonal systems of every column, in place of ``r``.

    ``d`` [shape=(n, N)] is the diagonal, ``e`` [shape=(n - 1, N)] the off-diagonal, ``r``
    [shape=(n, N)] the right-hand sides; column ``j`` is one system (Thomas' algorithm, stable
    without pivoting for positive-definite matrices).
    """
    n = d.shape[0]
    c = np.empty_like(e)
    piv = d[0].copy()
    r[0] /= piv
    for i in range(1, n):
        np.divide(e[i - 1], piv, out=c[i - 1])
        piv = d[i] - e[i - 1] * c[i - 1]
        r[i] -= e[i - 1] * r[i - 1]
        r[i] /= piv
    for i in range(n - 2, -1, -1):
        r[i] -= c[i] * r[i + 1]
    return r


def _nnls_min_norm(op: _Banded, P: np.ndarray) -> np.ndarray:
    """Non-negative ``x`` [shape=(n_freqs, N)] with ``B x ≈ P`` [shape=(n_mels, N)], column by column.

    Each column solves ``min ½‖B x − P‖² + ½μ‖x‖²`` s.t. ``x ≥ 0``, whose solution is
    ``x = max(Bᵀλ, 0)`` where ``λ`` minimises the strongly convex, piecewise-quadratic dual
    ``φ(λ) = ½‖max(Bᵀλ, 0)‖² + ½μ‖λ‖² − Pᵀλ``: semi-smooth Newton on ``φ``, whose
    generalised Hessian ``B D Bᵀ + μI`` (``D`` the indicator of ``Bᵀλ > 0``) is tridiagonal
    because each FFT bin lies under at most two adjacent triangular filters, so every step
    costs ``O(n_mels + n_freqs)`` per frame; the step length is the exact minimiser of ``φ``
    along the step (a root of a monotone piecewise-linear function, by the Illinois method).
    Compiled, one frame at a time (:func:`specimg._nnls.solve_frames`).
    """
    from ._nnls import solve_frames  # numba, on first use

    P = np.ascontiguousarray(P, dtype=np.float64)
    x = np.empty((len(op.bands), P.shape[1]))
    solve_frames(P, op.bands, op.weights, op.g_diag, op.g_off, op.mu, _MEL_TOL, _MEL_MAX_ITER, _MEL_LS_ITER,
                 _MEL_LS_TOL, x)  # fmt: skip
    return x


def match_mel(S: np.ndarray, M: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Give a linear magnitude the mel spectrogram ``M`` while keeping its fine structure.

    For use inside a phase-reconstruction loop on a mel image, in place of the fixed
    magnitude of Griffin-Lim: ``S`` is the magnitude of the current STFT estimate, and the
    result is the closest spectrum that has the stored mel bands. With ``s = S**power`` and
    ``p = M**power`` per frame, it returns ``x**(1/power)`` where ``x = s ⊙ Bᵀc`` minimises
    ``Σ_f x_f² / s_f`` subject to ``B x = p`` (so each mel band rescales the bins under it,
    interpolated between band centres), clipped at 0. ``c`` solves the tridiagonal system
    ``(B diag(s) Bᵀ) c = p``, one per frame: about the cost of two sparse products.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative calibrated magnitude
    M : np.ndarray [shape=(..., n_mels, n_frames)], the mel amplitude to impose (as for
        :func:`mel_to_linear`)
    params : SpectrogramParams, the mel filterbank and ``power``

    Returns
    -------
    np.ndarray [shape=S.shape], float64, non-negative calibrated magnitude. Frames where ``S``
    is 0 under every filter get the :func:`mel_to_linear` solution instead.
    """
    op = _banded_for(params)
    n_freqs, n_mels = params.n_fft // 2 + 1, params.n_mels
    S = np.asarray(S, dtype=np.float64)
    M = np.asarray(M, dtype=np.float64)
    n_frames = S.shape[-1]
    Sf = S.reshape(-1, n_freqs, n_frames)
    Mf = M.reshape(-1, n_mels, n_frames)
    out = np.zeros(Sf.shape)
    total = Sf.shape[0] * n_frames
    for start in range(0, total, _MEL_BLOCK):
        c, t = np.divmod(np.arange(start, min(start + _MEL_BLOCK, total)), n_frames)
        s = np.maximum(Sf[c, :, t].T, 0.0) ** params.power  # (n_freqs, K)
        p = np.maximum(Mf[c, :, t].T, 0.0) ** params.power  # (n_mels, K)
        d = op.B2 @ s
        scale = d.max(axis=0)
        empty = scale <= 0
        d += 1e-9 * scale + empty  # keeps the system definite where S vanishes under a filter
        coef = _solve_tridiagonal(d, op.C @ s, p.copy())
        x = np.maximum(s * (op.BT @ coef), 0.0)
        if empty.any():
            x[:, empty] = _nnls_min_norm(op, np.ascontiguousarray(p[:, empty]))
        out[c, :, t] = (x ** (1.0 / params.power)).T
    return out.reshape(S.shape)


def _banded_for(params: SpectrogramParams) -> _Banded:
    return _banded(params.sr, params.n_fft, params.n_mels, params.fmin, params.fmax, params.htk, params.norm)


def mel_to_linear(M: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    r"""Linear STFT magnitude from a mel amplitude, by non-negative least squares.

    Inverts :func:`magnitude` for ``scale="mel"``: finds, frame by frame, a non-negative
    ``X`` such that ``mel_basis(params) @ X**power ≈ M**power``. The mel filterbank
    ``B = mel_basis(params)`` has fewer rows than columns, so many spectra fit exactly;
    among them this returns the one whose power ``X**power`` has the least energy (the
    smoothest: piecewise linear in frequency between the mel centres, clipped at 0), and
    when no non-negative spectrum fits exactly (quantised pixels, floors) the
    least-squares one.

    Parameters
    ----------
    M : np.ndarray [shape=(..., n_mels, n_frames)], real, finite
        Mel amplitude ``(B @ |X|**power) ** (1 / power)`` as made by :func:`magnitude`
        (calibrated, linear units, not dB); any real dtype; negative values are read as 0.
        Leading dimensions (channels, batch) are independent.
    params : SpectrogramParams
        Its mel filterbank (``sr``, ``n_fft``, ``n_mels``, ``fmin``, ``fmax``, ``htk``,
        ``norm``) and ``power``; ``params.scale`` is not consulted.

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], float64, non-negative
        Calibrated linear magnitude ``X`` (same units as :func:`stft_magnitude`). FFT bins
        that no mel filter covers (below ``fmin``, above ``fmax``) are exactly 0, and so
        is every bin of a frame whose mel amplitude is all 0.

    Raises
    ------
    ParameterError
        If ``M`` is not finite or its second-to-last axis is not ``params.n_mels`` long.

    See Also
    --------
    librosa.feature.inverse.mel_to_stft : the same problem, solved by L-BFGS-B (Notes).

    Notes
    -----
    With ``P = M**power`` (one column per frame), each frame solves

    .. math:: \min_{x \ge 0}\ \tfrac12\|Bx - p\|^2 + \tfrac{\mu}{2}\|x\|^2,

    with a ridge ``μ = 1e-7 · max diag(B Bᵀ)``: for a spectrum that fits, the mel residual
    ``‖B x − p‖ / ‖p‖`` left by the ridge is 1e-7 to 1e-5. The solution is
    ``x = max(Bᵀλ, 0)`` where ``λ`` minimises the strongly convex, piecewise-quadratic
    dual ``φ(λ) = ½‖max(Bᵀλ, 0)‖² + ½μ‖λ‖² − pᵀλ``, found by semi-smooth Newton
    [1]_ [2]_ started from the pseudo-inverse solution. Each mel filter is a triangle
    spanning a contiguous range of FFT bins and each bin lies under at most two adjacent
    filters, so the generalised Hessian ``B D Bᵀ + μI`` (``D`` the indicator of
    ``Bᵀλ > 0``) is tridiagonal: a Newton step is one tridiagonal solve and two passes over
    the bins of the frame (compiled), and the step length is the exact minimiser of ``φ``
    along the step. A
    frame stops when ``‖B x + μλ − p‖ ≤ 1e-7 ‖p‖``; a frame needs 4 to 20 steps
    on real audio. Frames are solved 1024 at a time, so the working memory is bounded.

    :func:`librosa.feature.inverse.mel_to_stft` solves the same problem without the ridge
    by L-BFGS-B [3]_ on blocks of frames and stops early. On the reference corpus
    (``n_fft=2048, hop_length=512, n_mels=128``, power 2) it leaves a mel residual of
    2e-3 to 1.1e-1 where this function leaves 1e-7 to 1e-6; its linear estimate is up
    to 6 dB further from the true magnitude (equal within 0.1 dB on noise and on a
    0.14 s clip); and it takes 27 to 96 times as long, 36 times over the whole corpus.
    The same holds for ``n_mels`` 64 and 256, ``n_fft=1024`` and power 1. For 8-bit
    images whose mel bands no non-negative spectrum fits exactly, both reach about the
    same least-squares residual (this one slightly lower).

    References
    ----------
    .. [1] L. Qi, J. Sun, "A nonsmooth version of Newton's method", Mathematical
       Programming 58, 353–367, 1993. doi:10.1007/BF01581275
    .. [2] O. L. Mangasarian, "A Newton method for linear programming", Journal of
       Optimization Theory and Applications 121, 1–18, 2004 (the same dual, for the
       least-norm solution of a linear program).
    .. [3] R. H. Byrd, P. Lu, J. Nocedal, C. Zhu, "A limited memory algorithm for bound
       constrained optimization", SIAM J. Sci. Comput. 16(5), 1190–1208, 1995.
       doi:10.1137/0916069

    Examples
    --------
    >>> import numpy as np
    >>> from specimg.params import SpectrogramParams
    >>> from specimg.spectral import magnitude, mel_basis, mel_to_linear
    >>> p = SpectrogramParams(sr=22050, scale="mel", n_mels=128)
    >>> y = np.random.default_rng(0).standard_normal(22050)
    >>> M = magnitude(y, p)
    >>> X = mel_to_linear(M, p)
    >>> X.shape, X.dtype
    ((1025, 44), dtype('float64'))
    >>> err = np.linalg.norm(mel_basis(p) @ X**2 - M**2) / np.linalg.norm(M**2)
    >>> bool(err < 1e-5)
    True
    """
    if not isinstance(params, SpectrogramParams):
        raise ParameterError(f"params={params!r} must be a SpectrogramParams")
    M = np.asarray(M)
    if M.ndim < 2 or M.shape[-2] != params.n_mels:
        raise ParameterError(f"M has shape {M.shape}; expected (..., n_mels={params.n_mels}, n_frames)")
    if not np.all(np.isfinite(M)):
        raise ParameterError("M must be finite (a mel amplitude, not dB with -inf)")
    n_mels, n_frames = M.shape[-2:]
    n_freqs = params.n_fft // 2 + 1
    lead = M.shape[:-2]
    op = _banded_for(params)
    Mf = M.reshape(int(np.prod(lead)), n_mels, n_frames)
    out = np.zeros((Mf.shape[0], n_freqs, n_frames))
    if op.mu == 0.0:  # every filter is empty: nothing is covered
        return out.reshape(*lead, n_freqs, n_frames)
    # Frames of every channel are solved _MEL_BLOCK at a time (columns gathered across
    # channels), so the working memory does not grow with the length of the input.
    total = Mf.shape[0] * n_frames
    for start in range(0, total, _MEL_BLOCK):
        c, t = np.divmod(np.arange(start, min(start + _MEL_BLOCK, total)), n_frames)
        P = np.maximum(Mf[c, :, t].T.astype(np.float64), 0.0) ** params.power  # (n_mels, K)
        if op.tridiagonal:
            X = _nnls_min_norm(op, np.ascontiguousarray(P))
        else:  # pragma: no cover - librosa's triangular filters always give a tridiagonal B Bᵀ
            X = np.maximum(librosa.util.nnls(mel_basis(params), P), 0.0)
        out[c, :, t] = np.power(X, 1.0 / params.power).T
    return out.reshape(*lead, n_freqs, n_frames)
