#!/usr/bin/env python
"""Oracle probes of issue 22, rounds 3–4: what the weak synthetic voices lack after the balanced decode.

Run from the repository::

    nice -n 5 python benchmarks/speech_oracles.py [--only NAME ...] [--probe NAME ...] [--save FILE.json]

Clips: those of ``benchmarks/speech.py`` whose name contains one of ``--only`` (default
``espeak_sample espeak_m3 espeak_f3 flite_awb human``; about 3 minutes on 2 cores).
Every decode is :func:`specimg.phase.reconstruct` on librosa's magnitude of the clip (n_fft 2048, hop 512; balanced preset, ``rng=0``), as in
round 1's oracle table, unless a probe says otherwise; "+30" means 30 more balanced-scheme
iterations from the phase the probe built. Figures: PESQ-WB and SC dB against the clip.
Probes (``--probe``):

* ``drift``: at the spectral peaks of voiced frames, the frame-to-frame change of the
  phase error (true − estimated), PGHI's start and after the balanced decode. Small after
  balanced means the error is a constant offset along each peak's track.
* ``bands``: the true phase in one band and the balanced decode's elsewhere, +0 and +30.
  Which harmonics' alignment PESQ hears.
* ``ideal``: the balanced decode with each harmonic's error removed by one constant per
  voiced segment (the circular mean of the true-minus-decoded phase over the harmonic's
  bins, below ``fmax``; f0 and voicing from ``librosa.pyin`` of the clip: oracle side
  information), +30. What a correct per-track offset would be worth.
* ``pulse``: the same per-harmonic, per-segment constants, but chosen without the truth to
  fit the pulse model φ_h(n) = h·θ(n) + ψ_h (ψ zero, or the minimum phase of the
  cepstrally smoothed envelope; θ and the constants fitted alternately), applied to the
  balanced decode and, as a check of the model, to the true phase; +30.
* ``shape``: the true phase's shape φ_h − h·φ_1 (harmonics 1–8, circular mean and its
  length R over each of the four longest segments); the harmonics below 500 Hz / 1 kHz
  turned into a pulse of constant phase ψ0 (φ_h = h·θ + ψ0, θ = φ_1 − ψ0; ψ0 0 or π/2), on
  the true phase and on the decode; the same on the decode without the truth (f0 by pyin
  on the decoded audio) with each segment's pulses moved by h·δ, δ one of 16, to where the
  STFT is most consistent; and probe ``ideal``'s oracle constants with each segment's
  pulses moved at random (h·δ, δ uniform in ±1 or ±π). +30 each.
* ``peaky``: 20 fast Griffin-Lim iterations from PGHI whose time signal is made peakier
  at each step (y·(|y|/rms)^α, broadband or per third-octave band envelope above 300 Hz,
  α decreasing to 0), then the balanced decode; and the waveforms' kurtosis.
* ``mel``: the mel decode (128 bands, ``specimg.phase`` as ``specimg.decode`` runs it,
  168 iterations) from today's start, from the clip's true magnitude, from its true
  magnitude and phase, and from a harmonic comb (pyin f0) fitted to the mel bands; and
  today's mel decode aligned as in probe ``shape`` (ψ0 0, f0 of the decode), then 30
  iterations with the mel fit.
* ``melfit`` (round 4): where the mel decode's fit loses. 168 iterations (fast Griffin-Lim,
  the fit every other one, as ``specimg.decode``) with the clip's true linear magnitude
  held instead of fitted, everywhere or below / above a cut-off (true start); today's start
  with the true magnitude, or a magnitude of its own, held below 1 kHz; the last fitted
  target held for the balanced scheme after 112 joint iterations; 224–336 iterations; and
  two variants of the joint loop itself (:func:`joint_loop`).
* ``schedule`` (round 4): the linear decode's 104 iterations as fast Griffin-Lim alone
  (round 1's best PESQ on the weak clips) and as hybrids of it with the balanced scheme.

The write-up is rounds 3–4 of ``benchmarks/SPEECH.md``; round 5's probes of the mel decode are
``benchmarks/speech_mel_probes.py``, which uses this script's command line (:func:`probe_args`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _perceptual
from _common import DEFAULT_CORPUS, write_json
from speech import HOP, N_FFT, SR, cache_dir, gather, load

PROBES = ("drift", "bands", "ideal", "pulse", "shape", "peaky", "mel", "melfit", "schedule")
BANDS = ((0, 500), (0, 1000), (0, 2000), (0, 4000), (1000, SR // 2), (2000, SR // 2), (4000, SR // 2))


def stft(y: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.stft(np.asarray(y, dtype=np.float32), n_fft=N_FFT, hop_length=HOP, pad_mode="constant")


def decode(S: np.ndarray, n: int, *, init: Any = "pghi", n_iter: int | None = None, **kwargs: Any) -> np.ndarray:
    from specimg.phase import reconstruct

    return reconstruct(S, quality="balanced", n_fft=N_FFT, hop_length=HOP, length=n, rng=0, init=init, n_iter=n_iter,
                       **kwargs)


def score(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float]:
    from specimg.metrics import magnitude_convergence

    sc = magnitude_convergence(np.abs(stft(y_hat[: len(y)])), np.abs(stft(y)))
    return {"pesq": _perceptual.pesq_wb(y, y_hat[: len(y)], SR), "sc": sc}


def voicing(y: np.ndarray, n_frames: int) -> tuple[np.ndarray, list[list[int]]]:
    """pyin's f0 per STFT frame (0 where unvoiced) and the voiced segments (f0 steps < 10 %)."""
    import librosa

    f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=500, sr=SR, frame_length=N_FFT, hop_length=HOP, center=True)
    f0 = np.where(voiced, np.nan_to_num(f0), 0.0)[:n_frames]
    segments: list[list[int]] = []
    current: list[int] = []
    for n in range(len(f0)):
        if f0[n] > 0 and current and abs(f0[n] / f0[current[-1]] - 1) > 0.1:
            segments.append(current)
            current = []
        if f0[n] > 0:
            current.append(n)
        elif current:
            segments.append(current)
            current = []
    segments += [current] if current else []
    return f0, [s for s in segments if len(s) >= 3]


