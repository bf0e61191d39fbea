#!/usr/bin/env python
"""How far the speech benchmark's PESQ moves when the picture changes by less than its last bit (issue 22, round 5).

Run from the repository::

    nice -n 5 python benchmarks/speech_spread.py [--only NAME ...] [--gains K] [--save FILE.json]

For every clip of ``benchmarks/speech.py`` (or those whose name contains one of
``--only``), the clip ``y`` and ``K`` copies of it scaled by ``g = 10**(k·0.0005/20)``,
k = 1 … K (default 6: up to +0.003 dB), are each encoded with the default parameters
(``specimg.encode(g·y, sr)``, linear, and ``scale="mel", n_mels=128``), decoded with
``specimg.decode`` (linear: balanced and high; mel: balanced) and scored with PESQ-WB
against ``g·y``.

One 16-bit level of a default picture is 126 dB / 65 535 = 0.0019 dB, so each gain step
moves every pixel's exact dB value by a quarter of a level: about a quarter of the pixels
change by one code, the sound does not change at all (PESQ is level-normalised). A decode
whose PESQ moves under such a change has a spread that any comparison of two decoders
on these clips must exceed before it says anything.

Printed: per clip and decode, PESQ at g = 1 and the range over all gains; per gain, the
median over the synthetic clips (the figure issue 22's targets are set on) and its range.
About 4 minutes on 2 cores for the nine clips.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _perceptual
from _common import DEFAULT_CORPUS, write_json
from speech import N_MELS, SR, cache_dir, gather, load

if TYPE_CHECKING:
    from specimg.phase import Quality

STEP_DB = 0.0005
#: name: (picture, decode quality)
DECODES: dict[str, tuple[str, Quality]] = {"balanced": ("linear", "balanced"), "high": ("linear", "high"),
                                           "mel": ("mel", "balanced")}


def spread(y: np.ndarray, n_gains: int) -> dict[str, list[float]]:
    """PESQ-WB of each decode (``DECODES``) at each gain, the first at g = 1."""
    import specimg

    out: dict[str, list[float]] = {name: [] for name in DECODES}
    for k in range(n_gains + 1):
        yk = (y * 10 ** (k * STEP_DB / 20)).astype(np.float32)
        pictures = {"linear": specimg.encode(yk, SR), "mel": specimg.encode(yk, SR, scale="mel", n_mels=N_MELS)}
        for name, (picture, quality) in DECODES.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y_hat = specimg.decode(pictures[picture], quality=quality)[0]
            out[name].append(_perceptual.pesq_wb(yk, y_hat[: len(yk)], SR))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME")
    ap.add_argument("--gains", type=int, default=6, metavar="K", help="gain steps above 1 (default: %(default)s)")
    ap.add_argument("--save", type=Path, default=None, metavar="FILE.json")
    args = ap.parse_args(argv)
    if _perceptual.missing():
        print(f"needs {', '.join(_perceptual.missing())}: {_perceptual.INSTALL_HINT}")
        return 2
    if args.gains < 1:
        ap.error(f"--gains {args.gains}: give at least 1")
    clips = [c for c in gather(args.corpus, cache_dir()) if not args.only or any(w in c.name for w in args.only)]
    report: dict[str, Any] = {"step_db": STEP_DB, "gains": args.gains, "clips": {}}
    print(f"{'clip':16s} " + " ".join(f"{name + ': g=1, range':>26s}" for name in DECODES), flush=True)
    for clip in clips:
        figs = spread(load(clip), args.gains)
        report["clips"][clip.name] = {"synthetic": clip.synthetic, **figs}
        print(f"{clip.name:16s} " + " ".join(
            f"{v[0]:10.2f}, {min(v):.2f} … {max(v):.2f} ({max(v) - min(v):.2f})" for v in figs.values()), flush=True)
    synthetic = [r for r in report["clips"].values() if r["synthetic"]]
    if synthetic:
        for name in DECODES:
            medians = [statistics.median(r[name][k] for r in synthetic) for k in range(args.gains + 1)]
            report[f"median_{name}"] = medians
            print(f"median synthetic, {name}: " + " ".join(f"{m:.3f}" for m in medians)
                  + f"  (range {min(medians):.3f} … {max(medians):.3f})")
    if args.save:
        write_json(args.save, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
