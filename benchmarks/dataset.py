#!/usr/bin/env python
"""Acceptance benchmark of ``specimg.dataset``: build throughput and scaling, memory, and decoding.

Run from anywhere::

    python benchmarks/dataset.py [--corpus DIR] [--minutes 30] [--short-minutes 5]
                                 [--file-seconds 36] [--size 256x256] [--decode-tiles 12]
                                 [--throughput-tiles 32] [--repeat R] [--json PATH]
    python benchmarks/dataset.py --decode-only [--decode-minutes 3] [--throughput-tiles 32]

``--decode-only`` (quick mode, a few minutes) builds a dataset of ``--decode-minutes`` of the
looped corpus and runs only the decode-throughput comparison below.

The audio is the whole corpus (default ``../shared/corpus`` next to the repository),
written to a temporary folder as files: each corpus file looped (whole repetitions) to at
least ``--file-seconds`` seconds, at its own sample rate and channels, then copies of that
set taken in order until the total reaches ``--minutes`` (and, for the memory check, a
second folder of the first files reaching ``--short-minutes``). Seconds of audio are file
durations (a stereo file counts once).

In one run, each in a fresh child process (imports and a small warm-up build excluded
from the figures, and reported apart):

* ``specimg.dataset.build`` of ``--size`` tiles (n_fft and hop from its defaults), with 1
  and with 2 workers: seconds of audio per CPU-second (CPU of the build process plus its
  worker processes, from ``getrusage`` ``RUSAGE_SELF`` and ``RUSAGE_CHILDREN`` deltas) and
  per wall second; the 1 → 2 worker speed-up in wall time and the scaling efficiency
  (speed-up / 2);
* a baseline loop written as people do: ``librosa.load`` (resampled to the same rate) +
  ``librosa.feature.melspectrogram`` (same n_fft, hop, mel bands) + ``power_to_db`` + the
  same tiles (columns, step, silence rule) quantised to 16 bits + ``PIL.Image.save`` with
  Pillow's defaults, in one process;
* peak memory (largest ``ru_maxrss`` of the build process and its workers) of a build of
  ``--short-minutes`` against one of ``--minutes``, with 1 and 2 workers;
* whether the 1- and 2-worker builds wrote byte-identical tiles.

Then, on the dataset of the 2-worker build:

* ``--decode-tiles`` random tiles, saved as bare 16-bit PNGs (no metadata, as a GAN would
  write them), decoded with ``specimg.dataset.decode_dir(..., dataset=OUT_DIR)``: RMS level of
  each against the source segment it was cut from (source resampled to the dataset rate);
* stitched decoding (``decode_batch(..., stitch=True)``) of every tile of two whole files:
  RMS level against the source, and the seam check: for each tile boundary, the level of the
  frames within 2 frames of it above the mean power of the frames 4 to 12 frames away on
  both sides, in dB, on the first difference of the signal (which lifts the broadband
  energy of a click above tonal content), frames of hop_length / 2 samples. The same figure
  is given for the source at the same places and for the naive way (each tile decoded
  alone, the signals concatenated).

* decode throughput (issue 11): ``--throughput-tiles`` tiles drawn at random, saved as bare
  PNGs, decoded by ``specimg dataset decode`` (``decode_dir``, balanced quality) with 1 and
  with 2 workers, and by the loop audio-diffusion uses (its ``Mel.image_to_audio``: pixels →
  dB → ``librosa.db_to_power`` → ``librosa.feature.inverse.mel_to_audio`` with 32
  iterations, same sr, n_fft, hop, mel bands), one tile after the other, on the same tiles in
  the same run: seconds of audio per CPU-second (this process and its workers), per wall
  second, and tiles per wall second. A warm-up tile of each is excluded.

A PASS/FAIL summary of the acceptance targets ends the output. The exit status is 0 when
every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import AUDIO_EXTS, DEFAULT_CORPUS, environment, fmt, print_summary, write_json

SR = 22050

# Acceptance targets (issue 5).
THROUGHPUT_TARGET = 300.0  # s of audio per CPU-second, per worker
SPEEDUP_TARGET = 1.7  # 1 → 2 workers, wall time
RMS_TOL_DB = 0.5
SEAM_TOL_DB = 3.0
MEMORY_TOL = 0.20  # peak memory of the long build within 20 % of the short one's


# ---------------------------------------------------------------------------- the audio
def make_corpus(corpus: Path, dest: Path, minutes: float, short_minutes: float, file_seconds: float) -> dict[str, Any]:
    """Write the looped corpus copies; return {"long": folder, "short": folder, seconds...}."""
    import soundfile as sf

    looped = []
    for path in sorted(p for p in corpus.iterdir() if p.suffix.lower() in AUDIO_EXTS):
        data, sr = sf.read(path, dtype="int16", always_2d=True)
        reps = max(1, math.ceil(file_seconds * sr / len(data)))
        looped.append((path.stem, np.tile(data, (reps, 1)), sr))
    if not looped:
        raise SystemExit(f"no audio files in {corpus}")
    long_dir, short_dir = dest / "long", dest / "short"
    long_dir.mkdir(parents=True)
    short_dir.mkdir()
    total = short_total = 0.0
    k = 0
    files: list[dict[str, Any]] = []
    while total < minutes * 60:
        stem, data, sr = looped[k % len(looped)]
        name = f"{stem}__copy{k // len(looped):02d}.wav"
        sf.write(long_dir / name, data, sr, subtype="PCM_16")
        seconds = len(data) / sr
        if short_total < short_minutes * 60:
            os.link(long_dir / name, short_dir / name)
            short_total += seconds
        total += seconds
        files.append({"name": name, "sr": sr, "channels": data.shape[1], "seconds": seconds})
        k += 1
    return {"long": long_dir, "short": short_dir, "seconds": total, "short_seconds": short_total, "files": files}


# ---------------------------------------------------------------------------- child processes
def _usage() -> dict[str, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_self": me.ru_utime + me.ru_stime,
        "cpu_children": kids.ru_utime + kids.ru_stime,
        "maxrss_self_mb": me.ru_maxrss / 1024,  # Linux: KiB
        "maxrss_children_mb": kids.ru_maxrss / 1024,
    }


def _machine_busy_s() -> float:
    """CPU-seconds every process of the machine has used since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except OSError:
        return math.nan
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def _warm_audio(tmp: Path) -> Path:
    """A 3-second 22.05 kHz mono file and a 44.1 kHz stereo one (resampler warm-up)."""
    import soundfile as sf

    folder = tmp / "warm-audio"
    folder.mkdir()
    rng = np.random.default_rng(0)
    sf.write(folder / "a.wav", 0.1 * rng.standard_normal(3 * SR), SR)
    sf.write(folder / "b.wav", 0.1 * rng.standard_normal((6 * SR, 2)), 2 * SR)
    return folder


