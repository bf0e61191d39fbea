"""Phase reconstruction from STFT magnitude: PGHI initialisation and fast Griffin-Lim.

The STFT convention is librosa's (:func:`librosa.stft` with ``pad_mode="constant"``):
frame ``m`` covers samples ``m * hop_length - n_fft // 2 ...`` when ``center=True``, and
the phase of bin ``k`` is referred to the start of the frame.

References
----------
.. [1] Z. Průša, P. Balazs, P. L. Søndergaard, "A Noniterative Method for Reconstruction of
   Phase From STFT Magnitude", IEEE/ACM Trans. Audio, Speech, Lang. Process. 25(5),
   1154–1164, 2017. doi:10.1109/TASLP.2017.2678166
.. [2] N. Perraudin, P. Balazs, P. L. Søndergaard, "A fast Griffin-Lim algorithm",
   IEEE WASPAA 2013. doi:10.1109/WASPAA.2013.6701851
.. [3] D. Griffin, J. Lim, "Signal estimation from modified short-time Fourier transform",
   IEEE Trans. ASSP 32(2), 236–243, 1984.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Union

import numba
import numpy as np
import scipy.fft
import scipy.signal

from .errors import ParameterError
from .spectral import analysis_window

__all__ = ["StftPair", "pghi", "griffin_lim", "reconstruct", "QUALITY_PRESETS", "gaussian_tfr"]

Init = Union[Literal["pghi", "random", "zeros"], np.ndarray]
#: ``refine(magnitude, frames) -> magnitude``: see :func:`griffin_lim`.
Refine = Callable[[np.ndarray, slice], np.ndarray]
Window = Union[str, tuple, np.ndarray]
Quality = Literal["fast", "balanced", "high"]

#: Iteration counts of the presets of :func:`reconstruct` (PGHI start, then fast GLA),
#: chosen with ``benchmarks/phase.py`` on the corpus (n_fft=2048, hop=512) as the most
#: iterations that fit, with a ~20 % margin, in 0.3×, 1× and 5× the time of
#: ``librosa.griffinlim(n_iter=32)``; median SC about −25.5, −31 and −34.5 dB.
QUALITY_PRESETS: dict[str, int] = {"fast": 12, "balanced": 96, "high": 500}

# Frames shared by consecutive blocks of a long reconstruction (see _fgla_blocks).
_BLOCK_OVERLAP = 64

# λ / L² of the Gaussian that best matches a Hann window of length L ([1], Table I).
_HANN_TFR = 0.25645


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (int, np.integer))):
        raise ParameterError(f"rng={rng!r} must be an int seed, a numpy Generator, or None")
    return np.random.default_rng(rng)


def _geometry(
    n_bins: int, n_fft: int | None, hop_length: int | None, win_length: int | None, window: Window
) -> tuple[int, int, int, np.ndarray]:
    """Resolve and check an STFT geometry as librosa does; returns (n_fft, hop, win_length, window)."""
    n_fft = 2 * (n_bins - 1) if n_fft is None else n_fft
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length), ("win_length", win_length)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
            raise ParameterError(f"{name}={value!r} must be an integer")
    if n_bins != n_fft // 2 + 1:
        raise ParameterError(f"magnitude has {n_bins} bins, but n_fft={n_fft} makes {n_fft // 2 + 1}")
    win_length = n_fft if win_length is None else win_length
    if not 0 < win_length <= n_fft:
        raise ParameterError(f"win_length={win_length} must be in (0, n_fft={n_fft}]")
    hop_length = max(win_length // 4, 1) if hop_length is None else hop_length
    if not 0 < hop_length <= n_fft:
        raise ParameterError(f"hop_length={hop_length} must be in (0, n_fft={n_fft}]")
    return int(n_fft), int(hop_length), int(win_length), analysis_window(window, win_length, n_fft)


def _check_magnitude(S: np.ndarray) -> None:
    if S.ndim < 2 or S.shape[-2] < 2 or S.shape[-1] < 1:
        raise ParameterError(f"magnitude of shape {S.shape} must be (..., n_bins >= 2, n_frames >= 1)")
    if not np.issubdtype(S.dtype, np.number) or np.iscomplexobj(S):
        raise ParameterError(f"magnitude of dtype {S.dtype} must be real (pass np.abs(X) for an STFT)")
    if not np.all(np.isfinite(S)) or np.any(S < 0):
        raise ParameterError("magnitude must be finite and non-negative")


class StftPair:
    """A lean STFT/ISTFT pair for a fixed geometry, as used inside Griffin-Lim.

    The window, the overlap-add normaliser and the frame layout are computed once; the
    transforms run in ``dtype`` (float32 by default) with :mod:`scipy.fft` using
    ``workers`` threads. Results match :func:`librosa.stft` / :func:`librosa.istft`
    (``pad_mode="constant"``) to floating-point precision.

    Parameters
    ----------
    n_fft : int > 0
    hop_length : int > 0, ``<= n_fft``
    window : np.ndarray [shape=(n_fft,)], the analysis window padded to ``n_fft``
    n_frames : int > 0, number of frames
    length : int >= 0, number of output samples of :meth:`inverse`
    center : bool
    dtype : np.float32 or np.float64
    workers : int or None, threads for :mod:`scipy.fft` (None: all cores)
    """

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int,
        window: np.ndarray,
        n_frames: int,
        length: int,
        center: bool = True,
        dtype: type = np.float32,
        workers: int | None = None,
    ) -> None:
        self.n_fft, self.hop_length, self.n_frames, self.length = n_fft, hop_length, n_frames, length
        self.offset = n_fft // 2 if center else 0
        self.dtype = np.dtype(dtype)
        self.workers = -1 if workers is None else workers
        self.window = np.asarray(window, dtype=self.dtype)
        self.n_padded = (n_frames - 1) * hop_length + n_fft
        wss = self._overlap_add(np.broadcast_to(self.window.astype(np.float64) ** 2, (n_frames, n_fft)))
        # Where few frames overlap (the ends when center=False) the window-square sum is
        # ~0; dividing by it would blow noise up by orders of magnitude. Below 5 % of its
        # peak the least-squares weight is floored instead, which fades those samples (a floor of
        # 1e-3 still amplified the ends' noise 4-5x on white noise; 5 % keeps the peak).
        self._inv_wss = (1.0 / np.maximum(wss, 0.05 * wss.max())).astype(self.dtype)

    def _overlap_add(self, frames: np.ndarray) -> np.ndarray:
        hop, n_fft = self.hop_length, self.n_fft
        if n_fft % hop == 0:
            r = n_fft // hop
            out = np.zeros((self.n_frames + r - 1, hop), dtype=frames.dtype)
            for i in range(r):
                out[i : i + self.n_frames] += frames[:, i * hop : (i + 1) * hop]
            return out.reshape(-1)
        out = np.zeros(self.n_padded, dtype=frames.dtype)
        for m in range(self.n_frames):
            out[m * hop : m * hop + n_fft] += frames[m]
        return out

    def forward(self, y: np.ndarray) -> np.ndarray:
        """STFT of ``y`` [shape=(length,)] → complex [shape=(n_frames, n_fft // 2 + 1)]."""
        padded = np.zeros(self.n_padded, dtype=self.dtype)
        n = min(len(y), self.n_padded - self.offset)
        padded[self.offset : self.offset + n] = y[:n]
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop_length]
        return scipy.fft.rfft(frames * self.window, axis=-1, workers=self.workers)

    def inverse(self, X: np.ndarray) -> np.ndarray:
        """Least-squares ISTFT of complex [shape=(n_frames, n_fft // 2 + 1)] → [shape=(length,)]."""
        frames = scipy.fft.irfft(X, n=self.n_fft, axis=-1, workers=self.workers).astype(self.dtype, copy=False)
        frames *= self.window
        y = self._overlap_add(frames) * self._inv_wss
        out = y[self.offset : self.offset + self.length]
        if len(out) < self.length:
            out = np.pad(out, (0, self.length - len(out)))
        return out


def gaussian_tfr(window: str | tuple | np.ndarray, win_length: int) -> float:
    """Time-frequency ratio λ (in samples²) of the Gaussian ``exp(-π n² / λ)`` equivalent to a window.

    For a Hann window this is ``0.25645 * win_length**2`` ([1], Table I). For a
    ``("gaussian", std)`` window it is exact: ``2 π std²``. For any other window, λ is
    matched on the second moment of the window, scaled so that Hann gives the value above.
    """
    if isinstance(window, str) and window in ("hann", "hanning"):
        return _HANN_TFR * win_length**2
    if isinstance(window, tuple) and len(window) == 2 and window[0] in ("gaussian", "gauss"):
        return 2.0 * np.pi * float(window[1]) ** 2

    def moment(w: np.ndarray) -> float:
        n = np.arange(len(w)) - (len(w) - 1) / 2.0
        w = np.abs(w)
        return float(np.sum(w * n**2) / np.sum(w))

    w = np.asarray(window) if isinstance(window, np.ndarray) else scipy.signal.get_window(window, win_length)
    hann = scipy.signal.get_window("hann", win_length)
    return _HANN_TFR * win_length**2 * moment(w) / moment(hann)


# Width in nepers of the buckets of the integration queue (0.01 Np = 0.087 dB).
_BUCKET_NP = 0.01


@numba.njit(cache=True, nogil=True)
def _heap_integrate(
    mag: np.ndarray,
    dphi_t: np.ndarray,
    dphi_f: np.ndarray,
    small: np.ndarray,
    known: np.ndarray,
    phase0: np.ndarray,
    floor: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """Integrate the phase gradient from the largest coefficients outwards.

    The max-heap of [1] is a bucket queue on log-magnitude (buckets of ``_BUCKET_NP``
    nepers): coefficients are taken in decreasing magnitude up to 0.09 dB, in O(1) per
    push and pop instead of O(log N), and restart points come from a counting sort
    instead of a full sort. Coefficients marked ``known`` keep ``phase0`` and seed the
    integration; ``small`` ones are skipped. ``floor`` (> 0) is the smallest magnitude
    that is not small.
    """
    n_freq, n_frames = mag.shape
    total = n_freq * n_frames
    flat = mag.ravel()
    dt = dphi_t.ravel()
    df = dphi_f.ravel()
    done = small.ravel().copy()
    kn = known.ravel()
    p0 = phase0.ravel()
    phase = np.zeros(total)
    log_floor = np.log(floor)
    n_buckets = int((np.log(max(flat.max(), floor)) - log_floor) / _BUCKET_NP) + 2
    bucket = np.empty(total, dtype=np.int64)
    for i in range(total):
        v = flat[i]
        bucket[i] = int((np.log(v) - log_floor) / _BUCKET_NP) if v > floor else 0
    # queue: one LIFO list per bucket, threaded through `nxt`
    head = np.full(n_buckets, -1, dtype=np.int64)
    nxt = np.empty(total, dtype=np.int64)
    top = -1
    # restart order: counting sort of the coefficients that are not small, loudest first
    counts = np.zeros(n_buckets + 1, dtype=np.int64)
    for i in range(total):
        if not done[i]:
            counts[n_buckets - 1 - bucket[i] + 1] += 1
    for b in range(n_buckets):
        counts[b + 1] += counts[b]
    order = np.empty(counts[n_buckets], dtype=np.int64)
    for i in range(total):
        if not done[i]:
            slot = n_buckets - 1 - bucket[i]
            order[counts[slot]] = i
            counts[slot] += 1
    for i in range(total):
        if kn[i]:
            phase[i] = p0[i]
            if not done[i]:
                b = bucket[i]
                nxt[i] = head[b]
                head[b] = i
                top = max(top, b)
            done[i] = True
    ptr = 0
    n_order = len(order)
    while True:
        while top >= 0 and head[top] == -1:
            top -= 1
        if top < 0:
            while ptr < n_order and done[order[ptr]]:
                ptr += 1
            if ptr == n_order:
                break
            start = order[ptr]
            done[start] = True
            b = bucket[start]
            nxt[start] = head[b]
            head[b] = start
            top = b
        cur = head[top]
        head[top] = nxt[cur]
        k = cur // n_frames
        m = cur - k * n_frames
        for nb in range(4):
            if nb == 0:
                if m + 1 >= n_frames:
                    continue
                nb_idx = cur + 1
                value = phase[cur] + 0.5 * (dt[cur] + dt[nb_idx])
            elif nb == 1:
                if m == 0:
                    continue
                nb_idx = cur - 1
                value = phase[cur] - 0.5 * (dt[cur] + dt[nb_idx])
            elif nb == 2:
                if k + 1 >= n_freq:
                    continue
                nb_idx = cur + n_frames
                value = phase[cur] + 0.5 * (df[cur] + df[nb_idx])
            else:
                if k == 0:
                    continue
                nb_idx = cur - n_frames
                value = phase[cur] - 0.5 * (df[cur] + df[nb_idx])
            if done[nb_idx]:
                continue
            done[nb_idx] = True
            phase[nb_idx] = value
            b = bucket[nb_idx]
            nxt[nb_idx] = head[b]
            head[b] = nb_idx
            top = max(top, b)
    return phase.reshape(n_freq, n_frames)


@numba.njit(cache=True, nogil=True)
def _log_gradient(logs: np.ndarray, small: np.ndarray, axis: int) -> np.ndarray:  # pragma: no cover - compiled
    """Derivative of the log-magnitude along ``axis`` (0 = bins, 1 = frames), per step.

    Central differences, except next to a coefficient below the tolerance: there the
    one-sided difference towards the other neighbour is used. At the edge of a window's
    support the magnitude drops to ~0 and a central difference through it would give a
    wildly steep slope (for Hann the log-magnitude is far from the Gaussian's parabola).
    """
    n0, n1 = logs.shape
    grad = np.zeros((n0, n1))
    for i in range(n0):
        for j in range(n1):
            if axis == 0:
                has_b = i > 0 and not small[i - 1, j]
                has_f = i + 1 < n0 and not small[i + 1, j]
                b = logs[i, j] - logs[i - 1, j] if i > 0 else 0.0
                f = logs[i + 1, j] - logs[i, j] if i + 1 < n0 else 0.0
            else:
                has_b = j > 0 and not small[i, j - 1]
                has_f = j + 1 < n1 and not small[i, j + 1]
                b = logs[i, j] - logs[i, j - 1] if j > 0 else 0.0
                f = logs[i, j + 1] - logs[i, j] if j + 1 < n1 else 0.0
            if has_b and has_f:
                grad[i, j] = 0.5 * (b + f)
            elif has_f:
                grad[i, j] = f
            elif has_b:
                grad[i, j] = b
    return grad


def pghi(
    magnitude: np.ndarray,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Window = "hann",
    tol: float = 1e-5,
    known: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Phase Gradient Heap Integration: a phase estimate from the magnitude alone.

    The phase gradient is computed from the gradient of the log-magnitude with the
    relations that hold exactly for a Gaussian window ``exp(-π n² / λ)`` ([1]_, eq. 24–25);
    for other windows λ is that of the equivalent Gaussian (see :func:`gaussian_tfr`),
    which makes the estimate approximate. The gradient is then integrated from the
    largest coefficient outwards along a max-heap.

    Parameters
    ----------
    magnitude : np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative
        STFT magnitude (any consistent scale).
    n_fft : int > 0 or None
        ``None`` → ``2 * (magnitude.shape[-2] - 1)``.
    hop_length : int > 0 or None
        ``None`` → ``win_length // 4``.
    win_length : int or None
        ``None`` → ``n_fft``.
    window : str, tuple or np.ndarray
        Analysis window, as for :func:`scipy.signal.get_window`.
    tol : float in (0, 1)
        Coefficients below ``tol * max(magnitude)`` are not integrated and get a random
        phase; they carry too little energy for their gradient to be trusted.
    known : np.ndarray [shape=magnitude.shape] or None
        Phases already known (radians, librosa convention), NaN elsewhere. Known
        coefficients keep their phase and the integration starts from them; this is how
        consecutive blocks of a long signal are made to join without a phase jump.
    rng : np.random.Generator, int or None
        Source of the random phase of small coefficients.

    Returns
    -------
    np.ndarray [shape=magnitude.shape], float64, phase in radians, in the convention of
    :func:`librosa.stft` (phase referred to the start of each frame).

    Raises
    ------
    ParameterError
        If the magnitude is not 2-D or more, has negative or non-finite values, or
        ``hop_length`` is out of range.

    References
    ----------
    .. [1] Průša, Balazs, Søndergaard, IEEE/ACM TASLP 25(5), 2017.
    """
    S = np.asarray(magnitude)
    _check_magnitude(S)
    S = S.astype(np.float64, copy=False)
    n_fft, hop_length, win_length, w = _geometry(S.shape[-2], n_fft, hop_length, win_length, window)
    if not 0 < tol < 1:
        raise ParameterError(f"tol={tol} must be between 0 and 1")
    if known is not None and np.shape(known) != S.shape:
        raise ParameterError(f"known phases of shape {np.shape(known)} must match magnitude {S.shape}")
    gen = _rng(rng)
    lam = gaussian_tfr(window if not isinstance(window, np.ndarray) else w[w != 0], win_length)
    a, M = float(hop_length), float(n_fft)
    k = np.arange(S.shape[-2], dtype=np.float64)[:, None]
    out = np.empty(S.shape)
    centre_shift = 2.0 * np.pi * k * (n_fft / 2.0) / M  # frame-start → frame-centre convention
    for idx in np.ndindex(*S.shape[:-2]):
        s = S[idx]
        peak = float(s.max()) if s.size else 0.0
        is_known = np.zeros(s.shape, dtype=bool) if known is None else np.isfinite(known[idx])
        if peak <= 0.0:
            out[idx] = np.where(is_known, known[idx] if known is not None else 0.0, gen.uniform(-np.pi, np.pi, size=s.shape))
            continue
        small = s < tol * peak
        logs = np.log(np.maximum(s, tol * peak))
        ds_dm = _log_gradient(logs, small, 1)
        ds_dk = _log_gradient(logs, small, 0)
        # per-hop and per-bin phase increments (frame-centre convention)
        dphi_t = a * M / lam * ds_dk + 2.0 * np.pi * a * k / M
        dphi_f = -lam / (a * M) * ds_dm
        seed = np.zeros(s.shape) if known is None else np.where(is_known, known[idx] + centre_shift, 0.0)
        phase = _heap_integrate(s, dphi_t, dphi_f, small, is_known, seed, tol * peak)
        random = small & ~is_known
        phase[random] = gen.uniform(-np.pi, np.pi, size=int(random.sum()))
        out[idx] = phase - centre_shift
    return out


def griffin_lim(
    magnitude: np.ndarray,
    *,
    n_iter: int = 32,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window: Window = "hann",
    center: bool = True,
    length: int | None = None,
    momentum: float = 0.99,
    init: Init = "pghi",
    rng: np.random.Generator | int | None = None,
    dtype: type = np.float32,
    workers: int | None = None,
    block_frames: int = 2048,
    refine: Refine | None = None,
    refine_every: int = 2,
    hold: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Fast Griffin-Lim phase retrieval with momentum, from a chosen initial phase.

    Parameters
    ----------
    magnitude : np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative
        Target STFT magnitude in the units of :func:`librosa.stft` (not calibrated).
    n_iter : int >= 0
        Number of iterations; 0 returns the ISTFT of the initial estimate.
    hop_length, win_length, n_fft, window, center :
        STFT geometry, as for :func:`librosa.stft`. ``n_fft=None`` →
        ``2 * (magnitude.shape[-2] - 1)``; ``win_length=None`` → ``n_fft``;
        ``hop_length=None`` → ``win_length // 4``.
    length : int >= 0 or None
        Number of output samples. ``None`` → ``hop_length * (n_frames - 1)`` (centered).
    momentum : float >= 0
        Momentum of the fast Griffin-Lim update [2]_ (0 gives plain Griffin-Lim [3]_).
    init : {"pghi", "random", "zeros"} or np.ndarray of phases
        Initial phase: PGHI [1]_ (default), uniform random, zero, or given (radians,
        same shape as ``magnitude``).
    rng : np.random.Generator, int or None
        Seed or generator for the random parts; results are deterministic for a seed.
    dtype : np.float32 or np.float64
        Working precision.
    workers : int or None
        Threads for :mod:`scipy.fft`.
    block_frames : int >= 256
        Signals longer than this many frames are reconstructed in overlapping blocks, so
        memory stays bounded whatever the length (about 0.5 GB per 2048 frames of 1025
        bins). Each block starts from the phases the previous one converged to in their
        overlap, and the two are cross-faded there, so no seam is audible.
    refine : callable or None
        For a target magnitude that is itself only an estimate (a mel image): every
        ``refine_every`` iterations, ``refine(A, frames)`` receives the magnitude ``A``
        [shape=(n_bins, n_block_frames)] of the current estimate (after the momentum
        step, before the magnitude projection) for the frames
        ``frames`` (a slice of the whole signal) and returns the magnitude to project on
        from then on, same shape and units. ``specimg.decode`` uses it to impose the
        stored mel bands while keeping the fine structure the iterations find.
    refine_every : int > 0
        Iterations between calls of ``refine``.
    hold : (mask, values) or None
        Coefficients known exactly: ``mask`` [bool, shape=magnitude.shape] marks them and
        ``values`` [complex, same shape, units of :func:`librosa.stft`] gives them. They
        are set at the start and after every step, so only the other coefficients are
        reconstructed (``specimg.decode(..., phase_from=...)`` holds the unedited part of
        an image at the original audio's STFT).
    progress : bool
        Show a progress bar (after one second) over the iterations.

    Returns
    -------
    np.ndarray [shape=(..., length)], ``dtype``, the reconstructed signal.

    Raises
    ------
    ParameterError
        If the magnitude or a parameter is invalid.

    See Also
    --------
    librosa.griffinlim : the same iteration from a random start; its ``random_state`` is
        ``rng`` here, and its ``init="random"`` is ``init="random"``.
    """
    S = np.asarray(magnitude)
    _check_magnitude(S)
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ParameterError(f"n_iter={n_iter!r} must be an integer >= 0")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.number)) or not momentum >= 0:
        raise ParameterError(f"momentum={momentum!r} must be a number >= 0")  # also rejects NaN
    n_fft, hop_length, win_length, w = _geometry(S.shape[-2], n_fft, hop_length, win_length, window)
    if hold is not None:
        if len(hold) != 2 or np.shape(hold[0]) != S.shape or np.shape(hold[1]) != S.shape:
            raise ParameterError(f"hold must be (mask, values), both of the magnitude's shape {S.shape}")
    if refine_every < 1:
        raise ParameterError(f"refine_every={refine_every} must be >= 1")
    if block_frames < 4 * _BLOCK_OVERLAP:
        raise ParameterError(f"block_frames={block_frames} must be >= {4 * _BLOCK_OVERLAP}")
    n_frames = S.shape[-1]
    if length is None:
        length = hop_length * (n_frames - 1) if center else (n_frames - 1) * hop_length + n_fft
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ParameterError(f"length={length!r} must be an integer >= 0")
    gen = _rng(rng)

    if not isinstance(init, np.ndarray) and init not in ("pghi", "random", "zeros"):
        raise ParameterError(f"init={init!r} must be 'pghi', 'random', 'zeros' or an array of phases")
    if isinstance(init, np.ndarray) and init.shape != S.shape:
        raise ParameterError(f"init phase of shape {init.shape} must match magnitude {S.shape}")
    bar = None
    if progress:
        from tqdm import tqdm

        n_signals = int(np.prod(S.shape[:-2], dtype=int))
        bar = tqdm(total=(n_iter + 1) * n_signals, desc="phase", unit="it", delay=1.0, leave=False,
                   bar_format="{l_bar}{bar}| {elapsed}<{remaining}")
    alpha = momentum / (1.0 + momentum)
    out: np.ndarray = np.zeros(S.shape[:-2] + (length,), dtype=dtype)
    geometry = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window)
    for idx in np.ndindex(*S.shape[:-2]):
        init_i = init[idx] if isinstance(init, np.ndarray) else init
        if n_frames <= block_frames:
            pair = StftPair(
                n_fft=n_fft, hop_length=hop_length, window=w, n_frames=n_frames, length=length,
                center=center, dtype=dtype, workers=workers,
            )  # fmt: skip
            phase0 = _initial_phase(S[idx], init_i, None, geometry, gen)
            if bar is not None:
                bar.update()
            refine_i = _for_frames(refine, slice(0, n_frames), refine_every)
            hold_i = None if hold is None else (hold[0][idx], hold[1][idx])
            X = _fgla(S[idx], phase0, pair, n_iter, alpha, dtype, bar, refine=refine_i, hold=hold_i)
            out[idx] = pair.inverse(X)
        else:
            out[idx] = _fgla_blocks(
                S[idx], init_i, geometry, w, center, length, n_iter, alpha, dtype, workers, gen, bar,
                block_frames=block_frames, overlap=_BLOCK_OVERLAP, refine=refine, refine_every=refine_every,
                hold=None if hold is None else (hold[0][idx], hold[1][idx]),
            )  # fmt: skip
    if bar is not None:
        bar.close()
    return out


