"""Instantaneous frequency (IF) planes: the STFT phase as a smooth, bounded image, and back.

GANSynth [1]_ trains on the magnitude and the instantaneous frequency of the STFT: the
unwrapped phase's finite difference along time, divided by π so that it lies in [-1, 1]
(their ``IF``), on linear bins or on mel bins (``IF-Mel``). This module stores the
*deviation* form, which is small and smooth where the phase is regular:

* per linear bin ``k`` and frame ``m``, the phase advance over one hop minus that of the
  bin's centre frequency, wrapped: ``d = wrap(φ[k, m] - φ[k, m-1] - 2π k hop / n_fft)``,
  i.e. the bin's instantaneous frequency ``f_k = k + d · n_fft / (2π hop)`` (in bins; the
  phase-vocoder estimate);
* per row of the picture (a linear bin, or a mel band ``b`` with centre ``c_b`` and
  half-width ``h_b``, in bins): the power-weighted mean ``F_b`` of the ``f_k`` of the bins
  under the band (weights ``mel_basis[b, k] · |X[k]|²``), stored as
  ``v = (F_b - c_b) / (h_b + n_fft / (2 hop))``, clipped to [-1, 1]. For linear rows this
  is GANSynth's ``IF`` of the deviation, ``d / π``.

The way back (:func:`if_to_phase`) gives every linear bin the frequency of the loudest
band over it (bins near a partial lock to its frequency, as in a phase vocoder with
phase locking) and integrates along time: ``θ_k(m) = θ_k(m-1) + 2π hop F / n_fft``,
``φ[k, m] = θ_k(m) - π k`` (the phase of a partial seen from the start of a frame whose
window is centred at ``n_fft / 2``). It is an initial phase for
:func:`specimg.phase.reconstruct` (``init=``), which a few Griffin-Lim iterations polish.

References
----------
.. [1] J. Engel, K. K. Agrawal, S. Chen, I. Gulrajani, C. Donahue, A. Roberts, "GANSynth:
   Adversarial Neural Audio Synthesis", ICLR 2019. arXiv:1902.08710
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:
    from ..params import SpectrogramParams

__all__ = ["if_scale", "phase_to_if", "if_to_phase"]


def _bands(params: SpectrogramParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights [n_rows, n_fft//2+1], centres [n_rows] in bins, half-widths [n_rows] in bins)."""
    n_lin = params.n_fft // 2 + 1
    if params.scale != "mel":
        return np.eye(n_lin), np.arange(n_lin, dtype=np.float64), np.zeros(n_lin)
    import librosa

    from ..spectral import mel_basis

    edges = librosa.mel_frequencies(n_mels=params.n_mels + 2, fmin=params.fmin, fmax=params.fmax, htk=params.htk)
    edges = edges * params.n_fft / params.sr
    centres = edges[1:-1]
    half = np.maximum(centres - edges[:-2], edges[2:] - centres)
    return mel_basis(params), centres, half


def if_scale(params: SpectrogramParams) -> np.ndarray:
    """The frequency, in FFT bins, that an IF value of 1 means for each row of a picture.

    ``h + n_fft / (2 hop)``: a row's half-width ``h`` (0 for linear bins; for a mel band the
    larger distance from its centre to an edge) plus the widest deviation one hop can tell
    (±π of phase advance).

    Parameters
    ----------
    params : SpectrogramParams

    Returns
    -------
    np.ndarray [shape=(params.n_bins,)], float64, bins

    Examples
    --------
    >>> from specimg import SpectrogramParams
    >>> if_scale(SpectrogramParams(sr=8000, n_fft=512))[:2]
    array([2., 2.])
    """
    _, _, half = _bands(params)
    return half + params.n_fft / (2.0 * params.hop_length)


def _check(params: object, X: np.ndarray, what: str) -> None:
    from ..params import SpectrogramParams

    if not isinstance(params, SpectrogramParams):
        raise ParameterError(f"params={params!r:.200} must be a SpectrogramParams")
    if X.ndim != 2 or X.shape[0] != params.n_fft // 2 + 1:
        raise ParameterError(
            f"{what} of shape {X.shape} must be (n_fft // 2 + 1, n_frames) = ({params.n_fft // 2 + 1}, n_frames)"
        )


