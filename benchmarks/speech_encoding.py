#!/usr/bin/env python
"""Encoding advice for speech (issue 22, item 3): PESQ-WB per pixel for STFT sizes and mel band counts.

Run from the repository::

    nice -n 5 python benchmarks/speech_encoding.py [--only NAME ...] [--save FILE.json]

The clips are those of ``benchmarks/speech.py`` (same cache). For every setting, every clip
is encoded (16-bit picture) and decoded with the balanced preset; the table gives the
median PESQ-WB and STOI over the synthetic clips and the human clip's, the pixels per second
of audio (rows × frames per second, at 22 050 Hz) and the total decode time over the
clips (seconds; compare within one run only). Linear pictures: n_fft 512, 1024,
2048 at redundancy 4 and 8 (hop n_fft / 4, n_fft / 8). Mel pictures: 64, 80, 128, 160 and
256 bands at n_fft 2048 / hop 512, 64 to 160 at n_fft 1024 / hop 256, 40 to 80 at n_fft 512 /
hop 128. The figures are in ``docs/speech.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _perceptual
from _common import DEFAULT_CORPUS, write_json
from speech import SR, cache_dir, gather, load

LINEAR = [(n_fft, n_fft // r) for n_fft in (512, 1024, 2048) for r in (4, 8)]
MEL = ([(2048, 512, m) for m in (64, 80, 128, 160, 256)] + [(1024, 256, m) for m in (64, 80, 128, 160)]
       + [(512, 128, m) for m in (40, 64, 80)])


def pixels_per_second(rows: int, hop: int) -> float:
    return rows * SR / hop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME", help="keep clips whose name contains one of these")
    ap.add_argument("--save", type=Path, default=None, metavar="FILE.json")
    args = ap.parse_args(argv)
    import specimg

    clips = gather(args.corpus, cache_dir())
    if args.only:
        clips = [c for c in clips if any(w in c.name for w in args.only)]
    settings: list[dict[str, Any]] = [{"scale": "linear", "n_fft": f, "hop_length": h} for f, h in LINEAR]
    settings += [{"scale": "mel", "n_fft": f, "hop_length": h, "n_mels": m} for f, h, m in MEL]
    audio = {c.name: load(c) for c in clips}
    specimg.decode(specimg.encode(audio[clips[0].name][:SR], SR), n_iter=2)  # compile
    rows = []
    for s in settings:
        per_clip = {}
        wall = 0.0
        for c in clips:
            y = audio[c.name]
            img = specimg.encode(y, SR, **s)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y_hat, _ = specimg.decode(img)
            wall += time.perf_counter() - t0
            per_clip[c.name] = _perceptual.scores(y, y_hat, SR)
        n_rows = s["n_mels"] if s["scale"] == "mel" else s["n_fft"] // 2 + 1
        syn = [per_clip[c.name] for c in clips if c.synthetic]
        hum = [per_clip[c.name] for c in clips if not c.synthetic]
        row = dict(s, rows=n_rows, px_per_s=pixels_per_second(n_rows, s["hop_length"]), wall=wall, clips=per_clip,
                   pesq_synthetic=statistics.median(r["pesq"] for r in syn) if syn else float("nan"),
                   stoi_synthetic=statistics.median(r["stoi"] for r in syn) if syn else float("nan"),
                   pesq_human=statistics.median(r["pesq"] for r in hum) if hum else float("nan"),
                   min_pesq_synthetic=min(r["pesq"] for r in syn) if syn else float("nan"))
        rows.append(row)
        label = f"{s['scale']:6s} n_fft {s['n_fft']:4d} hop {s['hop_length']:3d}" + (f" mels {s['n_mels']:3d}" if s["scale"] == "mel" else " " * 9)
        print(f"{label}  {row['px_per_s'] / 1000:6.1f} kpx/s  PESQ synth {row['pesq_synthetic']:.2f} (min {row['min_pesq_synthetic']:.2f})"
              f"  STOI {row['stoi_synthetic']:.3f}  human {row['pesq_human']:.2f}  decode {wall:.1f} s", flush=True)
    if args.save:
        write_json(args.save, {"what": "benchmarks/speech_encoding.py", "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
