"""The ``specimg`` command line.

Every command exits 0 on success, 1 with a one-line ``specimg: error: ...`` message on bad
input (no traceback, no output file), and 2 on a usage error.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import click
import numpy as np
from click.core import ParameterSource

from . import __version__, codec, ops
from .codec import decode_file, encode_file, read_audio
from .errors import AssumptionWarning, FormatError, MissingFileError, ParameterError, SpecimgError, SpecimgWarning
from .formats import image_format, load, metadata_source, save, sidecar_path
from .image import SpectrogramImage
from .metrics import level_difference_db, spectral_convergence
from .params import SpectrogramParams
from ._samples import sample_data_dir
from .phase import QUALITY_PRESETS

__all__ = ["main", "cli", "sample_data_dir"]


def _show_warning(message: Any, category: Any, filename: Any, lineno: Any, file: Any = None, line: Any = None) -> None:
    click.echo(f"specimg: warning: {message}", err=True)


def _params_option(f: Any) -> Any:
    return click.option(
        "--params",
        "params_path",
        type=click.Path(dir_okay=False),
        help="JSON metadata file for an image that carries none.",
    )(f)


def _read_params(path: str | None) -> SpectrogramParams | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"no such file: {path!r} (given as --params)")
    return SpectrogramParams.from_json(p.read_bytes(), source=repr(path))


class _Ref(click.ParamType):
    name = "DB_REF"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if value == "max" or isinstance(value, float):
            return value
        try:
            return float(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number nor 'max'", param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="specimg")
def cli() -> None:
    """Turn audio into calibrated spectrogram images, and images back into audio."""


@cli.command()
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--sr", type=int, default=None, help="Resample to this rate first (Hz). [default: keep]")
@click.option("--n-fft", type=int, default=2048, show_default=True)
@click.option("--hop-length", type=int, default=None, help="[default: win-length // 4]")
@click.option("--win-length", type=int, default=None, help="[default: n-fft]")
@click.option("--window", default="hann", show_default=True, help="Any scipy.signal window name.")
@click.option("--center/--no-center", default=True, show_default=True)
@click.option("--scale", type=click.Choice(["linear", "mel"]), default="linear", show_default=True)
@click.option("--n-mels", type=int, default=128, show_default=True)
@click.option("--fmin", type=float, default=0.0, show_default=True)
@click.option("--fmax", type=float, default=None, help="[default: sr / 2]")
@click.option("--htk", is_flag=True, help="HTK mel formula instead of Slaney's.")
@click.option("--norm", type=click.Choice(["slaney", "none"]), default="slaney", show_default=True)
@click.option("--power", type=float, default=2.0, show_default=True, help="Exponent the mel filterbank sums.")
@click.option("--db-min", type=float, default=-120.0, show_default=True)
@click.option("--db-max", type=float, default=6.0, show_default=True)
@click.option("--ref", type=_Ref(), default=1.0, show_default=True, help="Amplitude of 0 dB, or 'max'.")
@click.option("--flip/--no-flip", default=True, show_default=True, help="Low frequencies at the bottom.")
@click.option("--invert", is_flag=True, help="Dark pixels are loud.")
@click.option("--bit-depth", type=click.Choice(["8", "16", "32"]), default="16", show_default=True)
@click.option("--sidecar", is_flag=True, help="Also write OUT.json with the metadata.")
def encode(in_path: str, out_path: str, sidecar: bool, sr: int | None, norm: str, bit_depth: str, **kwargs: Any) -> None:
    """Encode audio file IN as spectrogram image OUT (.png, .tif)."""
    img = encode_file(
        in_path, out_path, sr=sr, sidecar=sidecar, progress=sys.stderr.isatty(), norm=None if norm == "none" else norm,
        bit_depth=int(bit_depth), **kwargs,
    )  # fmt: skip
    p = img.params
    click.echo(f"{out_path}: {img.shape[0]}×{img.shape[1]} {p.bit_depth}-bit, {p.n_channels} channel(s), "
               f"{p.n_samples / p.sr:.2f} s at {p.sr} Hz")  # type: ignore[operator]


@cli.command()
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--quality", type=click.Choice(list(QUALITY_PRESETS)), default="balanced", show_default=True)
@click.option("--n-iter", type=click.IntRange(min=0), default=None, help="Griffin-Lim iterations. [default: preset]")
@click.option("--momentum", type=click.FloatRange(min=0), default=0.99, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--subtype", default=None, help="soundfile subtype, e.g. PCM_24 or FLOAT. [default: format's]")
@click.option("--like", "like", type=click.Path(dir_okay=False), default=None,
              help="The original specimg image of IN, for a copy edited in an image editor (no metadata, "
                   "8-bit or RGB): its parameters are borrowed.")
@click.option("--phase-from", "phase_from", type=click.Path(dir_okay=False), default=None,
              help="The audio IN was encoded from: unedited parts keep its phase and come back as they were.")
@_params_option
def decode(in_path: str, out_path: str, quality: str, n_iter: int | None, momentum: float, seed: int,
           subtype: str | None, like: str | None, phase_from: str | None, params_path: str | None) -> None:
    """Decode spectrogram image IN to audio file OUT (.wav, .flac, ...)."""
    y, sr = decode_file(
        in_path, out_path, params=_read_params(params_path), subtype=subtype, quality=quality,
        n_iter=n_iter, momentum=momentum, rng=seed, like=like, phase_from=phase_from,
        progress=sys.stderr.isatty(),
    )  # fmt: skip
    click.echo(f"{out_path}: {y.shape[-1] / sr:.2f} s at {sr} Hz, {1 if y.ndim == 1 else y.shape[0]} channel(s)")


@cli.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@_params_option
def info(path: str, params_path: str | None) -> None:
    """Print the metadata of spectrogram image FILE and the dB range of its pixels."""
    img = load(path, params=_read_params(params_path))
    p = img.params
    found = metadata_source(path)
    source = {"embedded": "embedded", "sidecar": f"sidecar {sidecar_path(path).name}"}.get(found or "", "--params")
    rows = [(k, v) for k, v in p.to_dict().items() if k not in ("format", "edits")]
    width = max([len(k) for k, _ in rows] + [len("at floor / top")])
    click.echo(f"{path}  (metadata: {source}, format version {p.version})")
    for key, value in rows:
        click.echo(f"  {key:<{width}}  {value}")
    db = img.db
    n_frames = img.n_frames
    click.echo(f"  {'image':<{width}}  {img.shape[0]} rows × {img.shape[1]} columns, {img.pixels.dtype}")
    click.echo(f"  {'duration':<{width}}  {(p.n_samples if p.n_samples is not None else p.length_for(n_frames)) / p.sr:.3f} s")
    click.echo(f"  {'dB in pixels':<{width}}  {db.min():.2f} … {db.max():.2f} dB (median {np.median(db):.2f})")
    floor = float(np.mean(db <= p.db_min))
    top = float(np.mean(db >= p.db_max))
    click.echo(f"  {'at floor / top':<{width}}  {100 * floor:.2f} % / {100 * top:.3f} %")
    if p.edits:
        click.echo(f"  {'edits':<{width}}  {json.dumps(list(p.edits))}")


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="specimg-demo", show_default=True,
              help="Folder for the encoded images and decoded audio.")
@click.option("--quality", type=click.Choice(list(QUALITY_PRESETS)), default="balanced", show_default=True)
def demo(out_dir: str, quality: str) -> None:
    """Encode and decode the bundled sample audio and print the round-trip figures."""
    from tqdm import tqdm

    data = sample_data_dir()
    files = sorted(data.glob("*.wav"))
    if not files:
        raise SpecimgError(f"no sample audio found in {str(data)!r}; reinstall specimg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The first run after installing compiles numba code (ours and librosa's) once; do it
    # before timing so the table shows steady-state speed.
    click.echo("warming up (the first run after installing compiles code once) ...", err=True)
    warm = np.random.default_rng(0).standard_normal(8192) * 0.1
    codec.decode(codec.encode(warm, 22050), n_iter=1)
    lines = []
    for wav in tqdm(files, desc="demo", unit="file", delay=1.0, disable=not sys.stderr.isatty()):
        png, dec = out / f"{wav.stem}.png", out / f"{wav.stem}.decoded.wav"
        t0 = time.perf_counter()
        img = encode_file(wav, png)
        t1 = time.perf_counter()
        y_hat, sr = decode_file(png, dec, quality=quality, subtype="FLOAT")
        t2 = time.perf_counter()
        y, _ = read_audio(wav)
        p = img.params
        lines.append(
            f"{wav.name:<22} {sr:>6} {p.n_channels:>3} {y.shape[-1] / sr:>7.2f} {t1 - t0:>8.2f} {t2 - t1:>8.2f} "
            f"{spectral_convergence(y_hat, y, p):>8.1f} {level_difference_db(y_hat, y):>+8.2f} "
            f"{'yes' if y_hat.shape == y.shape else 'NO':>7}"
        )
    click.echo(f"wrote {len(files)} images and decoded files to {out}/")
    click.echo(f"{'file':<22} {'sr':>6} {'ch':>3} {'dur s':>7} {'enc s':>8} {'dec s':>8} {'SC dB':>8} {'ΔRMS dB':>8} {'length':>7}")
    for line in lines:
        click.echo(line)
    click.echo("SC: linear spectral convergence of the decoded audio (lower is better); ΔRMS: level change; "
               "length: same samples and channels as the original.")


# ---------------------------------------------------------------------------- edit
_EDIT_OPS = ("--denoise", "--erase", "--gain", "--inpaint", "--mask")


class _OrderedCommand(click.Command):
    """A command that remembers the order in which the operation options were given.

    click groups the values of each ``multiple=True`` option; the edit operations must run
    in the user's order across options, so the raw arguments are scanned for it here.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        order: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if name in _EDIT_OPS:
                order.append(name)
                if "=" not in arg:
                    i += 1  # the value, which may itself start with "-" (a negative gain)
            i += 1
        ctx.meta["specimg.edit_order"] = order
        return super().parse_args(ctx, args)


