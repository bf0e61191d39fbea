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

from typing import Literal, Union

import numba
import numpy as np
import scipy.fft
import scipy.signal

from .errors import ParameterError

__all__ = ["StftPair", "pghi", "griffin_lim", "reconstruct", "QUALITY_PRESETS", "gaussian_tfr"]

Init = Union[Literal["pghi", "random", "zeros"], np.ndarray]
Quality = Literal["fast", "balanced", "high"]

#: Iteration counts of the presets of :func:`reconstruct` (PGHI start, then fast GLA).
QUALITY_PRESETS: dict[str, int] = {"fast": 0, "balanced": 32, "high": 100}

# λ / L² of the Gaussian that best matches a Hann window of length L ([1], Table I).
_HANN_TFR = 0.25645


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


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
        tiny = np.finfo(self.dtype).tiny
        self._inv_wss = np.where(wss > tiny, 1.0 / np.maximum(wss, tiny), 1.0).astype(self.dtype)

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


@numba.njit(cache=True, nogil=True)
def _heap_integrate(mag: np.ndarray, dphi_t: np.ndarray, dphi_f: np.ndarray, small: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    n_freq, n_frames = mag.shape
    total = n_freq * n_frames
    flat = mag.ravel()
    dt = dphi_t.ravel()
    df = dphi_f.ravel()
    done = small.ravel().copy()
    phase = np.zeros(total)
    order = np.argsort(-flat)
    heap_key = np.empty(total)
    heap_idx = np.empty(total, dtype=np.int64)
    size = 0
    ptr = 0
    while True:
        while ptr < total and done[order[ptr]]:
            ptr += 1
        if ptr == total:
            break
        start = order[ptr]
        done[start] = True
        # push start
        heap_key[0] = flat[start]
        heap_idx[0] = start
        size = 1
        while size > 0:
            cur = heap_idx[0]
            # pop max
            size -= 1
            if size > 0:
                key = heap_key[size]
                idx = heap_idx[size]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and heap_key[c + 1] > heap_key[c]:
                        c += 1
                    if heap_key[c] <= key:
                        break
                    heap_key[i] = heap_key[c]
                    heap_idx[i] = heap_idx[c]
                    i = c
                heap_key[i] = key
                heap_idx[i] = idx
            k = cur // n_frames
            m = cur - k * n_frames
            for nb in range(4):
                if nb == 0:
                    if m + 1 >= n_frames:
                        continue
                    nxt = cur + 1
                    value = phase[cur] + 0.5 * (dt[cur] + dt[nxt])
                elif nb == 1:
                    if m == 0:
                        continue
                    nxt = cur - 1
                    value = phase[cur] - 0.5 * (dt[cur] + dt[nxt])
                elif nb == 2:
                    if k + 1 >= n_freq:
                        continue
                    nxt = cur + n_frames
                    value = phase[cur] + 0.5 * (df[cur] + df[nxt])
                else:
                    if k == 0:
                        continue
                    nxt = cur - n_frames
                    value = phase[cur] - 0.5 * (df[cur] + df[nxt])
                if done[nxt]:
                    continue
                done[nxt] = True
                phase[nxt] = value
                # push nxt
                key = flat[nxt]
                i = size
                size += 1
                while i > 0:
                    parent = (i - 1) // 2
                    if heap_key[parent] >= key:
                        break
                    heap_key[i] = heap_key[parent]
                    heap_idx[i] = heap_idx[parent]
                    i = parent
                heap_key[i] = key
                heap_idx[i] = nxt
    return phase.reshape(n_freq, n_frames)


def _log_gradient(logs: np.ndarray, small: np.ndarray, axis: int) -> np.ndarray:
    """Derivative of the log-magnitude along ``axis``, in units per sample of that axis.

    Central differences, except next to a coefficient below the tolerance: there the
    one-sided difference towards the other neighbour is used. At the edge of a window's
    support the magnitude drops to ~0 and a central difference through it would give a
    wildly steep slope (for Hann the log-magnitude is far from the Gaussian's parabola).
    """
    n = logs.shape[axis]
    if n < 2:
        return np.zeros_like(logs)
    lg = np.moveaxis(logs, axis, 0)
    sm = np.moveaxis(small, axis, 0)
    fwd = np.zeros_like(lg)
    fwd[:-1] = lg[1:] - lg[:-1]
    ok_fwd = np.zeros(lg.shape, dtype=bool)
    ok_fwd[:-1] = ~sm[1:]
    bwd = np.zeros_like(lg)
    bwd[1:] = lg[1:] - lg[:-1]
    ok_bwd = np.zeros(lg.shape, dtype=bool)
    ok_bwd[1:] = ~sm[:-1]
    both = ok_fwd & ok_bwd
    grad = np.where(both, 0.5 * (fwd + bwd), np.where(ok_fwd, fwd, np.where(ok_bwd, bwd, 0.0)))
    return np.moveaxis(grad, 0, axis)


def pghi(
    magnitude: np.ndarray,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str | tuple | np.ndarray = "hann",
    tol: float = 1e-5,
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
    S = np.asarray(magnitude, dtype=np.float64)
    if S.ndim < 2 or S.shape[-2] < 2:
        raise ParameterError(f"magnitude of shape {S.shape} must be (..., n_bins >= 2, n_frames)")
    if not np.all(np.isfinite(S)) or np.any(S < 0):
        raise ParameterError("magnitude must be finite and non-negative")
    n_fft = 2 * (S.shape[-2] - 1) if n_fft is None else n_fft
    win_length = n_fft if win_length is None else win_length
    hop_length = win_length // 4 if hop_length is None else hop_length
    if not 0 < hop_length <= n_fft:
        raise ParameterError(f"hop_length={hop_length} must be in (0, n_fft={n_fft}]")
    if not 0 < tol < 1:
        raise ParameterError(f"tol={tol} must be between 0 and 1")
    gen = _rng(rng)
    lam = gaussian_tfr(window, win_length)
    a, M = float(hop_length), float(n_fft)
    k = np.arange(S.shape[-2], dtype=np.float64)[:, None]
    out = np.empty(S.shape)
    for idx in np.ndindex(*S.shape[:-2]):
        s = S[idx]
        peak = float(s.max()) if s.size else 0.0
        if peak <= 0.0:
            out[idx] = gen.uniform(-np.pi, np.pi, size=s.shape)
            continue
        small = s < tol * peak
        logs = np.log(np.maximum(s, tol * peak))
        ds_dm = _log_gradient(logs, small, axis=-1)
        ds_dk = _log_gradient(logs, small, axis=-2)
        # per-hop and per-bin phase increments (frame-centre convention)
        dphi_t = a * M / lam * ds_dk + 2.0 * np.pi * a * k / M
        dphi_f = -lam / (a * M) * ds_dm
        phase = _heap_integrate(s, dphi_t, dphi_f, small)
        phase[small] = gen.uniform(-np.pi, np.pi, size=int(small.sum()))
        # from the frame-centre to librosa's frame-start convention
        out[idx] = phase - 2.0 * np.pi * k * (n_fft / 2.0) / M
    return out


def griffin_lim(
    magnitude: np.ndarray,
    *,
    n_iter: int = 32,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window: str | tuple = "hann",
    center: bool = True,
    length: int | None = None,
    momentum: float = 0.99,
    init: Init = "pghi",
    rng: np.random.Generator | int | None = None,
    dtype: type = np.float32,
    workers: int | None = None,
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
    progress : bool
        Show a progress bar (after one second) over the iterations.

    Returns
    -------
    np.ndarray [shape=(..., length)], ``dtype``, the reconstructed signal.

    Raises
    ------
    ParameterError
        If the magnitude or a parameter is invalid.
    """
    S = np.asarray(magnitude)
    if S.ndim < 2:
        raise ParameterError(f"magnitude of shape {S.shape} must be (..., n_bins, n_frames)")
    if not np.all(np.isfinite(S)) or np.any(S < 0):
        raise ParameterError("magnitude must be finite and non-negative")
    if n_iter < 0:
        raise ParameterError(f"n_iter={n_iter} must be >= 0")
    if not momentum >= 0:  # also rejects NaN
        raise ParameterError(f"momentum={momentum} must be >= 0")
    n_fft = 2 * (S.shape[-2] - 1) if n_fft is None else n_fft
    if S.shape[-2] != n_fft // 2 + 1:
        raise ParameterError(f"magnitude has {S.shape[-2]} bins, but n_fft={n_fft} makes {n_fft // 2 + 1}")
    win_length = n_fft if win_length is None else win_length
    hop_length = win_length // 4 if hop_length is None else hop_length
    if not 0 < hop_length <= n_fft:
        raise ParameterError(f"hop_length={hop_length} must be in (0, n_fft={n_fft}]")
    n_frames = S.shape[-1]
    if length is None:
        length = hop_length * (n_frames - 1) if center else (n_frames - 1) * hop_length + n_fft
    gen = _rng(rng)
    w = scipy.signal.get_window(window, win_length, fftbins=True)
    lpad = (n_fft - win_length) // 2
    w = np.pad(w, (lpad, n_fft - win_length - lpad))
    pair = StftPair(
        n_fft=n_fft, hop_length=hop_length, window=w, n_frames=n_frames, length=length,
        center=center, dtype=dtype, workers=workers,
    )
    cdtype = np.result_type(dtype, np.complex64)

    if not isinstance(init, np.ndarray) and init not in ("pghi", "random", "zeros"):
        raise ParameterError(f"init={init!r} must be 'pghi', 'random', 'zeros' or an array of phases")
    if isinstance(init, np.ndarray) and init.shape != S.shape:
        raise ParameterError(f"init phase of shape {init.shape} must match magnitude {S.shape}")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        n_signals = int(np.prod(S.shape[:-2], dtype=int))
        bar = tqdm(total=(n_iter + 1) * n_signals, desc="phase", unit="it", delay=1.0, leave=False)
    if isinstance(init, np.ndarray):
        phase0 = init
    elif init == "pghi":
        phase0 = pghi(S, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window, rng=gen)
    elif init == "random":
        phase0 = gen.uniform(-np.pi, np.pi, size=S.shape)
    else:
        phase0 = np.zeros(S.shape)

    if bar is not None:
        bar.update(int(np.prod(S.shape[:-2], dtype=int)))  # the initial phase counts as one step
    out: np.ndarray = np.empty(S.shape[:-2] + (length,), dtype=dtype)
    alpha = momentum / (1.0 + momentum)
    for idx in np.ndindex(*S.shape[:-2]):
        mag: np.ndarray = np.ascontiguousarray(S[idx].T, dtype=dtype)  # (n_frames, n_bins)
        X = (mag * np.exp(1j * phase0[idx].T)).astype(cdtype)
        prev = np.zeros_like(X)
        for _ in range(n_iter):
            rebuilt = pair.forward(pair.inverse(X))
            X = rebuilt - alpha * prev if momentum else rebuilt
            prev = rebuilt
            X *= mag / (np.abs(X) + 1e-16)
            if bar is not None:
                bar.update()
        out[idx] = pair.inverse(X)
    if bar is not None:
        bar.close()
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