def phase_to_if(X: np.ndarray, params: SpectrogramParams, *, previous: np.ndarray | None = None) -> np.ndarray:
    """The IF plane of a complex STFT, one value in [-1, 1] per pixel of the picture.

    Parameters
    ----------
    X : np.ndarray [shape=(n_fft // 2 + 1, n_frames)], complex
        STFT with the geometry of ``params`` (:func:`specimg.spectral.stft`; any scale).
    params : SpectrogramParams
        Linear or mel; ``n_fft``, ``hop_length``, the mel bands.
    previous : np.ndarray [shape=(n_fft // 2 + 1,)], complex, or None
        The STFT frame before ``X[:, 0]``; None → the first column's deviation is 0.

    Returns
    -------
    np.ndarray [shape=(params.n_bins, n_frames)], float32 in [-1, 1]
        See the module notes: ``(F_b - c_b) / if_scale(params)[b]``.

    Raises
    ------
    ParameterError
        If ``X`` does not have ``n_fft // 2 + 1`` rows, or ``previous`` the wrong shape.

    References
    ----------
    .. [1] J. Engel et al., "GANSynth: Adversarial Neural Audio Synthesis", ICLR 2019.

    Examples
    --------
    >>> from specimg import SpectrogramParams
    >>> from specimg.spectral import stft
    >>> p = SpectrogramParams(sr=8000, n_fft=512)
    >>> X = stft(np.cos(2 * np.pi * 1000.5 * np.arange(8000) / 8000), p)  # bin 64.032
    >>> v = phase_to_if(X, p)
    >>> round(float(v[64, 10]) * 2, 3)  # deviation in bins, if_scale = 2 bins
    0.032
    """
    X = np.asarray(X)
    _check(params, X, "X")
    n_lin = X.shape[0]
    if previous is not None:
        previous = np.asarray(previous)
        if previous.shape != (n_lin,):
            raise ParameterError(f"previous frame of shape {previous.shape} must be ({n_lin},)")
    out = np.empty((params.n_bins, X.shape[1]), dtype=np.float32)
    bands = _bands(params)
    for a in range(0, X.shape[1], _CHUNK_FRAMES):  # in chunks of frames: a few MB of work at a time
        b = min(a + _CHUNK_FRAMES, X.shape[1])
        before = previous if a == 0 else X[:, a - 1]
        out[:, a:b] = _if_chunk(X[:, a:b], params, before, bands)
    return out


#: Frames that :func:`phase_to_if` works on at once (about 8 MB per float64 array at n_fft 2048).
_CHUNK_FRAMES = 512


