"""Compiled inner loops of PGHI and fast Griffin-Lim (numba, compiled on first use).

This module imports numba: the rest of :mod:`specimg.phase` imports it only when a
reconstruction runs, so that ``import specimg`` does not pay for numba.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "accelerated_step",
    "heap_integrate",
    "log_gradient",
    "overlap_reframe",
    "project_magnitude",
    "polar",
    "raar_step",
    "momentum_point",
    "momentum_project",
    "project_target",
]

# Width in nepers of the buckets of the integration queue (0.01 Np = 0.087 dB).
_BUCKET_NP = 0.01


@numba.njit(cache=True, nogil=True)
def heap_integrate(
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
def log_gradient(logs: np.ndarray, small: np.ndarray, axis: int) -> np.ndarray:  # pragma: no cover - compiled
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


@numba.njit(cache=True, nogil=True, fastmath=True)
def project_magnitude(X: np.ndarray, mag: np.ndarray) -> None:  # pragma: no cover
    """X *= mag / |X| in place: keep the phase, impose the magnitude (|X| < 1e-15 → phase 0)."""
    tiny = np.float32(1e-30)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            re = X[i, j].real
            im = X[i, j].imag
            a2 = re * re + im * im
            # Not `a2 > 0`: under fastmath subnormals flush to zero, so a subnormal |X|
            # (mel_to_linear can leave float32 magnitudes near 1e-42) gave 0 * inf = NaN.
            # Branch-free (a select, not a jump), so the loop vectorises.
            big = a2 > tiny
            g = mag[i, j] / np.sqrt(max(a2, tiny))
            X[i, j] = complex(re * g if big else mag[i, j], im * g if big else np.float32(0.0))


@numba.njit(cache=True, nogil=True)
def polar(mag: np.ndarray, phase: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """out = mag * exp(1j * phase)."""
    for i in range(mag.shape[0]):
        for j in range(mag.shape[1]):
            out[i, j] = complex(mag[i, j] * np.cos(phase[i, j]), mag[i, j] * np.sin(phase[i, j]))



@numba.njit(cache=True, nogil=True, fastmath=True)
def overlap_reframe(
    frames: np.ndarray, window: np.ndarray, inv_wss: np.ndarray, hop: int, start: int, stop: int, y: np.ndarray
) -> None:  # pragma: no cover - compiled
    """The time-domain half of STFT(ISTFT(·)) in one pass, in place on ``frames``.

    ``frames`` (n_frames, n_fft) are inverse FFTs; they are windowed and overlap-added into
    ``y`` (the padded signal, zeroed here), normalised by ``inv_wss``, cut to the samples
    ``start:stop`` (the ones :meth:`StftPair.inverse` returns; zero elsewhere, as
    :meth:`StftPair.forward` pads them) and framed and windowed again into ``frames``.

    Values below 1e-30 in magnitude come out as 0. Near digital silence the iterations
    otherwise fill the frames with subnormal floats (about 6000 per iteration of a 5 s
    espeak-ng clip: products of the window's tails and numbers already tiny), which the
    CPU handles in microcode: every FFT and kernel of the loop ran about 1.5x slower
    (fastmath does not flush them).
    """
    n_frames, n_fft = frames.shape
    tiny = np.float32(1e-30)
    zero = np.float32(0.0)
    y[:] = 0.0
    # row slices, not frames[m, j] / y[o + j]: LLVM then vectorises the inner loops (4x)
    for m in range(n_frames):
        fm = frames[m]
        ym = y[m * hop : m * hop + n_fft]
        for j in range(n_fft):
            ym[j] += fm[j] * window[j]
    y[:start] = 0.0
    y[start:stop] *= inv_wss[start:stop]
    y[stop:] = 0.0
    for m in range(n_frames):
        fm = frames[m]
        ym = y[m * hop : m * hop + n_fft]
        for j in range(n_fft):
            v = ym[j] * window[j]
            fm[j] = v if abs(v) >= tiny else zero  # a select: the loop still vectorises


@numba.njit(cache=True, nogil=True, fastmath=True)
def accelerated_step(
    rebuilt: np.ndarray, prev: np.ndarray, lead: np.ndarray, mag: np.ndarray,
    alpha: float, beta: float, gamma: float, out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """One step of accelerated Griffin-Lim after the consistency projection ``rebuilt``.

    t = (1 - gamma) * lead + gamma * rebuilt; out = P_mag(t + alpha * (t - prev));
    lead = t + beta * (t - prev); prev = t. With gamma = 1 this is fast Griffin-Lim with
    momentum ``alpha`` (``lead`` is then unused and may be any array of the shape).
    """
    a = np.float32(alpha)
    b = np.float32(beta)
    g = np.float32(gamma)
    g1 = np.float32(1.0) - g
    tiny = np.float32(1e-30)
    for i in range(rebuilt.shape[0]):
        for j in range(rebuilt.shape[1]):
            t = rebuilt[i, j]
            p = prev[i, j]
            if gamma != 1.0:
                t = g1 * lead[i, j] + g * t
                lead[i, j] = t + b * (t - p)
            c = t + a * (t - p)
            prev[i, j] = t
            # branch-free magnitude projection (as project_target), so the loop vectorises
            a2 = c.real * c.real + c.imag * c.imag
            big = a2 > tiny
            m = mag[i, j] / np.sqrt(max(a2, tiny))
            out[i, j] = complex(c.real * m if big else mag[i, j], c.imag * m if big else np.float32(0.0))


@numba.njit(cache=True, nogil=True, fastmath=True)
def raar_step(rebuilt: np.ndarray, state: np.ndarray, mag: np.ndarray, beta: float, out: np.ndarray) -> None:  # pragma: no cover
    """One step of relaxed averaged alternating reflections (RAAR) on the iterate ``state``.

    On entry ``out`` is the reflection 2 P_M(x) - x of ``state`` = x on the magnitude set and
    ``rebuilt`` = P_C(out) its consistency projection (P_M(x) = (out + x) / 2, no square
    root). Then x <- beta * (x + rebuilt - P_M(x)) + (1 - beta) * P_M(x) in ``state``, and
    ``out`` <- 2 P_M(x) - x for the next step (beta = 1: Douglas-Rachford / the
    difference map with beta = 1).
    """
    b = np.float32(beta)
    b1 = np.float32(1.0) - b
    half = np.float32(0.5)
    tiny = np.float32(1e-30)
    for i in range(state.shape[0]):
        for j in range(state.shape[1]):
            x = state[i, j]
            pm = half * (out[i, j] + x)
            x = b * (x + rebuilt[i, j] - pm) + b1 * pm
            state[i, j] = x
            a2 = x.real * x.real + x.imag * x.imag
            big = a2 > tiny
            m = mag[i, j] / np.sqrt(max(a2, tiny))
            pm = complex(x.real * m if big else mag[i, j], x.imag * m if big else np.float32(0.0))
            out[i, j] = pm + pm - x


@numba.njit(cache=True, nogil=True, fastmath=True)
def momentum_point(rebuilt: np.ndarray, prev: np.ndarray, alpha: float, out: np.ndarray, A: np.ndarray) -> None:  # pragma: no cover
    """Fast Griffin-Lim step up to the magnitude projection, for a step that changes the target.

    out = c = t + alpha * (t - prev), prev = t (t = ``rebuilt``), and ``A`` = |c| / (1 + alpha)
    (float): the magnitude of fast Griffin-Lim's point t − alpha/(1 + alpha) prev, which ``c``
    is (1 + alpha) times, so that the refine hook sees the estimate in the target's units.
    The target is refitted to ``A`` before ``out`` is projected on it.
    """
    a = np.float32(alpha)
    unscale = np.float32(1.0 / (1.0 + alpha))
    for i in range(rebuilt.shape[0]):
        for j in range(rebuilt.shape[1]):
            t = rebuilt[i, j]
            c = t + a * (t - prev[i, j])
            prev[i, j] = t
            out[i, j] = c
            A[i, j] = unscale * np.sqrt(c.real * c.real + c.imag * c.imag)


@numba.njit(cache=True, nogil=True, fastmath=True)
def momentum_project(rebuilt: np.ndarray, prev: np.ndarray, alpha: float, mag: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """Fast Griffin-Lim step: c = t + alpha * (t - prev), prev = t (t = ``rebuilt``); out = P_mag(c).

    :func:`accelerated_step` with gamma = 1, written without branches in the loop so that
    it vectorises (|c| below 1e-15: phase 0, as :func:`project_magnitude`).
    """
    a = np.float32(alpha)
    tiny = np.float32(1e-30)
    for i in range(rebuilt.shape[0]):
        for j in range(rebuilt.shape[1]):
            t = rebuilt[i, j]
            c = t + a * (t - prev[i, j])
            prev[i, j] = t
            a2 = c.real * c.real + c.imag * c.imag
            big = a2 > tiny
            g = mag[i, j] / np.sqrt(max(a2, tiny))
            out[i, j] = complex(c.real * g if big else mag[i, j], c.imag * g if big else np.float32(0.0))


@numba.njit(cache=True, nogil=True, fastmath=True)
def project_target(X: np.ndarray, mag: np.ndarray) -> None:  # pragma: no cover
    """:func:`project_magnitude` without branches in the loop (the same result)."""
    tiny = np.float32(1e-30)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            c = X[i, j]
            a2 = c.real * c.real + c.imag * c.imag
            big = a2 > tiny
            g = mag[i, j] / np.sqrt(max(a2, tiny))
            X[i, j] = complex(c.real * g if big else mag[i, j], c.imag * g if big else np.float32(0.0))
