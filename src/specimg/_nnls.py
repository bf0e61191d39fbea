"""Compiled per-frame solver of :func:`specimg.spectral.mel_to_linear` (numba, compiled on first use).

The algorithm, its tolerances and its references are those of ``mel_to_linear``'s Notes:
semi-smooth Newton on the dual of ``min ½‖Bx − p‖² + ½μ‖x‖², x ≥ 0`` with an exact line
search (Illinois). Each FFT bin lies under at most two adjacent triangular filters, so a
Newton step is a tridiagonal solve plus two passes over the bins, and a frame costs
``O(n_bins)`` per step. Against the sparse products over blocks of 1024 frames it replaced:
the same solutions to 1e-13 (relative), 2–5× faster on the corpus (music_wanderer, 431
frames of 128 bands: 0.174 → 0.037 s; the start of its mel decode was 14 % of the decode's
time).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["solve_frames"]


@numba.njit(cache=True, nogil=True)
def _tridiagonal(d: np.ndarray, e: np.ndarray, r: np.ndarray, cp: np.ndarray) -> None:  # pragma: no cover - compiled
    """Solve the symmetric tridiagonal system (diagonal ``d``, off-diagonal ``e``) in place of ``r``."""
    n = len(d)
    piv = d[0]
    r[0] /= piv
    for m in range(1, n):
        cp[m - 1] = e[m - 1] / piv
        piv = d[m] - e[m - 1] * cp[m - 1]
        r[m] = (r[m] - e[m - 1] * r[m - 1]) / piv
    for m in range(n - 2, -1, -1):
        r[m] -= cp[m] * r[m + 1]


@numba.njit(cache=True, nogil=True)
def _slope(w: np.ndarray, z: np.ndarray, c0: float, c1: float, t: float) -> float:  # pragma: no cover - compiled
    """``dφ/dt`` at ``λ + t s``: ``wᵀmax(z + t w, 0) + c0 + t c1``."""
    g = c0 + t * c1
    for f in range(len(w)):
        v = z[f] + t * w[f]
        if v > 0.0:
            g += w[f] * v
    return g


@numba.njit(cache=True, nogil=True)
def solve_frames(
    P: np.ndarray,
    bands: np.ndarray,
    weights: np.ndarray,
    g_diag: np.ndarray,
    g_off: np.ndarray,
    mu: float,
    tol: float,
    max_iter: int,
    ls_iter: int,
    ls_tol: float,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Per frame ``k``: ``out[:, k] = max(Bᵀλ, 0)`` for the ``λ`` minimising the dual of ``P[:, k]``.

    ``P`` [shape=(n_mels, K)] are the mel powers; ``bands[f]`` the (at most two, adjacent)
    filters over bin ``f`` (−1: none) and ``weights[f]`` their values; ``g_diag``, ``g_off``
    the diagonals of ``B Bᵀ``; ``out`` [shape=(n_bins, K)].
    """
    n_mels, n_frames = P.shape
    n_bins = bands.shape[0]
    lam = np.empty(n_mels)
    step = np.empty(n_mels)
    F = np.empty(n_mels)
    d = np.empty(n_mels)
    e = np.empty(max(n_mels - 1, 1))
    cp = np.empty(max(n_mels - 1, 1))
    z = np.empty(n_bins)
    w = np.empty(n_bins)
    for k in range(n_frames):
        # start: the unconstrained minimum-norm solution, every bin active
        for m in range(n_mels):
            d[m] = g_diag[m] + mu
            lam[m] = P[m, k]
        for m in range(n_mels - 1):
            e[m] = g_off[m]
        _tridiagonal(d, e, lam, cp)
        norm_p = 0.0
        for m in range(n_mels):
            norm_p += P[m, k] * P[m, k]
        threshold = tol * np.sqrt(norm_p)
        for f in range(n_bins):
            m0, m1 = bands[f, 0], bands[f, 1]
            z[f] = (weights[f, 0] * lam[m0] if m0 >= 0 else 0.0) + (weights[f, 1] * lam[m1] if m1 >= 0 else 0.0)
        for it in range(max_iter + 1):
            # residual F = B max(z, 0) + μλ − p
            for m in range(n_mels):
                F[m] = mu * lam[m] - P[m, k]
            for f in range(n_bins):
                if z[f] > 0.0:
                    m0, m1 = bands[f, 0], bands[f, 1]
                    if m0 >= 0:
                        F[m0] += weights[f, 0] * z[f]
                    if m1 >= 0:
                        F[m1] += weights[f, 1] * z[f]
            norm_f = 0.0
            for m in range(n_mels):
                norm_f += F[m] * F[m]
            if it == max_iter or np.sqrt(norm_f) <= threshold:
                break
            # Newton step on the generalised Hessian B D Bᵀ + μI (D: the bins with z > 0)
            for m in range(n_mels):
                d[m] = mu
                step[m] = -F[m]
            for m in range(n_mels - 1):
                e[m] = 0.0
            for f in range(n_bins):
                if z[f] > 0.0:
                    m0, m1 = bands[f, 0], bands[f, 1]
                    if m0 >= 0:
                        d[m0] += weights[f, 0] * weights[f, 0]
                    if m1 >= 0:
                        d[m1] += weights[f, 1] * weights[f, 1]
                        if m0 >= 0:
                            e[m0] += weights[f, 0] * weights[f, 1]
            _tridiagonal(d, e, step, cp)
            for f in range(n_bins):
                m0, m1 = bands[f, 0], bands[f, 1]
                w[f] = (weights[f, 0] * step[m0] if m0 >= 0 else 0.0) + (weights[f, 1] * step[m1] if m1 >= 0 else 0.0)
            # the exact minimiser of φ along the step: a root of the increasing g(t) = dφ/dt
            g0 = 0.0
            c0 = 0.0
            c1 = 0.0
            for m in range(n_mels):
                g0 += F[m] * step[m]
                c0 += (mu * lam[m] - P[m, k]) * step[m]
                c1 += mu * step[m] * step[m]
            t = 1.0
            g1 = _slope(w, z, c0, c1, 1.0)
            if g1 > ls_tol * abs(g0):  # the full step overshoots the minimum
                lo, g_lo, hi, g_hi, side = 0.0, g0, 1.0, g1, 0.0
                done = False
                for _ in range(ls_iter):
                    a, fa, b, fb = lo, g_lo, hi, g_hi
                    tn = a - fa * (b - a) / (fb - fa)
                    gn = _slope(w, z, c0, c1, tn)
                    left = gn <= 0.0
                    # Illinois: halve the value kept at an end that was not replaced twice in a row
                    if left and side < 0.0:
                        fb = 0.5 * fb
                    if not left and side > 0.0:
                        fa = 0.5 * fa
                    if left:
                        lo, g_lo, hi, g_hi, side = tn, gn, b, fb, -1.0
                    else:
                        lo, g_lo, hi, g_hi, side = a, fa, tn, gn, 1.0
                    t = tn
                    if abs(gn) <= ls_tol * abs(g0):
                        done = True
                        break
                if not done:
                    t = lo  # the last point known to lie before the minimum
            for m in range(n_mels):
                lam[m] += t * step[m]
            for f in range(n_bins):
                z[f] += t * w[f]
        for f in range(n_bins):
            out[f, k] = max(z[f], 0.0)
