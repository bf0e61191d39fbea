"""Compiled per-frame mel fit of :mod:`specimg.phase._mel` (numba, compiled on first use)."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fit_frames"]


@numba.njit(cache=True, nogil=True, fastmath=True)
def fit_frames(
    A: np.ndarray,
    P: np.ndarray,
    edges: np.ndarray,
    over: np.ndarray,
    weights: np.ndarray,
    n_mels: int,
    power: float,
    out: np.ndarray,
    flat: bool = False,
) -> None:  # pragma: no cover - compiled
    """Per frame ``t``: ``out[t] = (s ⊙ Bᵀc)**(1/power)`` clipped at 0, ``s = A[t]**power``,
    ``(B diag(s) Bᵀ) c = P[t]`` (tridiagonal; Thomas' algorithm).

    The bins form runs ``edges[k]:edges[k + 1]`` that lie under the same (at most two,
    adjacent) filters ``over[k]`` (−1: none); ``weights[f]`` holds bin ``f``'s values of
    those filters (0 for none). A frame with ``s`` 0 under every filter, or every frame if
    ``flat`` (``A`` then unread), is fitted from ``s = 1``.
    """
    n_frames, n_bins = A.shape
    n_runs = len(over)
    s = np.empty(n_bins)
    d = np.empty(n_mels)
    e = np.empty(max(n_mels - 1, 1))
    c = np.empty(n_mels)
    cp = np.empty(max(n_mels - 1, 1))
    inv = 1.0 / power
    square = power == 2.0
    for t in range(n_frames):
        for attempt in range(2):
            if attempt == 0 and not flat and square:
                for f in range(n_bins):
                    a = max(float(A[t, f]), 0.0)
                    s[f] = a * a
            elif attempt == 0 and not flat:
                for f in range(n_bins):
                    s[f] = max(float(A[t, f]), 0.0) ** power
            else:
                s[:] = 1.0
            d[:] = 0.0
            e[:] = 0.0
            for k in range(n_runs):
                m0 = over[k, 0]
                if m0 < 0:
                    continue
                m1 = over[k, 1]
                d0 = 0.0
                d1 = 0.0
                e0 = 0.0
                for f in range(edges[k], edges[k + 1]):
                    w0 = weights[f, 0]
                    w1 = weights[f, 1]
                    d0 += w0 * w0 * s[f]
                    d1 += w1 * w1 * s[f]
                    e0 += w0 * w1 * s[f]
                d[m0] += d0
                if m1 >= 0:
                    d[m1] += d1
                    e[m0] += e0
            scale = 0.0
            for m in range(n_mels):
                scale = max(scale, d[m])
            if scale > 0.0:
                break
        # keeps the system definite where s vanishes under a filter (as match_mel)
        for m in range(n_mels):
            d[m] += 1e-9 * scale
            c[m] = max(P[t, m], 0.0)
        piv = d[0]
        c[0] /= piv
        for m in range(1, n_mels):
            cp[m - 1] = e[m - 1] / piv
            piv = d[m] - e[m - 1] * cp[m - 1]
            c[m] = (c[m] - e[m - 1] * c[m - 1]) / piv
        for m in range(n_mels - 2, -1, -1):
            c[m] -= cp[m] * c[m + 1]
        for k in range(n_runs):
            m0 = over[k, 0]
            m1 = over[k, 1]
            c0 = c[m0] if m0 >= 0 else 0.0
            c1 = c[m1] if m1 >= 0 else 0.0
            if square:
                for f in range(edges[k], edges[k + 1]):
                    out[t, f] = np.sqrt(np.float32(max(s[f] * (weights[f, 0] * c0 + weights[f, 1] * c1), 0.0)))
            else:
                for f in range(edges[k], edges[k + 1]):
                    out[t, f] = max(s[f] * (weights[f, 0] * c0 + weights[f, 1] * c1), 0.0) ** inv