def _initial_phase(
    S: np.ndarray, init: str | np.ndarray, known: np.ndarray | None, geometry: dict, gen: np.random.Generator
) -> np.ndarray:
    if isinstance(init, np.ndarray):
        return init
    if init == "pghi":
        return pghi(S, known=known, rng=gen, **geometry)
    phase = gen.uniform(-np.pi, np.pi, size=S.shape) if init == "random" else np.zeros(S.shape)
    if known is not None:
        phase = np.where(np.isfinite(known), known, phase)
    return phase


@numba.njit(cache=True, nogil=True)
def _momentum_step(rebuilt: np.ndarray, prev: np.ndarray, alpha: float, out: np.ndarray) -> None:  # pragma: no cover
    """out = rebuilt - alpha * prev; prev = rebuilt (one pass, no temporaries)."""
    for i in range(rebuilt.shape[0]):
        for j in range(rebuilt.shape[1]):
            r = rebuilt[i, j]
            out[i, j] = r - alpha * prev[i, j]
            prev[i, j] = r


@numba.njit(cache=True, nogil=True, fastmath=True)
def _project_magnitude(X: np.ndarray, mag: np.ndarray) -> None:  # pragma: no cover
    """X *= mag / |X| in place: keep the phase, impose the magnitude (|X| < 1e-15 → phase 0)."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            re = X[i, j].real
            im = X[i, j].imag
            a2 = re * re + im * im
            # Not `a2 > 0`: under fastmath subnormals flush to zero, so a subnormal |X|
            # (mel_to_linear can leave float32 magnitudes near 1e-42) gave 0 * inf = NaN.
            if a2 > 1e-30:
                g = mag[i, j] / np.sqrt(a2)
                X[i, j] = complex(re * g, im * g)
            else:
                X[i, j] = mag[i, j]


@numba.njit(cache=True, nogil=True)
def _polar(mag: np.ndarray, phase: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """out = mag * exp(1j * phase)."""
    for i in range(mag.shape[0]):
        for j in range(mag.shape[1]):
            out[i, j] = complex(mag[i, j] * np.cos(phase[i, j]), mag[i, j] * np.sin(phase[i, j]))


def _for_frames(refine: Refine | None, frames: slice, every: int) -> Callable[[int, np.ndarray], np.ndarray | None] | None:
    """Bind ``refine`` to a block: returns f(iteration, |X| as (n_frames, n_bins)) → new (n_bins, n_frames) or None."""
    if refine is None:
        return None

    def step(k: int, A: np.ndarray) -> np.ndarray | None:
        return refine(A.T, frames) if k % every == 0 else None

    return step


def _fgla(
    S: np.ndarray,
    phase0: np.ndarray,
    pair: StftPair,
    n_iter: int,
    alpha: float,
    dtype: type,
    bar: object,
    fixed: np.ndarray | None = None,
    refine: Callable[[int, np.ndarray], np.ndarray | None] | None = None,
    hold: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Fast Griffin-Lim on one (n_bins, n_frames) magnitude; returns the final STFT (n_frames, n_bins).

    ``fixed`` (n_fixed, n_bins), if given, holds the first frames constant throughout;
    ``refine`` (see :func:`_for_frames`) may replace the target magnitude between steps;
    ``hold`` (mask, values) in (n_bins, n_frames) holds single coefficients.
    """
    mag: np.ndarray = np.ascontiguousarray(S.T, dtype=dtype)
    cdtype = np.result_type(dtype, np.complex64)
    X = np.empty(mag.shape, dtype=cdtype)
    _polar(mag, np.ascontiguousarray(phase0.T), X)
    n_fixed = 0 if fixed is None else len(fixed)
    if n_fixed:
        X[:n_fixed] = fixed
    hold_mask = hold_values = None
    if hold is not None and np.any(hold[0]):
        hold_mask = np.ascontiguousarray(hold[0].T)
        hold_values = np.ascontiguousarray(hold[1].T).astype(cdtype, copy=False)
        np.copyto(X, hold_values, where=hold_mask)
    prev = np.zeros_like(X)
    for k in range(n_iter):
        rebuilt = pair.forward(pair.inverse(X)).astype(cdtype, copy=False)
        _momentum_step(rebuilt, prev, cdtype.type(alpha).real, X)
        if refine is not None:
            new_mag = refine(k, np.abs(X))
            if new_mag is not None:
                mag = np.ascontiguousarray(new_mag.T, dtype=dtype)
        _project_magnitude(X, mag)
        if hold_mask is not None:
            np.copyto(X, hold_values, where=hold_mask)  # type: ignore[arg-type]
        if n_fixed:
            X[:n_fixed] = fixed
        if bar is not None:
            bar.update()  # type: ignore[attr-defined]
    return X


