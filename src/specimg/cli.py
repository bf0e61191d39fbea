"""The ``specimg`` command line.

Every command exits 0 on success, 1 with a one-line ``specimg: error: ...`` message on bad
input (no traceback, no output file), and 2 on a usage error.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import __version__, codec
from .codec import decode_file, encode_file, read_audio
from .errors import MissingFileError, SpecimgError
from .formats import load, metadata_source, sidecar_path
from .metrics import level_difference_db, spectral_convergence
from .params import SpectrogramParams
from .phase import QUALITY_PRESETS

__all__ = ["main", "cli", "sample_data_dir"]


def sample_data_dir() -> Path:
    """Folder of the bundled sample audio: inside the installed package, else the checkout's."""
    inside = Path(__file__).resolve().parent / "sample_data"
    if inside.is_dir():
        return inside
    return Path(__file__).resolve().parents[2] / "sample_data"


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
@_params_option
def decode(in_path: str, out_path: str, quality: str, n_iter: int | None, momentum: float, seed: int,
           subtype: str | None, params_path: str | None) -> None:
    """Decode spectrogram image IN to audio file OUT (.wav, .flac, ...)."""
    y, sr = decode_file(
        in_path, out_path, params=_read_params(params_path), subtype=subtype, quality=quality,
        n_iter=n_iter, momentum=momentum, rng=seed, progress=sys.stderr.isatty(),
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
    from tqdm.auto import tqdm

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
