#!/usr/bin/env python
"""Speech benchmark of phase retrieval (issue 22): human and synthetic voices, PESQ-WB, STOI, SC.

Run from the repository::

    nice -n 5 python benchmarks/speech.py [--corpus DIR] [--cache DIR] [--only NAME ...]
        [--repeat R] [--save FILE.json] [--compare FILE.json] [--mel-n-iter N]

Clips (22 050 Hz mono, peak 0.8):

* ``human``: ``speech_human.wav`` of the corpus (default ``../shared/corpus``);
* ``espeak_sample``: ``sample_data/speech.wav`` (espeak-ng, en-us);
* synthetic clips generated here by text-to-speech engines that Debian packages
  (``espeak-ng``, ``flite``): male and female voices, a different sentence each,
  3–6 s, resampled to 22 050 Hz with ``librosa.resample`` (soxr_hq) where the engine
  writes another rate (flite: 16 kHz). They are written once to a cache folder (default
  ``$XDG_CACHE_HOME/specimg/speech-clips``, i.e. ``~/.cache/...``; never committed) and
  reused. An engine that is not installed is skipped, and the run says so.

For every clip, with the default encode parameters (``n_fft=2048``, ``hop_length=512``,
16-bit pictures, −120 dB floor):

* linear pictures: ``img = specimg.encode(y, sr)``, ``specimg.decode(img, quality=q)`` for
  q in fast, balanced, high; reference ``librosa.griffinlim(S, n_iter=32, hop_length=512,
  length=len(y), random_state=0)`` on the picture's own magnitude ``S`` (its calibrated
  magnitude divided by :func:`specimg.spectral.calibration`: librosa's units);
* mel pictures: ``specimg.encode(y, sr, scale="mel", n_mels=128)``, ``decode`` (balanced);
  reference ``librosa.feature.inverse.mel_to_audio`` on the picture's mel bands (librosa's
  power units), run as its body ``griffinlim(mel_to_stft(M), n_iter=32, random_state=0)``
  because ``mel_to_audio`` cannot be seeded (see ``benchmarks/phase.py``).

Figures per output ŷ: PESQ-WB (16 kHz) and STOI against ``y`` (``_perceptual.py``), and
the spectral convergence ``SC = 20 log10(‖|STFT(ŷ)| − |STFT(y)|‖ / ‖|STFT(y)|‖)`` (dB,
lower is better; librosa's STFT, n_fft 2048, hop 512); for the mel outputs also the mel SC
(on librosa's power mel spectrogram, 128 bands). Only ``decode`` and the librosa calls are
timed (wall ``perf_counter`` and CPU ``process_time``, best of ``--repeat``, round-robin);
the ratios are totals over the clips, measured in the same run: balanced / GL32, high /
GL32, mel decode / mel_to_audio.

``--only`` keeps the clips (and methods: fast, balanced, high, gl32, mel, m2a) whose name
contains one of the given words; ``--mel-n-iter N`` runs the mel decode with N iterations
instead of its preset's. ``--save`` writes the figures as JSON; ``--compare`` prints
a before/after table against a saved run (per clip and method: the figure before, after,
and the difference). The summary checks the targets of issue 22: median PESQ-WB over the
synthetic clips ≥ 4.0 (balanced), ≥ 4.2 (high), ≥ 3.3 (mel), time ≤ 1.0× / ≤ 5× GL32 and
≤ 0.5× mel_to_audio, and with ``--compare`` no human clip worse by more than 0.05 PESQ.

The write-up of what was tried: ``benchmarks/SPEECH.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _perceptual
from _common import DEFAULT_CORPUS, REPO, environment, print_summary, write_json

SR = 22050
N_FFT = 2048
HOP = 512
N_MELS = 128
PEAK = 0.8
METHODS = ("gl32", "fast", "balanced", "high", "m2a", "mel")
MEL_METHODS = ("m2a", "mel")
TARGETS_PESQ = {"balanced": 4.0, "high": 4.2, "mel": 3.3}
TARGETS_TIME = {("balanced", "gl32"): 1.0, ("high", "gl32"): 5.0, ("mel", "m2a"): 0.5}
HUMAN_PESQ_DROP = 0.05


@dataclass(frozen=True)
class Clip:
    """One benchmark clip: a file, or a sentence for a text-to-speech engine and voice."""

    name: str
    engine: str  # "file", "espeak-ng" or "flite"
    voice: str = ""
    text: str = ""
    path: Path | None = None
    synthetic: bool = True


TTS_CLIPS = (
    Clip("espeak_m3", "espeak-ng", "en+m3", "The quick brown fox jumps over the lazy dog, and the dog does not mind at all."),
    Clip("espeak_f3", "espeak-ng", "en+f3", "Please call Stella and ask her to bring these things with her from the store."),
    Clip("espeak_us_f4", "espeak-ng", "en-us+f4", "A rainbow is a division of white light into many beautiful colours."),
    Clip("flite_slt", "flite", "slt", "She sells sea shells by the sea shore, and the shells she sells are surely seashells."),
    Clip("flite_rms", "flite", "rms", "Four score and seven years ago our fathers brought forth on this continent a new nation."),
    Clip("flite_awb", "flite", "awb", "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."),
    Clip("flite_kal16", "flite", "kal16", "It is easy to tell the depth of a well. These days a chicken leg is a rare dish."),
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "specimg" / "speech-clips"


def normalise(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim > 1:
        y = y.mean(axis=0)
    return (PEAK * y / max(float(np.max(np.abs(y))), 1e-12)).astype(np.float32)


def synthesise(clip: Clip, out: Path) -> None:
    """Write ``clip`` spoken by its engine to ``out`` (22 050 Hz, 16-bit mono)."""
    import librosa
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "tts.wav"
        if clip.engine == "espeak-ng":
            cmd = ["espeak-ng", "-v", clip.voice, "-s", "150", "-w", str(wav), clip.text]
        else:
            cmd = ["flite", "-voice", clip.voice, "-t", clip.text, "-o", str(wav)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        y, sr = sf.read(wav, dtype="float64", always_2d=False)
    if sr != SR:
        y = librosa.resample(y, orig_sr=sr, target_sr=SR, res_type="soxr_hq")
    sf.write(out, normalise(y), SR, subtype="PCM_16")


def flite_voices() -> set[str]:
    try:
        out = subprocess.run(["flite", "-lv"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return set(out.replace("Voices available:", "").split())


def gather(corpus: Path, cache: Path) -> list[Clip]:
    """The clips available on this machine, synthesising missing ones into ``cache``."""
    clips = []
    human = corpus / "speech_human.wav"
    if human.is_file():
        clips.append(Clip("human", "file", path=human, synthetic=False))
    else:
        print(f"skip human: {human} not found")
    clips.append(Clip("espeak_sample", "file", path=REPO / "sample_data" / "speech.wav"))
    cache.mkdir(parents=True, exist_ok=True)
    fl_voices = flite_voices() if shutil.which("flite") else set()
    skipped: set[str] = set()
    for clip in TTS_CLIPS:
        if shutil.which(clip.engine) is None:
            if clip.engine not in skipped:
                print(f"skip {clip.engine}: not installed (apt-get install {clip.engine})")
                skipped.add(clip.engine)
            continue
        if clip.engine == "flite" and clip.voice not in fl_voices:
            print(f"skip {clip.name}: flite has no voice {clip.voice!r} (flite -lv: {' '.join(sorted(fl_voices))})")
            continue
        path = cache / f"{clip.name}.wav"
        if not path.is_file():
            synthesise(clip, path)
        clips.append(Clip(clip.name, clip.engine, clip.voice, clip.text, path))
    return clips


def load(clip: Clip) -> np.ndarray:
    import librosa
    import soundfile as sf

    assert clip.path is not None
    y, sr = sf.read(clip.path, dtype="float64", always_2d=False)
    if y.ndim > 1:
        y = y.mean(axis=1)
    if sr != SR:
        y = librosa.resample(y, orig_sr=sr, target_sr=SR, res_type="soxr_hq")
    return normalise(y) if clip.engine != "file" else np.asarray(y, dtype=np.float32)


def stft_mag(y: np.ndarray) -> np.ndarray:
    import librosa

    return np.abs(librosa.stft(np.asarray(y, dtype=np.float32), n_fft=N_FFT, hop_length=HOP, pad_mode="constant"))


def melspec(y: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.feature.melspectrogram(
        y=np.asarray(y, dtype=np.float32), sr=SR, n_fft=N_FFT, hop_length=HOP, power=2.0, n_mels=N_MELS
    )


def bench_clip(clip: Clip, methods: tuple[str, ...], repeat: int, mel_n_iter: int | None = None) -> dict[str, Any]:
    import librosa

    import specimg
    from specimg.metrics import magnitude_convergence
    from specimg.spectral import calibration

    y = load(clip)
    n = len(y)
    img = specimg.encode(y, SR)
    cal = calibration(img.params)
    S = img.channel_magnitude(0) / np.float32(cal)  # the picture's magnitude in librosa's units
    img_mel = specimg.encode(y, SR, scale="mel", n_mels=N_MELS)
    M = (img_mel.channel_magnitude(0, dtype=np.float64) / cal) ** 2  # librosa's power mel
    fns: dict[str, Callable[[], np.ndarray]] = {
        "gl32": lambda: librosa.griffinlim(S, n_iter=32, hop_length=HOP, n_fft=N_FFT, length=n, random_state=0),
        "fast": lambda: specimg.decode(img, quality="fast")[0],
        "balanced": lambda: specimg.decode(img, quality="balanced")[0],
        "high": lambda: specimg.decode(img, quality="high")[0],
        "m2a": lambda: librosa.griffinlim(
            librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=N_FFT, power=2.0),
            n_iter=32, hop_length=HOP, n_fft=N_FFT, length=n, random_state=0,
        ),  # fmt: skip
        "mel": lambda: specimg.decode(img_mel, quality="balanced", n_iter=mel_n_iter)[0],
    }
    fns = {k: v for k, v in fns.items() if k in methods}
    wall: dict[str, float] = {k: math.inf for k in fns}
    cpu: dict[str, float] = {k: math.inf for k in fns}
    out: dict[str, np.ndarray] = {}
    for rep in range(max(1, repeat)):
        for name, fn in fns.items() if rep % 2 == 0 else reversed(fns.items()):
            c0, t0 = time.process_time(), time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = np.asarray(fn(), dtype=np.float32)
            t, c = time.perf_counter() - t0, time.process_time() - c0
            if t < wall[name]:
                wall[name], cpu[name] = t, c
    ref_S = stft_mag(y)
    ref_M = melspec(y)
    row: dict[str, Any] = {"clip": clip.name, "engine": clip.engine, "voice": clip.voice, "synthetic": clip.synthetic,
                           "seconds": n / SR, "methods": {}}
    for name, y_hat in out.items():
        fig: dict[str, float] = {"sc": magnitude_convergence(stft_mag(y_hat), ref_S), "wall": wall[name], "cpu": cpu[name]}
        if name in MEL_METHODS:
            fig["mel_sc"] = magnitude_convergence(melspec(y_hat), ref_M)
        fig.update(_perceptual.scores(y, y_hat, SR))
        row["methods"][name] = fig
    return row


def warm_up(methods: tuple[str, ...]) -> None:
    """Compile the numba kernels and run every path once, so the first clip's times are fair."""
    clip_y = (0.1 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32)
    import librosa

    import specimg

    img = specimg.encode(clip_y, SR)
    specimg.decode(img, n_iter=2)
    specimg.decode(specimg.encode(clip_y, SR, scale="mel", n_mels=N_MELS), n_iter=2)
    librosa.griffinlim(stft_mag(clip_y), n_iter=2, hop_length=HOP, random_state=0)


