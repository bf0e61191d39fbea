#!/usr/bin/env python
"""Acceptance benchmark of phase reconstruction (issues 3 and 13) against librosa, on the same magnitudes.

Run from anywhere::

    python benchmarks/phase.py [--corpus DIR] [--repeat R] [--skip-long] [--json PATH]
                               [--baseline PATH] [--write-baseline PATH]

PESQ and STOI need the ``bench`` extra (``pip install -e ".[bench]"``: packages ``pesq``
and ``pystoi``); without it those columns are skipped (with that hint) and their targets fail.

Everything is measured in one run, on the same machine, on the same magnitudes, calling
only the public functions of specimg (so it measures whatever ``specimg.phase`` and
``specimg.spectral.mel_to_linear`` currently do). For every audio file of the corpus
(default ``../shared/corpus`` next to the repository):

* **linear**: ``S = |librosa.stft(y, n_fft=2048, hop_length=512, pad_mode="constant")|``
  (float32; a stereo file is one (2, 1025, T) array, its channels reconstructed
  independently by both libraries and its SC pooled over channels, one row per file).
  Reference ``librosa.griffinlim(S, n_iter=32, hop_length=512, length=len(y),
  random_state=0)``; specimg ``specimg.phase.reconstruct(S, quality=q, hop_length=512,
  length=len(y), rng=0)`` for q in fast, balanced, high; for context librosa with
  ``n_iter=100``. ``SC = 20 log10(‖|STFT(ŷ)| − S‖_F / ‖S‖_F)``
  (:func:`specimg.metrics.magnitude_convergence`, ``|STFT(ŷ)|`` by the same librosa call).
  Time ratio = method time / librosa-32 time on the same file. Reported both per file
  (then the median over files) and as total time / total time over the corpus; the
  pass/fail uses the median SC and the **total-time** ratio.
* **mel**: ``M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512,
  power=2.0)`` (128 Slaney mel bands, fmin 0, fmax sr/2, power spectrogram, uncalibrated).
  Reference ``librosa.feature.inverse.mel_to_audio(M, sr=sr, n_fft=2048, hop_length=512,
  n_iter=32, length=len(y))``. It takes no ``random_state`` and its ``griffinlim`` call then
  draws the initial phase from ``np.random.default_rng()`` (OS entropy; ``np.random.seed``
  has no effect), so its SC changes from run to run by a few dB. The benchmark therefore
  runs its body, ``griffinlim(mel_to_stft(M, sr=sr, n_fft=2048, power=2.0), n_iter=32,
  hop_length=512, n_fft=2048, length=len(y), random_state=0)``, identical but for the seed
  (checked on librosa's source at run time). specimg, two ways: (a) "direct" (context only:
  no in-loop mel refinement, which decode adds), the same M:
  ``mel_to_linear(M ** 0.5, SpectrogramParams(sr=sr, scale="mel", n_mels=128, power=2.0))``
  then ``reconstruct(..., quality="balanced", hop_length=512, length=len(y), rng=0)``;
  (b) "user path": ``img = specimg.encode(y, sr, scale="mel", n_mels=128)`` then
  ``specimg.decode(img)`` (16-bit pixels, calibrated, −120 dB floor; only ``decode`` is
  timed). Mel-domain SC = ``magnitude_convergence(melspec(ŷ), M)`` on the power mel
  spectrogram, melspec being the same librosa call. Also ``mel_to_linear`` alone against
  ``librosa.feature.inverse.mel_to_stft(M, sr=sr, n_fft=2048)``: time and relative error
  ``‖B x̂ − M‖_F / ‖M‖_F`` with ``x̂`` the power spectrogram (magnitude²).
* **long** (skip with ``--skip-long``): a 10-minute 44.1 kHz stereo WAV built from the
  corpus (22.05 kHz files resampled with librosa, mono duplicated to stereo, concatenated
  and tiled to 600 s), ``specimg.encode_file`` to a 16-bit PNG in a child process, then
  ``specimg.decode_file(png, wav)`` in another child process; its peak RSS is the child's
  own ``VmHWM`` (``ru_maxrss`` from ``os.wait4`` is also reported, but on Linux it inherits
  the parent's RSS at spawn time), with its decode wall time and warnings.

* **perceptual** (speech files only: ``speech_human.wav`` and any name starting with
  ``speech``): PESQ-WB and STOI of every output above against the original ``y``: librosa
  gla32 and gla100, the three presets, librosa ``mel_to_audio`` (its seeded body, as above),
  "direct" and decode of the mel image. PESQ-WB: both signals resampled to 16 kHz with
  ``librosa.resample(res_type="soxr_hq")``, ``pesq(16000, ref, est, "wb")``; STOI:
  ``pystoi.stoi(ref, est, sr, extended=False)`` at the file's rate (see ``_perceptual.py``).
  What was tried for the mel decode path, with figures: ``benchmarks/PHASE_MEL.md``.
* **baseline**: per file, each preset's linear SC and decode's mel SC against the figures of
  ``--baseline`` (default ``benchmarks/results/phase_baseline.json``, written by
  ``--write-baseline`` from a run of the code before issue 13: commit 4748c5e). SC is
  deterministic (``rng=0``) on one machine, so the comparison is exact whatever the load;
  compiled float32 kernels may round differently on another CPU, and the iterations amplify
  that (a rounding change alone moved one file by 0.7 dB).

Acceptance targets (issue 13; PASS/FAIL at the end): median linear SC ≤ −26 / −33 / −36 dB
for fast / balanced / high at ≤ 0.3 / 1.0 / 5.0× the total time of ``griffinlim(32)``;
PESQ-WB on the speech files (median) ≥ 4.0 (balanced), ≥ 4.2 (high), ≥ 3.5 (mel decode);
mel decode at ≤ 0.5× ``mel_to_audio``'s total time with a median mel-SC gain ≥ 6 dB over
it; no file's SC (each preset, and mel decode) worse than the baseline's by more than
0.5 dB; ``mel_to_linear`` ≥ 5× faster than ``mel_to_stft``; the 10-minute file decoded in
< 4 GiB peak RSS.

Timing: ``time.perf_counter``, best of ``--repeat``, after a warm-up that compiles PGHI's
numba kernel and runs every code path once at every sample rate of the corpus. CPU time
(``time.process_time``, all threads) is recorded in the JSON too: specimg's FFTs use all
cores through ``scipy.fft`` while librosa's use ``numpy.fft`` on one.

A PASS/FAIL summary of the acceptance targets ends the output. The exit status is 0 when
every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _perceptual
from _common import AUDIO_EXTS, DEFAULT_CORPUS, REPO, environment, fmt, print_summary, write_json

N_FFT = 2048
HOP = 512
N_MELS = 128
REF_ITER = 32
CONTEXT_ITER = 100
PRESETS = ("fast", "balanced", "high")

# Acceptance targets of issue 13: (median SC ≤ dB, total-time ratio vs librosa-32 ≤).
LINEAR_TARGETS: dict[str, tuple[float, float]] = {
    "fast": (-26.0, 0.3),
    "balanced": (-33.0, 1.0),
    "high": (-36.0, 5.0),
}
# PESQ-WB on the corpus speech (median over the speech files) at least this, per method key.
PESQ_TARGETS: dict[str, float] = {"balanced": 4.0, "high": 4.2, "decode": 3.5}
NO_WORSE_DB = 0.5  # no file's SC worse than the committed baseline's by more than this
DEFAULT_BASELINE = REPO / "benchmarks" / "results" / "phase_baseline.json"
MEL_SC_GAIN_DB = 6.0  # specimg's mel-domain SC at least this much lower than librosa's
MEL_TIME_RATIO = 0.5  # at no more than this fraction of librosa's time
MEL_TO_LINEAR_SPEEDUP = 5.0  # mel_to_linear at least this much faster than mel_to_stft
LONG_SECONDS = 600.0
LONG_SR = 44100
LONG_PEAK_MIB = 4096.0


# ---------------------------------------------------------------------------- helpers
def best_of(repeat: int, fns: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, float, Any]]:
    """Time every ``fn`` ``repeat`` times, round-robin (so that load from other processes hits all alike).

    Returns, per name, the shortest wall time, the CPU time of that run (all threads) and the
    last result.
    """
    out: dict[str, tuple[float, float, Any]] = {k: (math.inf, math.nan, None) for k in fns}
    for _ in range(max(1, repeat)):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            res = fn()
            t, c = time.perf_counter() - t0, time.process_time() - c0
            best, cpu, _ = out[name]
            out[name] = (t, c, res) if t < best else (best, cpu, res)
    return out


def source_digest() -> dict[str, str]:
    """Short SHA-256 of the specimg modules this benchmark measures, to tell versions apart."""
    import specimg

    root = Path(specimg.__file__).parent
    names = sorted(str(p.relative_to(root)) for p in (root / "phase").glob("*.py"))
    names += ["spectral.py", "codec.py"]
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest()[:12] for name in names if (root / name).is_file()}


def stft_mag(y: np.ndarray) -> np.ndarray:
    import librosa

    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, pad_mode="constant"))


def melspec(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.feature.melspectrogram(y=y, sr=sr, n_fft=N_FFT, hop_length=HOP, power=2.0, n_mels=N_MELS)


def lr_mel_to_audio(M: np.ndarray, sr: int, length: int) -> np.ndarray:
    import librosa

    # = librosa.feature.inverse.mel_to_audio(M, sr=sr, n_fft=N_FFT, hop_length=HOP, n_iter=REF_ITER,
    # length=length), whose random initial phase cannot be seeded (see mel_to_audio_matches())
    S = librosa.feature.inverse.mel_to_stft(M, sr=sr, n_fft=N_FFT, power=2.0)
    return librosa.griffinlim(S, n_iter=REF_ITER, hop_length=HOP, n_fft=N_FFT, length=length, random_state=0)


def mel_to_audio_matches() -> bool:
    """Whether librosa's mel_to_audio is still mel_to_stft followed by griffinlim (no seed)."""
    import inspect

    import librosa

    src = "".join(inspect.getsource(librosa.feature.inverse.mel_to_audio).split())
    return (
        "stft=mel_to_stft(M,sr=sr,n_fft=n_fft,power=power,**kwargs)" in src
        and "returngriffinlim(stft,n_iter=n_iter,hop_length=hop_length,win_length=win_length,n_fft=n_fft,"
        "window=window,center=center,dtype=dtype,length=length,pad_mode=pad_mode,)"
        in src
    )