@dataclass(frozen=True)
class Base:
    """What every probe starts from, computed once per clip: the balanced decode ``y_hat``,
    its STFT ``Xh`` and pyin's f0 and voiced segments of the clip (:func:`voicing`)."""

    y_hat: np.ndarray
    Xh: np.ndarray
    f0: np.ndarray
    segments: list[list[int]]


def oracle_offsets(X: np.ndarray, Xh: np.ndarray, f0: np.ndarray, shift: float = 0.0, rng: Any = None) -> Any:
    """Offsets (for :func:`rotate`) that turn each harmonic of ``Xh`` to the true ``X`` on average
    over its segment; with ``rng``, each segment's pulses then moved by h·δ, δ uniform in ±``shift``."""

    def offsets(seg: list[int], H: int) -> np.ndarray:
        err = np.zeros(H, dtype=complex)
        for n in seg:
            for h, bins in enumerate(harmonic_bins(f0[n], H)):
                err[h] += np.sum(X[bins, n] * np.conj(Xh[bins, n]))
        moved = np.arange(1, H + 1) * rng.uniform(-shift, shift) if rng is not None else 0.0
        return np.angle(err) + moved

    return offsets


def harmonic_bins(f0: float, n_harmonics: int) -> list[slice]:
    """The bins of harmonics 1..n_harmonics: from halfway below to halfway above each."""
    edges = np.ceil((np.arange(n_harmonics + 1) + 0.5) * f0 * N_FFT / SR).astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def min_phase(S: np.ndarray, lifter: int = 30) -> np.ndarray:
    """Minimum phase of the cepstrally smoothed log magnitude, per frame."""
    cep = np.fft.irfft(np.log(np.maximum(S, 1e-9 * S.max())), axis=0)
    fold = np.zeros(cep.shape[0])
    fold[0], fold[1:lifter] = 1.0, 2.0
    return np.fft.rfft(cep * fold[:, None], axis=0).imag