def _if_chunk(
    X: np.ndarray, params: SpectrogramParams, previous: np.ndarray | None,
    bands: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:  # fmt: skip
    n_lin = X.shape[0]
    if previous is not None:
        prev = np.concatenate([previous[:, None], X[:, :-1]], axis=1)
    else:
        prev = np.concatenate([X[:, :1], X[:, :-1]], axis=1)
    k = np.arange(n_lin, dtype=np.float64)[:, None]
    hop, n_fft = params.hop_length, params.n_fft
    advance = np.angle(X * np.conj(prev)) - 2.0 * np.pi * k * hop / n_fft
    d = np.angle(np.exp(1j * advance))  # wrapped to (-π, π]
    if previous is None:
        d[:, 0] = 0.0
    f = k + d * n_fft / (2.0 * np.pi * hop)  # instantaneous frequency of each bin, in bins
    W, centres, half = bands
    scale = half + n_fft / (2.0 * hop)
    if params.scale != "mel":
        v = (f - centres[:, None]) / scale[:, None]
    else:
        P = np.abs(X).astype(np.float64) ** 2
        den = W @ P
        num = W @ (P * f)
        tiny = 1e-30
        F = np.where(den > tiny, num / np.maximum(den, tiny), centres[:, None])
        v = (F - centres[:, None]) / scale[:, None]
    return np.clip(v, -1.0, 1.0).astype(np.float32)


def _owners(W: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """[n_lin, n_max] the rows over each linear bin (padded with the first); a bin under no row
    gets the row with the nearest centre."""
    n_lin = W.shape[1]
    lists = []
    for k in range(n_lin):
        rows = np.flatnonzero(W[:, k] > 0)
        lists.append(rows if rows.size else np.array([int(np.argmin(np.abs(centres - k)))]))
    width = max(len(r) for r in lists)
    out = np.empty((n_lin, width), dtype=np.intp)
    for k, rows in enumerate(lists):
        out[k, : len(rows)] = rows
        out[k, len(rows) :] = rows[0]
    return out


def if_to_phase(
    IF: np.ndarray, S: np.ndarray, params: SpectrogramParams, *, tol: float = 1e-5,
    rng: np.random.Generator | int | None = 0,
) -> np.ndarray:  # fmt: skip
    """An STFT phase from an IF plane and the linear magnitude: PGHI with the stored time gradient.

    Every linear bin takes the frequency of the loudest row (mel band) over it, weighted by
    the filterbank; that gives the phase advance along time, ``2π hop F / n_fft`` per frame.
    The advance along frequency comes from the magnitude as in :func:`pghi`, and both are
    integrated from the loudest coefficient outwards (PGHI's heap integration [1]_), so that
    the bins of one partial stay coherent. Use the result as ``init=`` of
    :func:`specimg.phase.reconstruct` or :func:`specimg.decode` and polish it with a few
    iterations.

    Parameters
    ----------
    IF : np.ndarray [shape=(params.n_bins, n_frames)], float, in [-1, 1]
        As :func:`phase_to_if` gives it (values outside are clipped).
    S : np.ndarray [shape=(n_fft // 2 + 1, n_frames)], non-negative
        The linear STFT magnitude, or an estimate of it (for a mel picture
        :func:`specimg.spectral.mel_to_linear`); any units.
    params : SpectrogramParams
    tol : float in (0, 1)
        Coefficients below ``tol * max(S)`` get a random phase (as :func:`pghi`).
    rng : np.random.Generator, int or None
        Source of those random phases.

    Returns
    -------
    np.ndarray [shape=(n_fft // 2 + 1, n_frames)], float64, radians (librosa's convention)

    Raises
    ------
    ParameterError
        If ``IF`` or ``S`` does not have the shape of ``params``' pictures and STFT, ``IF``
        holds NaN, or ``S`` is negative or not finite.

    References
    ----------
    .. [1] Z. Průša, P. Balazs, P. L. Søndergaard, IEEE/ACM TASLP 25(5), 1154–1164, 2017.

    Examples
    --------
    >>> from specimg import SpectrogramParams
    >>> from specimg.spectral import stft
    >>> p = SpectrogramParams(sr=8000, n_fft=512)
    >>> X = stft(np.cos(2 * np.pi * 1000.5 * np.arange(8000) / 8000), p)
    >>> phi = if_to_phase(phase_to_if(X, p), np.abs(X), p)
    >>> err = np.angle(np.exp(1j * (np.diff(phi[64]) - np.diff(np.angle(X[64])))))
    >>> bool(np.abs(err[4:-4]).max() < 1e-3)  # away from the zero padding at both ends
    True
    """
    from ..params import SpectrogramParams
    from ._checks import as_generator, check_magnitude
    from ._pghi import gaussian_tfr

    if not isinstance(params, SpectrogramParams):
        raise ParameterError(f"params={params!r:.200} must be a SpectrogramParams")
    IF = np.asarray(IF, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    _check(params, S, "magnitude S")
    check_magnitude(S)
    if IF.shape != (params.n_bins, S.shape[1]):
        raise ParameterError(
            f"IF plane of shape {IF.shape} must be (n_bins, n_frames) = ({params.n_bins}, {S.shape[1]})"
        )
    if not np.all(np.isfinite(IF)):
        raise ParameterError("the IF plane holds NaN or infinite values")
    if not 0 < tol < 1:
        raise ParameterError(f"tol={tol!r} must be between 0 and 1")
    gen = as_generator(rng)
    W, centres, half = _bands(params)
    hop, n_fft = params.hop_length, params.n_fft
    F = centres[:, None] + np.clip(IF, -1.0, 1.0) * (half + n_fft / (2.0 * hop))[:, None]  # rows, in bins
    owners = _owners(W, centres)  # [n_lin, n_max]
    lin = np.arange(owners.shape[0])
    rows = W @ S
    score = W[owners, lin[:, None]][:, :, None] * rows[owners]  # [n_lin, n_max, T]
    pick = np.take_along_axis(owners[:, :, None], np.argmax(score, axis=1)[:, None, :], axis=1)[:, 0]
    Fk = np.take_along_axis(F, pick, axis=0)  # [n_lin, T], each bin's frequency in bins
    peak = float(S.max()) if S.size else 0.0
    if peak <= 0.0:
        return gen.uniform(-np.pi, np.pi, size=S.shape)
    from ._kernels import heap_integrate, log_gradient  # numba, on first use

    lam = gaussian_tfr(params.window, params.win_length)
    small = S < tol * peak
    logs = np.log(np.maximum(S, tol * peak))
    advance = 2.0 * np.pi * hop * Fk / n_fft  # column m: the advance from frame m - 1 to m
    # the heap steps from m to m + 1 by the mean of dphi_t at m and m + 1: centre the
    # backward differences so that the step is centred on advance[m + 1]
    dphi_t = advance.copy()
    dphi_t[:, :-1] = 0.5 * (advance[:, :-1] + advance[:, 1:])
    dphi_f = -lam / (hop * n_fft) * log_gradient(logs, small, 1)
    known = np.zeros(S.shape, dtype=bool)
    phase = heap_integrate(S, dphi_t, dphi_f, small, known, np.zeros(S.shape), tol * peak)
    phase[small] = gen.uniform(-np.pi, np.pi, size=int(small.sum()))
    return np.angle(np.exp(1j * (phase - np.pi * lin[:, None])))