def mel_params(sr: int) -> Any:
    import specimg

    return specimg.SpectrogramParams(sr=sr, scale="mel", n_mels=N_MELS, power=2.0)


def is_speech(path: Path) -> bool:
    """Files scored with PESQ/STOI: speech_human.wav and any other name starting with "speech"."""
    return path.name.lower().startswith("speech")


def median(values: list[float]) -> float:
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan




def table(columns: list[tuple[str, str, str]], rows: list[dict[str, Any]], n_footer: int = 0) -> str:
    """Plain-text table; the last ``n_footer`` rows (medians, totals) are set off by a rule."""
    cells = [[h for _, h, _ in columns]]
    for r in rows:
        cells.append([fmt(r.get(k), s) for k, _, s in columns])
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    rule = "  ".join("-" * w for w in widths)
    lines = []
    for j, c in enumerate(cells):
        lines.append("  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(c, widths))))
        if j == 0 or (n_footer and j == len(cells) - 1 - n_footer):
            lines.append(rule)
    return "\n".join(lines)




def load(path: Path) -> tuple[np.ndarray, int]:
    """Audio as float32, (n,) for mono or (channels, n); sr of the file."""
    import specimg

    y, sr = specimg.read_audio(path)
    return np.ascontiguousarray(y, dtype=np.float32), sr


# ---------------------------------------------------------------------------- warm-up
def warm_up(srs: set[int]) -> None:
    """Compile PGHI's numba kernel and touch every code path once, outside the timings."""
    import librosa

    import specimg
    from specimg.phase import QUALITY_PRESETS, reconstruct
    from specimg.spectral import mel_to_linear

    for sr in sorted(srs):
        rng = np.random.default_rng(1)
        t = np.arange(sr) / sr
        y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(sr)).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            S = stft_mag(y)
            for q in PRESETS:
                reconstruct(S, quality=q, hop_length=HOP, length=len(y), rng=0, n_iter=min(QUALITY_PRESETS[q], 2))
            librosa.griffinlim(S, n_iter=2, hop_length=HOP, length=len(y), random_state=0)
            M = melspec(y, sr)
            librosa.feature.inverse.mel_to_stft(M, sr=sr, n_fft=N_FFT)
            librosa.feature.inverse.mel_to_audio(M, sr=sr, n_fft=N_FFT, hop_length=HOP, n_iter=2, length=len(y))
            mel_to_linear(M**0.5, mel_params(sr))
            specimg.decode(specimg.encode(y, sr, scale="mel", n_mels=N_MELS), n_iter=2)


# ---------------------------------------------------------------------------- linear
def bench_linear(path: Path, repeat: int, perceptual: bool = False) -> dict[str, Any]:
    import librosa

    from specimg.metrics import magnitude_convergence
    from specimg.phase import reconstruct

    y, sr = load(path)
    n = y.shape[-1]
    S = stft_mag(y)
    row: dict[str, Any] = {
        "file": path.name,
        "sr": sr,
        "channels": 1 if y.ndim == 1 else y.shape[0],
        "duration_s": n / sr,
    }

    def sc(y_hat: np.ndarray) -> float:
        return magnitude_convergence(stft_mag(np.asarray(y_hat, dtype=np.float32)), S)

    fns: dict[str, Callable[[], Any]] = {
        f"lr{n_iter}": (
            lambda n_iter=n_iter: librosa.griffinlim(S, n_iter=n_iter, hop_length=HOP, length=n, random_state=0)
        )
        for n_iter in (REF_ITER, CONTEXT_ITER)
    }
    for q in PRESETS:
        fns[q] = lambda q=q: reconstruct(S, quality=q, hop_length=HOP, length=n, rng=0)
    for key, (t, c, y_hat) in best_of(repeat, fns).items():
        row[f"{key}_s"], row[f"{key}_cpu_s"], row[f"{key}_sc_db"] = t, c, sc(y_hat)
        if perceptual:
            for metric, value in _perceptual.scores(y, y_hat, sr).items():
                row[f"{key}_{metric}"] = value
    for key in ("lr100",) + PRESETS:
        row[f"{key}_ratio"] = ratio(row[f"{key}_s"], row["lr32_s"])
        row[f"{key}_cpu_ratio"] = ratio(row[f"{key}_cpu_s"], row["lr32_cpu_s"])
    return row