def rotate(X: np.ndarray, f0: np.ndarray, segments: list[list[int]], fmax: float, offsets: Any) -> np.ndarray:
    """``X`` with each harmonic below ``fmax`` turned by ``offsets(segment, H)[h]`` over its segment."""
    out = X.copy()
    for seg in segments:
        H = int(fmax / np.median(f0[seg]))
        if H < 1:
            continue
        c = offsets(seg, H)
        for n in seg:
            for h, bins in enumerate(harmonic_bins(f0[n], H)):
                out[bins, n] *= np.exp(1j * c[h])
    return out


def harmonic_peaks(X: np.ndarray, S: np.ndarray, f0: np.ndarray, seg: list[int], H: int) -> tuple[np.ndarray, ...]:
    """Per frame of ``seg`` and harmonic 1..H: its peak bin (within ±2 bins of h·f0), the
    phase there at the frame centre, and the magnitude."""
    centre = np.where(np.arange(X.shape[0]) % 2 == 0, 1.0, -1.0)  # librosa's phase is at the frame start
    bins = np.zeros((len(seg), H), dtype=int)
    for i, n in enumerate(seg):
        for j, k in enumerate(np.round(np.arange(1, H + 1) * f0[n] * N_FFT / SR).astype(int)):
            lo = max(k - 2, 0)
            bins[i, j] = lo + int(np.argmax(S[lo : k + 3, n]))
    frames = np.asarray(seg)[:, None]
    return bins, np.angle(X[bins, frames] * centre[bins]), S[bins, frames]


def pulse_offsets(X: np.ndarray, S: np.ndarray, f0: np.ndarray, psi: np.ndarray, n_alt: int = 10) -> Any:
    """Offsets that fit the pulse model φ_h(n) + c_h ≈ h·θ(n) + ψ_h(n) at each harmonic's peak."""
    grid = np.linspace(0, 2 * np.pi, 256, endpoint=False)

    def offsets(seg: list[int], H: int) -> np.ndarray:
        hs = np.arange(1, H + 1)
        bins, phi, amp = harmonic_peaks(X, S, f0, seg, H)
        ps = psi[bins, np.asarray(seg)[:, None]]
        c = np.zeros(H)
        for _ in range(n_alt):
            fit = (amp * np.exp(1j * (phi + c - ps))) @ np.exp(-1j * np.outer(grid, hs)).T
            theta = grid[np.argmax(fit.real, axis=1)]
            c = np.angle(np.sum(amp * np.exp(1j * (np.outer(theta, hs) + ps - phi)), axis=0))
        return c

    return offsets


def constant_offsets(X: np.ndarray, S: np.ndarray, f0: np.ndarray, psi0: float) -> Any:
    """Offsets that give the harmonics φ_h(n) = h·θ(n) + ψ0, θ(n) = φ_1(n) − ψ0 (a pulse of constant phase ψ0)."""

    def offsets(seg: list[int], H: int) -> np.ndarray:
        _, phi, amp = harmonic_peaks(X, S, f0, seg, H)
        theta = phi[:, 0] - psi0
        return np.angle(np.sum(amp * np.exp(1j * (np.outer(theta, np.arange(1, H + 1)) + psi0 - phi)), axis=0))

    return offsets


