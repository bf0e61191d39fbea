"""Decode every phase path on the sample data and compare two runs (a refactor must not change the audio).

Each case encodes a file of ``sample_data/`` (linear or mel, 16 or 8 bit, with or without
stored phase), then decodes it with one preset and one phase source: none (magnitude
only), the stored phase (locked, and block-wise under a memory budget too small for the
locked decode), or ``phase_from=`` the original audio. ``--save`` writes every decoded
signal to an ``.npz``; ``--compare`` loads one and prints, per case, the largest
difference as a fraction of the peak.

Usage (the same machine and the same checkout state of everything but the change)::

    git worktree add /tmp/before <commit before the change>
    PYTHONPATH=/tmp/before/src python benchmarks/decode_paths.py --save /tmp/before.npz
    python benchmarks/decode_paths.py --save /tmp/after.npz --compare /tmp/before.npz

Only public API is used, so the script runs on both sides of a refactor.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import specimg
from specimg.resources import decode_bytes, locked_decode_bytes

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"

#: (name, file, encode keyword arguments)
ENCODINGS = [
    ("speech-linear16", "speech.wav", {}),
    ("speech-linear8-phase", "speech.wav", {"bit_depth": 8, "store_phase": True}),
    ("speech-linear16-phase", "speech.wav", {"store_phase": True}),
    ("speech-mel", "speech.wav", {"scale": "mel", "n_mels": 128}),
    ("speech-mel-phase", "speech.wav", {"scale": "mel", "n_mels": 128, "store_phase": True}),
    ("music-linear16", "music.wav", {}),
    ("music-mel-phase", "music.wav", {"scale": "mel", "n_mels": 128, "store_phase": True}),
]
PRESETS = ("fast", "balanced", "high")


def _cases() -> list[tuple[str, str, dict, str, dict, str | None]]:
    """(case name, file, encode kwargs, preset, decode kwargs, SPECIMG_MAX_MEMORY or None)."""
    out = []
    for name, file, enc in ENCODINGS:
        for preset in PRESETS:
            out.append((f"{name}/{preset}", file, enc, preset, {}, None))
        if enc.get("store_phase"):
            out.append((f"{name}/balanced/ignore-stored", file, enc, "balanced", {"stored_phase": False}, None))
            # a budget too small for the locked decode: the stored phase is held block by block
            out.append((f"{name}/balanced/blockwise", file, enc, "balanced", {}, "between"))
        else:
            out.append((f"{name}/balanced/phase_from", file, enc, "balanced", {"phase_from": True}, None))
        if enc.get("scale") == "mel" and not enc.get("store_phase"):
            out.append((f"{name}/balanced/if_plane", file, enc, "balanced", {"if_plane": True}, None))
    return out


def run(only: str = "") -> dict[str, np.ndarray]:
    results: dict[str, np.ndarray] = {}
    cache: dict[str, tuple[np.ndarray, int]] = {}
    for case, file, enc, preset, dec, budget in _cases():
        if only not in case:
            continue
        if file not in cache:
            cache[file] = specimg.read_audio(SAMPLES / file)
        y, sr = cache[file]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = specimg.encode(y, sr, **enc)
        kwargs = dict(dec)
        if kwargs.pop("if_plane", False):  # a dataset tile's IF plane (any values in [-1, 1] do)
            from specimg.dataset.ifplane import decode_tile

            plane = np.random.default_rng(1).uniform(-1, 1, img.pixels.shape)
            t0 = time.perf_counter()
            results[case] = decode_tile(img.pixels, plane, img.params, quality=preset, n_iter=None, rng=0)
            print(f"{case:45s} {time.perf_counter() - t0:6.2f} s", flush=True)
            continue
        if kwargs.pop("phase_from", False):
            kwargs["phase_from"] = y
        old = os.environ.get("SPECIMG_MAX_MEMORY")
        if budget is not None:  # what the plain decode needs, plus half the locked decode's extra
            p = img.params
            need = decode_bytes(p.n_fft, img.n_frames, n_rows=p.n_bins, length=p.output_length(img.n_frames) * p.n_channels)
            os.environ["SPECIMG_MAX_MEMORY"] = str(need + locked_decode_bytes(p.n_fft, img.n_frames) // 2)
        t0 = time.perf_counter()
        try:
            out, _ = specimg.decode(img, quality=preset, **kwargs)
        finally:
            if budget is None or old is not None:
                if old is not None:
                    os.environ["SPECIMG_MAX_MEMORY"] = old
            else:
                del os.environ["SPECIMG_MAX_MEMORY"]
        print(f"{case:45s} {time.perf_counter() - t0:6.2f} s", flush=True)
        results[case] = np.asarray(out)
    return results


def compare(now: dict[str, np.ndarray], before: dict[str, np.ndarray]) -> bool:
    ok = True
    print(f"\n{'case':45s} {'max |Δ| / peak':>15s}")
    for case, y in now.items():
        if case not in before:
            print(f"{case:45s} {'(not in before)':>15s}")
            continue
        b = before[case]
        if b.shape != y.shape:
            print(f"{case:45s} shape {b.shape} -> {y.shape}")
            ok = False
            continue
        rel = float(np.max(np.abs(y.astype(np.float64) - b))) / max(float(np.max(np.abs(b))), 1e-30)
        flag = "" if rel <= 1e-6 else "  CHANGED"
        ok &= rel <= 1e-6
        print(f"{case:45s} {rel:15.2e}{flag}")
    print("\nPASS: every case within 1e-6 of the peak" if ok else "\nFAIL: some case changed by more than 1e-6 of the peak")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", type=Path, help="write the decoded signals to this .npz")
    ap.add_argument("--compare", type=Path, help="an .npz of an earlier run to compare with")
    ap.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = ap.parse_args(argv)
    print(f"specimg from {Path(specimg.__file__).parent}")
    results = run(args.only)
    if args.save:
        np.savez(args.save, **{k.replace("/", "__"): v for k, v in results.items()})
    if args.compare:
        with np.load(args.compare) as data:
            before = {k.replace("__", "/"): data[k] for k in data.files}
        return 0 if compare(results, before) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