LINEAR_COLUMNS: list[tuple[str, str, str]] = [
    ("file", "file", "s"),
    ("sr", "sr", "d"),
    ("channels", "ch", "d"),
    ("duration_s", "dur s", ".2f"),
    ("lr32_s", "lr32 s", ".3f"),
    ("lr32_sc_db", "lr32 SC", ".2f"),
    ("lr100_sc_db", "lr100 SC", ".2f"),
    ("lr100_ratio", "lr100 x", ".2f"),
    ("fast_sc_db", "fast SC", ".2f"),
    ("fast_ratio", "fast x", ".3f"),
    ("balanced_sc_db", "bal SC", ".2f"),
    ("balanced_ratio", "bal x", ".3f"),
    ("high_sc_db", "high SC", ".2f"),
    ("high_ratio", "high x", ".3f"),
]


def linear_aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    agg: dict[str, Any] = {
        "lr32_total_s": sum(r["lr32_s"] for r in rows),
        "lr32_total_cpu_s": sum(r["lr32_cpu_s"] for r in rows),
    }
    for key in ("lr32", "lr100") + PRESETS:
        agg[f"{key}_median_sc_db"] = median([r[f"{key}_sc_db"] for r in rows])
        agg[f"{key}_total_s"] = sum(r[f"{key}_s"] for r in rows)
        agg[f"{key}_total_cpu_s"] = sum(r[f"{key}_cpu_s"] for r in rows)
    for key in ("lr100",) + PRESETS:
        agg[f"{key}_median_ratio"] = median([r[f"{key}_ratio"] for r in rows])
        agg[f"{key}_total_ratio"] = ratio(agg[f"{key}_total_s"], agg["lr32_total_s"])
        agg[f"{key}_total_cpu_ratio"] = ratio(agg[f"{key}_total_cpu_s"], agg["lr32_total_cpu_s"])
    return agg


def linear_footer(rows: list[dict[str, Any]], agg: dict[str, Any]) -> list[dict[str, Any]]:
    med: dict[str, Any] = {
        "file": "median (per file)",
        "duration_s": median([r["duration_s"] for r in rows]),
        "lr32_s": median([r["lr32_s"] for r in rows]),
    }
    tot: dict[str, Any] = {
        "file": "total time / total time",
        "duration_s": sum(r["duration_s"] for r in rows),
        "lr32_s": agg["lr32_total_s"],
    }
    for key in ("lr32", "lr100") + PRESETS:
        med[f"{key}_sc_db"] = agg[f"{key}_median_sc_db"]
    for key in ("lr100",) + PRESETS:
        med[f"{key}_ratio"] = agg[f"{key}_median_ratio"]
        tot[f"{key}_ratio"] = agg[f"{key}_total_ratio"]
    return [med, tot]


