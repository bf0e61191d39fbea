"""Compiled per-frame mel fit of :mod:`specimg.phase._mel` (numba, compiled on first use)."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fit_frames"]


@numba.njit(cache=True, nogil=True)
def fit_frames(
    A: np.ndarray,
    P: np.ndarray,
    bands: np.ndarray,
    weights: np.ndarray,
    n_mels: int,
    power: float,
    out: np.ndarray,
    flat: bool = False,
) -> None:  # pragma: no cover - compiled
    """Per frame ``t``: ``out[t] = (s ⊙ Bᵀc)**(1/power)`` clipped at 0, ``s = A[t]**power``,
    ``(B diag(s) Bᵀ) c = P[t]`` (tridiagonal; Thomas' algorithm).

    ``bands[f]``/``weights[f]``: the at most two adjacent filters over bin ``f`` (−1: none)
    and their values. A frame with ``s`` 0 under every filter, or every frame if ``flat``
    (``A`` then unread), is fitted from ``s = 1``.
    """
    n_frames, n_bins = A.shape
    s = np.empty(n_bins)
    d = np.empty(n_mels)
    e = np.empty(max(n_mels - 1, 1))
    c = np.empty(n_mels)
    cp = np.empty(max(n_mels - 1, 1))
    inv = 1.0 / power
    for t in range(n_frames):
        for attempt in range(2):
            for f in range(n_bins):
                a = max(float(A[t, f]), 0.0) if attempt == 0 and not flat else 1.0
                s[f] = a * a if power == 2.0 else a**power
            d[:] = 0.0
            e[:] = 0.0
            for f in range(n_bins):
                m0 = bands[f, 0]
                if m0 < 0:
                    continue
                w0 = weights[f, 0]
                d[m0] += w0 * w0 * s[f]
                m1 = bands[f, 1]
                if m1 >= 0:
                    w1 = weights[f, 1]
                    d[m1] += w1 * w1 * s[f]
                    e[m0] += w0 * w1 * s[f]
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
        for f in range(n_bins):
            m0 = bands[f, 0]
            g = 0.0
            if m0 >= 0:
                g = weights[f, 0] * c[m0]
                m1 = bands[f, 1]
                if m1 >= 0:
                    g += weights[f, 1] * c[m1]
            x = s[f] * g
            if x <= 0.0:
                out[t, f] = 0.0
            else:
                out[t, f] = np.sqrt(x) if power == 2.0 else x**inv
