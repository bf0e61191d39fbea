#!/usr/bin/env python
"""Acceptance benchmark of the phase stored in the picture (``encode(..., store_phase=True)``).

Run from anywhere::

    python benchmarks/stored_phase.py [--corpus DIR] [--json PATH]

For every audio file of the corpus (default ``../shared/corpus`` next to the repository;
the script exits with a note when it is absent), default encode parameters (linear scale,
n_fft 2048, hop 512), every image written to a temporary PNG and decoded **from the file
alone** (``decode(path)``, balanced preset):

* file sizes: the PNG without phase, with 8-bit and with 16-bit phase (and the phase
  block alone), in kB;
* SC = ``20 log10(‖|STFT(ŷ)| − |STFT(y)|‖_F / ‖|STFT(y)|‖_F)`` on the linear STFT
  magnitude (:func:`specimg.metrics.spectral_convergence`) for: 16-bit pixels without phase,
  with 16-bit and with 8-bit phase; 8-bit pixels without phase, with 16-bit phase (locked,
  the default of ``decode``) and with the stored phase only as the starting phase of the
  usual reconstruction (``init=``, nothing held), to show which is better;
* the edit test: ``ops.gain(-12 dB)`` on 10 % of the frames (a span in the middle) of the
  16-bit image with phase, saved, loaded, decoded with no other input. "Untouched frames"
  are those whose analysis window overlaps no edited frame's (at least
  ``ceil(win_length / hop_length)`` = 4 frames from every column whose pixels the edit
  changed): the audio under them is the original's, so SC there is against the original.
  Frames nearer the edit hear it legitimately; for all frames SC is given against the
  *ideal edit*, the ISTFT of the original STFT with the edited magnitude (what a decoder
  that knew every phase would return). Files too short to have untouched frames (fx_bell,
  7 frames) show n/a;
* mel images (128 bands): SC without and with stored phase (informative, no target);
* ``edit:ideal``: SC of the edited decode against the ideal edit (see above).

A PASS/FAIL summary of the acceptance targets ends the output; exit status 0 when all pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import AUDIO_EXTS, DEFAULT_CORPUS, environment, print_summary, write_json

TARGET_16_DB = -70.0  # median SC, 16-bit pixels + 16-bit phase, from the file alone
TARGET_8_GAIN_DB = 6.0  # 8-bit pixels: at least this much better with phase than without
TARGET_EDIT_DB = -50.0  # untouched frames after ops.gain on 10 % of the frames
EDIT_SHARE = 0.10


def _sc(y_hat: np.ndarray, y: np.ndarray, params: Any, frames: np.ndarray | None = None) -> float:
    from specimg.metrics import magnitude_convergence
    from specimg.spectral import stft_magnitude

    A, B = stft_magnitude(y_hat, params), stft_magnitude(y, params)
    if frames is not None:
        A, B = A[..., frames], B[..., frames]
    return magnitude_convergence(A, B)


def measure(path: Path, tmp: Path) -> dict[str, Any]:
    import specimg
    from specimg import ops
    from specimg.stored_phase import StoredPhase, column_crcs

    y, sr = specimg.read_audio(path)
    row: dict[str, Any] = {"file": path.name}

    def through_file(img: Any, name: str, **decode_kwargs: Any) -> tuple[float, int]:
        out = tmp / f"{path.stem}.{name}.png"
        specimg.save(img, out)
        y_hat, _ = specimg.decode(out, **decode_kwargs)
        return _sc(y_hat, y, img.params), out.stat().st_size

    plain16 = specimg.encode(y, sr)
    with16 = specimg.encode(y, sr, store_phase=True)
    with16_8 = specimg.encode(y, sr, store_phase=True, phase_bits=8)
    row["sc16_none"], row["kb_none"] = through_file(plain16, "p16")
    row["sc16_phase"], size16 = through_file(with16, "s16")
    row["sc16_phase8"], size8 = through_file(with16_8, "s16b8")
    row["kb_phase16"], row["kb_phase8"] = size16, size8
    row["kb_block16"] = len(with16.phase.to_bytes())
    for key in ("kb_none", "kb_phase16", "kb_phase8", "kb_block16"):
        row[key] /= 1000.0
    plain8 = specimg.encode(y, sr, bit_depth=8)
    with8 = specimg.encode(y, sr, bit_depth=8, store_phase=True)
    row["sc8_none"], _ = through_file(plain8, "p8")
    row["sc8_phase"], _ = through_file(with8, "s8")
    init = np.stack([with8.phase.angle(c) for c in range(with8.params.n_channels)])
    y_hat, _ = specimg.decode(plain8, init=init[0] if init.shape[0] == 1 else init)
    row["sc8_init_only"] = _sc(y_hat, y, plain8.params)

    # the edit: -12 dB on 10 % of the frames in the middle, decoded from the file alone
    duration = with16.duration
    t0 = duration * (0.5 - EDIT_SHARE / 2)
    edited = ops.gain(with16, -12.0, time=(t0, t0 + EDIT_SHARE * duration))
    changed = np.flatnonzero(~np.all(edited.pixels == with16.pixels, axis=0))
    p = with16.params
    reach = -(-p.win_length // p.hop_length)
    distance = np.min(np.abs(np.arange(with16.n_frames)[:, np.newaxis] - changed[np.newaxis, :]), axis=1)
    untouched = np.flatnonzero(distance >= reach)
    out = tmp / f"{path.stem}.edited.png"
    specimg.save(edited, out)
    y_hat, _ = specimg.decode(out)
    row["edit_frames"], row["untouched_frames"] = len(changed), len(untouched)
    row["sc_edit_untouched"] = _sc(y_hat, y, p, untouched) if len(untouched) else float("nan")
    # the ideal edit: every stored phase held under the edited magnitude, no iteration
    ph = edited.phase
    every = StoredPhase(ph.codes, ph.present, ph.present, column_crcs(edited.pixels, p), ph.bits)
    y_ideal, _ = specimg.decode(edited.replace(phase=every), n_iter=0)
    row["sc_edit_vs_ideal"] = _sc(y_hat, y_ideal, p)

    mel = specimg.encode(y, sr, scale="mel", store_phase=True)
    row["sc_mel_none"], _ = through_file(mel.replace(phase=None), "m")
    row["sc_mel_phase"], _ = through_file(mel, "mp")
    return row


COLUMNS = [
    ("file", "file", "<26"), ("kb_none", "kB", ">7.0f"), ("kb_phase8", "kB+ph8", ">7.0f"),
    ("kb_phase16", "kB+ph16", ">8.0f"), ("sc16_none", "SC16", ">7.1f"), ("sc16_phase", "+ph16", ">7.1f"),
    ("sc16_phase8", "+ph8", ">7.1f"), ("sc8_none", "SC8", ">7.1f"), ("sc8_phase", "+ph16", ">7.1f"),
    ("sc8_init_only", "init", ">7.1f"), ("sc_edit_untouched", "edit:keep", ">10.1f"),
    ("sc_edit_vs_ideal", "edit:ideal", ">10.1f"), ("sc_mel_none", "mel", ">7.1f"), ("sc_mel_phase", "mel+ph", ">7.1f"),
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    files = sorted(f for f in args.corpus.glob("*") if f.suffix.lower() in AUDIO_EXTS) if args.corpus.is_dir() else []
    if not files:
        print(f"no corpus at {args.corpus}: nothing to measure")
        return 0
    print(environment())
    rows = []
    warnings.simplefilter("ignore")  # 8-bit LossyWarning, clipping notes
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            rows.append(measure(f, Path(tmp)))
            print(" ".join(format(rows[-1][k], spec) for k, _, spec in COLUMNS), flush=True)
    print(" ".join(format(title, spec.rstrip(".0123456789f")) for _, title, spec in COLUMNS))
    med = {k: statistics.median(r[k] for r in rows) for k, _, spec in COLUMNS if k != "file"}
    edits = [r["sc_edit_untouched"] for r in rows if r["untouched_frames"]]  # files with untouched frames
    worst_edit = max(edits)
    med["sc_edit_untouched"] = statistics.median(edits)
    print("median " + " ".join(f"{k}={v:.1f}" for k, v in med.items()))
    gain8 = med["sc8_none"] - med["sc8_phase"]
    results = [
        (f"16-bit + stored phase, from the file alone: median SC <= {TARGET_16_DB} dB",
         med["sc16_phase"] <= TARGET_16_DB, f"median {med['sc16_phase']:.1f} dB, worst {max(r['sc16_phase'] for r in rows):.1f} dB"),
        (f"8-bit: stored phase >= {TARGET_8_GAIN_DB} dB better than none (medians)", gain8 >= TARGET_8_GAIN_DB,
         f"{med['sc8_none']:.1f} -> {med['sc8_phase']:.1f} dB, {gain8:.1f} dB better"),
        (f"ops.gain(-12 dB) on 10 % of the frames, saved, decoded: untouched frames SC <= {TARGET_EDIT_DB} dB "
         "(every file)", worst_edit <= TARGET_EDIT_DB, f"worst {worst_edit:.1f} dB, median {med['sc_edit_untouched']:.1f} dB"),
    ]  # fmt: skip
    ok = print_summary(results)
    if args.json:
        write_json(args.json, {"rows": rows, "median": med, "environment": environment()})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
