#!/usr/bin/env python
"""Probes of issue 22, round 5: priors, fits, starts and a loop for the mel decode of speech.

Run from the repository::

    nice -n 5 python benchmarks/speech_mel_probes.py [--only NAME ...] [--probe NAME ...] [--save FILE.json]

Clips: those of ``benchmarks/speech.py`` whose name contains one of ``--only`` (default
``espeak_sample espeak_m3 espeak_f3 flite_awb human``, as ``speech_oracles.py``). Every
decode is the mel decode of the clip's 128-band picture as ``specimg.decode`` runs it
(:func:`specimg.phase.reconstruct`, balanced, 168 iterations, the mel fit every other one,
``rng=0``), changed only where a probe says; PESQ-WB and SC dB against the clip. "True":
the clip's own linear magnitude (calibrated), which the decoder never has. Probes
(``--probe``):

* ``priors``: a prior on the magnitude the fit receives. ``lobe``: replaced by the
  non-negative sum of Hann main lobes nearest to it (:func:`lobe_prior`; a sinusoid's
  STFT magnitude is its window's lobe), from today's start and from the true magnitude;
  ``time``: smoothed over frames (1-2-1).
* ``kl``: the KL projection on the bands (:func:`kl_fit`, multiplicative: no bin is
  clipped to 0) instead of today's weighted least squares.
* ``starts``: which part of the true start pays: the true magnitude with PGHI's phase of
  today's start and the reverse; true below 1 kHz only; the true envelope (log-magnitude
  smoothed over frequency, σ 4 bins); today's envelope with the true fine structure.
* ``admm``: the joint loop as ADMM (Douglas–Rachford: consistency projection of ``Y − U``,
  the fit of ``|X + U|``, ``U`` the running difference), fit every iteration or every other
  one, over-relaxed (1.5), or after 84 of today's iterations.

The write-up is round 5 of ``benchmarks/SPEECH.md``.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json
from speech import HOP, N_FFT, SR, load
from speech_oracles import mel_picture, probe_args, replaced_joint_loop, score, stft, with_magnitude

PROBES = ("priors", "kl", "starts", "admm")


def lobe_prior(n_bins: int) -> Any:
    """``prior(A, frames)``: ``A`` [n_bins, n] replaced by the non-negative sum of Hann main
    lobes (|W|, ±2 bins, one every half bin) nearest to it in the KL sense: one
    Richardson–Lucy step per call from the block's previous weights."""
    import scipy.signal
    import scipy.sparse

    fine = 16
    W = np.abs(np.fft.rfft(scipy.signal.get_window("hann", N_FFT), N_FFT * fine))
    W /= W[0]
    rows, cols, vals = [], [], []
    for j in range(2 * n_bins - 1):  # lobe j is centred on bin j / 2
        for f in range(max(int(np.ceil(j / 2 - 1.5)), 0), min(int(j / 2 + 1.5), n_bins - 1) + 1):
            rows.append(f)
            cols.append(j)
            vals.append(W[round(abs(f - j / 2) * fine)])
    K = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n_bins, 2 * n_bins - 1))
    KT, norm = K.T.tocsr(), np.asarray(K.sum(axis=0)).reshape(-1, 1)
    weights: dict[int | None, np.ndarray] = {}

    def prior(A: np.ndarray, frames: slice) -> np.ndarray:
        a = weights.get(frames.start, KT @ A / norm + 1e-12)
        a = weights[frames.start] = a * (KT @ (A / (K @ a + 1e-12))) / norm
        return (K @ a).astype(np.float32)

    return prior