def _number(text: str, what: str, option: str, spec: str, syntax: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"{option} {spec!r}: {what} {text!r} is not a number; syntax: {option} {syntax}") from None
    if not np.isfinite(value):
        raise ParameterError(f"{option} {spec!r}: {what} {text!r} must be finite; syntax: {option} {syntax}")
    return value


def _pair_of(parts: Sequence[str], names: tuple[str, str], option: str, spec: str, syntax: str) -> tuple[float | None, float | None] | None:
    """Two fields of a spec; empty fields are the axis ends, two empty fields the whole axis."""
    if not parts[0].strip() and not parts[1].strip():
        return None
    a, b = (None if not p.strip() else _number(p, n, option, spec, syntax) for p, n in zip(parts, names))
    return a, b


def _parse_region(parts: Sequence[str], option: str, spec: str, syntax: str) -> dict[str, Any]:
    if len(parts) not in (2, 4):
        raise ParameterError(f"{option} {spec!r} has {len(parts)} field(s) where T0:T1 or T0:T1:F0:F1 go; syntax: {option} {syntax}")
    region: dict[str, Any] = {"time": _pair_of(parts[:2], ("T0", "T1"), option, spec, syntax), "freq": None}
    if len(parts) == 4:
        region["freq"] = _pair_of(parts[2:], ("F0", "F1"), option, spec, syntax)
    return region