# ---------------------------------------------------------------------------- mel
def bench_mel(path: Path, repeat: int, perceptual: bool = False) -> dict[str, Any]:
    import librosa

    import specimg
    from specimg.metrics import magnitude_convergence
    from specimg.phase import reconstruct
    from specimg.spectral import mel_basis, mel_to_linear

    y, sr = load(path)
    n = y.shape[-1]
    M = melspec(y, sr)
    p = mel_params(sr)
    B = mel_basis(p)
    row: dict[str, Any] = {
        "file": path.name,
        "sr": sr,
        "channels": 1 if y.ndim == 1 else y.shape[0],
        "duration_s": n / sr,
    }

    def mel_sc(y_hat: np.ndarray) -> float:
        return magnitude_convergence(melspec(np.asarray(y_hat, dtype=np.float32), sr), M)

    def mel_sc_amp(y_hat: np.ndarray) -> float:  # on mel amplitude (√ of the power), for context
        return magnitude_convergence(np.sqrt(melspec(np.asarray(y_hat, dtype=np.float32), sr)), np.sqrt(M))

    def rel_err(mag: np.ndarray) -> float:
        P = np.asarray(mag, dtype=np.float64) ** 2
        return float(np.linalg.norm(np.einsum("bf,...ft->...bt", B, P) - M) / np.linalg.norm(M))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = specimg.encode(y, sr, scale="mel", n_mels=N_MELS)  # the user path's image (encode not timed)
        res = best_of(
            repeat,
            {
                # librosa: mel_to_stft (NNLS) + griffinlim(32), random init seeded through np.random
                "lr": lambda: lr_mel_to_audio(M, sr, n),
                # specimg (a) direct, on the same M: mel_to_linear + reconstruct(balanced), timed together
                "direct": lambda: reconstruct(
                    mel_to_linear(M**0.5, p), quality="balanced", hop_length=HOP, length=n, rng=0
                ),
                # specimg (b) the user path: decode of the encoded image
                "decode": lambda: specimg.decode(img),
                # mel → linear alone
                "m2s": lambda: librosa.feature.inverse.mel_to_stft(M, sr=sr, n_fft=N_FFT),
                "m2l": lambda: mel_to_linear(M**0.5, p),
            },
        )
    row["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    for key in ("lr", "direct", "decode", "m2s", "m2l"):
        row[f"{key}_s"], row[f"{key}_cpu_s"] = res[key][0], res[key][1]
    y_b, sr_b = res["decode"][2]
    row["decode_same_shape_sr"] = bool(np.shape(y_b) == np.shape(y) and sr_b == sr)
    for key, y_hat in (("lr", res["lr"][2]), ("direct", res["direct"][2]), ("decode", y_b)):
        row[f"{key}_sc_db"], row[f"{key}_sc_amp_db"] = mel_sc(y_hat), mel_sc_amp(y_hat)
        if perceptual:
            for metric, value in _perceptual.scores(y, y_hat, sr).items():
                row[f"{key}_{metric}"] = value
    row["m2s_rel_err"], row["m2l_rel_err"] = rel_err(res["m2s"][2]), rel_err(res["m2l"][2])
    row["m2l_speedup"] = ratio(row["m2s_s"], row["m2l_s"])

    for key in ("direct", "decode"):
        row[f"{key}_gain_db"] = row["lr_sc_db"] - row[f"{key}_sc_db"]
        row[f"{key}_ratio"] = ratio(row[f"{key}_s"], row["lr_s"])
        row[f"{key}_cpu_ratio"] = ratio(row[f"{key}_cpu_s"], row["lr_cpu_s"])
    return row


MEL_COLUMNS: list[tuple[str, str, str]] = [
    ("file", "file", "s"),
    ("sr", "sr", "d"),
    ("channels", "ch", "d"),
    ("lr_s", "lr s", ".3f"),
    ("lr_sc_db", "lr SC", ".2f"),
    ("direct_s", "direct s", ".3f"),
    ("direct_sc_db", "direct SC", ".2f"),
    ("direct_gain_db", "gain dB", "+.2f"),
    ("direct_ratio", "direct x", ".3f"),
    ("decode_s", "decode s", ".3f"),
    ("decode_sc_db", "decode SC", ".2f"),
    ("decode_gain_db", "gain dB", "+.2f"),
    ("decode_ratio", "decode x", ".3f"),
]

M2L_COLUMNS: list[tuple[str, str, str]] = [
    ("file", "file", "s"),
    ("sr", "sr", "d"),
    ("channels", "ch", "d"),
    ("m2s_s", "mel_to_stft s", ".3f"),
    ("m2l_s", "mel_to_linear s", ".3f"),
    ("m2l_speedup", "speed-up", ".2f"),
    ("m2s_rel_err", "lr rel err", ".2e"),
    ("m2l_rel_err", "specimg rel err", ".2e"),
]


def mel_aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    agg: dict[str, Any] = {}
    for key in ("lr", "direct", "decode", "m2s", "m2l"):
        agg[f"{key}_total_s"] = sum(r[f"{key}_s"] for r in rows)
        agg[f"{key}_total_cpu_s"] = sum(r[f"{key}_cpu_s"] for r in rows)
    for key in ("lr", "direct", "decode"):
        agg[f"{key}_median_sc_db"] = median([r[f"{key}_sc_db"] for r in rows])
        agg[f"{key}_median_sc_amp_db"] = median([r[f"{key}_sc_amp_db"] for r in rows])
    for key in ("direct", "decode"):
        agg[f"{key}_median_gain_db"] = median([r[f"{key}_gain_db"] for r in rows])
        agg[f"{key}_min_gain_db"] = min(r[f"{key}_gain_db"] for r in rows)
        agg[f"{key}_median_ratio"] = median([r[f"{key}_ratio"] for r in rows])
        agg[f"{key}_total_ratio"] = ratio(agg[f"{key}_total_s"], agg["lr_total_s"])
        agg[f"{key}_total_cpu_ratio"] = ratio(agg[f"{key}_total_cpu_s"], agg["lr_total_cpu_s"])
    agg["m2l_median_speedup"] = median([r["m2l_speedup"] for r in rows])
    agg["m2l_total_speedup"] = ratio(agg["m2s_total_s"], agg["m2l_total_s"])
    agg["m2s_median_rel_err"] = median([r["m2s_rel_err"] for r in rows])
    agg["m2l_median_rel_err"] = median([r["m2l_rel_err"] for r in rows])
    return agg


def mel_footers(rows: list[dict[str, Any]], agg: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    med = {"file": "median (per file)", "lr_s": median([r["lr_s"] for r in rows]), "lr_sc_db": agg["lr_median_sc_db"]}
    tot = {"file": "total time / total time", "lr_s": agg["lr_total_s"]}
    for key in ("direct", "decode"):
        med[f"{key}_s"] = median([r[f"{key}_s"] for r in rows])
        med[f"{key}_sc_db"] = agg[f"{key}_median_sc_db"]
        med[f"{key}_gain_db"] = agg[f"{key}_median_gain_db"]
        med[f"{key}_ratio"] = agg[f"{key}_median_ratio"]
        tot[f"{key}_s"] = agg[f"{key}_total_s"]
        tot[f"{key}_ratio"] = agg[f"{key}_total_ratio"]
    m_med = {
        "file": "median (per file)",
        "m2s_s": median([r["m2s_s"] for r in rows]),
        "m2l_s": median([r["m2l_s"] for r in rows]),
        "m2l_speedup": agg["m2l_median_speedup"],
        "m2s_rel_err": agg["m2s_median_rel_err"],
        "m2l_rel_err": agg["m2l_median_rel_err"],
    }
    m_tot = {
        "file": "total time / total time",
        "m2s_s": agg["m2s_total_s"],
        "m2l_s": agg["m2l_total_s"],
        "m2l_speedup": agg["m2l_total_speedup"],
    }
    return [med, tot], [m_med, m_tot]


def mel_units_check(path: Path) -> dict[str, Any]:
    """Numeric sanity check of the units mel_to_linear expects and returns.

    ``mel_to_linear`` takes the mel *amplitude* ``(B @ |X|**2) ** 0.5`` and returns a linear
    magnitude in the same units. librosa's ``M`` is ``B @ |X|**2`` (uncalibrated), so
    ``M ** 0.5`` is that amplitude in librosa's units. Checks: ``B @ S**2`` equals ``M``
    (same filterbank); specimg's calibrated mel amplitude is ``√M`` times the calibration
    factor; and mel_to_linear is 1-homogeneous (input scaled by the calibration factor c gives
    the output scaled by c), so uncalibrated in → uncalibrated out, and the benchmark's
    librosa-unit call solves the same problem as :func:`specimg.decode`'s calibrated one.
    """
    from specimg.spectral import calibration, magnitude, mel_basis, mel_to_linear

    y, sr = load(path)
    y = y[..., : 4 * HOP * 32]
    S = stft_mag(y).astype(np.float64)
    M = melspec(y, sr)
    p = mel_params(sr)
    B = mel_basis(p)
    basis_err = float(np.linalg.norm(np.einsum("bf,...ft->...bt", B, S**2) - M) / np.linalg.norm(M))
    # the calibrated mel amplitude specimg stores, vs librosa's √M times the calibration factor
    cal_err = float(
        np.linalg.norm(magnitude(y.astype(np.float64), p) - np.sqrt(M) * calibration(p))
        / np.linalg.norm(np.sqrt(M) * calibration(p))
    )
    c = calibration(p)
    L1 = mel_to_linear(M**0.5, p)
    Lc = mel_to_linear(c * M**0.5, p) / c
    homog_err = float(np.linalg.norm(Lc - L1) / np.linalg.norm(L1))
    return {
        "file": path.name,
        "basis_rel_err": basis_err,
        "calibrated_amplitude_rel_err": cal_err,
        "homogeneity_rel_err": homog_err,
    }


# ---------------------------------------------------------------------------- perceptual
# (section, method key, label): the methods scored with PESQ-WB and STOI on speech files
PERCEPTUAL_METHODS: list[tuple[str, str, str]] = [
    ("linear", "lr32", "librosa griffinlim(32)"),
    ("linear", "lr100", "librosa griffinlim(100)"),
    ("linear", "fast", "specimg reconstruct fast"),
    ("linear", "balanced", "specimg reconstruct balanced"),
    ("linear", "high", "specimg reconstruct high"),
    ("mel", "lr", "librosa mel_to_audio(32)"),
    ("mel", "direct", "specimg mel_to_linear+balanced"),
    ("mel", "decode", "specimg decode (mel image)"),
]
PERCEPTUAL_COLUMNS: list[tuple[str, str, str]] = [
    ("file", "file", "s"),
    ("method", "method", "s"),
    ("sc_db", "SC dB", ".2f"),
    ("pesq", "PESQ-WB", ".3f"),
    ("stoi", "STOI", ".4f"),
    ("ratio", "time x", ".3f"),
]


def perceptual_rows(lin_rows: list[dict[str, Any]], mel_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (speech file, method): SC (linear, or mel for the mel methods), PESQ, STOI, time ratio."""
    out = []
    sections = {"linear": lin_rows, "mel": mel_rows}
    for section, key, label in PERCEPTUAL_METHODS:
        for r in sections[section]:
            if f"{key}_pesq" not in r:
                continue
            ratio_key = f"{key}_ratio" if key not in ("lr32", "lr") else None
            out.append(
                {
                    "file": r["file"],
                    "method": label,
                    "key": key,
                    "sc_db": r[f"{key}_sc_db"],
                    "pesq": r[f"{key}_pesq"],
                    "stoi": r[f"{key}_stoi"],
                    "ratio": r[ratio_key] if ratio_key else 1.0,
                }
            )
    return out


def perceptual_aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median PESQ and STOI over the speech files, per method key."""
    agg: dict[str, Any] = {}
    for _, key, _ in PERCEPTUAL_METHODS:
        for metric in ("pesq", "stoi"):
            agg[f"{key}_median_{metric}"] = median([r[metric] for r in rows if r["key"] == key])
    return agg


# ---------------------------------------------------------------------------- baseline
def git_head() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def baseline_record(
    lin_rows: list[dict[str, Any]], mel_rows: list[dict[str, Any]], digest: dict[str, str]
) -> dict[str, Any]:
    """Per-file figures a later run compares against (``--write-baseline``)."""
    files: dict[str, Any] = {}
    for r in lin_rows:
        f = files.setdefault(r["file"], {})
        f["linear_sc_db"] = {k: r[f"{k}_sc_db"] for k in ("lr32", "lr100") + PRESETS}
        f["linear_time_ratio"] = {k: r[f"{k}_ratio"] for k in ("lr100",) + PRESETS}
        for metric in ("pesq", "stoi"):
            if f"balanced_{metric}" in r:
                f[f"linear_{metric}"] = {k: r[f"{k}_{metric}"] for k in ("lr32", "lr100") + PRESETS}
    for r in mel_rows:
        f = files.setdefault(r["file"], {})
        f["mel_sc_db"] = {k: r[f"{k}_sc_db"] for k in ("lr", "direct", "decode")}
        f["mel_time_ratio"] = {k: r[f"{k}_ratio"] for k in ("direct", "decode")}
        for metric in ("pesq", "stoi"):
            if f"decode_{metric}" in r:
                f[f"mel_{metric}"] = {k: r[f"{k}_{metric}"] for k in ("lr", "direct", "decode")}
    return {
        "what": "benchmarks/phase.py figures per file, the reference of its 'no file worse' check",
        "commit": git_head(),
        "specimg_source_sha256_12": digest,
        "n_fft": N_FFT,
        "hop_length": HOP,
        "n_mels": N_MELS,
        "files": files,
    }


def load_baseline(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def baseline_deltas(
    base: dict[str, Any], lin_rows: list[dict[str, Any]], mel_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """SC now − SC in the baseline (dB; positive = worse), per file and method, for the files in both."""
    out = []
    for section, rows, keys in (("linear", lin_rows, PRESETS), ("mel", mel_rows, ("decode",))):
        for r in rows:
            old = base["files"].get(r["file"], {}).get(f"{section}_sc_db", {})
            for k in keys:
                if isinstance(old.get(k), (int, float)) and math.isfinite(old[k]):
                    now = r[f"{k}_sc_db"]
                    out.append({"file": r["file"], "method": f"{section} {k}", "base": old[k], "now": now, "delta": now - old[k]})
    return out


# ---------------------------------------------------------------------------- long file
CHILD = textwrap.dedent(
    """
    import json, re, resource, sys, time, warnings

    def hwm_kib():
        # peak RSS of this process's own address space; unlike ru_maxrss it does not inherit
        # the parent's RSS at fork/exec
        with open("/proc/self/status") as f:
            m = re.search(r"VmHWM:\\s*(\\d+)", f.read())
        return int(m.group(1)) if m else None

    import numpy as np
    import specimg
    out = {"hwm_after_import_kib": hwm_kib()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        try:
            if sys.argv[1] == "encode":
                img = specimg.encode_file(sys.argv[2], sys.argv[3])
                out["pixels_shape"] = list(img.pixels.shape)
            else:
                y, sr = specimg.decode_file(sys.argv[2], sys.argv[3])
                out["shape"], out["sr"] = list(np.shape(y)), sr
            out["error"] = None
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
        out["wall_s"] = time.perf_counter() - t0
    out["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    out["hwm_kib"] = hwm_kib()
    out["ru_maxrss_self_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("RESULT " + json.dumps(out))
    """
)


def run_child(args: list[str], tmp: Path, name: str, timeout: float) -> dict[str, Any]:
    """Run the child script on ``args``; return its RESULT json, exit code and peak RSS.

    ``peak_rss_mib`` is the child's VmHWM (its own address space's high-water mark) when it
    reports one, else (killed, for instance) ``ru_maxrss`` from ``os.wait4``, which on Linux
    is an upper bound: it also counts this (parent) process's RSS at the time of the spawn.
    """
    code = CHILD
    out_path, err_path = tmp / f"{name}.stdout", tmp / f"{name}.stderr"
    t0 = time.perf_counter()
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=fo, stderr=fe)
        status, ru = None, None
        while True:
            pid, st, r = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status, ru = st, r
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()  # our own child, by pid
                _, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    res: dict[str, Any] = {
        "exit_code": proc.returncode,
        "process_wall_s": wall,
        "wait4_ru_maxrss_mib": ru.ru_maxrss / 1024.0,
        "timed_out": wall > timeout,
    }
    text = out_path.read_text(errors="replace")
    for line in text.splitlines():
        if line.startswith("RESULT "):
            res.update(json.loads(line[len("RESULT ") :]))
    hwm = res.get("hwm_kib")
    res["peak_rss_mib"] = hwm / 1024.0 if hwm else res["wait4_ru_maxrss_mib"]
    res["peak_rss_source"] = "VmHWM" if hwm else "wait4 ru_maxrss (upper bound)"
    if "error" not in res:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-5:]
        res["error"] = (
            f"child exited with {proc.returncode} without a result"
            + (" (killed: out of memory?)" if proc.returncode < 0 else "")
            + (": " + " | ".join(tail) if tail else "")
        )
    return res


def build_long_wav(files: list[Path], wav: Path) -> dict[str, Any]:
    """600 s of 44.1 kHz stereo from the corpus: resample, mono → stereo, concatenate, tile."""
    import librosa
    import soundfile as sf

    parts = []
    for path in files:
        y, sr = load(path)
        if sr != LONG_SR:
            y = librosa.resample(y, orig_sr=sr, target_sr=LONG_SR)
        if y.ndim == 1:
            y = np.stack([y, y])
        parts.append(y[:2])
    one = np.concatenate(parts, axis=1)
    n = int(LONG_SECONDS * LONG_SR)
    reps = -(-n // one.shape[1])
    y = np.tile(one, (1, reps))[:, :n]
    sf.write(wav, np.clip(y, -1.0, 1.0).T, LONG_SR, subtype="PCM_16")
    return {
        "sr": LONG_SR,
        "channels": 2,
        "n_samples": n,
        "duration_s": n / LONG_SR,
        "source_s": one.shape[1] / LONG_SR,
        "wav_mib": wav.stat().st_size / 2**20,
    }


def bench_long(files: list[Path], tmp: Path, timeout: float) -> dict[str, Any]:
    wav, png, out_wav = tmp / "long.wav", tmp / "long.png", tmp / "long.out.wav"
    t0 = time.perf_counter()
    info = build_long_wav(files, wav)
    info["build_s"] = time.perf_counter() - t0
    print(f"  long file: encode_file {info['duration_s']:.0f} s ...", file=sys.stderr, flush=True)
    enc = run_child(["encode", str(wav), str(png)], tmp, "encode", timeout)
    info["encode"] = enc
    if enc.get("error") is None and png.exists():
        info["png_mib"] = png.stat().st_size / 2**20
        print("  long file: decode_file ...", file=sys.stderr, flush=True)
        info["decode"] = run_child(["decode", str(png), str(out_wav)], tmp, "decode", timeout)
    else:
        info["decode"] = {
            "error": "not run: encode failed",
            "peak_rss_mib": math.nan,
            "wall_s": math.nan,
            "warnings": [],
        }
    return info


# ---------------------------------------------------------------------------- summary
def checks(
    lin: dict[str, Any],
    mel: dict[str, Any],
    long: dict[str, Any] | None,
    perc: dict[str, Any] | None = None,
    deltas: list[dict[str, Any]] | None = None,
    baseline_note: str = "",
) -> list[tuple[str, bool, str]]:
    """(target, pass, detail) of every acceptance target. ``perc`` None: PESQ not measured
    (packages missing, or no speech file); ``deltas`` None: no baseline (``baseline_note`` says why)."""
    out: list[tuple[str, bool, str]] = []

    def check(name: str, value: float, limit: float, unit: str, lower_is_better: bool = True) -> None:
        ok = math.isfinite(value) and (value <= limit if lower_is_better else value >= limit)
        if not math.isfinite(value):
            detail = f"{value}"
        else:
            miss = (value - limit) if lower_is_better else (limit - value)
            detail = f"{value:.3f}{unit}; " + (f"margin {-miss:.3f}{unit}" if ok else f"misses by {miss:.3f}{unit}")
        out.append((name, ok, detail))

    for q in ("fast", "balanced", "high"):
        sc_t, r_t = LINEAR_TARGETS[q]
        check(f"linear {q}: median SC <= {sc_t:.0f} dB", lin[f"{q}_median_sc_db"], sc_t, " dB")
        check(f"linear {q}: total-time ratio vs librosa griffinlim(32) <= {r_t}", lin[f"{q}_total_ratio"], r_t, "x")
    # The target is for the mel decode path users run; "direct" (mel_to_linear, then plain
    # reconstruct without decode's in-loop mel refinement) is printed for context only.
    for key, label in (("decode", "encode(mel) -> decode"),):
        check(
            f"mel {label}: median per-file SC gain over mel_to_audio >= {MEL_SC_GAIN_DB:.0f} dB",
            mel[f"{key}_median_gain_db"],
            MEL_SC_GAIN_DB,
            " dB",
            lower_is_better=False,
        )
        check(
            f"mel {label}: total-time ratio vs mel_to_audio <= {MEL_TIME_RATIO}",
            mel[f"{key}_total_ratio"],
            MEL_TIME_RATIO,
            "x",
        )
    for key, target in PESQ_TARGETS.items():
        label = "mel decode" if key == "decode" else f"linear {key}"
        name = f"{label}: PESQ-WB on the corpus speech (median over speech files) >= {target}"
        if perc is None:
            out.append((name, False, "not measured: " + _perceptual.INSTALL_HINT + ", and a speech* file in the corpus"))
        else:
            check(name, perc[f"{key}_median_pesq"], target, "", lower_is_better=False)
    groups = [f"linear {q}" for q in PRESETS] + ["mel decode"]
    for group in groups:
        name = f"{group}: no file's SC worse than the baseline's by > {NO_WORSE_DB} dB"
        if deltas is None:
            out.append((name, False, baseline_note))
            continue
        mine = [d for d in deltas if d["method"] == group]
        if not mine:
            out.append((name, False, "no file of this run is in the baseline"))
            continue
        worst = max(mine, key=lambda d: d["delta"])
        ok = worst["delta"] <= NO_WORSE_DB
        detail = f"worst {worst['file']}: {worst['base']:.2f} → {worst['now']:.2f} dB ({worst['delta']:+.2f})"
        out.append((name, ok, detail))
    check(
        f"mel_to_linear total-time speed-up vs mel_to_stft >= {MEL_TO_LINEAR_SPEEDUP:.0f}x",
        mel["m2l_total_speedup"],
        MEL_TO_LINEAR_SPEEDUP,
        "x",
        lower_is_better=False,
    )
    if long is not None:
        dec = long["decode"]
        name = f"decode_file of {LONG_SECONDS / 60:.0f} min 44.1 kHz stereo: peak RSS < {LONG_PEAK_MIB:.0f} MiB"
        if dec.get("error"):
            out.append(
                (name, False, f"decode failed: {dec['error']} (peak {dec.get('peak_rss_mib', math.nan):.0f} MiB)")
            )
        else:
            check(name, dec["peak_rss_mib"], LONG_PEAK_MIB, " MiB")
    return out


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help=f"folder of audio files (default: {DEFAULT_CORPUS})"
    )
    ap.add_argument("--repeat", type=int, default=1, help="time each step this many times, keep the best (default 1)")
    ap.add_argument(
        "--skip-long",
        action="store_true",
        help=f"skip the peak-memory test on a {LONG_SECONDS / 60:.0f}-minute stereo file",
    )
    ap.add_argument(
        "--long-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="kill the long-file encode/decode child after this many seconds (default 900)",
    )
    ap.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON here")
    ap.add_argument(
        "--baseline",
        type=Path,
        default=DEFAULT_BASELINE,
        metavar="PATH",
        help=f"per-file figures of the reference version, for the 'no file worse' check (default: {DEFAULT_BASELINE})",
    )
    ap.add_argument(
        "--write-baseline",
        type=Path,
        default=None,
        metavar="PATH",
        help="write this run's per-file figures as a baseline file here (for the --baseline of later runs)",
    )
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")

    import PIL.Image
    import soundfile as sf

    from specimg.phase import QUALITY_PRESETS

    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"corpus {corpus} not found", file=sys.stderr)
        return 2
    files = sorted(p for p in corpus.iterdir() if p.suffix.lower() in AUDIO_EXTS)
    if not files:
        print(f"no audio files in {corpus}", file=sys.stderr)
        return 2

    digest_start = source_digest()  # the code this process imported (just now)
    lr_body_ok = mel_to_audio_matches()
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    t0 = time.perf_counter()
    warm_up({sf.info(p).samplerate for p in files})
    t_warm = time.perf_counter() - t0

    absent = _perceptual.missing()
    if absent:
        print(
            f"PESQ/STOI skipped: {', '.join(absent)} not installed; install with {_perceptual.INSTALL_HINT}",
            file=sys.stderr,
        )
    long_enough = [p for p in files if sf.info(p).duration >= 2.0]
    units = mel_units_check((long_enough or files)[0])
    lin_rows, mel_rows = [], []
    for path in files:
        print(f"  linear {path.name} ...", file=sys.stderr, flush=True)
        lin_rows.append(bench_linear(path, args.repeat, perceptual=not absent and is_speech(path)))
    for path in files:
        print(f"  mel {path.name} ...", file=sys.stderr, flush=True)
        mel_rows.append(bench_mel(path, args.repeat, perceptual=not absent and is_speech(path)))
    lin_agg, mel_agg = linear_aggregate(lin_rows), mel_aggregate(mel_rows)
    perc_rows = perceptual_rows(lin_rows, mel_rows)
    perc_agg = perceptual_aggregate(perc_rows) if perc_rows else None
    base = load_baseline(args.baseline)
    deltas = None if base is None else baseline_deltas(base, lin_rows, mel_rows)
    baseline_note = "" if base is not None else f"no baseline: {args.baseline} missing or unreadable"
    t_short = time.perf_counter() - t_start

    long = None
    if not args.skip_long:
        with tempfile.TemporaryDirectory(prefix="specimg-phase-bench-") as d:
            long = bench_long(files, Path(d), args.long_timeout)
    t_total = time.perf_counter() - t_start
    digest_end = source_digest()
    load_end = os.getloadavg()

    results = checks(lin_agg, mel_agg, long, perc_agg, deltas, baseline_note)
    all_ok = all(ok for _, ok, _ in results)
    env = environment()

    # ------------------------------------------------------------------ report
    print(
        f"specimg phase benchmark (issues 3 and 13): n_fft={N_FFT} hop_length={HOP}, best of {args.repeat}; "
        f"QUALITY_PRESETS={QUALITY_PRESETS}"
    )
    print(f"corpus: {corpus} ({len(files)} files)")
    print("specimg source measured: " + "  ".join(f"{k} {v}" for k, v in digest_start.items()))
    if digest_end != digest_start:
        print(
            "WARNING: specimg sources changed during the run (now "
            + "  ".join(f"{k} {v}" for k, v in digest_end.items())
            + "); the linear and mel sections ran the code above"
            + ("" if long is None else ", the long-file child processes possibly the new code")
        )
    print("  ".join(f"{k} {v}" for k, v in env.items()))
    print(
        f"load average (1/5/15 min) at start {' '.join(f'{x:.2f}' for x in load_start)}, at end "
        f"{' '.join(f'{x:.2f}' for x in load_end)}: with other processes busy, single timings are noisy "
        "(use --repeat 3)"
    )
    print()
    print(
        "== linear: S = |librosa.stft(y, 2048, 512, pad_mode='constant')| float32; SC dB = 20 log10 ‖|STFT(ŷ)|−S‖/‖S‖"
    )
    print(
        "   lr32/lr100: librosa.griffinlim(S, n_iter=32/100, random_state=0); fast/bal/high: specimg.phase.reconstruct("
    )
    print(
        "   S, quality=q, rng=0). 'x' = wall time / lr32 wall time on the same file. Stereo: one (2, 1025, T) array per"
    )
    print("   file, channels reconstructed independently by both, SC pooled over channels (one row per file).")
    print(
        "   Footer: median over files of SC and of the per-file ratio; then total time / total lr32 time (used for PASS/FAIL)."
    )
    print()
    print(table(LINEAR_COLUMNS, lin_rows + linear_footer(lin_rows, lin_agg), n_footer=2))
    print(
        "   CPU-time ratio (all threads, total/total): "
        + "  ".join(f"{k} {lin_agg[f'{k}_total_cpu_ratio']:.3f}" for k in ("lr100",) + PRESETS)
    )
    print()
    print(
        "== mel: M = librosa.feature.melspectrogram(y, sr, 2048, 512, power=2.0), 128 Slaney bands; SC dB on the power"
    )
    print("   mel: 20 log10 ‖melspec(ŷ)−M‖/‖M‖. lr: librosa.feature.inverse.mel_to_audio(M, n_iter=32) as its body,")
    print(
        "   griffinlim(mel_to_stft(M), n_iter=32, random_state=0): mel_to_audio cannot be seeded (default_rng())"
        + ("" if lr_body_ok else " -- WARNING: librosa's mel_to_audio no longer matches that body")
    )
    print(
        "   direct: mel_to_linear(M**0.5, SpectrogramParams(sr, scale='mel', n_mels=128, power=2)) + reconstruct(balanced)"
    )
    print(
        "   on the same M (time = both). decode: specimg.decode(specimg.encode(y, sr, scale='mel', n_mels=128)), only"
    )
    print("   decode timed (16-bit pixels, calibrated, -120 dB floor). gain = lr SC − specimg SC (higher is better);")
    print("   'x' = time / lr time. Footer: medians over files; then total time / total time (used for PASS/FAIL).")
    print(
        f"   units check on {units['file']}: ‖B S²−M‖/‖M‖ = {units['basis_rel_err']:.1e} (same filterbank); "
        f"specimg's calibrated mel amplitude vs √M·cal: {units['calibrated_amplitude_rel_err']:.1e};"
    )
    h = units["homogeneity_rel_err"]
    verdict = (
        "1-homogeneous: √M in librosa units gives |X| in librosa units, as decode's calibrated call"
        if h < 1e-3
        else "NOT scale-invariant: the result depends on the units of the input (decode passes calibrated units)"
    )
    print(f"   mel_to_linear(c·√M)/c vs mel_to_linear(√M), c = calibration: {h:.1e} ({verdict})")
    print()
    mel_foot, m2l_foot = mel_footers(mel_rows, mel_agg)
    print(table(MEL_COLUMNS, mel_rows + mel_foot, n_footer=2))
    for r in mel_rows:
        for w in r["warnings"]:
            print(f"   warning ({r['file']}): {w}")
    print(
        "   median SC on mel amplitude (√ power), for context: "
        + "  ".join(f"{k} {mel_agg[f'{k}_median_sc_amp_db']:.2f} dB" for k in ("lr", "direct", "decode"))
        + ";  CPU-time ratio total/total: "
        + "  ".join(f"{k} {mel_agg[f'{k}_total_cpu_ratio']:.3f}" for k in ("direct", "decode"))
    )
    print()
    print(
        "== mel → linear alone: librosa.feature.inverse.mel_to_stft(M, sr, 2048) vs specimg.spectral.mel_to_linear(√M);"
    )
    print("   rel err = ‖B x̂ − M‖/‖M‖ with x̂ = magnitude² (power). speed-up = mel_to_stft time / mel_to_linear time.")
    print()
    print(table(M2L_COLUMNS, mel_rows + m2l_foot, n_footer=2))
    print()
    print("== perceptual, on the speech files (speech*): PESQ-WB (reference and estimate resampled to 16 kHz with")
    print("   soxr, pesq(16000, ref, est, 'wb')) and STOI (pystoi, at the file's rate, extended=False) against the")
    print("   original audio. SC dB is the linear SC for the linear methods and the mel SC for the mel ones; 'time x' as")
    print("   in their section (librosa griffinlim(32) / mel_to_audio = 1).")
    if absent:
        print(f"   skipped: {', '.join(absent)} not installed; {_perceptual.INSTALL_HINT}")
    elif not perc_rows:
        print("   skipped: no file of the corpus is named speech*")
    else:
        print()
        print(table(PERCEPTUAL_COLUMNS, perc_rows))
    print()
    if deltas is None:
        print(f"== baseline: {baseline_note}")
    else:
        print(f"== baseline {args.baseline} (commit {str(base.get('commit', '?'))[:10]}): SC now − baseline, dB (+ = worse)")
        print()
        print(
            table(
                [("file", "file", "s"), ("method", "method", "s"), ("base", "baseline", ".2f"), ("now", "now", ".2f"), ("delta", "delta", "+.2f")],
                deltas,
            )
        )
    print()
    if long is None:
        print("== long file: skipped (--skip-long)")
    else:
        enc, dec = long["encode"], long["decode"]
        print(
            f"== long file: {long['duration_s']:.0f} s, {long['sr']} Hz, stereo, 16-bit WAV "
            f"({long['wav_mib']:.0f} MiB; {long['source_s']:.1f} s of corpus audio at 44.1 kHz, tiled)"
        )
        print(
            "   each step in its own child process (python -c); peak RSS = the child's VmHWM (/proc/self/status), its"
        )
        print(
            "   own high-water mark; 'wait4 maxrss' = ru_maxrss from os.wait4, which on Linux also counts the parent's"
        )
        print(
            "   RSS at spawn time (an upper bound). 'after import' = VmHWM after `import specimg` (+numpy, librosa...)."
        )
        print()
        rows = []
        for step, r in (("encode_file → 16-bit PNG", enc), ("decode_file → WAV", dec)):
            rows.append(
                {
                    "step": step,
                    "wall": r.get("wall_s", math.nan),
                    "peak": r.get("peak_rss_mib", math.nan),
                    "wait4": r.get("wait4_ru_maxrss_mib", math.nan),
                    "base": (r.get("hwm_after_import_kib") or math.nan) / 1024.0,
                    "status": "ok" if not r.get("error") else "FAILED",
                }
            )
        print(
            table(
                [
                    ("step", "step", "s"),
                    ("wall", "wall s", ".1f"),
                    ("peak", "peak RSS MiB", ".0f"),
                    ("wait4", "wait4 maxrss MiB", ".0f"),
                    ("base", "after import MiB", ".0f"),
                    ("status", "status", "s"),
                ],
                rows,
            )
        )
        if "png_mib" in long:
            shape = enc.get("pixels_shape")
            print(
                f"   PNG: {long['png_mib']:.0f} MiB, pixels {shape[0]} x {shape[1]} = "
                f"{shape[0] * shape[1] / 1e6:.1f} M (Pillow MAX_IMAGE_PIXELS = {PIL.Image.MAX_IMAGE_PIXELS / 1e6:.1f} M)"
            )
        if dec.get("wall_s") and math.isfinite(dec.get("wall_s", math.nan)):
            print(
                f"   decode: {dec['wall_s']:.1f} s for {long['duration_s']:.0f} s of audio "
                f"({dec['wall_s'] / long['duration_s']:.3f} s per second)"
            )
        for step, r in (("encode", enc), ("decode", dec)):
            if r.get("error"):
                print(f"   {step} error: {r['error']}")
            for w in r.get("warnings", []):
                print(f"   {step} warning: {w}")
    print()
    print(f"warm-up {t_warm:.1f} s, linear+mel {t_short:.1f} s, total {t_total:.1f} s")
    print()
    print_summary(results)

    if args.json is not None:
        report = {
            "config": {
                "corpus": str(corpus),
                "repeat": args.repeat,
                "n_fft": N_FFT,
                "hop_length": HOP,
                "n_mels": N_MELS,
                "reference_n_iter": REF_ITER,
                "context_n_iter": CONTEXT_ITER,
                "quality_presets": dict(QUALITY_PRESETS),
                "stereo": "one array per file, SC pooled over channels",
                "pass_fail_time_ratio": "total time / total time over the corpus",
                "targets": {
                    "linear": {
                        q: {"median_sc_db_max": s, "total_time_ratio_max": r} for q, (s, r) in LINEAR_TARGETS.items()
                    },
                    "pesq_wb_min": PESQ_TARGETS,
                    "no_file_worse_than_baseline_db": NO_WORSE_DB,
                    "mel_sc_gain_db_min": MEL_SC_GAIN_DB,
                    "mel_time_ratio_max": MEL_TIME_RATIO,
                    "mel_to_linear_speedup_min": MEL_TO_LINEAR_SPEEDUP,
                    "long_peak_rss_mib_max": LONG_PEAK_MIB,
                },
            },
            "environment": env,
            "load_average": {"start": list(load_start), "end": list(load_end)},
            "specimg_source_sha256_12": {"start": digest_start, "end": digest_end},
            "linear": {"files": lin_rows, "aggregate": lin_agg},
            "perceptual": {"rows": perc_rows, "aggregate": perc_agg, "missing_packages": absent},
            "baseline": {"path": str(args.baseline), "deltas": deltas, "note": baseline_note},
            "mel": {
                "mel_to_audio_is_mel_to_stft_plus_unseeded_griffinlim": lr_body_ok,
                "units_check": units,
                "files": mel_rows,
                "aggregate": mel_agg,
            },
            "long": long,
            "summary": [{"check": n, "pass": ok, "detail": d} for n, ok, d in results],
            "pass": all_ok,
            "warm_up_s": t_warm,
            "total_s": t_total,
        }
        write_json(args.json, report)
    if args.write_baseline is not None:
        args.write_baseline.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.write_baseline, baseline_record(lin_rows, mel_rows, digest_start))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