def totals(rows: list[dict[str, Any]], num: str, den: str, key: str = "wall") -> float:
    a = sum(r["methods"][num][key] for r in rows if num in r["methods"] and den in r["methods"])
    b = sum(r["methods"][den][key] for r in rows if num in r["methods"] and den in r["methods"])
    return a / b if b > 0 else math.nan


def medians(rows: list[dict[str, Any]], synthetic: bool | None) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for m in METHODS:
        for metric in ("pesq", "stoi", "sc", "mel_sc"):
            vals = [r["methods"][m][metric] for r in rows
                    if m in r["methods"] and metric in r["methods"][m] and (synthetic is None or r["synthetic"] == synthetic)]
            vals = [v for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
            if vals:
                out.setdefault(m, {})[metric] = statistics.median(vals)
    return out


def print_rows(rows: list[dict[str, Any]]) -> None:
    methods = [m for m in METHODS if any(m in r["methods"] for r in rows)]
    head = f"{'clip':16s}" + "".join(f" | {m:^20s}" for m in methods)
    print(head)
    print(f"{'':16s}" + "".join(f" | {'PESQ  STOI   SC dB':>20s}" for _ in methods))
    print("-" * len(head))
    for r in rows:
        cells = []
        for m in methods:
            f = r["methods"].get(m)
            cells.append(f" | {f['pesq']:4.2f} {f['stoi']:5.3f} {f['sc']:7.2f}" if f else f" | {'':20s}")
        print(f"{r['clip']:16s}" + "".join(cells))
    for label, syn in (("median synth", True), ("median human", False)):
        med = medians(rows, syn)
        print(f"{label:16s}" + "".join(
            f" | {med[m]['pesq']:4.2f} {med[m]['stoi']:5.3f} {med[m]['sc']:7.2f}" if m in med else f" | {'':20s}"
            for m in methods))
    mel_rows = [r for r in rows if "mel" in r["methods"]]
    if mel_rows:
        print("mel SC (dB, power mel): " + ", ".join(
            f"{r['clip']} {r['methods']['mel']['mel_sc']:.2f}"
            + (f" (m2a {r['methods']['m2a']['mel_sc']:.2f})" if "m2a" in r["methods"] else "") for r in mel_rows))


def compare(before: dict[str, Any], rows: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """Print before/after per clip and method; return the human-voice no-regression check."""
    old = {r["clip"]: r for r in before["rows"]}
    print(f"\n== before ({before.get('commit', '?')[:10]}) → after, per clip: PESQ / STOI / SC dB (Δ)")
    print(f"{'clip':16s} {'method':9s} {'PESQ before → after':>22s} {'STOI':>22s} {'SC dB':>26s}")
    worst_human = (math.inf, "")
    for r in rows:
        o = old.get(r["clip"])
        if o is None:
            continue
        for m in METHODS:
            a, b = o["methods"].get(m), r["methods"].get(m)
            if a is None or b is None:
                continue
            print(f"{r['clip']:16s} {m:9s} {a['pesq']:5.2f} → {b['pesq']:5.2f} ({b['pesq'] - a['pesq']:+.2f}) "
                  f"{a['stoi']:6.3f} → {b['stoi']:6.3f} ({b['stoi'] - a['stoi']:+.3f}) "
                  f"{a['sc']:7.2f} → {b['sc']:7.2f} ({b['sc'] - a['sc']:+6.2f})")
            if not r["synthetic"] and m not in ("gl32", "m2a"):
                worst_human = min(worst_human, (b["pesq"] - a["pesq"], f"{r['clip']} {m}"))
    for label, syn in (("synthetic", True), ("human", False)):
        mo = medians(before["rows"], syn)
        mn = medians(rows, syn)
        print(f"median {label}: " + "; ".join(
            f"{m} PESQ {mo[m]['pesq']:.2f} → {mn[m]['pesq']:.2f}" for m in METHODS if m in mo and m in mn))
    if not math.isfinite(worst_human[0]):
        return []
    ok = worst_human[0] >= -HUMAN_PESQ_DROP
    return [(f"human voices: no PESQ drop > {HUMAN_PESQ_DROP}", ok, f"worst {worst_human[0]:+.3f} ({worst_human[1]})")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--cache", type=Path, default=None, help="folder of the generated clips (default: %(default)s → "
                    "$XDG_CACHE_HOME/specimg/speech-clips)")
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME",
                    help="keep clips and methods whose name contains one of these words")
    ap.add_argument("--repeat", type=int, default=1, help="time each call this many times, keep the best")
    ap.add_argument("--save", type=Path, default=None, metavar="FILE.json")
    ap.add_argument("--compare", type=Path, default=None, metavar="FILE.json")
    ap.add_argument("--mel-n-iter", type=int, default=None, metavar="N",
                    help="iterations of the mel decode instead of its preset's (round 4's sweep)")
    args = ap.parse_args(argv)
    if _perceptual.missing():
        print(f"missing {', '.join(_perceptual.missing())}: {_perceptual.INSTALL_HINT}")
        return 2

    clips = gather(args.corpus, args.cache or cache_dir())
    methods = METHODS
    if args.only:
        words = [w.lower() for w in args.only]
        method_words = [w for w in words if w in METHODS]
        clip_words = [w for w in words if w not in METHODS]
        if method_words:
            methods = tuple(m for m in METHODS if m in method_words)
        if clip_words:
            clips = [c for c in clips if any(w in c.name.lower() for w in clip_words)]
    print(f"{len(clips)} clips: {', '.join(c.name for c in clips)}; methods: {', '.join(methods)}", flush=True)
    warm_up(methods)
    rows = []
    for clip in clips:
        rows.append(bench_clip(clip, methods, args.repeat, args.mel_n_iter))
        r = rows[-1]
        print(f"  {clip.name:16s} {r['seconds']:4.1f} s  " + "  ".join(
            f"{m} {f['pesq']:.2f}/{f['stoi']:.3f}/{f['sc']:.1f} dB {f['wall']:.2f} s" for m, f in r["methods"].items()), flush=True)
    print()
    print_rows(rows)
    results: list[tuple[str, bool, str]] = []
    med = medians(rows, True)
    for m, target in TARGETS_PESQ.items():
        if m in med:
            results.append((f"{m}: median PESQ-WB of the synthetic clips >= {target}", med[m]["pesq"] >= target,
                            f"{med[m]['pesq']:.3f}"))
    ratios = {}
    for (num, den), limit in TARGETS_TIME.items():
        if num in methods and den in methods:
            ratios[f"{num}/{den}"] = {"wall": totals(rows, num, den), "cpu": totals(rows, num, den, "cpu")}
            results.append((f"time {num} <= {limit}x {den} (total wall time, same run)", ratios[f"{num}/{den}"]["wall"] <= limit,
                            f"{ratios[f'{num}/{den}']['wall']:.3f}x wall, {ratios[f'{num}/{den}']['cpu']:.3f}x CPU"))
    if args.compare:
        results += compare(json.loads(args.compare.read_text(encoding="utf-8")), rows)
    print()
    print_summary(results)
    if args.save:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        try:
            load_avg = list(os.getloadavg())
        except OSError:
            load_avg = []
        args.save.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.save, {"what": "benchmarks/speech.py", "commit": commit, "env": environment(), "load_average": load_avg,
                               "n_fft": N_FFT, "hop_length": HOP, "n_mels": N_MELS, "rows": rows,
                               "median_synthetic": med, "median_human": medians(rows, False), "time_ratios": ratios})
    return 0


if __name__ == "__main__":
    sys.exit(main())