def _parse_edit(option: str, spec: str, fade: float, fade_hz: float | None, invert_mask: bool) -> Callable[[SpectrogramImage], SpectrogramImage]:
    """One operation of ``specimg edit`` as a function of the image (syntax checked now)."""
    if option == "--denoise":
        syntax = "METHOD[:STRENGTH_DB]"
        method, _, rest = spec.partition(":")
        if method not in ops.DENOISE_OPTIONS:
            raise ParameterError(
                f"--denoise {spec!r}: unknown method {method!r}; use one of {', '.join(ops.DENOISE_OPTIONS)}"
            )
        strength = None if not rest.strip() else _number(rest, "STRENGTH_DB", option, spec, syntax)
        return lambda img: ops.denoise(img, method, strength=strength)  # type: ignore[arg-type]
    if option == "--erase":
        region = _parse_region(spec.split(":"), option, spec, "T0:T1[:F0:F1]")
        return lambda img: ops.erase(img, fade=fade, fade_hz=fade_hz, **region)
    if option == "--gain":
        syntax = "DB[:T0:T1[:F0:F1]]"
        parts = spec.split(":")
        if len(parts) not in (1, 3, 5):
            raise ParameterError(f"--gain {spec!r} has {len(parts)} field(s); syntax: --gain {syntax}")
        db = _number(parts[0], "DB", option, spec, syntax)
        region = _parse_region(parts[1:], option, spec, syntax) if len(parts) > 1 else {}
        return lambda img: ops.gain(img, db, fade=fade, fade_hz=fade_hz, **region)
    path, sep, tail = spec.rpartition(":")
    if option == "--inpaint":
        if sep and tail in ("telea", "ns", "biharmonic"):
            mask, method = path, tail
        else:
            mask, method = spec, "telea"
        if not Path(mask).is_file():
            raise MissingFileError(f"no such mask file: {mask!r} (given as --inpaint {spec})")
        return lambda img: ops.inpaint(img, mask, method=method)  # type: ignore[arg-type]
    # --mask
    mask, db = spec, -60.0
    if sep:
        try:
            db = float(tail)
            mask = path
        except ValueError:
            pass
    if not Path(mask).is_file():
        raise MissingFileError(f"no such mask file: {mask!r} (given as --mask {spec})")
    return lambda img: ops.apply_mask(img, mask, db=db, invert=invert_mask)


_EDIT_HELP = """Edit spectrogram image IN and write OUT (.png, .tif), keeping its metadata.

\b
Operations run in the order given, each as often as wanted:
  --denoise METHOD[:STRENGTH_DB]  nlmeans, tv, wavelet, bilateral, median or gate
  --erase T0:T1[:F0:F1]           silence seconds T0..T1 (and Hz F0..F1)
  --gain DB[:T0:T1[:F0:F1]]       add DB dB (negative: quieter) in the region
  --inpaint MASK[:METHOD]         fill the white pixels of image MASK (telea, ns,
                                  biharmonic) from their surroundings
  --mask MASK[:DB]                lower the white pixels of image MASK by DB dB
                                  (default -60; --invert-mask: the black ones)
An empty field is the end of its axis: '--erase 1.2:1.5' is 1.2-1.5 s over all
frequencies, '--erase 1.2:' from 1.2 s to the end, '--gain -6:::0:300' -6 dB below
300 Hz over the whole file, '--gain 3' +3 dB everywhere. Masks are painted on a copy
of IN (same size; white = selected). Example:

\b
  specimg edit in.png out.png --denoise nlmeans --erase 1.2:1.5:0:8000 --gain -6:0:2:0:300
"""


@cli.command(cls=_OrderedCommand, help=_EDIT_HELP)
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--denoise", "denoise_", multiple=True, metavar="METHOD[:STRENGTH_DB]", help="Remove noise.")
@click.option("--erase", "erase_", multiple=True, metavar="T0:T1[:F0:F1]", help="Silence a region.")
@click.option("--gain", "gain_", multiple=True, metavar="DB[:T0:T1[:F0:F1]]", help="Change the level of a region.")
@click.option("--inpaint", "inpaint_", multiple=True, metavar="MASK[:METHOD]", help="Fill a painted hole.")
@click.option("--mask", "mask_", multiple=True, metavar="MASK[:DB]", help="Attenuate painted pixels.")
@click.option("--fade", type=click.FloatRange(min=0), default=0.02, show_default=True,
              help="Soft time edge of --erase and --gain, in seconds.")
@click.option("--fade-hz", type=click.FloatRange(min=0), default=None,
              help="Soft frequency edge of --erase and --gain, in Hz. [default: 4 STFT bins]")
@click.option("--invert-mask", is_flag=True, help="--mask: black pixels are the painted ones.")
@_params_option
def edit(in_path: str, out_path: str, denoise_: tuple[str, ...], erase_: tuple[str, ...], gain_: tuple[str, ...],
         inpaint_: tuple[str, ...], mask_: tuple[str, ...], fade: float, fade_hz: float | None, invert_mask: bool,
         params_path: str | None) -> None:  # fmt: skip
    image_format(Path(out_path))  # an unknown extension fails before any work
    given = {"--denoise": list(denoise_), "--erase": list(erase_), "--gain": list(gain_),
             "--inpaint": list(inpaint_), "--mask": list(mask_)}  # fmt: skip
    order = click.get_current_context().meta.get("specimg.edit_order", [])
    if sorted(order) != sorted(name for name, specs in given.items() for _ in specs):
        raise ParameterError("could not tell the order of the operations; write each as --OPTION VALUE")
    steps = [(name, given[name].pop(0)) for name in order]
    if not steps:
        raise ParameterError("no operation given; add --denoise, --erase, --gain, --inpaint or --mask (see --help)")
    funcs = [_parse_edit(name, spec, fade, fade_hz, invert_mask) for name, spec in steps]
    original = load(in_path, params=_read_params(params_path))
    img = original
    for func in funcs:
        img = func(img)
    save(img, out_path)
    changed = 100.0 * np.count_nonzero(img.pixels != original.pixels) / img.pixels.size
    done = " → ".join(f"{name[2:]} {spec}" for name, spec in steps)
    click.echo(f"{out_path}: {done}; {changed:.1f} % of pixels changed")


