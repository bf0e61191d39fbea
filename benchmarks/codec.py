#!/usr/bin/env python
"""Acceptance benchmark of the specimg codec against librosa's own pipeline.

Run from anywhere::

    python benchmarks/codec.py [--corpus DIR] [--n-iter N] [--repeat R] [--json PATH]

For every audio file of the corpus (default ``../shared/corpus`` next to the repository,
skipped with a note when absent) and of the repository's ``sample_data/*.wav``, in one run:

* specimg, through files: ``encode_file`` to a temporary 16-bit PNG and ``decode_file``
  (PGHI + ``n_iter`` fast Griffin-Lim iterations) to a temporary WAV, each timed in seconds
  per second of audio (best of ``--repeat``), including the file I/O;
* the round trip, measured on the WAV read back: same sample rate, channels and length to
  the sample, RMS level difference (dB), and linear spectral convergence
  ``SC = 20 log10(‖|STFT(ŷ)| − |STFT(y)|‖_F / ‖|STFT(y)|‖_F)`` pooled over channels, in the
  image's STFT geometry (:func:`specimg.metrics.spectral_convergence`);
* librosa as people use it, on the same file in the same run: "encode" = ``librosa.load``
  + ``np.abs(librosa.stft(y, n_fft=2048, hop_length=512))`` + ``amplitude_to_db(S,
  ref=np.max)`` + an 8-bit min-max PNG saved with Pillow; "decode" =
  ``librosa.griffinlim(S, n_iter=N, hop_length=512, length=len(y), random_state=0)`` on the
  exact, unquantised magnitude (all channels at once; librosa treats them independently)
  + writing the WAV; its time per second of audio and its SC;
* whether specimg's SC is no worse than librosa's;
* the quantisation-only error: encode → PNG → pixels → dB → magnitude (floor pixels → 0),
  no phase step, SC against the exact calibrated magnitude, for 16- and 8-bit pixels.

A PASS/FAIL summary of the acceptance targets ends the output. The exit status is 0 when
every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import AUDIO_EXTS, DEFAULT_CORPUS, REPO, environment, fmt, print_summary, write_json

# librosa pipeline geometry (the "the way people do it"); specimg's defaults match it
# (n_fft=2048, hop_length = win_length // 4 = 512, Hann, centred, zero padding).
LR_N_FFT = 2048
LR_HOP = 512

# Acceptance targets.
RMS_TOL_DB = 0.5
Q16_TARGET_DB = -80.0
Q8_TARGET_DB = -35.0


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` ``repeat`` times; return the shortest wall time and the last result."""
    best, out = math.inf, None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def warn_text(caught: list[warnings.WarningMessage]) -> list[str]:
    return [f"{w.category.__name__}: {w.message}" for w in caught]