def _measured(fn: Callable[[], Any]) -> tuple[Any, dict[str, Any], dict[str, float]]:
    """Run ``fn``; return its result, the usage after it, and wall/CPU figures of the run.

    CPU counts this process and its (finished) children; ``other_cpu_s`` is what other
    processes of the machine used meanwhile, which takes CPUs away from the run.
    """
    u0, m0, t0 = _usage(), _machine_busy_s(), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    u1, m1 = _usage(), _machine_busy_s()
    workers = u1["cpu_children"] - u0["cpu_children"]
    cpu = (u1["cpu_self"] - u0["cpu_self"]) + workers
    return result, u1, {"wall_s": wall, "cpu_s": cpu, "other_cpu_s": max(0.0, (m1 - m0) - cpu), "cpu_workers_s": workers}


def child_build(spec: dict[str, Any]) -> dict[str, Any]:
    from specimg.dataset import build

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specimg-warm-") as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build(_warm_audio(Path(d)), Path(d) / "out", size=tuple(spec["size"]), workers=1)
    startup = _usage()
    startup_wall = time.perf_counter() - t0
    rss0 = _rss_mb()
    report, u1, measured = _measured(
        lambda: build(spec["audio"], spec["out"], size=tuple(spec["size"]), workers=spec["workers"])
    )
    return {
        **measured,
        "startup_cpu_s": startup["cpu_self"],
        "startup_wall_s": startup_wall,
        "rss_before_mb": rss0,
        "peak_mb": max(u1["maxrss_self_mb"], u1["maxrss_children_mb"]),
        "peak_self_mb": u1["maxrss_self_mb"],
        "peak_workers_mb": u1["maxrss_children_mb"],
        "tiles": report.tiles,
        "tiles_silent": report.tiles_silent,
        "files_too_short": report.files_too_short,
        "files_failed": report.files_failed,
        "report": str(report),
    }