def _fgla_blocks(
    S: np.ndarray,
    init: str | np.ndarray,
    geometry: dict,
    window: np.ndarray,
    center: bool,
    length: int,
    n_iter: int,
    alpha: float,
    dtype: type,
    workers: int | None,
    gen: np.random.Generator,
    bar: object,
    *,
    block_frames: int,
    overlap: int,
    refine: Refine | None,
    refine_every: int,
    hold: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Reconstruct a long signal block by block in bounded memory.

    Blocks of ``block_frames`` frames overlap by ``overlap`` frames. In each block the
    first 3/4 of the overlap is held at the STFT the previous block converged to (PGHI
    integrates on from those phases, and Griffin-Lim keeps them), so both blocks
    synthesise the same samples from the same frames in the second quarter of the overlap,
    where the outputs are cross-faded; each block's edge frames fall outside it.
    """
    n_fft, hop = geometry["n_fft"], geometry["hop_length"]
    n_frames = S.shape[-1]
    out: np.ndarray = np.zeros(length, dtype=dtype)
    step = block_frames - overlap
    starts = list(range(0, max(n_frames - overlap, 1), step))
    prev_X: np.ndarray | None = None
    prev_start = 0
    tail = n_fft // 2 if center else n_fft
    for start in starts:
        stop = min(start + block_frames, n_frames)
        Sb = S[:, start:stop]
        local_len = (stop - start - 1) * hop + tail
        pair = StftPair(
            n_fft=n_fft, hop_length=hop, window=window, n_frames=stop - start, length=local_len,
            center=center, dtype=dtype, workers=workers,
        )  # fmt: skip
        known = fixed = None
        if prev_X is not None:
            n_fixed = 3 * overlap // 4
            fixed = prev_X[start - prev_start : start - prev_start + n_fixed]
            known = np.full(Sb.shape, np.nan)
            known[:, :n_fixed] = np.angle(fixed).T
        init_b = init[:, start:stop] if isinstance(init, np.ndarray) else init
        phase0 = _initial_phase(Sb, init_b, known, geometry, gen)
        refine_b = _for_frames(refine, slice(start, stop), refine_every)
        hold_b = None if hold is None else (hold[0][:, start:stop], hold[1][:, start:stop])
        X = _fgla(Sb, phase0, pair, n_iter, alpha, dtype, None, fixed, refine_b, hold_b)
        y = pair.inverse(X)
        g0 = start * hop
        g1 = min(g0 + local_len, length)
        y = y[: g1 - g0]
        if prev_X is None:
            out[g0:g1] = y
        else:
            f0, f1 = (start + overlap // 4) * hop, (start + overlap // 2) * hop
            fade = (0.5 - 0.5 * np.cos(np.pi * (np.arange(f1 - f0) + 0.5) / (f1 - f0))).astype(dtype)
            out[f0:f1] = (1 - fade) * out[f0:f1] + fade * y[f0 - g0 : f1 - g0]
            out[f1:g1] = y[f1 - g0 :]
        prev_X, prev_start = X, start
        if bar is not None:
            bar.update(n_iter * (stop - start) / n_frames)  # type: ignore[attr-defined]
    return out


def reconstruct(
    magnitude: np.ndarray,
    *,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    **kwargs: object,
) -> np.ndarray:
    """Audio from STFT magnitude: PGHI initial phase, then fast Griffin-Lim.

    Parameters
    ----------
    magnitude : np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative
    quality : {"fast", "balanced", "high"}
        Preset number of fast Griffin-Lim iterations after PGHI
        (:data:`QUALITY_PRESETS`).
    n_iter : int or None
        Overrides the preset's number of iterations.
    **kwargs
        Passed to :func:`griffin_lim` (geometry, ``momentum``, ``rng``, ``length``, ...).

    Returns
    -------
    np.ndarray [shape=(..., length)], float32

    Raises
    ------
    ParameterError
        If ``quality`` is not one of the presets, or an argument is invalid.
    """
    if quality not in QUALITY_PRESETS:
        raise ParameterError(f"quality={quality!r} must be one of {sorted(QUALITY_PRESETS)}")
    iters = QUALITY_PRESETS[quality] if n_iter is None else n_iter
    kwargs.setdefault("init", "pghi")
    return griffin_lim(magnitude, n_iter=iters, **kwargs)  # type: ignore[arg-type]