# ---------------------------------------------------------------------------- diff
def _grid(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) == 2 and all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        return int(parts[0]), int(parts[1])
    raise ParameterError(f"--grid {text!r} must be TIMExFREQ with positive integers, e.g. 4x4")


_MAX_COLUMNS = 64


def _diff_edges(img: SpectrogramImage, grid: str, time_step: float | None, freq_bands: str | None) -> tuple[np.ndarray, np.ndarray]:
    p = img.params
    n_t, n_f = _grid(grid)
    duration = (p.n_samples if p.n_samples is not None else p.length_for(img.n_frames)) / p.sr
    if time_step is not None:
        if not time_step > 0:
            raise ParameterError(f"--time-step {time_step!r} must be > 0 seconds")
        n_t = int(np.ceil(duration / time_step - 1e-9))
        if n_t > _MAX_COLUMNS:
            raise ParameterError(f"--time-step {time_step:g} makes {n_t} columns for {duration:.2f} s; use at most {_MAX_COLUMNS}")
        t_edges = np.minimum(np.arange(n_t + 1) * time_step, duration)
    else:
        t_edges = np.linspace(0.0, duration, n_t + 1)
    top = float(p.fmax) if p.scale == "mel" else p.sr / 2  # type: ignore[arg-type]
    if freq_bands is not None:
        try:
            points = sorted({float(x) for x in freq_bands.split(",") if x.strip()})
        except ValueError:
            raise ParameterError(f"--freq-bands {freq_bands!r} must be comma-separated frequencies in Hz, e.g. 300,1000,4000") from None
        bad = [x for x in points if not 0 <= x <= top]
        if bad:
            raise ParameterError(f"--freq-bands {freq_bands!r}: {bad[0]:g} Hz is outside 0..{top:g} Hz")
        f_edges = np.array(sorted({0.0, *points, top}))
    elif p.scale == "mel":
        import librosa

        f_edges = librosa.mel_frequencies(n_mels=n_f + 1, fmin=p.fmin, fmax=top, htk=p.htk)
        f_edges[0], f_edges[-1] = 0.0, top
    else:
        f_edges = np.linspace(0.0, top, n_f + 1)
    return t_edges, f_edges


def _bins_in(x: np.ndarray, edges: np.ndarray, k: int) -> np.ndarray:
    last = k == len(edges) - 2
    return (x >= edges[k]) & ((x <= edges[k + 1]) if last else (x < edges[k + 1]))


@cli.command()
@click.argument("a_path", metavar="A", type=click.Path(dir_okay=False))
@click.argument("b_path", metavar="B", type=click.Path(dir_okay=False))
@click.option("--grid", default="4x4", show_default=True, help="TIMExFREQ: time segments × frequency bands.")
@click.option("--time-step", type=float, default=None, help="Seconds per time segment (replaces the grid's count).")
@click.option("--freq-bands", default=None, metavar="HZ,HZ,...",
              help="Frequencies that split the bands, e.g. 300,1000,4000 (replaces the grid's bands).")
def diff(a_path: str, b_path: str, grid: str, time_step: float | None, freq_bands: str | None) -> None:
    """Print the level change from image A to image B (two versions of one spectrogram).

    Each cell is the mean of B − A in dB over the bins of that time segment and frequency
    band that are above the floor (db_min) in A or in B, all channels together; rows run
    from high to low frequency, as in the picture. '·' marks a cell with no such bins.
    """
    a, b = load(a_path), load(b_path)
    pa, pb = a.params.replace(edits=()), b.params.replace(edits=())
    if pa != pb:
        da_, db_ = pa.to_dict(), pb.to_dict()
        what = ", ".join(f"{k} ({da_[k]!r} vs {db_[k]!r})" for k in da_ if da_[k] != db_[k])
        raise ParameterError(f"A and B differ in {what}; diff compares two versions of one spectrogram")
    if a.shape != b.shape:
        raise ParameterError(f"A is {a.shape[1]}×{a.shape[0]} pixels but B is {b.shape[1]}×{b.shape[0]}")
    p = a.params
    t_edges, f_edges = _diff_edges(a, grid, time_step, freq_bands)
    da, db = a.db, b.db
    if da.ndim == 2:
        da, db = da[np.newaxis], db[np.newaxis]
    delta = db - da
    above = (da > p.db_min) | (db > p.db_min)
    times, freqs = a.times, a.frequencies
    cols = [f"{t_edges[k]:.2f}–{t_edges[k + 1]:.2f} s" for k in range(len(t_edges) - 1)]
    rows = []
    for j in reversed(range(len(f_edges) - 1)):
        in_band = _bins_in(freqs, f_edges, j)
        cells = []
        for k in range(len(t_edges) - 1):
            sel = above & in_band[:, None] & _bins_in(times, t_edges, k)[None, :]
            mean = float(delta[sel].mean()) if sel.any() else None
            cells.append("·" if mean is None else f"{0.0 if abs(mean) < 0.005 else mean:+.2f}")
        rows.append((f"{f_edges[j]:.0f}–{f_edges[j + 1]:.0f} Hz", cells))
    w0 = max(len(r[0]) for r in rows)
    w = max([len(c) for c in cols] + [7])
    click.echo(f"B − A in dB: mean over the bins above the floor ({p.db_min:g} dB) in A or B"
               + (", all channels" if p.n_channels > 1 else ""))  # fmt: skip
    click.echo(" " * w0 + "".join(f"  {c:>{w}}" for c in cols))
    for label, cells in rows:
        click.echo(f"{label:>{w0}}" + "".join(f"  {c:>{w}}" for c in cells))
    changed = 100.0 * np.count_nonzero(a.pixels != b.pixels) / a.pixels.size
    click.echo(f"max |Δ| = {float(np.abs(delta).max()):.2f} dB; {changed:.2f} % of pixels changed")