def probe_drift(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    import scipy.signal
    from specimg.phase import pghi

    out = {}
    estimates = {"pghi": pghi(S, n_fft=N_FFT, hop_length=HOP, rng=0), "balanced": np.angle(base.Xh)}
    for name, phase in estimates.items():
        err = np.angle(X * np.exp(-1j * phase[:, : X.shape[1]]))
        steps = []
        for n in range(S.shape[1] - 1):
            col = S[:, n]
            if col.max() < 1e-3 * S.max():
                continue
            peaks, _ = scipy.signal.find_peaks(col, height=0.01 * col.max())
            for k in peaks[(peaks > 3) & (peaks < 700)]:
                if S[k, n + 1] > 0.5 * col[k]:
                    steps.append(abs(np.angle(np.exp(1j * (err[k, n + 1] - err[k, n])))))
        out[name] = {"median_step_rad": float(np.median(steps)), "peaks": len(steps)}
    return out


def probe_bands(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    decoded = np.angle(base.Xh)
    freqs = np.fft.rfftfreq(N_FFT, 1 / SR)[:, None]
    out = {}
    for lo, hi in BANDS:
        phase = np.where((freqs >= lo) & (freqs < hi), np.angle(X), decoded)
        out[f"{lo}-{hi} Hz"] = {f"+{k}": score(y, decode(S, len(y), init=phase, n_iter=k)) for k in (0, 30)}
    return out


def probe_ideal(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    f0, segments, Xh = base.f0, base.segments, base.Xh
    truth = oracle_offsets(X, Xh, f0)
    out: dict[str, Any] = {"segments": len(segments)}
    for fmax in (500, 1000, 2000):
        out[f"below {fmax} Hz"] = score(y, decode(S, len(y), init=np.angle(rotate(Xh, f0, segments, fmax, truth)), n_iter=30))
    return out


def probe_pulse(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    f0, segments, Xh = base.f0, base.segments, base.Xh
    out = {}
    for psi_name, psi in (("zero", np.zeros_like(S)), ("min", min_phase(S))):
        for fmax in (500, 1000):
            for start_name, Z in (("balanced", Xh), ("truth", X)):
                Z2 = rotate(Z, f0, segments, fmax, pulse_offsets(Z, S, f0, psi))
                out[f"{start_name}, psi {psi_name}, below {fmax} Hz"] = score(y, decode(S, len(y), init=np.angle(Z2), n_iter=30))
    return out


def shifted(X: np.ndarray, f0: np.ndarray, seg: list[int], H: int, delta: float) -> np.ndarray:
    """``X`` with harmonic h of ``seg`` (below the H-th) turned by h·delta: its pulses moved in time."""
    out = X.copy()
    for n in seg:
        for h, bins in enumerate(harmonic_bins(f0[n], H)):
            out[bins, n] *= np.exp(1j * (h + 1) * delta)
    return out


def align_decoded(y_hat: np.ndarray, S: np.ndarray, fmax: float, psi0: float) -> np.ndarray:
    """The STFT of ``y_hat`` with magnitude ``S``, its harmonics below ``fmax`` turned into pulses of
    constant phase ``psi0`` (f0 and voicing by pyin on ``y_hat``), and each voiced segment's pulses
    moved (16 shifts) to where the STFT is most consistent around it. No use of the truth."""
    import librosa

    n = len(y_hat)
    f0, segments = voicing(y_hat, S.shape[1])
    Xh = stft(y_hat)[:, : S.shape[1]]
    Z = S * np.exp(1j * np.angle(rotate(Xh, f0, segments, fmax, constant_offsets(Xh, S, f0, psi0))))
    for seg in segments:
        H = int(fmax / np.median(f0[seg]))
        if not H:
            continue
        a, b = max(seg[0] - 4, 0), seg[-1] + 5
        candidates = [shifted(Z, f0, seg, H, d) for d in np.linspace(-np.pi, np.pi, 16, endpoint=False)]
        errors = [np.linalg.norm(np.abs(stft(librosa.istft(C, hop_length=HOP, n_fft=N_FFT, length=n)))[:, a:b] - S[:, a:b])
                  for C in candidates]
        Z = candidates[int(np.argmin(errors))]
    return Z


def probe_shape(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    import librosa

    f0, segments, y_hat, Xh = base.f0, base.segments, base.y_hat, base.Xh
    n = len(y)
    out: dict[str, Any] = {}
    for seg in sorted(segments, key=len)[-4:]:  # the true phase's shape: φ_h − h·φ_1 per harmonic
        _, phi, _ = harmonic_peaks(X, S, f0, seg, 8)
        psi = np.exp(1j * (phi - np.outer(phi[:, 0], np.arange(1, 9))))
        out[f"true psi_h, {len(seg)} frames at {np.median(f0[seg]):.0f} Hz"] = {
            "mean": np.round(np.angle(psi.mean(0)), 2).tolist(), "R": np.round(np.abs(psi.mean(0)), 2).tolist()}
    for fmax in (500, 1000):
        for psi0 in (0.0, np.pi / 2):
            for name, Z in (("truth", X), ("balanced", Xh)):
                Z2 = rotate(Z, f0, segments, fmax, constant_offsets(Z, S, f0, psi0))
                out[f"{name}, psi0 {psi0:.2f}, below {fmax} Hz"] = score(y, decode(S, n, init=np.angle(Z2), n_iter=30))
            Z = align_decoded(y_hat, S, fmax, psi0)
            out[f"balanced, psi0 {psi0:.2f}, below {fmax} Hz, f0 of the decode, shifts by consistency"] = score(
                y, decode(S, n, init=np.angle(Z), n_iter=30))
    rng = np.random.default_rng(0)
    for shift in (0.0, 1.0, np.pi):  # the oracle offsets of probe "ideal", each segment's pulses moved by h·U(±shift)
        truth = oracle_offsets(X, Xh, f0, shift, rng)
        out[f"ideal below 1000 Hz, shifts ±{shift:.2f}"] = score(
            y, decode(S, n, init=np.angle(rotate(Xh, f0, segments, 1000, truth)), n_iter=30))
    return out


def peakier(y: np.ndarray, alpha: float, per_band: bool, smooth: int = 441) -> np.ndarray:
    """``y`` with a peakier waveform (broadband) or peakier band envelopes (third octaves above 300 Hz)."""
    import scipy.ndimage

    def push(z: np.ndarray) -> np.ndarray:
        env = np.abs(z)
        rms = np.sqrt(np.maximum(scipy.ndimage.uniform_filter1d(env**2, smooth), 0.0)) + 1e-12
        return z * (env / rms) ** alpha

    y = np.asarray(y, dtype=np.float64)
    if not per_band:
        return push(y).astype(np.float32)
    Y, f = np.fft.fft(y), np.fft.fftfreq(len(y), 1 / SR)
    out = np.fft.ifft(Y * (np.abs(f) < 300)).real
    lo = 300.0
    while lo < SR / 2:
        hi = lo * 2 ** (1 / 3)
        out += push(np.fft.ifft(Y * 2.0 * ((f >= lo) & (f < hi)))).real  # analytic band signal
        lo = hi
    return out.astype(np.float32)


def probe_peaky(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    import librosa
    from specimg.phase import pghi

    def kurtosis(z: np.ndarray) -> float:
        z = np.asarray(z, dtype=np.float64)
        return float(np.mean(z**4) / np.mean(z**2) ** 2)

    out: dict[str, Any] = {"kurtosis of the clip": kurtosis(y)}
    for label, alpha, per_band in (("none", 0.0, False), ("broadband a=1", 1.0, False), ("bands a=1", 1.0, True)):
        Z = S * np.exp(1j * pghi(S, n_fft=N_FFT, hop_length=HOP, rng=0))
        previous = Z
        for k in range(20 if alpha else 0):
            t = peakier(librosa.istft(Z, hop_length=HOP, n_fft=N_FFT, length=len(y)), alpha * (1 - k / 20), per_band)
            P = S * np.exp(1j * np.angle(stft(t)))
            Z, previous = P + 0.99 * (P - previous), P
        y_hat = decode(S, len(y), init=np.angle(Z))
        out[label] = dict(score(y, y_hat), kurtosis=kurtosis(y_hat))
    return out


def mel_picture(y: np.ndarray, X: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """The clip's mel picture (128 bands) as the mel probes use it: its parameters, its calibrated
    mel amplitude ``M``, today's start (``mel_start``) and the clip's true linear magnitude
    (calibrated, the picture's frames)."""
    import specimg
    from specimg.phase import mel_start
    from specimg.spectral import calibration

    img = specimg.encode(y, SR, scale="mel", n_mels=128)
    p, M = img.params, img.channel_magnitude(0)
    true_mag = (np.abs(X[:, : M.shape[1]]) * calibration(p)).astype(np.float32)
    return p, M, mel_start(M, p), true_mag


def probe_mel(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    from specimg.phase import mel_refiner, reconstruct
    from specimg.spectral import calibration, match_mel

    p, M, start, true_mag = mel_picture(y, X)
    n = M.shape[1]
    f0 = base.f0[:n]
    bins = np.arange(S.shape[0])[:, None] / np.maximum(f0[None, :] * N_FFT / SR, 1e-9)
    comb = 1e-1 + np.exp(-0.5 * ((np.abs(bins - np.round(bins)) * f0 * N_FFT / SR) / 1.5) ** 2)
    comb = np.where(f0 > 0, np.sqrt(match_mel(comb, M, p) * start), start)

    def fit_only(A: np.ndarray, frames: slice) -> np.ndarray:  # the stored bands, the fine structure of A
        return match_mel(A, M[:, frames], p).astype(np.float32)

    runs = {
        "today": (start, mel_refiner(M, p, start), "pghi"),
        "true magnitude": (true_mag, fit_only, "pghi"),
        "true magnitude and phase": (true_mag, fit_only, np.angle(X[:, :n])),
        "comb (pyin f0)": (comb.astype(np.float32), fit_only, "pghi"),
    }
    out = {
        name: score(y, reconstruct(start, p, quality="balanced", n_iter=168, refine=refine, rng=0, init=init))
        for name, (start, refine, init) in runs.items()
    }
    y_hat = reconstruct(start, p, quality="balanced", n_iter=168, refine=mel_refiner(M, p, start), rng=0)
    S_hat = np.abs(stft(y_hat))[:, :n]
    for fmax in (500, 1000):  # probe "shape"'s alignment of the decode, then 30 iterations with the mel fit
        Z = align_decoded(y_hat, S_hat, fmax, 0.0)
        aligned = (np.abs(Z) * calibration(p)).astype(np.float32)
        out[f"today, aligned below {fmax} Hz, +30"] = score(
            y, reconstruct(aligned, p, quality="balanced", n_iter=30, refine=fit_only, rng=0, init=np.angle(Z)))
    return out


def probe_melfit(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    from specimg.phase import mel_refiner, reconstruct
    from specimg.spectral import match_mel, mel_to_linear

    p, M, start, true_mag = mel_picture(y, X)
    n = M.shape[1]
    freqs = np.arange(S.shape[0]) * SR / N_FFT

    def refiner(begin: np.ndarray, held: np.ndarray | None, below: float, above: float = np.inf) -> Any:
        """Today's refine hook, with ``held`` [n_bins, n] (None: fitted) kept outside [below, above) Hz."""
        fit = mel_refiner(M, p, begin)
        keep = (freqs < below) | (freqs >= above)
        last: dict[str, np.ndarray] = {}

        def refine(A: np.ndarray, frames: slice) -> np.ndarray:
            out = fit(A, frames)
            if held is not None:
                out[keep] = held[keep][:, frames]
            last["target"] = out
            return out

        refine.last = last  # type: ignore[attr-defined]
        return refine

    def joint(begin: np.ndarray, refine: Any, n_iter: int = 168) -> np.ndarray:
        return reconstruct(begin, p, quality="balanced", n_iter=n_iter, refine=refine, rng=0)

    out: dict[str, Any] = {"today": score(y, joint(start, refiner(start, None, 0.0)))}
    out["true magnitude held"] = score(y, joint(true_mag, lambda A, frames: true_mag[:, frames]))
    out["true start, fitted"] = score(y, joint(true_mag, refiner(true_mag, None, 0.0)))
    for cut in (1000, 2000, 4000):
        out[f"true start, true held below {cut} Hz"] = score(y, joint(true_mag, refiner(true_mag, true_mag, cut)))
    out["true start, true held above 1000 Hz"] = score(y, joint(true_mag, refiner(true_mag, true_mag, 0.0, 1000.0)))
    out["today's start, true held below 1000 Hz"] = score(y, joint(start, refiner(start, true_mag, 1000)))
    least_squares = mel_to_linear(M, p).astype(np.float32)
    for name, held in (("mel_start", start), ("least squares", least_squares),
                       ("a fit of the least squares", match_mel(least_squares, M, p).astype(np.float32))):  # fmt: skip
        out[f"{name} held below 1000 Hz"] = score(y, joint(start, refiner(start, held, 1000)))
    refine = refiner(start, None, 0.0)
    y_112 = joint(start, refine, 112)  # then the linear balanced scheme on the last fitted target
    held_target = refine.last["target"]
    out["112 joint, then 104 balanced on the last target"] = score(y, reconstruct(
        held_target, p, quality="balanced", rng=0, init=np.angle(stft(y_112)[:, :n])))
    for n_iter in (224, 280, 336):
        out[f"{n_iter} iterations"] = score(y, joint(start, refiner(start, None, 0.0), n_iter))
    for loop in ("fit of the consistent magnitude", "RAAR with the fit, first 60"):
        with joint_loop(loop):
            out[loop] = score(y, joint(start, refiner(start, None, 0.0)))
    return out


@contextlib.contextmanager
def joint_loop(variant: str) -> Any:
    """Replace the joint loop of ``specimg.phase`` (``_gla._refined``) by a variant, for a probe.

    "fit of the consistent magnitude": the fit receives |P_C(X)| instead of the momentum
    point's magnitude. "RAAR with the fit, first 60": the first 60 iterations are RAAR
    (β 0.9) whose magnitude set is the fit of |(P_C(R x) + P_M x) / 2|, every other one.
    """
    import specimg.phase._gla as gla
    from specimg.phase._kernels import momentum_point, momentum_project, project_target

    today = gla._refined
    on = with_magnitude

    def loop(X: np.ndarray, mag: np.ndarray, pair: Any, n_iter: int, momentum: float, dtype: Any, bar: Any,
             refine: Any, constrain: Any) -> np.ndarray:  # fmt: skip
        if variant.startswith("RAAR"):
            x, out, T = X.copy(), X.copy(), mag
            for k in range(60):
                rebuilt = pair.project(out)
                P = 0.5 * (out + x)
                T_next = np.ascontiguousarray(refine(np.abs(0.5 * (rebuilt + on(x, T))).astype(dtype)), dtype=dtype) \
                    if refine.due(k) else T
                x = 0.9 * (x + rebuilt - P) + 0.1 * P
                T = T_next
                out = 2 * on(x, T) - x
            X[...] = on(x, T)
            rest = type("Later", (), {"due": lambda self, k: refine.due(k + 60), "__call__": lambda self, A: refine(A)})()
            return today(X, T, pair, n_iter - 60, momentum, dtype, bar, rest, constrain)
        prev, A = np.zeros_like(X), np.empty(mag.shape, dtype=dtype)
        for k in range(n_iter):
            rebuilt = pair.project(X)
            if refine.due(k):
                consistent = np.abs(rebuilt).astype(dtype)
                momentum_point(rebuilt, prev, momentum, X, A)
                mag = np.ascontiguousarray(refine(consistent), dtype=dtype)
                project_target(X, mag)
            else:
                momentum_project(rebuilt, prev, momentum, mag, X)
            constrain(X)
        return X

    with replaced_joint_loop(loop):
        yield


def with_magnitude(Z: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P_M: the magnitude ``T`` with the phase of ``Z`` (``T`` where ``Z`` is 0), in ``Z``'s dtype."""
    a = np.abs(Z)
    return np.where(a > 1e-30, Z * (T / np.maximum(a, 1e-30)), T).astype(Z.dtype)


@contextlib.contextmanager
def replaced_joint_loop(loop: Any) -> Any:
    """Run with the joint loop of ``specimg.phase`` (``_gla._refined``) replaced by ``loop``; restored after."""
    import specimg.phase._gla as gla

    today = gla._refined
    gla._refined = loop
    try:
        yield
    finally:
        gla._refined = today


def probe_schedule(y: np.ndarray, X: np.ndarray, S: np.ndarray, base: Base) -> dict[str, Any]:
    def then(y_first: np.ndarray, **kw: Any) -> np.ndarray:  # on from the phase of y_first
        return decode(S, len(y), init=np.angle(stft(y_first))[:, : S.shape[1]], **kw)

    fgla = {"method": "fgla", "n_raar": 0}
    return {
        "fast Griffin-Lim, 104": score(y, decode(S, len(y), **fgla)),
        "RAAR 62, then fast Griffin-Lim 42": score(y, decode(S, len(y), method="fgla")),
        "fast Griffin-Lim 40, then balanced 64": score(y, then(decode(S, len(y), n_iter=40, **fgla), n_iter=64)),
        "balanced, then fast Griffin-Lim 30": score(y, then(base.y_hat, n_iter=30, **fgla)),
    }


def probe_args(argv: list[str] | None, doc: str, probes: tuple[str, ...]) -> tuple[argparse.Namespace, list[Any]] | None:
    """The command line of a probe script (``--corpus``, ``--only``, ``--probe``, ``--save``) and
    its clips; None, with the hint printed, when PESQ or STOI is not installed."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--only", nargs="+", default=["espeak_sample", "espeak_m3", "espeak_f3", "flite_awb", "human"], metavar="NAME")
    ap.add_argument("--probe", nargs="+", default=list(probes), choices=probes)
    ap.add_argument("--save", type=Path, default=None, metavar="FILE.json")
    args = ap.parse_args(argv)
    if _perceptual.missing():
        print(f"needs {', '.join(_perceptual.missing())}: {_perceptual.INSTALL_HINT}")
        return None
    return args, [c for c in gather(args.corpus, cache_dir()) if any(w in c.name for w in args.only)]


def main(argv: list[str] | None = None) -> int:
    parsed = probe_args(argv, __doc__ or "", PROBES)
    if parsed is None:
        return 2
    args, clips = parsed
    probes = {name: globals()[f"probe_{name}"] for name in args.probe}
    report: dict[str, Any] = {}
    for clip in clips:
        y = load(clip)
        X = stft(y)
        S = np.abs(X)
        y_hat = decode(S, len(y))
        base = Base(y_hat, stft(y_hat)[:, : X.shape[1]], *voicing(y, S.shape[1]))
        report[clip.name] = {"balanced": score(y, y_hat)}
        print(f"{clip.name}: balanced {report[clip.name]['balanced']}", flush=True)
        for name, probe in probes.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report[clip.name][name] = probe(y, X, S, base)
            print(f"  {name}: {report[clip.name][name]}", flush=True)
    if args.save:
        write_json(args.save, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
