"""``specimg import``: calibrate a spectrogram made by another tool (:mod:`specimg.legacy`).

:mod:`specimg.legacy` (scipy, matplotlib's colormaps) and the file formats are imported
inside the command, so that importing this module (``specimg --help``) stays fast.
"""

from __future__ import annotations

import re
import sys
import textwrap
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from ..errors import ParameterError, SpecimgWarning

if TYPE_CHECKING:
    from ..image import SpectrogramImage
    from ..legacy import ImportResult

__all__ = ["import_"]

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
(unreadable, a dangling link, a full disk) is named with its reason and the others
go on.

\b
Exit status: 0 every file imported; 2 IN is a folder and some of its files
failed (the counts are printed); 1 a usage or input error (nothing imported).

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


def _keywords(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line as keywords of the specimg.legacy function of ``kind``."""
    kw = {_IMPORT_KEYWORDS[kind][name]: value for name, value in given.items()}
    if "window" in kw:
        kw["window"] = _window_spec(kw["window"])
    if kind == "array" and kw.pop("ref", False):
        if kw.get("kind") != "db":
            raise ParameterError("--ref-max only applies to --kind db (amplitude_to_db/power_to_db with ref=np.max)")
        import numpy as np

        kw["ref"] = np.max
    return kw


def _describe(img: SpectrogramImage) -> str:
    p = img.params
    axis = f"{p.n_mels} mel bands" if p.scale == "mel" else f"{p.n_bins} bins"
    return (f"{img.shape[0]}×{img.shape[1]} {p.bit_depth}-bit, {axis} (n_fft={p.n_fft}, hop={p.hop_length}), "
            f"{p.n_channels} channel(s), {img.duration:.2f} s at {p.sr} Hz")  # fmt: skip


def _warning_key(message: str) -> str:
    """A warning's text with its numbers blanked: the same warning about another file."""
    return re.sub(r"[-+]?\d[\d.]*", "#", message)


@click.command("import", help=_IMPORT_HELP, short_help="Calibrate a spectrogram made by another tool.")
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
def import_(kind: str, in_path: str, out_path: str, kind_: str | None, workers: int, **options: Any) -> None:
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
    from ..formats import image_format, save
    from ..legacy import import_file

    kw = _keywords(kind, given)
    src, out = Path(in_path), Path(out_path)
    if src.is_dir():
        _import_folder(kind, src, out, workers, kw)
        return
    if out.is_dir():
        out = out / f"{src.stem}.png"
    if out.resolve() == src.resolve():
        raise ParameterError(f"OUT {str(out)!r} is IN itself; write the calibrated image to another file")
    image_format(out)  # an unknown extension fails before any work
    with warnings.catch_warnings():
        warnings.simplefilter("always", SpecimgWarning)  # shown as they come, also before an error
        img = import_file(kind, src, **kw)
        save(img, out)
    click.echo(f"{out}: {_describe(img)}")


def _import_folder(kind: str, src: Path, out: Path, workers: int, kw: dict[str, Any]) -> None:
    """Every file of folder ``src`` into folder ``out``: one error line per bad file, one
    line per new warning, a summary; exit status 2 if any file failed (1 stays for a usage
    or input error)."""
    from tqdm import tqdm

    from ..legacy import import_folder

    if out.exists() and not out.is_dir():
        raise ParameterError(f"IN {str(src)!r} is a folder, so OUT must be a folder; {str(out)!r} is a file")
    if not out.exists() and out.suffix.lower() in (".png", ".tif", ".tiff"):
        raise ParameterError(f"IN {str(src)!r} is a folder, so OUT must be a folder, not {str(out)!r}")
    if out.resolve() == src.resolve():
        raise ParameterError(f"OUT {str(out)!r} is the folder IN; write the calibrated images to another folder")
    progress = sys.stderr.isatty()
    shown: set[str] = set()
    repeated = 0

    def err(message: str) -> None:
        if progress:
            tqdm.write(message, file=sys.stderr)
        else:
            click.echo(message, err=True)

    def report(result: ImportResult) -> None:
        nonlocal repeated
        if not result.ok:
            for message in result.warnings:  # an assumption may explain the error
                err(f"specimg: warning: {result.source}: {message}")
            err(f"specimg: error: {result.source}: {result.error}")
            return
        for message in result.warnings:
            key = _warning_key(message)
            if key in shown:
                repeated += 1
            else:
                shown.add(key)
                err(f"specimg: warning: {result.source}: {message}")

    results = import_folder(kind, src, out, workers=workers, progress=progress, on_result=report, **kw)
    failed = sum(not r.ok for r in results)
    summary = f"{out}: imported {len(results) - failed} of {len(results)} file(s)"
    if failed:
        summary += f", {failed} failed"
    if repeated:
        summary += f" ({repeated} repeated warning(s) not shown again)"
    click.echo(summary)
    if failed:
        click.get_current_context().exit(2)