# ---------------------------------------------------------------------------- import
#: What ``specimg import`` reads, and the files it takes from a folder IN.
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
_IMPORT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "array": (".npy", ".npz"),
    "scipy": (".npz",),
    "minmax": _IMAGE_SUFFIXES,
    "figure": _IMAGE_SUFFIXES,
    "audio-diffusion": _IMAGE_SUFFIXES,
    "riffusion": _IMAGE_SUFFIXES,
}

#: For each KIND, the options it takes and the keyword of its specimg.legacy function they
#: set (options that select the input or pick between keywords map to themselves).
_IMPORT_KEYWORDS: dict[str, dict[str, str]] = {
    "array": {
        "key": "key", "kind": "kind", "ref_max": "ref", "sr": "sr", "n_fft": "n_fft", "hop_length": "hop_length",
        "win_length": "win_length", "window": "window", "scale": "scale", "fmin": "fmin", "fmax": "fmax",
        "htk": "htk", "peak_db": "peak_db", "n_samples": "n_samples", "convention": "convention",
    },
    "scipy": {
        "sr": "fs", "window": "window", "nperseg": "nperseg", "noverlap": "noverlap", "n_fft": "nfft",
        "scaling": "scaling", "mode": "mode", "n_samples": "n_samples",
    },
    "minmax": {
        "sr": "sr", "n_fft": "n_fft", "hop_length": "hop_length", "win_length": "win_length", "window": "window",
        "top_db": "top_db", "peak_db": "peak_db", "flip": "flip", "invert": "invert", "scale": "scale",
        "fmin": "fmin", "fmax": "fmax", "htk": "htk", "n_samples": "n_samples",
    },
    "figure": {
        "sr": "sr", "duration": "duration", "n_samples": "n_samples", "y_axis": "y_axis", "cmap": "cmap",
        "top_db": "top_db", "peak_db": "peak_db", "n_fft": "n_fft", "hop_length": "hop_length",
        "win_length": "win_length", "n_mels": "n_mels", "fmin": "fmin", "fmax": "fmax", "htk": "htk",
    },
    "audio-diffusion": {
        "sr": "sr", "n_fft": "n_fft", "hop_length": "hop_length", "top_db": "top_db", "peak_db": "peak_db",
        "n_samples": "n_samples",
    },
    # riffusion's own names; the EXIF tags of the image win over them
    "riffusion": {
        "sr": "sample_rate", "fmin": "min_frequency", "fmax": "max_frequency", "n_mels": "num_frequencies",
        "peak_db": "peak_db", "n_samples": "n_samples",
    },
}  # fmt: skip

_IMPORT_HELP = """Turn spectrogram IN, made by another tool, into a calibrated image OUT.

\b
KIND is what made IN:
  array            a librosa/torchaudio array saved with np.save (.npy), or an
                   .npz holding one array (else name it with --key)
  scipy            np.savez(IN, f=f, t=t, Sxx=Sxx) of scipy.signal.spectrogram
                   (pass the --window, --nperseg, --noverlap given to scipy)
  minmax           an 8/16-bit gray picture of amplitude_to_db(..., ref=np.max)
                   scaled min-max to 0..255, usually flipped (--no-flip if not)
  figure           a librosa.display.specshow figure saved without axes
  audio-diffusion  an image of diffusers' audio-diffusion Mel class
  riffusion        a riffusion PNG (its EXIF tags are read)

Options that are not given keep the defaults of the producing library; an option
that KIND does not take is an error. OUT is a 16-bit .png or .tif with embedded
metadata, ready for 'specimg decode'. If IN is a folder, every input file in it
(sorted by name) becomes OUT/<stem>.png, in --workers processes; a file that fails
is reported and the others go on.

\b
Options each KIND takes:
{options}

\b
Examples:
  specimg import minmax old.png speech.png --sr 16000 --peak-db -20
  specimg import figure figures/ rescued/ --y-axis log --duration 60 --workers 2
  specimg import scipy spec.npz spec.png --sr 44100 --window hann --nperseg 1024
""".format(
    options="\n".join(
        textwrap.fill(" ".join(f"--{name.replace('_', '-')}" for name in names), width=80, break_on_hyphens=False,
                      initial_indent=f"  {kind:<17}", subsequent_indent=" " * 19)
        for kind, names in _IMPORT_KEYWORDS.items()
    )
)


def _window_spec(text: str) -> str | tuple[Any, ...]:
    """``hann`` → ``"hann"``; ``tukey,0.25`` → ``("tukey", 0.25)`` (scipy's window tuples)."""
    name, *args = (part.strip() for part in text.split(","))
    if not name or not args:
        return name or text
    values: list[Any] = [name]
    for arg in args:
        try:
            values.append(float(arg))
        except ValueError:
            raise ParameterError(
                f"--window {text!r}: {arg!r} is not a number; syntax: --window NAME[,PARAM...]"
            ) from None
    return tuple(values)