def kl_fit(A: np.ndarray, P: np.ndarray, B: np.ndarray, n_newton: int = 10) -> np.ndarray:
    """The KL projection of the power ``A²`` [n, n_bins] on the bands ``P`` [n, n_mels] of ``B``
    (rows scaled to peak 1, ``P`` alike): ``x = A² ⊙ exp(Bᵀc)`` with ``B x = P``, by damped
    Newton steps on ``c`` (tridiagonal, every frame at once). Returns ``√x``, float32."""
    s = np.maximum(A.astype(np.float64), 0.0) ** 2
    s += 1e-12 * s.mean(axis=1, keepdims=True) + 1e-300
    c = np.clip(np.log(np.maximum(P, 1e-300) / np.maximum(s @ B.T, 1e-300)), -30, 30)

    def at(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = s * np.exp(np.minimum(c @ B, 80.0))
        g = x @ B.T - P
        return x, g, np.abs(g).sum(axis=1)

    x, g, r = at(c)
    for _ in range(n_newton):
        d, e = x @ (B * B).T + 1e-300, x @ (B[:-1] * B[1:]).T
        step = np.empty_like(g)  # (B diag(x) Bᵀ)⁻¹ g, Thomas' algorithm over the bands
        piv, cp = d[:, 0], np.empty_like(e)
        step[:, 0] = g[:, 0] / piv
        for m in range(1, g.shape[1]):
            cp[:, m - 1] = e[:, m - 1] / piv
            piv = d[:, m] - e[:, m - 1] * cp[:, m - 1]
            step[:, m] = (g[:, m] - e[:, m - 1] * step[:, m - 1]) / piv
        for m in range(g.shape[1] - 2, -1, -1):
            step[:, m] -= cp[:, m] * step[:, m + 1]
        t = np.ones((len(c), 1))
        for _halving in range(6):  # halve the step of frames whose residual grows
            trial = at(c - t * np.clip(step, -5, 5))
            worse = trial[2] > r
            if not worse.any():
                break
            t[worse] *= 0.5
        keep = worse[:, None]
        c = np.where(keep, c, c - t * np.clip(step, -5, 5))
        x, g, r = np.where(keep, x, trial[0]), np.where(keep, g, trial[1]), np.where(worse, r, trial[2])
    return np.sqrt(x).astype(np.float32)


@contextlib.contextmanager
def admm_loop(every: int = 1, relax: float = 1.0, after: int = 0) -> Any:
    """Replace the joint loop of ``specimg.phase`` (``_gla._refined``) by ADMM for a probe:
    ``X = P_C(Y − U)``, ``Z = ρX + (1 − ρ)Y + U``, the fit of ``|Z|`` every ``every``
    iterations, ``Y`` = that magnitude with the phase of ``Z``, ``U = Z − Y``; the first
    ``after`` iterations are today's."""
    import specimg.phase._gla as gla

    today = gla._refined

    def loop(X: np.ndarray, mag: np.ndarray, pair: Any, n_iter: int, momentum: float, dtype: Any, bar: Any,
             refine: Any, constrain: Any) -> np.ndarray:  # fmt: skip
        if after:
            X = today(X, mag, pair, after, momentum, dtype, bar, refine, constrain)
            mag = np.abs(X).astype(dtype)
        Y, U = X.copy(), np.zeros_like(X)
        for k in range(n_iter - after):
            Z = relax * pair.project(Y - U) + (1 - relax) * Y + U
            if k % every == 0:
                mag = np.ascontiguousarray(refine(np.abs(Z).astype(dtype)), dtype=dtype)
            Y = with_magnitude(Z, mag)
            U = Z - Y
        return Y

    with replaced_joint_loop(loop):
        yield


def probe(name: str, y: np.ndarray, X: np.ndarray) -> dict[str, Any]:
    from scipy.ndimage import convolve1d, gaussian_filter1d

    from specimg.phase import mel_refiner, pghi, reconstruct
    from specimg.spectral import mel_basis

    p, M, start, true_mag = mel_picture(y, X)

    def joint(begin: np.ndarray, before: Any = None, fit: Any = None, init: Any = "pghi") -> dict[str, float]:
        """The mel decode from ``begin``: ``before`` changes what the fit receives, ``fit`` replaces it after the first call."""
        begin = np.ascontiguousarray(begin, dtype=np.float32)
        today, seen = mel_refiner(M, p, begin), set()

        def refine(A: np.ndarray, frames: slice) -> np.ndarray:
            if fit is not None and frames.start in seen:
                return fit(A, frames)
            seen.add(frames.start)
            return today(A if before is None else before(A, frames), frames)

        return score(y, reconstruct(begin, p, quality="balanced", n_iter=168, refine=refine, rng=0, init=init))

    if name == "priors":
        return {
            "today": joint(start),
            "true start": joint(true_mag),
            "lobe prior": joint(start, lobe_prior(len(start))),
            "lobe prior, true start": joint(true_mag, lobe_prior(len(start))),
            "smoothed over time (1-2-1)": joint(start, lambda A, _: convolve1d(A, [0.25, 0.5, 0.25], axis=1, mode="nearest")),
        }
    if name == "kl":
        B = mel_basis(p).astype(np.float64)
        peak = B.max(axis=1)
        B /= peak[:, None]
        P = (np.maximum(M.astype(np.float64), 0.0) ** 2).T / peak
        return {"KL projection": joint(start, fit=lambda A, frames: kl_fit(A.T, P[frames], B).T)}
    if name == "starts":
        def phase(S: np.ndarray) -> np.ndarray:
            return pghi(S, n_fft=N_FFT, hop_length=HOP, rng=0)

        def envelope(S: np.ndarray) -> np.ndarray:
            return np.exp(gaussian_filter1d(np.log(np.maximum(S, 1e-9 * S.max())), 4, axis=0))

        low = (np.arange(len(start)) * SR / N_FFT < 1000)[:, None]
        return {
            "today's magnitude, PGHI of the true one": joint(start, init=phase(true_mag)),
            "true magnitude, PGHI of today's": joint(true_mag, init=phase(start)),
            "true below 1 kHz": joint(np.where(low, true_mag, start)),
            "true envelope": joint(envelope(true_mag)),
            "today's envelope, true fine structure": joint(envelope(start) * true_mag / envelope(true_mag)),
        }
    out = {}
    for label, kw in (("ADMM, fit every iteration", {}), ("ADMM, fit every other", {"every": 2}),
                      ("ADMM over-relaxed 1.5", {"relax": 1.5}), ("84 of today's, then ADMM", {"after": 84})):  # fmt: skip
        with admm_loop(**kw):
            out[label] = joint(start)
    return out


def main(argv: list[str] | None = None) -> int:
    parsed = probe_args(argv, __doc__ or "", PROBES)
    if parsed is None:
        return 2
    args, clips = parsed
    report: dict[str, Any] = {}
    for clip in clips:
        y = load(clip)
        X = stft(y)
        report[clip.name] = {}
        for name in args.probe:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report[clip.name][name] = probe(name, y, X)
            print(f"{clip.name} {name}: " + ", ".join(
                f"{k} {v['pesq']:.2f}" for k, v in report[clip.name][name].items()), flush=True)
    if args.save:
        write_json(args.save, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
