#!/usr/bin/env python
"""Schedules of the mel decode's low-band iterations (issue 22, round 6): voices and corpus.

Run from the repository::

    nice -n 5 python benchmarks/speech_low_band.py [--schedules FULL:LOW:POLISH ...]
        [--corpus DIR] [--time R] [--save FILE.json]

Each schedule sets, for the balanced preset, ``MEL_ITERATIONS`` (full-band iterations in
all), ``MEL_LOW_ITERATIONS`` (low-band ones) and the full-band iterations that follow the
low-band ones (``POLISH_ITERATIONS``), then runs ``specimg.decode`` on

* the mel pictures (128 bands, default encode parameters) of the nine clips of
  ``benchmarks/speech.py``: PESQ-WB against the clip, and the median over the synthetic
  ones (issue 22's mel target: ≥ 3.3);
* the mel pictures of the corpus files (as ``benchmarks/phase.py``'s user path): mel SC
  (dB, ``magnitude_convergence`` of librosa's power mel spectrogram), and its change
  against ``results/phase_before_speech.json`` (issue 22's guard: no file worse by more
  than 0.3 dB).

CPU seconds (``process_time``) of each decode are summed per schedule; they are a rough
guide (one pass, the schedules in turn). ``--time R`` also times the decodes of the
voices and of the corpus files with each schedule, wall time, best of ``R`` rounds that
take the schedules in turn (so that a change of the machine's speed hits them alike). The
time ratios against librosa come from ``speech.py`` and ``phase.py``. Default schedules: 168:0:0 (before round 6), 128:0:0, 168:200:0,
128:200:0, 128:200:16, 128:200:32, 112:200:16 (the preset since round 6), 168:200:16.
About 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _perceptual
from _common import DEFAULT_CORPUS, REPO, write_json
from speech import SR, cache_dir, gather, load

SCHEDULES = ("168:0:0", "128:0:0", "168:200:0", "128:200:0", "128:200:16", "128:200:32", "112:200:16", "168:200:16")
BASELINE = REPO / "benchmarks" / "results" / "phase_before_speech.json"


def decode_with(img: Any, schedule: str) -> tuple[np.ndarray, float]:
    """``specimg.decode(img)`` with the balanced mel preset set to ``schedule``; output and CPU seconds."""
    import specimg
    import specimg.phase._gla as gla
    from specimg.phase import _mel

    full, low, polish = (int(v) for v in schedule.split(":"))
    saved = _mel.MEL_ITERATIONS["balanced"], _mel.MEL_LOW_ITERATIONS["balanced"], gla.POLISH_ITERATIONS
    _mel.MEL_ITERATIONS["balanced"], _mel.MEL_LOW_ITERATIONS["balanced"], gla.POLISH_ITERATIONS = full, low, polish
    try:
        t = time.process_time()
        y_hat = specimg.decode(img)[0]
        return y_hat, time.process_time() - t
    finally:
        _mel.MEL_ITERATIONS["balanced"], _mel.MEL_LOW_ITERATIONS["balanced"], gla.POLISH_ITERATIONS = saved


def voices(schedules: list[str], corpus: Path, pictures: list[Any]) -> dict[str, Any]:
    import specimg

    rows: dict[str, Any] = {}
    for clip in gather(corpus, cache_dir()):
        y = load(clip)
        img = specimg.encode(y, SR, scale="mel", n_mels=128)
        pictures.append(img)
        row = {}
        for s in schedules:
            y_hat, cpu = decode_with(img, s)
            row[s] = {"pesq": _perceptual.pesq_wb(y, y_hat[: len(y)], SR), "cpu_s": cpu}
        rows[clip.name] = {"synthetic": clip.synthetic, **row}
        print(f"{clip.name:14s}", "  ".join(f"{s} {row[s]['pesq']:.2f}" for s in schedules), flush=True)
    return rows


def corpus_mel(schedules: list[str], corpus: Path, pictures: list[Any]) -> dict[str, Any]:
    import specimg
    from phase import load as load_file
    from phase import melspec
    from specimg.metrics import magnitude_convergence

    base = json.loads(BASELINE.read_text())["files"] if BASELINE.is_file() else {}
    rows: dict[str, Any] = {}
    for path in sorted(corpus.glob("*.wav")):
        y, sr = load_file(path)
        M = melspec(y, sr)
        img = specimg.encode(y, sr, scale="mel", n_mels=128)
        pictures.append(img)
        before = base.get(path.name, {}).get("mel_sc_db", {}).get("decode")
        row = {}
        for s in schedules:
            y_hat, cpu = decode_with(img, s)
            sc = magnitude_convergence(melspec(np.asarray(y_hat, dtype=np.float32), sr), M)
            row[s] = {"mel_sc_db": sc, "change_db": None if before is None else sc - before, "cpu_s": cpu}
        rows[path.name] = row
        print(f"{path.name:28s}", "  ".join(f"{s} {row[s]['mel_sc_db']:.2f}" for s in schedules), flush=True)
    return rows


def timings(schedules: list[str], groups: dict[str, list[Any]], repeat: int) -> dict[str, dict[str, float]]:
    """Per schedule and group of pictures: total wall seconds of their decodes, best of ``repeat`` rounds."""
    best = {s: {g: math.inf for g in groups} for s in schedules}
    for _ in range(repeat):
        for s in schedules:
            for g, pictures in groups.items():
                t = time.perf_counter()
                for img in pictures:
                    decode_with(img, s)
                best[s][g] = min(best[s][g], time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--schedules", nargs="+", default=list(SCHEDULES), metavar="FULL:LOW:POLISH")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--time", type=int, default=0, metavar="R", help="also time the decodes, best of R rounds")
    ap.add_argument("--save", type=Path, default=None, metavar="FILE.json")
    args = ap.parse_args(argv)
    if args.time < 0:
        ap.error("--time must be >= 0")
    for s in args.schedules:
        parts = s.split(":")
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or int(parts[2]) > int(parts[0]):
            ap.error(f"schedule {s!r} must be FULL:LOW:POLISH, three integers with POLISH <= FULL")
    if _perceptual.missing():
        print(f"needs {', '.join(_perceptual.missing())}: {_perceptual.INSTALL_HINT}")
        return 2
    groups: dict[str, list[Any]] = {"voices": [], "corpus": []}
    speech = voices(args.schedules, args.corpus, groups["voices"])
    mel = corpus_mel(args.schedules, args.corpus, groups["corpus"]) if args.corpus.is_dir() else {}
    walls = timings(args.schedules, groups, args.time) if args.time else {}
    print("\nschedule       median synthetic  human   corpus mel SC change: worst / median   CPU s (voices + corpus)")
    summary = {}
    for s in args.schedules:
        synthetic = [r[s]["pesq"] for r in speech.values() if r["synthetic"]]
        human = [r[s]["pesq"] for r in speech.values() if not r["synthetic"]]
        changes = [r[s]["change_db"] for r in mel.values() if r[s]["change_db"] is not None]
        cpu = sum(r[s]["cpu_s"] for r in speech.values()) + sum(r[s]["cpu_s"] for r in mel.values())
        summary[s] = {
            "median_synthetic_pesq": float(np.median(synthetic)) if synthetic else None,
            "human_pesq": human[0] if human else None,
            "worst_mel_sc_change_db": max(changes) if changes else None,
            "median_mel_sc_change_db": float(np.median(changes)) if changes else None,
            "cpu_s": cpu,
            "wall_s": walls.get(s),
        }
        m = {k: float("nan") if v is None else v for k, v in summary[s].items()}
        print(f"{s:14s} {m['median_synthetic_pesq']:16.3f}  {m['human_pesq']:5.2f}"
              f"   {m['worst_mel_sc_change_db']:+6.2f} / {m['median_mel_sc_change_db']:+6.2f}   {cpu:8.1f}"
              + ("" if s not in walls else f"   wall, best of {args.time}: voices {walls[s]['voices']:.2f} s,"
                 f" corpus {walls[s]['corpus']:.2f} s"))
    if args.save:
        write_json(args.save, {"speech": speech, "corpus_mel": mel, "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