# ---------------------------------------------------------------------------- pipelines
def librosa_encode(path: Path, png: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """librosa.load → |STFT| → dB (ref=max) → 8-bit min-max PNG. Returns (y, S, sr)."""
    import librosa
    from PIL import Image

    y, sr = librosa.load(path, sr=None, mono=False)
    S = np.abs(librosa.stft(y, n_fft=LR_N_FFT, hop_length=LR_HOP))
    S_db = librosa.amplitude_to_db(S, ref=np.max)
    rows = S_db.reshape(-1, S_db.shape[-1])[::-1]  # channels stacked, low frequencies at the bottom
    lo, hi = float(rows.min()), float(rows.max())
    pix = np.round(255.0 * (rows - lo) / max(hi - lo, 1e-12)).astype(np.uint8)
    Image.fromarray(pix, mode="L").save(png)
    return y, S, int(sr)


def librosa_decode(S: np.ndarray, length: int, sr: int, n_iter: int, wav: Path) -> np.ndarray:
    """librosa.griffinlim on the exact magnitude (random init, seed 0) → WAV."""
    import librosa
    import soundfile as sf

    y_hat = librosa.griffinlim(S, n_iter=n_iter, hop_length=LR_HOP, length=length, random_state=0)
    sf.write(wav, np.clip(y_hat, -1.0, 1.0).T, sr, subtype="PCM_16")
    return y_hat


def warm_up(tmp: Path, n_iter: int) -> None:
    """Compile PGHI's numba kernel and touch every code path once, outside the timings."""
    import soundfile as sf

    import specimg

    sr = 22050
    rng = np.random.default_rng(1)
    t = np.arange(sr) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(sr)
    wav = tmp / "warmup.wav"
    sf.write(wav, y, sr, subtype="PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        specimg.encode_file(wav, tmp / "warmup.png")
        specimg.decode_file(tmp / "warmup.png", tmp / "warmup_out.wav", n_iter=n_iter)
        _ = specimg.load(tmp / "warmup.png").magnitude
        _, S, _ = librosa_encode(wav, tmp / "warmup_lr.png")
        librosa_decode(S, len(y), sr, 2, tmp / "warmup_lr.wav")


# ---------------------------------------------------------------------------- one file
def bench_file(path: Path, tmp: Path, n_iter: int, repeat: int) -> dict[str, Any]:
    import specimg
    from specimg.errors import LossyWarning
    from specimg.metrics import level_difference_db, magnitude_convergence, spectral_convergence
    from specimg.spectral import stft_magnitude, to_db

    y, sr = specimg.read_audio(path)
    n_ch = 1 if y.ndim == 1 else y.shape[0]
    n = y.shape[-1]
    dur = n / sr
    png, wav_out = tmp / f"{path.stem}.png", tmp / f"{path.stem}.out.wav"
    notes: list[str] = []

    # --- specimg through files (16-bit PNG, then WAV), timed with file I/O
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t_enc, img = best_of(repeat, lambda: specimg.encode_file(path, png))
        t_dec, (y_mem, _) = best_of(repeat, lambda: specimg.decode_file(png, wav_out, n_iter=n_iter))
    notes += warn_text(caught)
    params = img.params

    # --- round trip, measured on the WAV read back
    y_hat, sr_hat = specimg.read_audio(wav_out)
    ch_hat = 1 if y_hat.ndim == 1 else y_hat.shape[0]
    same_sr, same_ch, same_len = sr_hat == sr, ch_hat == n_ch, y_hat.shape[-1] == n
    same = same_sr and same_ch and same_len
    if not same:
        notes.append(f"round trip gives sr={sr_hat}, channels={ch_hat}, n={y_hat.shape[-1]} "
                     f"(expected {sr}, {n_ch}, {n})")
    d_rms = level_difference_db(y_hat, y) if same else math.nan
    sc = spectral_convergence(y_hat, y, params) if same else math.nan
    sc_mem = spectral_convergence(np.asarray(y_mem, dtype=np.float64), y, params) if same else math.nan

    # --- librosa's pipeline on the same file
    lr_png, lr_wav = tmp / f"{path.stem}.lr.png", tmp / f"{path.stem}.lr.wav"
    t_lr_enc, (_y32, S, sr_lr) = best_of(repeat, lambda: librosa_encode(path, lr_png))
    t_lr_dec, y_lr = best_of(repeat, lambda: librosa_decode(S, n, sr_lr, n_iter, lr_wav))
    sc_lr = spectral_convergence(np.asarray(y_lr, dtype=np.float64), y, params)

    # --- quantisation only: PNG pixels → dB → magnitude (floor → 0) vs the exact magnitude
    S_exact = stft_magnitude(y.reshape(n_ch, n), params)
    M16 = specimg.load(png).magnitude.reshape(S_exact.shape)
    q16 = magnitude_convergence(M16, S_exact)
    # diagnosis: how much of the 16-bit error sits in the bins at or below db_min (→ 0)
    floor = to_db(S_exact, params.ref) <= params.db_min
    err, den = np.abs(M16 - S_exact), float(np.linalg.norm(S_exact))
    q16_above = magnitude_convergence(np.where(floor, S_exact, M16), S_exact)
    q16_floor = 20 * math.log10(max(float(np.linalg.norm(err[floor])) / den, 1e-300)) if den else math.nan
    png8 = tmp / f"{path.stem}.8bit.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossyWarning)
        specimg.save(specimg.encode(y, sr, bit_depth=8), png8)
    q8 = magnitude_convergence(specimg.load(png8).magnitude.reshape(S_exact.shape), S_exact)

    return {
        "file": str(path.relative_to(REPO) if path.is_relative_to(REPO) else path.name),
        "sr": sr,
        "channels": n_ch,
        "n_samples": n,
        "duration_s": dur,
        "specimg_encode_s_per_s": t_enc / dur,
        "specimg_decode_s_per_s": t_dec / dur,
        "same_sr": same_sr,
        "same_channels": same_ch,
        "same_length": same_len,
        "same_sr_channels_length": same,
        "rms_diff_db": d_rms,
        "sc_db": sc,
        "sc_db_in_memory": sc_mem,
        "librosa_encode_s_per_s": t_lr_enc / dur,
        "librosa_decode_s_per_s": t_lr_dec / dur,
        "librosa_sc_db": sc_lr,
        "sc_le_librosa": bool(sc <= sc_lr),
        "quant16_sc_db": q16,
        "quant8_sc_db": q8,
        "quant16_sc_db_above_floor": q16_above,
        "quant16_sc_db_floor_bins_only": q16_floor,
        "floor_bins_fraction": float(np.mean(floor)),
        "warnings": notes,
    }


# ---------------------------------------------------------------------------- output
COLUMNS: list[tuple[str, str, str]] = [
    # (key, header, format)
    ("file", "file", "s"),
    ("sr", "sr", "d"),
    ("channels", "ch", "d"),
    ("duration_s", "dur s", ".2f"),
    ("specimg_encode_s_per_s", "enc s/s", ".3f"),
    ("specimg_decode_s_per_s", "dec s/s", ".3f"),
    ("same_sr_channels_length", "sr/ch/len=", "yn"),
    ("rms_diff_db", "dRMS dB", "+.3f"),
    ("sc_db", "SC dB", ".2f"),
    ("librosa_encode_s_per_s", "lr enc s/s", ".3f"),
    ("librosa_decode_s_per_s", "lr dec s/s", ".3f"),
    ("librosa_sc_db", "lr SC dB", ".2f"),
    ("sc_le_librosa", "SC<=lr", "yn"),
    ("quant16_sc_db", "Q16 dB", ".1f"),
    ("quant8_sc_db", "Q8 dB", ".1f"),
    ("quant16_sc_db_above_floor", "Q16>floor", ".1f"),
    ("floor_bins_fraction", "floor bins", ".1%"),
]




def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"file": "median"}
    for key, _, spec in COLUMNS[1:]:
        values = [r[key] for r in rows]
        if spec == "yn":
            out[key] = f"{sum(bool(v) for v in values)}/{len(values)}"
        else:
            finite = [float(v) for v in values if math.isfinite(v)]
            m = statistics.median(finite) if finite else math.nan
            out[key] = int(m) if spec == "d" and float(m).is_integer() else m
    return out


def table(rows: list[dict[str, Any]], med: dict[str, Any]) -> str:
    cells = [[h for _, h, _ in COLUMNS]]
    for r in rows + [med]:
        cells.append([fmt(r[k], ".1f" if (s == "d" and isinstance(r[k], float)) else s) for k, _, s in COLUMNS])
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = []
    for j, c in enumerate(cells):
        lines.append("  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(c, widths))))
        if j == 0 or j == len(cells) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    def failing(pred: Callable[[dict[str, Any]], bool]) -> str:
        bad = [r["file"] for r in rows if not pred(r)]
        return "" if not bad else "fails on " + ", ".join(bad)

    checks: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
        ("sample rate, channels and length equal on every file", lambda r: r["same_sr_channels_length"]),
        (f"|dRMS| <= {RMS_TOL_DB} dB on every file",
         lambda r: math.isfinite(r["rms_diff_db"]) and abs(r["rms_diff_db"]) <= RMS_TOL_DB),
        ("SC(specimg) <= SC(librosa.griffinlim) on every file", lambda r: r["sc_le_librosa"]),
        (f"16-bit quantisation SC < {Q16_TARGET_DB:.0f} dB on every file", lambda r: r["quant16_sc_db"] < Q16_TARGET_DB),
        (f"8-bit quantisation SC < {Q8_TARGET_DB:.0f} dB on every file", lambda r: r["quant8_sc_db"] < Q8_TARGET_DB),
    ]
    return [(name, not failing(pred), failing(pred)) for name, pred in checks]




# ---------------------------------------------------------------------------- main
def find_files(corpus: Path) -> tuple[list[Path], list[str]]:
    notes = []
    files: list[Path] = []
    if corpus.is_dir():
        files += sorted(p for p in corpus.iterdir() if p.suffix.lower() in AUDIO_EXTS)
    else:
        notes.append(f"corpus {corpus} not found; benchmarking sample_data/ only")
    files += sorted((REPO / "sample_data").glob("*.wav"))
    return files, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help=f"folder of audio files (default: {DEFAULT_CORPUS})")
    ap.add_argument("--n-iter", type=int, default=32,
                    help="Griffin-Lim iterations, for specimg and librosa alike (default 32)")
    ap.add_argument("--repeat", type=int, default=1, help="time each step this many times, keep the best (default 1)")
    ap.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    if args.n_iter < 0 or args.repeat < 1:
        ap.error("--n-iter must be >= 0 and --repeat >= 1")


    import specimg

    files, notes = find_files(args.corpus.resolve())
    if not files:
        print("no audio files to benchmark", file=sys.stderr)
        return 2

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specimg-bench-") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        warm_up(tmp, args.n_iter)
        t_warm = time.perf_counter() - t0
        rows = []
        for path in files:
            print(f"  {path.name} ...", file=sys.stderr, flush=True)
            rows.append(bench_file(path, tmp, args.n_iter, args.repeat))
    t_total = time.perf_counter() - t_start

    defaults = specimg.SpectrogramParams(sr=22050)
    med = median_row(rows)
    checks = summary(rows)
    env = environment()

    print(f"specimg codec benchmark: n_iter={args.n_iter} (specimg: PGHI + fast GLA; librosa: random init + "
          f"fast GLA, random_state=0), best of {args.repeat}")
    print(f"corpus: {args.corpus.resolve()}  +  {REPO / 'sample_data'}")
    print(f"specimg defaults: n_fft={defaults.n_fft} hop_length={defaults.hop_length} window={defaults.window} "
          f"db_min={defaults.db_min} db_max={defaults.db_max} ref={defaults.ref}")
    print("  ".join(f"{k} {v}" for k, v in env.items()))
    for note in notes:
        print(f"note: {note}")
    print()
    print("enc/dec s/s: wall seconds per second of audio, file I/O included. specimg: encode_file → 16-bit PNG,")
    print("  decode_file → WAV; librosa: load + stft + amplitude_to_db(ref=max) + 8-bit PNG, griffinlim on the exact")
    print("  magnitude + WAV. dRMS, SC: round trip read back from the WAV; SC = 20 log10 ‖|Ŝ|−|S|‖/‖|S|‖, channels pooled.")
    print("  Q16/Q8: SC of PNG pixels → dB → magnitude (floor → 0) against the exact calibrated magnitude, no phase.")
    print("  Diagnosis only (not a target): Q16>floor = Q16 counting only bins above db_min; floor bins = share of")
    print("  time-frequency bins at or below db_min, which decode to 0.")
    print()
    print(table(rows, med))
    print()
    for r in rows:
        for w in r["warnings"]:
            print(f"warning ({Path(r['file']).name}): {w}")
    print(f"warm-up {t_warm:.1f} s, total {t_total:.1f} s")
    print()
    all_ok = print_summary(checks)

    if args.json is not None:
        report = {
            "config": {"corpus": str(args.corpus.resolve()), "n_iter": args.n_iter, "repeat": args.repeat,
                       "librosa_n_fft": LR_N_FFT, "librosa_hop_length": LR_HOP,
                       "specimg_params": defaults.to_dict()},
            "environment": env,
            "files": rows,
            "median": med,
            "summary": [{"check": name, "pass": ok, "detail": why} for name, ok, why in checks],
            "pass": all_ok,
            "warm_up_s": t_warm,
            "total_s": t_total,
        }
        write_json(args.json, report)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
