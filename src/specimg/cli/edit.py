"""``specimg edit`` and ``specimg diff``: change an image, and see what changed.

:mod:`specimg.ops` (scipy.ndimage, scikit-image) and the file formats are imported inside
the commands, so that importing this module (``specimg --help``) stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import MissingFileError, ParameterError
from ._common import grid_size, params_option, read_params
from .audio import output_folder

if TYPE_CHECKING:
    from ..image import SpectrogramImage

__all__ = ["edit", "diff"]

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
    import numpy as np

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
    from .. import ops

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


@click.command(cls=_OrderedCommand, help=_EDIT_HELP)
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
@click.option("--replay", "replay_path", type=click.Path(dir_okay=False), default=None, metavar="HISTORY.json",
              help="Replay a history exported by specimg studio (or a file's edits) before the other operations.")
@params_option
def edit(in_path: str, out_path: str, denoise_: tuple[str, ...], erase_: tuple[str, ...], gain_: tuple[str, ...],
         inpaint_: tuple[str, ...], mask_: tuple[str, ...], fade: float, fade_hz: float | None, invert_mask: bool,
         replay_path: str | None, params_path: str | None) -> None:  # fmt: skip
    import numpy as np

    from ..formats import image_format, load, save

    image_format(Path(out_path))  # an unknown extension fails before any work
    given = {"--denoise": list(denoise_), "--erase": list(erase_), "--gain": list(gain_),
             "--inpaint": list(inpaint_), "--mask": list(mask_)}  # fmt: skip
    order = click.get_current_context().meta.get("specimg.edit_order", [])
    if sorted(order) != sorted(name for name, specs in given.items() for _ in specs):
        raise ParameterError("could not tell the order of the operations; write each as --OPTION VALUE")
    steps = [(name, given[name].pop(0)) for name in order]
    if not steps and replay_path is None:
        raise ParameterError(
            "no operation given; add --denoise, --erase, --gain, --inpaint, --mask or --replay (see --help)"
        )
    funcs = [_parse_edit(name, spec, fade, fade_hz, invert_mask) for name, spec in steps]
    history = _read_history(Path(replay_path)) if replay_path is not None else None
    original = load(in_path, params=read_params(params_path))
    img = original
    if history is not None:
        from ..ops import replay

        img = replay(img, history)
        steps.insert(0, ("--replay", f"{Path(replay_path).name} ({len(history)} edits)"))  # type: ignore[arg-type]
        funcs.insert(0, lambda im: im)
    for (name, spec), func in zip(steps, funcs):
        try:
            img = func(img)
        except ParameterError as exc:
            if name not in ("--erase", "--gain"):
                raise
            raise ParameterError(f"{name} {spec!r}: {_region_message(str(exc))}") from None
    with output_folder(out_path):
        save(img, out_path)
    changed = 100.0 * np.count_nonzero(img.pixels != original.pixels) / img.pixels.size
    done = " → ".join(f"{name[2:]} {spec}" for name, spec in steps)
    click.echo(f"{out_path}: {done}; {changed:.1f} % of pixels changed")


def _read_history(path: Path) -> list[dict[str, Any]]:
    """The edits of a history exported by the studio (``{"specimg_history": 1, "edits": [...]}``) or a list of edits."""
    from ..errors import FormatError
    from ..jsonfile import read_json

    if not path.is_file():
        raise MissingFileError(f"--replay {path}: no such file")
    data = read_json(path, what=f"--replay {path.name}", max_bytes=64 << 20)
    edits = data.get("edits") if isinstance(data, dict) else data
    if not isinstance(edits, list) or not all(isinstance(e, dict) for e in edits):
        raise FormatError(f"--replay {path}: not a history; expected {{\"specimg_history\": 1, \"edits\": [...]}}")
    return edits


def _region_message(text: str) -> str:
    """A region error of :mod:`specimg.ops` in the words of ``--erase``/``--gain``.

    The library speaks of ``time=(t0, t1)`` and ``None`` for an open end; on the command
    line the fields are T0:T1:F0:F1 and an open end is an empty field.
    """
    text = re.sub(r"^(time|freq)=\(.*?\): ", "", text)
    text = re.sub(r"\b([tf])([01])\b", lambda m: m.group(1).upper() + m.group(2), text)
    return text.replace("or None for the end of the axis", "or leave the field empty for the end of the axis")


#: Most time segments ``diff`` prints side by side.
_MAX_COLUMNS = 64


def _freq_points(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(
            f"--freq-bands {text!r} must be comma-separated frequencies in Hz, e.g. 300,1000,4000"
        ) from None


@click.command()
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
    import numpy as np

    from ..formats import load
    from ..metrics import region_diff

    a, b = load(a_path), load(b_path)
    size = grid_size(grid)
    if size is None:
        raise ParameterError(f"--grid {grid!r} must be TIMExFREQ with positive integers, e.g. 4x4")
    bands = None if freq_bands is None else _freq_points(freq_bands)
    d = region_diff(a, b, grid=size, time_step=time_step, freq_bands=bands, max_segments=_MAX_COLUMNS)
    p = a.params
    t, f = d.time_edges, d.freq_edges
    cols = [f"{t[k]:.2f}–{t[k + 1]:.2f} s" for k in range(len(t) - 1)]
    rows = []
    for j in reversed(range(len(f) - 1)):  # high to low, as in the picture
        cells = ["·" if np.isnan(m) else f"{0.0 if abs(m) < 0.005 else m:+.2f}" for m in d.mean_db[j]]
        rows.append((f"{f[j]:.0f}–{f[j + 1]:.0f} Hz", cells))
    w0 = max(len(r[0]) for r in rows)
    w = max([len(c) for c in cols] + [7])
    click.echo(f"B − A in dB: mean over the bins above the floor ({p.db_min:g} dB) in A or B"
               + (", all channels" if p.n_channels > 1 else ""))  # fmt: skip
    click.echo(" " * w0 + "".join(f"  {c:>{w}}" for c in cols))
    for label, cells in rows:
        click.echo(f"{label:>{w0}}" + "".join(f"  {c:>{w}}" for c in cells))
    click.echo(f"max |Δ| = {d.max_abs_db:.2f} dB; {100.0 * d.changed:.2f} % of pixels changed")