def child_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """librosa.load + melspectrogram + power_to_db + the same tiles + Pillow PNGs, in one process."""
    import librosa
    from PIL import Image

    p = spec["params"]
    n_frames, step, floor, db_min, db_max = spec["n_frames"], spec["step"], spec["min_level_db"], p["db_min"], p["db_max"]

    def run(folder: Path, out: Path) -> int:
        out.mkdir(parents=True, exist_ok=True)
        tiles = 0
        for path in sorted(folder.iterdir()):
            y, _ = librosa.load(path, sr=p["sr"], mono=False)
            for c, ch in enumerate(np.atleast_2d(y)):
                S = librosa.feature.melspectrogram(y=ch, sr=p["sr"], n_fft=p["n_fft"], hop_length=p["hop_length"],
                                                   n_mels=p["n_mels"], fmin=p["fmin"], fmax=p["fmax"])  # fmt: skip
                S_db = librosa.power_to_db(S, ref=1.0, top_db=None)
                for f in range(0, S_db.shape[1] - n_frames + 1, step):
                    tile = S_db[::-1, f : f + n_frames]  # low frequencies at the bottom
                    if tile.max() < floor:
                        continue
                    x = (np.clip(tile, db_min, db_max) - db_min) / (db_max - db_min)
                    Image.fromarray(np.rint(x * 65535).astype(np.uint16)).save(out / f"{path.stem}__c{c}__f{f:07d}.png")
                    tiles += 1
        return tiles

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specimg-warm-") as d:
        run(_warm_audio(Path(d)), Path(d) / "out")
    startup = _usage()
    startup_wall = time.perf_counter() - t0
    tiles, u1, measured = _measured(lambda: run(Path(spec["audio"]), Path(spec["out"])))
    return {
        **measured,
        "startup_cpu_s": startup["cpu_self"],
        "startup_wall_s": startup_wall,
        "peak_mb": u1["maxrss_self_mb"],
        "tiles": tiles,
    }


