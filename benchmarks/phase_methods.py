#!/usr/bin/env python
"""Exploration of linear phase-retrieval methods for the quality presets (issue 13, part A).

Run from the repository::

    PYTHONPATH=src python benchmarks/phase_methods.py [--corpus DIR] [--repeat R]
        [--json PATH] [--baseline PATH] CONFIG [CONFIG ...]

A CONFIG is ``name`` (a preset: fast, balanced, high, as :func:`specimg.phase.reconstruct`
runs it now) or ``name:key=value,key=value`` (keywords of :func:`reconstruct`, e.g.
``agla96:n_iter=96,method=agla``). For every corpus file it measures what
``benchmarks/phase.py`` measures for the linear path: ``S = |librosa.stft(y, n_fft=2048,
hop_length=512, pad_mode="constant")|``, ``reconstruct(S, hop_length=512, length=len(y),
rng=0, **config)``, SC against ``S`` (:func:`specimg.metrics.magnitude_convergence`), and
the time ratio against ``librosa.griffinlim(S, n_iter=32, hop_length=512, length=len(y),
random_state=0)`` on the same file (best of ``--repeat``, round-robin). Ratios are given
both in wall time (``perf_counter``) and CPU time (``process_time``, all threads; steadier
on a loaded machine). The footer gives the median SC and the total-time ratio over the
corpus. With ``--baseline``, each config's per-file SC is compared with the same-named
config of a saved run (the 0.5 dB no-regression rule).

The record of what was tried, with figures, is ``benchmarks/PHASE_METHODS.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import AUDIO_EXTS, DEFAULT_CORPUS, environment

N_FFT = 2048
HOP = 512


def parse_config(text: str) -> tuple[str, dict[str, Any]]:
    name, _, rest = text.partition(":")
    kwargs: dict[str, Any] = {}
    if name.removeprefix("ref-") in ("fast", "balanced", "high") and not rest:
        return name, {"quality": name.removeprefix("ref-")}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return name, kwargs


def stft_mag(y: np.ndarray) -> np.ndarray:
    import librosa

    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, pad_mode="constant"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--ref", type=Path, help="directory holding a copy of an older specimg renamed specimg_orig; "
                    "configs named ref-* run its reconstruct (time the old code in the same run)")
    args = ap.parse_args()

    import librosa

    import specimg
    from specimg.metrics import magnitude_convergence
    from specimg.phase import reconstruct

    configs = dict(parse_config(c) for c in args.configs)
    ref_reconstruct = None
    if args.ref:
        sys.path.insert(0, str(args.ref))
        from specimg_orig.phase import reconstruct as ref_reconstruct  # type: ignore[import-not-found]

    def impl(name: str) -> Any:
        return ref_reconstruct if name.startswith("ref-") else reconstruct
    files = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in AUDIO_EXTS)
    # warm-up: numba kernels and every config once
    y0 = np.random.default_rng(1).standard_normal(22050).astype(np.float32) * 0.1
    S0 = stft_mag(y0)
    for name, kw in configs.items():
        impl(name)(S0, hop_length=HOP, length=len(y0), rng=0, **dict(kw, n_iter=2))
    librosa.griffinlim(S0, n_iter=2, hop_length=HOP, length=len(y0), random_state=0)

    rows = []
    for path in files:
        y, sr = specimg.read_audio(path)
        y = np.ascontiguousarray(y, dtype=np.float32)
        n = y.shape[-1]
        S = stft_mag(y)
        fns: dict[str, Any] = {"lr32": lambda: librosa.griffinlim(S, n_iter=32, hop_length=HOP, length=n, random_state=0)}
        for name, kw in configs.items():
            fns[name] = lambda kw=kw, f=impl(name): f(S, hop_length=HOP, length=n, rng=0, **kw)
        best: dict[str, list[float]] = {k: [math.inf, math.inf] for k in fns}
        out: dict[str, Any] = {}
        for rep in range(max(1, args.repeat)):
            for name, fn in (fns.items() if rep % 2 == 0 else reversed(fns.items())):
                c0, t0 = time.process_time(), time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out[name] = fn()
                t, c = time.perf_counter() - t0, time.process_time() - c0
                best[name] = [min(best[name][0], t), min(best[name][1], c)]
        row: dict[str, Any] = {"file": path.name}
        for name in fns:
            row[f"{name}_sc"] = magnitude_convergence(stft_mag(np.asarray(out[name], dtype=np.float32)), S)
            row[f"{name}_s"], row[f"{name}_cpu"] = best[name]
        rows.append(row)
        print(f"{path.name:32s} " + "  ".join(
            f"{k} {row[f'{k}_sc']:7.2f} dB {row[f'{k}_s'] / row['lr32_s']:5.2f}x {row[f'{k}_cpu'] / row['lr32_cpu']:5.2f}xc"
            for k in fns if k != "lr32"), flush=True)

    base = json.loads(args.baseline.read_text())["rows"] if args.baseline else None
    print(f"\n{'config':28s} {'median SC':>9s} {'wall x':>7s} {'cpu x':>7s}  worst vs baseline")
    summary = {}
    for name in fns:
        med = statistics.median(r[f"{name}_sc"] for r in rows)
        wall = sum(r[f"{name}_s"] for r in rows) / sum(r["lr32_s"] for r in rows)
        cpu = sum(r[f"{name}_cpu"] for r in rows) / sum(r["lr32_cpu"] for r in rows)
        worst = ""
        if base is not None and name != "lr32":
            ref = {r["file"]: r for r in base}
            key = next((k for k in (name, configs[name].get("quality", "")) if f"{k}_sc" in next(iter(ref.values()))), None)
            if key:
                d = [(r[f"{name}_sc"] - ref[r["file"]][f"{key}_sc"], r["file"]) for r in rows if r["file"] in ref]
                worst = f"{max(d)[0]:+.2f} dB ({max(d)[1]}) vs {key}"
        summary[name] = {"median_sc": med, "wall_ratio": wall, "cpu_ratio": cpu}
        ref = f"ref-{configs.get(name, {}).get('quality', '')}"
        vs_ref = ""
        if ref in fns and ref != name:
            vs_ref = "cpu {:.3f}x wall {:.3f}x of {}".format(
                sum(r[f"{name}_cpu"] for r in rows) / sum(r[f"{ref}_cpu"] for r in rows),
                sum(r[f"{name}_s"] for r in rows) / sum(r[f"{ref}_s"] for r in rows), ref)
            summary[name]["cpu_vs_ref"] = vs_ref
        print(f"{name:28s} {med:9.2f} {wall:7.3f} {cpu:7.3f}  {worst} {vs_ref}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"env": environment(), "configs": configs, "rows": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