def _read_array(path: Path, key: str | None, *, what: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The array of a .npy file, or the arrays of an .npz file (``{}`` for .npy)."""
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            if key is not None:
                raise ParameterError(f"--key {key!r} only applies to an .npz file, and {str(path)!r} is a .npy")
            return data, {}
        with data:
            return np.empty(0), {name: data[name] for name in data.files}
    except SpecimgError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise FormatError(f"{str(path)!r} is not a {what} numpy can read: {exc}") from None


def _import_one(kind: str, path: Path, given: dict[str, Any]) -> SpectrogramImage:
    """Read one input file with the specimg.legacy function of ``kind`` and the options given."""
    from . import legacy

    if not path.is_file():
        raise MissingFileError(f"no such file: {str(path)!r}")
    kw = {_IMPORT_KEYWORDS[kind][name]: value for name, value in given.items()}
    if "window" in kw:
        kw["window"] = _window_spec(kw["window"])
    if kind == "array":
        if path.suffix.lower() not in (".npy", ".npz"):
            raise FormatError(f"{str(path)!r}: KIND array reads a .npy or .npz file")
        key = kw.pop("key", None)
        S, arrays = _read_array(path, key, what=".npy/.npz file")
        if arrays:
            if key is None and len(arrays) != 1:
                hint = "; or is it scipy's output? Then use KIND scipy" if {"f", "t", "Sxx"} <= set(arrays) else ""
                raise ParameterError(
                    f"{str(path)!r} holds {len(arrays)} arrays ({', '.join(arrays)}); pick one with --key{hint}"
                )
            if key is not None and key not in arrays:
                raise ParameterError(f"{str(path)!r} has no array {key!r}; it holds {', '.join(arrays) or 'none'}")
            S = arrays[key if key is not None else next(iter(arrays))]
        if kw.pop("ref", False):
            if kw.get("kind") != "db":
                raise ParameterError(
                    "--ref-max only applies to --kind db (amplitude_to_db/power_to_db with ref=np.max)"
                )
            kw["ref"] = np.max
        return legacy.from_array(S, kw.pop("kind", "magnitude"), **kw)
    if kind == "scipy":
        if path.suffix.lower() != ".npz":
            raise FormatError(
                f"{str(path)!r}: KIND scipy reads an .npz file saved as np.savez(path, f=f, t=t, Sxx=Sxx)"
            )
        _, arrays = _read_array(path, None, what=".npz file")
        missing = [name for name in ("f", "t", "Sxx") if name not in arrays]
        if missing:
            raise FormatError(
                f"{str(path)!r} lacks the array(s) {', '.join(missing)} (it holds {', '.join(arrays) or 'none'}); "
                "save scipy's output as np.savez(path, f=f, t=t, Sxx=Sxx)"
            )
        if "fs" not in kw:
            if "fs" in arrays and arrays["fs"].size == 1:
                kw["fs"] = float(arrays["fs"].reshape(-1)[0])
            else:
                f = np.asarray(arrays["f"], dtype=np.float64).ravel()
                kw["fs"] = float(round(2.0 * f[-1])) if f.size else 0.0
                warnings.warn(
                    f"the sample rate is not given; {kw['fs']:g} Hz is read from the highest frequency in f "
                    "(right for an even nperseg). Pass --sr <the fs given to scipy> to set it",
                    AssumptionWarning,
                    stacklevel=2,
                )
        return legacy.from_scipy_spectrogram(arrays["f"], arrays["t"], arrays["Sxx"], **kw)
    if kind == "minmax":
        return legacy.from_minmax_image(path, **kw)
    if kind == "figure":
        return legacy.from_figure(path, **kw)
    if kind == "audio-diffusion":
        return legacy.from_audio_diffusion(path, **kw)
    return legacy.from_riffusion(path, **kw)


def _import_inputs(kind: str, folder: Path) -> list[Path]:
    suffixes = _IMPORT_SUFFIXES[kind]
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes),
        key=lambda p: p.name,
    )
    if not files:
        raise MissingFileError(f"no {'/'.join(suffixes)} files in folder {str(folder)!r} (KIND {kind})")
    return files


def _describe(img: SpectrogramImage) -> str:
    p = img.params
    n_samples = p.n_samples if p.n_samples is not None else p.length_for(img.n_frames)
    axis = f"{p.n_mels} mel bands" if p.scale == "mel" else f"{p.n_bins} bins"
    return (f"{img.shape[0]}×{img.shape[1]} {p.bit_depth}-bit, {axis} (n_fft={p.n_fft}, hop={p.hop_length}), "
            f"{p.n_channels} channel(s), {n_samples / p.sr:.2f} s at {p.sr} Hz")  # fmt: skip


def _warning_key(message: str) -> str:
    """A warning's text with its numbers blanked: the same warning about another file."""
    return re.sub(r"[-+]?\d[\d.]*", "#", message)


@cli.command("import", help=_IMPORT_HELP, short_help="Calibrate a spectrogram made by another tool.")
@click.argument("kind", metavar="KIND", type=click.Choice(list(_IMPORT_KEYWORDS)))
@click.argument("in_path", metavar="IN", type=click.Path())
@click.argument("out_path", metavar="OUT", type=click.Path())
@click.option("--sr", type=int, default=None, help="Sample rate in Hz (scipy's fs, riffusion's sample_rate).")
@click.option("--n-fft", type=int, default=None, help="FFT size (scipy's nfft).")
@click.option("--hop-length", type=int, default=None)
@click.option("--win-length", type=int, default=None)
@click.option("--window", default=None, metavar="NAME[,PARAM]", help="scipy window, e.g. hann or tukey,0.25.")
@click.option("--kind", "kind_", type=click.Choice(["magnitude", "power", "db", "psd"]), default=None,
              help="array: what the array holds. [default: magnitude]")
@click.option("--ref-max", is_flag=True, default=None, help="array --kind db: made with ref=np.max.")
@click.option("--key", default=None, help="array: name of the array in an .npz file.")
@click.option("--peak-db", type=float, default=None, help="Level in dBFS of the loudest bin, when IN lost it.")
@click.option("--top-db", type=float, default=None, help="dB range between black and the loudest colour.")
@click.option("--flip/--no-flip", default=None, help="minmax: low frequencies at the bottom. [default: flip]")
@click.option("--invert", is_flag=True, default=None, help="minmax: black is loud.")
@click.option("--scale", type=click.Choice(["linear", "mel"]), default=None)
@click.option("--y-axis", type=click.Choice(["hz", "linear", "fft", "log", "mel"]), default=None,
              help="figure: specshow's y_axis. [default: hz]")
@click.option("--cmap", default=None, help="figure: the matplotlib colormap. [default: magma]")
@click.option("--duration", type=float, default=None, help="figure: length of the audio in seconds.")
@click.option("--n-samples", type=int, default=None, help="Length of the audio in samples.")
@click.option("--n-mels", type=int, default=None)
@click.option("--fmin", type=float, default=None)
@click.option("--fmax", type=float, default=None)
@click.option("--htk/--no-htk", default=None, help="HTK mel formula (torchaudio's and riffusion's) or Slaney's.")
@click.option("--nperseg", type=int, default=None, help="scipy: segment length.")
@click.option("--noverlap", type=int, default=None, help="scipy: overlap between segments.")
@click.option("--scaling", type=click.Choice(["density", "spectrum"]), default=None, help="scipy's scaling.")
@click.option("--mode", type=click.Choice(["psd", "magnitude", "complex"]), default=None, help="scipy's mode.")
@click.option("--convention", type=click.Choice(["librosa", "torchaudio"]), default=None,
              help="array: whose defaults fill what is not given. [default: librosa]")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes for a folder IN (e.g. 2 on 2 cores).")
def import_(kind: str, in_path: str, out_path: str, kind_: str | None, workers: int, **options: Any) -> int:
    ctx = click.get_current_context()
    options["kind"] = kind_
    by_user = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    given = {
        name: value for name, value in options.items()
        if ctx.get_parameter_source("kind_" if name == "kind" else name) in by_user
    }  # fmt: skip
    allowed = _IMPORT_KEYWORDS[kind]
    wrong = [name for name in given if name not in allowed]
    if wrong:
        flags = ", ".join("--flip/--no-flip" if name == "flip" else f"--{name.replace('_', '-')}" for name in wrong)
        takes = " ".join(f"--{name.replace('_', '-')}" for name in allowed)
        raise click.UsageError(f"{flags} does not apply to KIND {kind} (it takes {takes})", ctx)
    src, out = Path(in_path), Path(out_path)
    if not src.is_dir():
        if out.is_dir():
            out = out / f"{src.stem}.png"
        if out.resolve() == src.resolve():
            raise ParameterError(f"OUT {str(out)!r} is IN itself; write the calibrated image to another file")
        image_format(out)  # an unknown extension fails before any work
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SpecimgWarning)
            try:
                img = _import_one(kind, src, given)
                save(img, out)
            finally:  # also when it fails: an assumption may explain the error
                for w in caught:
                    click.echo(f"specimg: warning: {w.message}", err=True)
        click.echo(f"{out}: {_describe(img)}")
        return 0
    return _import_folder(kind, src, out, given, workers)