def in_child(kind: str, **spec: Any) -> dict[str, Any]:
    """Run ``child_<kind>(spec)`` in a fresh interpreter; return its JSON result."""
    spec = {k: (str(v) if isinstance(v, Path) else v) for k, v in spec.items()}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(spec)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {kind} failed with status {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the shortest wall time (CPU and memory come with it)."""
    return min(runs, key=lambda r: r["wall_s"])


# ---------------------------------------------------------------------------- decoding checks
def seam_excess_db(y: np.ndarray, seams: list[int], frame: int) -> list[float]:
    """Per seam: level of the frames within 2 frames of it above the mean power of the
    frames 4 to 12 frames away on both sides, in dB, on the first difference of ``y``."""
    d = np.diff(np.asarray(y, dtype=np.float64))
    n = len(d) // frame
    level = np.mean(d[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-20
    out = []
    for s in seams:
        k = s // frame
        near = [j for j in range(k - 2, k + 3) if 0 <= j < n]
        far = [j for j in list(range(k - 12, k - 3)) + list(range(k + 4, k + 13)) if 0 <= j < n]
        out.append(float(10 * np.log10(level[near].max() / level[far].mean())))
    return out


class Sources:
    """Source audio at the dataset rate, (n_channels, n_samples), read once per file."""

    def __init__(self, folder: Path, sr: int) -> None:
        self.folder, self.sr, self.cache = folder, sr, {}  # type: ignore[var-annotated]

    def __call__(self, source: str) -> np.ndarray:
        if source not in self.cache:
            import specimg

            y, _ = specimg.read_audio(self.folder / source, sr=self.sr)
            self.cache[source] = y.reshape(-1, y.shape[-1])
        return self.cache[source]


def manifest_rows(out: Path) -> list[dict[str, Any]]:
    rows = []
    for split in ("train", "validation"):
        if not (out / split / "metadata.jsonl").is_file():  # a build may write no validation split
            continue
        for line in (out / split / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            row["path"] = out / split / row["file_name"]
            rows.append(row)
    return rows


def check_tiles(out: Path, sources: Sources, n: int, tmp: Path) -> list[dict[str, Any]]:
    """Decode ``n`` random tiles, stripped of metadata, with decode_dir(dataset=out): level vs source."""
    import soundfile as sf
    from PIL import Image

    import specimg
    from specimg.dataset.decode import decode_dir
    from specimg.metrics import level_difference_db

    rows = manifest_rows(out)
    rng = np.random.default_rng(0)
    picked = [rows[i] for i in sorted(rng.choice(len(rows), size=min(n, len(rows)), replace=False))]
    gan = tmp / "gan"
    gan.mkdir()
    for k, row in enumerate(picked):
        Image.fromarray(specimg.load(row["path"]).pixels).save(gan / f"{k:04d}.png")
    t0 = time.perf_counter()
    written = decode_dir(gan, tmp / "decoded", dataset=out, subtype="FLOAT")
    per_tile = (time.perf_counter() - t0) / len(written)
    results = []
    for row, wav in zip(picked, written):
        y_hat, _ = sf.read(wav, dtype="float64")
        src = sources(row["source"])[row["channel"]]
        segment = src[row["offset"] : row["offset"] + len(y_hat)]
        results.append({
            "tile": row["file_name"], "peak_db": row["peak_db"], "rms_db": row["rms_db"],
            "rms_diff_db": level_difference_db(y_hat, segment), "decode_s": per_tile,
        })  # fmt: skip
    return results


def check_stitch(out: Path, sources: Sources, source: str, hop: int) -> dict[str, Any]:
    """Stitched vs naive decoding of every tile of channel 0 of ``source``."""
    import specimg
    from specimg.dataset.decode import decode_batch
    from specimg.metrics import level_difference_db

    rows = sorted((r for r in manifest_rows(out) if r["source"] == source and r["channel"] == 0),
                  key=lambda r: r["frame"])  # fmt: skip
    frames = [r["frame"] for r in rows]
    tiles = np.stack([specimg.load(r["path"]).pixels for r in rows])
    width = tiles.shape[-1]
    step = json.loads((out / "specimg.json").read_text())["tile"]["step_frames"]
    if frames != list(range(0, step * len(rows), step)):
        return {"source": source, "note": "tiles not contiguous (silent tiles skipped); not checked"}
    t0 = time.perf_counter()
    y = decode_batch(tiles, out, stitch=True)
    t_stitch = time.perf_counter() - t0
    # the naive way: each tile decoded alone, the signals (trimmed to the step) joined end to end
    pieces = [t[: step * hop] for t in decode_batch(tiles, out)]
    naive = np.concatenate(pieces)
    naive_seams = list(np.cumsum([len(t) for t in pieces])[:-1])
    src = sources(source)[0][: len(y)]
    seams = [k * step * hop for k in range(1, len(rows))]
    frame = hop // 2
    ours, theirs = seam_excess_db(y, seams, frame), seam_excess_db(src, seams, frame)
    naive_ex = seam_excess_db(naive, naive_seams, frame)
    return {
        "source": source,
        "tiles": len(rows),
        "seconds": len(y) / SR,
        "rms_diff_db": level_difference_db(y, src),
        "seam_max_db": max(ours),
        "seam_median_db": statistics.median(ours),
        "source_seam_max_db": max(theirs),
        "naive_seam_max_db": max(naive_ex),
        "naive_seams_over_tol": sum(v > SEAM_TOL_DB for v in naive_ex),
        "decode_s": t_stitch,
        "tile_width": width,
    }


def decode_throughput(out: Path, n: int, tmp: Path) -> dict[str, Any]:
    """specimg's decode_dir (1 and 2 workers) against audio-diffusion's librosa loop on the same ``n`` tiles."""
    import librosa

    from specimg.dataset.decode import decode_batch, decode_dir, params_of
    from specimg.image import pixels_to_db
    from specimg.pictures import read_gray, write_png

    p = params_of(out)
    rows = manifest_rows(out)
    rng = np.random.default_rng(1)
    picked = [rows[i] for i in sorted(rng.choice(len(rows), size=min(n + 1, len(rows)), replace=False))]
    gan = tmp / "throughput-gan"
    gan.mkdir()
    for k, row in enumerate(picked[1:]):  # bare PNGs, as a GAN writes them
        write_png(gan / f"{k:04d}.png", read_gray(row["path"]))
    warm = read_gray(picked[0]["path"])
    tiles = [read_gray(gan / f"{k:04d}.png") for k in range(len(picked) - 1)]
    seconds = sum(len(y) for y in decode_batch(tiles[:1], out, n_iter=0)) / p.sr * len(tiles)

    def diffusion_loop(pixels: list[np.ndarray]) -> list[np.ndarray]:
        """audio-diffusion's Mel.image_to_audio on our tiles (rows flipped back to low frequencies first)."""
        out_audio = []
        for px in pixels:
            db = pixels_to_db(px[::-1] if p.flip else px, p)
            S = librosa.db_to_power(db)
            out_audio.append(librosa.feature.inverse.mel_to_audio(
                S, sr=p.sr, n_fft=p.n_fft, hop_length=p.hop_length, fmin=p.fmin, fmax=p.fmax,
                htk=p.htk, norm=p.norm, n_iter=32))  # fmt: skip
        return out_audio

    decode_batch([warm], out)  # imports, compiled kernels, filterbank caches
    diffusion_loop([warm])
    runs: dict[str, Any] = {}
    for workers in (1, 2):
        _, _, m = _measured(lambda: decode_dir(gan, tmp / f"throughput-{workers}w", dataset=out, workers=workers))
        runs[f"specimg {workers}w"] = m | {"workers": workers}
    _, _, m = _measured(lambda: diffusion_loop(tiles))
    runs["librosa mel_to_audio 32"] = m | {"workers": 1}
    for r in runs.values():
        r |= {"audio_per_cpu_s": seconds / r["cpu_s"], "audio_per_wall_s": seconds / r["wall_s"],
              "tiles_per_wall_s": len(tiles) / r["wall_s"], "tiles_per_cpu_s": len(tiles) / r["cpu_s"]}  # fmt: skip
    return {"tiles": len(tiles), "audio_seconds": seconds, "tile_seconds": seconds / len(tiles), "runs": runs,
            "librosa": librosa.__version__}  # fmt: skip


def print_throughput(t: dict[str, Any]) -> None:
    print(f"decode throughput: {t['tiles']} tiles of {t['tile_seconds']:.2f} s ({t['audio_seconds']:.1f} s of audio), "
          "bare PNGs; CPU of this process and its workers; librosa " + t["librosa"])  # fmt: skip
    print("  specimg: decode_dir(dataset=OUT_DIR), balanced quality (PGHI + fast Griffin-Lim); audio-diffusion's loop:")
    print("  pixels -> dB -> db_to_power -> librosa.feature.inverse.mel_to_audio(n_iter=32), one tile after the other")
    print_table(
        ["run", "workers", "wall s", "CPU s", "CPU/wall", "others CPU s", "audio s/CPU-s", "audio s/wall-s",
         "tiles/s", "tiles/CPU-s"],
        [[name, r["workers"], r["wall_s"], r["cpu_s"], r["cpu_s"] / r["wall_s"], r["other_cpu_s"],
          r["audio_per_cpu_s"], r["audio_per_wall_s"], r["tiles_per_wall_s"], r["tiles_per_cpu_s"]]
         for name, r in t["runs"].items()],
        ["s", "d", ".2f", ".2f", ".2f", ".2f", ".2f", ".2f", ".2f", ".2f"],
    )  # fmt: skip
    lib = t["runs"]["librosa mel_to_audio 32"]
    one, two = t["runs"]["specimg 1w"], t["runs"]["specimg 2w"]
    print(f"specimg vs librosa loop per CPU-second: {one['audio_per_cpu_s'] / lib['audio_per_cpu_s']:.1f}× "
          f"(1 worker); per wall second with 2 workers: {two['audio_per_wall_s'] / lib['audio_per_wall_s']:.1f}×")


def throughput_check(t: dict[str, Any]) -> tuple[str, bool, str]:
    lib, one = t["runs"]["librosa mel_to_audio 32"], t["runs"]["specimg 1w"]
    return ("decode: more seconds of audio per CPU-second than audio-diffusion's mel_to_audio loop (32 iterations)",
            one["audio_per_cpu_s"] > lib["audio_per_cpu_s"],
            f"{one['audio_per_cpu_s']:.2f} vs {lib['audio_per_cpu_s']:.2f}")  # fmt: skip


def decode_only(args: argparse.Namespace, corpus: Path, size: tuple[int, int]) -> int:
    """Quick mode: a small build, then only the decode-throughput comparison."""
    from specimg.dataset import build

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specimg-bench-decode-") as d:
        tmp = Path(d)
        print("  writing the looped corpus and building ...", file=sys.stderr, flush=True)
        audio = make_corpus(corpus, tmp / "audio", args.decode_minutes, args.decode_minutes / 2, args.file_seconds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build(audio["long"], tmp / "out", size=size, workers=2)
        print("  decode throughput ...", file=sys.stderr, flush=True)
        t = decode_throughput(tmp / "out", args.throughput_tiles, tmp)
    env = environment()
    print("  ".join(f"{k} {v}" for k, v in env.items()))
    print(f"dataset: {args.decode_minutes:g} min of {corpus} looped, {size[0]}×{size[1]} tiles, default build; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print_throughput(t)
    print(f"total {time.perf_counter() - t0:.1f} s")
    print()
    ok = print_summary([throughput_check(t)])
    if args.json is not None:
        write_json(args.json, {"environment": env, "decode_throughput": t, "pass": ok})
    return 0 if ok else 1


def tiles_identical(a: Path, b: Path) -> bool:
    def digest(root: Path) -> dict[str, str]:
        return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
                for p in root.rglob("*.png") if ".build" not in p.parts}  # fmt: skip

    return digest(a) == digest(b)


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"folder of audio (default: {DEFAULT_CORPUS})")
    ap.add_argument("--minutes", type=float, default=30.0, help="audio for the throughput build (default 30)")
    ap.add_argument("--short-minutes", type=float, default=5.0, help="audio for the memory comparison (default 5)")
    ap.add_argument("--file-seconds", type=float, default=36.0,
                    help="each corpus file is looped to this (default 36: six 256-frame tiles at hop 512)")
    ap.add_argument("--size", default="256x256", help="tile ROWSxFRAMES (default 256x256)")
    ap.add_argument("--decode-tiles", type=int, default=12, help="random tiles decoded for the level check (default 12)")
    ap.add_argument("--throughput-tiles", type=int, default=32,
                    help="tiles decoded by specimg and by librosa's loop for the decode throughput (default 32)")
    ap.add_argument("--decode-only", action="store_true", help="quick mode: a small build, then decode throughput only")
    ap.add_argument("--decode-minutes", type=float, default=3.0, help="--decode-only: audio in its build (default 3)")
    ap.add_argument("--repeat", type=int, default=1, help="run each build this many times, keep the fastest (default 1)")
    ap.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON here")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, spec = args.child
        result = {"build": child_build, "baseline": child_baseline}[kind](json.loads(spec))
        print(json.dumps(result))
        return 0
    if (args.minutes <= 0 or not 0 < args.short_minutes < args.minutes or args.repeat < 1 or args.decode_tiles < 1
            or args.throughput_tiles < 1 or args.decode_minutes <= 0):
        ap.error("need --minutes > --short-minutes > 0, --repeat >= 1, --decode-tiles >= 1")
    rows_s, _, frames_s = args.size.lower().partition("x")
    size = (int(rows_s), int(frames_s))
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"corpus {corpus} not found; this benchmark needs it", file=sys.stderr)
        return 2

    if args.decode_only:
        return decode_only(args, corpus, size)
    from specimg.dataset import dataset_params

    params = dataset_params(size=size, sr=SR)
    hop = int(params.hop_length)  # type: ignore[arg-type]
    load = os.getloadavg()
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specimg-bench-dataset-") as d:
        tmp = Path(d)
        print("  writing the looped corpus ...", file=sys.stderr, flush=True)
        audio = make_corpus(corpus, tmp / "audio", args.minutes, args.short_minutes, args.file_seconds)

        def build_runs(folder: Path, workers: int, tag: str) -> dict[str, Any]:
            runs = []
            for r in range(args.repeat):
                out = tmp / f"out-{tag}-{workers}w-{r}"
                print(f"  build {tag}, {workers} worker(s) ...", file=sys.stderr, flush=True)
                runs.append(in_child("build", audio=folder, out=out, workers=workers, size=list(size)) | {"out": str(out)})
            return best(runs)

        b1 = build_runs(audio["long"], 1, "long")
        b2 = build_runs(audio["long"], 2, "long")
        print("  baseline loop ...", file=sys.stderr, flush=True)
        base = best([
            in_child("baseline", audio=audio["long"], out=tmp / f"baseline-{r}", params=params.to_dict(),
                     n_frames=size[1], step=size[1], min_level_db=-80.0)
            for r in range(args.repeat)
        ])  # fmt: skip
        s1 = build_runs(audio["short"], 1, "short")
        s2 = build_runs(audio["short"], 2, "short")
        same_tiles = tiles_identical(Path(b1["out"]), Path(b2["out"]))

        out = Path(b2["out"])
        sources = Sources(audio["long"], SR)
        print(f"  decoding {args.decode_tiles} tiles ...", file=sys.stderr, flush=True)
        tile_checks = check_tiles(out, sources, args.decode_tiles, tmp)
        stitch_checks = []
        for stem in ("music_wanderer", "stereo44k_the_deep_path"):
            name = next((f["name"] for f in audio["files"] if f["name"].startswith(stem)), None)
            if name is not None:
                print(f"  stitching {name} ...", file=sys.stderr, flush=True)
                stitch_checks.append(check_stitch(out, sources, name, hop))
        print("  decode throughput ...", file=sys.stderr, flush=True)
        throughput = decode_throughput(out, args.throughput_tiles, tmp)
    t_total = time.perf_counter() - t_start

    seconds = audio["seconds"]
    thr1, thr2 = seconds / b1["cpu_s"], seconds / b2["cpu_s"]
    thr_base = seconds / base["cpu_s"]
    speedup = b1["wall_s"] / b2["wall_s"]
    mem1, mem2 = b1["peak_mb"] / s1["peak_mb"], b2["peak_mb"] / s2["peak_mb"]
    rms = [c["rms_diff_db"] for c in tile_checks]
    stitched = [c for c in stitch_checks if "seam_max_db" in c]
    env = environment()

    print(f"specimg dataset benchmark: {size[0]}×{size[1]} tiles, n_fft={params.n_fft} hop_length={hop} "
          f"n_mels={params.n_mels} sr={SR} ({size[1] * hop / SR:.2f} s per tile), 16-bit PNG")
    print(f"audio: {corpus} looped to ≥ {args.file_seconds:g} s per file: {len(audio['files'])} files, "
          f"{seconds / 60:.1f} min (memory check: {audio['short_seconds'] / 60:.1f} min); best of {args.repeat}")
    print("  ".join(f"{k} {v}" for k, v in env.items()))
    print()
    print("throughput: seconds of audio (file duration) per CPU-second of the build process and its workers, and per")
    print("  wall second; imports and a warm-up build excluded (startup CPU shown apart). Baseline: librosa.load +")
    print("  melspectrogram + power_to_db + the same tiles + PIL.Image.save (default zlib level 6; specimg uses 1).")
    print("  CPU/wall: the parallelism reached; others CPU s: CPU used meanwhile by other processes of the machine")
    print(f"  (/proc/stat), which takes CPUs from the workers; {os.cpu_count()} CPUs, load average before the run "
          f"{load[0]:.2f}.")
    header = ["run", "workers", "tiles", "wall s", "CPU s", "CPU/wall", "others CPU s", "audio s/CPU-s", "audio s/wall-s",
              "startup CPU s", "peak MB"]  # fmt: skip
    table = [
        ["specimg build", w, b["tiles"], b["wall_s"], b["cpu_s"], b["cpu_s"] / b["wall_s"], b["other_cpu_s"], thr,
         seconds / b["wall_s"], b["startup_cpu_s"], b["peak_mb"]]
        for w, b, thr in ((1, b1, thr1), (2, b2, thr2))
    ] + [["librosa + Pillow loop", 1, base["tiles"], base["wall_s"], base["cpu_s"], base["cpu_s"] / base["wall_s"],
          base["other_cpu_s"], thr_base, seconds / base["wall_s"], base["startup_cpu_s"], base["peak_mb"]]]  # fmt: skip
    specs = ["s", "d", "d", ".2f", ".2f", ".2f", ".2f", ".0f", ".0f", ".2f", ".0f"]
    print_table(header, table, specs)
    print(f"speed-up 1 → 2 workers: {speedup:.2f}× (scaling efficiency {speedup / 2:.0%}); specimg vs baseline per "
          f"CPU-second: {thr1 / thr_base:.1f}×; 1- and 2-worker tiles byte-identical: {'yes' if same_tiles else 'no'}")
    print(f"silent tiles skipped {b1['tiles_silent']}, files too short {b1['files_too_short']}, "
          f"failed {b1['files_failed']}")
    print()
    print("peak memory: largest ru_maxrss of the build process and its workers (MB); RSS after imports in brackets")
    print_table(
        ["workers", f"{audio['short_seconds'] / 60:.0f}-min build", f"{seconds / 60:.0f}-min build", "ratio"],
        [[1, f"{s1['peak_mb']:.0f} ({s1['rss_before_mb']:.0f})", f"{b1['peak_mb']:.0f} ({b1['rss_before_mb']:.0f})", mem1],
         [2, f"{s2['peak_mb']:.0f} ({s2['rss_before_mb']:.0f})", f"{b2['peak_mb']:.0f} ({b2['rss_before_mb']:.0f})", mem2]],
        ["d", "s", "s", ".3f"],
    )  # fmt: skip
    print()
    print(f"tiles decoded with decode_dir(dataset=OUT_DIR) from bare 16-bit PNGs (balanced quality, "
          f"{tile_checks[0]['decode_s']:.2f} s per tile): RMS level vs the source segment")
    print_table(["tile", "peak dB", "rms dB", "dRMS dB"],
                [[c["tile"], c["peak_db"], c["rms_db"], c["rms_diff_db"]] for c in tile_checks],
                ["s", ".1f", ".1f", "+.3f"])  # fmt: skip
    print()
    print("stitched decoding of whole files (channel 0): level vs source, and the seam check (dB above the")
    print(f"  neighbours, max over seams; frames of {hop // 2} samples of the first difference). naive = each tile")
    print("  decoded alone and concatenated.")
    print_table(
        ["source", "tiles", "s", "dRMS dB", "seam max", "seam median", "source", "naive", "naive > 3 dB", "decode s"],
        [[c["source"], c["tiles"], c["seconds"], c["rms_diff_db"], c["seam_max_db"], c["seam_median_db"],
          c["source_seam_max_db"], c["naive_seam_max_db"], c["naive_seams_over_tol"], c["decode_s"]] for c in stitched],
        ["s", "d", ".1f", "+.3f", ".2f", ".2f", ".2f", ".2f", "d", ".1f"],
    )  # fmt: skip
    for c in stitch_checks:
        if "note" in c:
            print(f"note: {c['source']}: {c['note']}")
    print()
    print_throughput(throughput)
    print(f"total {t_total:.1f} s")
    print()
    checks = [
        (f"build throughput >= {THROUGHPUT_TARGET:.0f} s of audio per CPU-second per worker (1 and 2 workers)",
         min(thr1, thr2) >= THROUGHPUT_TARGET, f"{thr1:.0f} and {thr2:.0f}"),
        (f"speed-up 1 → 2 workers >= {SPEEDUP_TARGET}×", speedup >= SPEEDUP_TARGET, f"{speedup:.2f}×"),
        (f"decoded tiles' RMS within {RMS_TOL_DB} dB of the source ({len(rms)} tiles)",
         all(abs(v) <= RMS_TOL_DB for v in rms), f"max |dRMS| {max(abs(v) for v in rms):.3f} dB"),
        (f"stitched files' RMS within {RMS_TOL_DB} dB of the source",
         bool(stitched) and all(abs(c["rms_diff_db"]) <= RMS_TOL_DB for c in stitched),
         ", ".join(f"{c['rms_diff_db']:+.3f} dB" for c in stitched)),
        (f"no frame around a seam more than {SEAM_TOL_DB:.0f} dB above its neighbours (stitched)",
         bool(stitched) and all(c["seam_max_db"] <= SEAM_TOL_DB for c in stitched),
         "max " + ", ".join(f"{c['seam_max_db']:.2f} dB" for c in stitched)),
        ((f"peak memory of the {seconds / 60:.0f}-min build within {MEMORY_TOL:.0%} of the "
          f"{audio['short_seconds'] / 60:.0f}-min one (1 and 2 workers)"),
         max(abs(mem1 - 1), abs(mem2 - 1)) <= MEMORY_TOL, f"ratios {mem1:.3f}, {mem2:.3f}"),
        throughput_check(throughput),
    ]  # fmt: skip
    all_ok = print_summary(checks)
    if args.json is not None:
        write_json(args.json, {
            "config": {"corpus": str(corpus), "minutes": args.minutes, "short_minutes": args.short_minutes,
                       "file_seconds": args.file_seconds, "size": list(size), "repeat": args.repeat,
                       "params": params.to_dict(), "audio_seconds": seconds, "short_audio_seconds": audio["short_seconds"],
                       "files": audio["files"]},
            "environment": env,
            "build_1_worker": b1, "build_2_workers": b2, "baseline": base,
            "build_short_1_worker": s1, "build_short_2_workers": s2,
            "throughput_1": thr1, "throughput_2": thr2, "throughput_baseline": thr_base, "speedup": speedup,
            "memory_ratio_1": mem1, "memory_ratio_2": mem2, "tiles_identical_1_vs_2_workers": same_tiles,
            "tiles": tile_checks, "stitch": stitch_checks, "decode_throughput": throughput,
            "summary": [{"check": name, "pass": ok, "detail": why} for name, ok, why in checks],
            "pass": all_ok, "total_s": t_total, "load_average_before": list(load),
        })  # fmt: skip
    return 0 if all_ok else 1


def print_table(header: list[str], rows: list[list[Any]], specs: list[str]) -> None:
    cells = [header] + [[fmt(v, s) for v, s in zip(r, specs)] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for j, c in enumerate(cells):
        print("  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(c, widths))))
        if j == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