def _import_task(kind: str, path: Path, target: Path, given: dict[str, Any]) -> tuple[list[str], str | None]:
    """Import one file of a folder into ``target``: (warning messages, error message or None).

    Runs in a worker process with ``--workers``; every exception becomes the file's error
    line, so one bad file (or a bug) cannot stop a batch of 1300.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecimgWarning)
        try:
            save(_import_one(kind, path, given), target)
            error = None
        except Exception as exc:  # noqa: BLE001 - reported as the file's error line
            error = str(exc) if isinstance(exc, (SpecimgError, OSError)) else f"{type(exc).__name__}: {exc}"
    return [str(w.message) for w in caught], error


def _import_folder(kind: str, src: Path, out: Path, given: dict[str, Any], workers: int) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    if out.exists() and not out.is_dir():
        raise ParameterError(f"IN {str(src)!r} is a folder, so OUT must be a folder; {str(out)!r} is a file")
    if not out.exists() and out.suffix.lower() in (".png", ".tif", ".tiff"):
        raise ParameterError(f"IN {str(src)!r} is a folder, so OUT must be a folder, not {str(out)!r}")
    if out.resolve() == src.resolve():
        raise ParameterError(f"OUT {str(out)!r} is the folder IN; write the calibrated images to another folder")
    files = _import_inputs(kind, src)
    out.mkdir(parents=True, exist_ok=True)
    owner: dict[str, Path] = {}
    shown: set[str] = set()
    repeated = failed = 0
    bar = tqdm(total=len(files), desc="import", unit="file", delay=1.0, disable=not sys.stderr.isatty())

    def err(message: str) -> None:
        if bar.disable:
            click.echo(message, err=True)
        else:
            bar.write(message, file=sys.stderr)

    def report(path: Path, messages: list[str], error: str | None) -> None:
        nonlocal failed, repeated
        bar.update()
        if error is not None:
            failed += 1
            for message in messages:  # an assumption may explain the error
                err(f"specimg: warning: {path}: {message}")
            err(f"specimg: error: {path}: {error}")
            return
        for message in messages:
            key = _warning_key(message)
            if key in shown:
                repeated += 1
            else:
                shown.add(key)
                err(f"specimg: warning: {path}: {message}")

    tasks = []
    for path in files:
        target = out / f"{path.stem}.png"
        if target.name in owner:
            report(path, [], f"its output {target.name} is also that of {owner[target.name].name}; rename one")
            continue
        owner[target.name] = path
        tasks.append((path, target))
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            futures = [pool.submit(_import_task, kind, path, target, given) for path, target in tasks]
            for (path, _), future in zip(tasks, futures):  # in name order, as they finish
                report(path, *future.result())
    else:
        for path, target in tasks:
            report(path, *_import_task(kind, path, target, given))
    bar.close()
    done = len(files) - failed
    summary = f"{out}: imported {done} of {len(files)} file(s)" + (f", {failed} failed" if failed else "")
    if repeated:
        summary += f" ({repeated} repeated warning(s) not shown again)"
    click.echo(summary)
    return 1 if failed else 0


# ---------------------------------------------------------------------------- dataset
def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) == 2 and all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        return int(parts[0]), int(parts[1])
    raise ParameterError(f"--size {text!r} must be ROWSxFRAMES with positive integers, e.g. 256x256")


def _value_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    lo, sep, hi = text.partition(":")
    try:
        if sep:
            return float(lo), float(hi)
    except ValueError:
        pass
    raise ParameterError(f"--value-range {text!r} must be LO:HI, e.g. -1:1 or 0:255")


@cli.group()
def dataset() -> None:
    """GAN training sets: build tiles from audio, decode what a GAN makes, summarise."""


@dataset.command("build")
@click.argument("audio_dir", metavar="AUDIO_DIR", type=click.Path(file_okay=False))
@click.argument("out_dir", metavar="OUT_DIR", type=click.Path(file_okay=False))
@click.option("--size", default="256x256", show_default=True, help="ROWSxFRAMES of every tile: mel bands × STFT frames.")
@click.option("--sr", type=int, default=22050, show_default=True, help="Every file is resampled to this rate (Hz).")
@click.option("--hop-length", type=int, default=None, help="[default: n-fft // 4]")
@click.option("--n-fft", type=int, default=None,
              help="[default: the smallest power of two >= 1024 that leaves no mel band empty]")
@click.option("--n-mels", type=int, default=None, help="Must equal the rows of --size. [default: rows]")
@click.option("--overlap", type=float, default=0.0, show_default=True, help="Fraction of a tile repeated by the next.")
@click.option("--min-level-db", type=float, default=-80.0, show_default=True,
              help="Skip tiles whose loudest bin is below this level (dB re full scale).")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default="16", show_default=True)
@click.option("--validation", type=float, default=0.1, show_default=True,
              help="Fraction of the source files in the validation split.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/validation split.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes. [default: one per CPU]")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Build on a Dask cluster, e.g. tcp://host:8786 (pip install 'specimg[dask]'; the folders must "
                   "be at the same paths on the workers).")
def dataset_build(audio_dir: str, out_dir: str, size: str, bit_depth: str, **kwargs: Any) -> None:
    """Cut the audio files under AUDIO_DIR into spectrogram tiles in OUT_DIR.

    Every tile has the same size and one absolute dB scale (stored in OUT_DIR/specimg.json),
    with Hugging Face imagefolder manifests (train/ and validation/metadata.jsonl) and class
    folders when every file sits in a subfolder. Interrupted? Run the same command again.
    """
    from .dataset import build

    depth: Literal[8, 16] = 8 if bit_depth == "8" else 16
    report = build(audio_dir, out_dir, size=_size(size), bit_depth=depth, progress=sys.stderr.isatty(), **kwargs)
    click.echo(str(report))


@dataset.command("decode")
@click.argument("gan_output_dir", metavar="GAN_OUTPUT_DIR", type=click.Path(file_okay=False))
@click.argument("audio_out", metavar="AUDIO_OUT", type=click.Path(file_okay=False))
@click.option("--like", "like", required=True, type=click.Path(), metavar="OUT_DIR",
              help="The dataset the GAN was trained on (its folder or specimg.json): its calibration is used.")
@click.option("--stitch", is_flag=True, help="Join all tiles, in name order, into one file without seams.")
@click.option("--quality", type=click.Choice(list(QUALITY_PRESETS)), default="balanced", show_default=True)
@click.option("--n-iter", type=click.IntRange(min=0), default=None, help="Griffin-Lim iterations. [default: preset]")
@click.option("--value-range", default=None, metavar="LO:HI",
              help="Values of silence and of the loudest level in the inputs. [default: from the dtype]")
@click.option("--step-frames", type=click.IntRange(min=1), default=None,
              help="--stitch: frames between tile starts. [default: the dataset's]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--subtype", default=None, help="soundfile subtype, e.g. PCM_24 or FLOAT. [default: PCM_16]")
def dataset_decode(gan_output_dir: str, audio_out: str, like: str, stitch: bool, quality: str, n_iter: int | None,
                   value_range: str | None, step_frames: int | None, seed: int, subtype: str | None) -> None:  # fmt: skip
    """Decode the bare images (PNG, TIFF) and arrays (.npy) in GAN_OUTPUT_DIR to WAV files in AUDIO_OUT."""
    from .dataset import decode_dir

    written = decode_dir(
        gan_output_dir, audio_out, like=like, stitch=stitch, quality=quality, n_iter=n_iter,  # type: ignore[arg-type]
        value_range=_value_range(value_range), step_frames=step_frames, rng=seed, subtype=subtype,
        progress=sys.stderr.isatty(),
    )  # fmt: skip
    click.echo(f"{audio_out}: {len(written)} file(s) decoded")


@dataset.command("stats")
@click.argument("out_dir", metavar="OUT_DIR", type=click.Path(file_okay=False))
@click.option("--contact-sheet", type=click.Path(dir_okay=False), default=None, metavar="PNG",
              help="Also write a PNG of tiles drawn at random.")
@click.option("-n", "--n", "n", type=click.IntRange(min=1), default=16, show_default=True,
              help="Tiles on the contact sheet.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random choice of tiles.")
def dataset_stats(out_dir: str, contact_sheet: str | None, n: int, seed: int) -> None:
    """Print what dataset OUT_DIR holds: tiles, hours of audio, levels, skipped and failed files."""
    from .dataset import stats
    from .dataset.stats import format_stats

    click.echo(format_stats(stats(out_dir, contact_sheet=contact_sheet, n=n, seed=seed)))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``specimg`` command."""
    warnings.showwarning = _show_warning
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, prog_name="specimg", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("specimg: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (SpecimgError, OSError) as exc:
        click.echo(f"specimg: error: {exc}", err=True)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
