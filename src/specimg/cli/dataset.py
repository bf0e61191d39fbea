"""``specimg dataset build|decode|stats``: GAN training sets (:mod:`specimg.dataset`)."""

from __future__ import annotations

import sys
from typing import Any, Literal, get_args

import click

from ..errors import ParameterError
from ..typing import Quality
from ._common import grid_size

__all__ = ["dataset"]


def _size(text: str) -> tuple[int, int]:
    size = grid_size(text)
    if size is None:
        raise ParameterError(f"--size {text!r} must be ROWSxFRAMES with positive integers, e.g. 256x256")
    return size


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


@click.group()
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
@click.option("--step", type=int, default=None, metavar="FRAMES",
              help="Frames between tile starts, instead of --overlap. [default: the tile width]")
@click.option("--tail", type=click.Choice(["pad", "drop"]), default="pad", show_default=True,
              help="The last partial tile of a file: padded at the floor (marked in the manifest) or left out.")
@click.option("--min-level-db", type=float, default=-80.0, show_default=True,
              help="Skip tiles whose loudest bin is below this level (dB re full scale).")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default="8", show_default=True,
              help="8-bit grayscale PNG reads right in every stock loader (0.39 dB steps over the default "
                   "-100..0 dB); 16 for loaders that keep 16-bit PNGs (specimg's TileDataset).")
@click.option("--db-min", "db_min", type=float, default=None,
              help="dB of pixel 0, the floor. [default: -100]")
@click.option("--db-max", "db_max", type=float, default=None,
              help="dB of the top pixel value. [default: 0; 8 bits warn above a 102 dB range]")
@click.option("--validation", type=float, default=0.1, show_default=True,
              help="Fraction of the source files in the validation split (at least one file when there are two; "
                   "no validation folder when it would be empty).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/validation split.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes. [default: one per CPU]")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Build on a Dask cluster, e.g. tcp://host:8786 (pip install 'specimg[dask]'; the folders must "
                   "be at the same paths on the workers).")
@click.option("--phase", type=click.Choice(["none", "if"]), default="none", show_default=True,
              help="'if': every tile also carries its instantaneous frequency (GANSynth's IF on the mel rows) as "
                   "the alpha channel of an 8-bit gray+alpha PNG: read_image and TileDataset(planes=('magnitude', "
                   "'if')) see two channels, ImageFolder the magnitude only; 'specimg dataset decode' uses it.")
def dataset_build(audio_dir: str, out_dir: str, size: str, bit_depth: str, **kwargs: Any) -> None:
    """Cut the audio files under AUDIO_DIR into spectrogram tiles in OUT_DIR.

    Every tile has the same size and one absolute dB scale (stored in OUT_DIR/specimg.json),
    with Hugging Face imagefolder manifests (train/ and validation/metadata.jsonl), a dataset
    card (README.md: labels as ClassLabel) and class folders when every file sits in a
    subfolder. Prints the seconds tiled against the input and every skipped file with its
    reason (also in OUT_DIR/.build/summary.json). Interrupted? Run the same command again.

    A file that cannot be read (unreadable, a dangling link, a link loop, a full disk) is
    named with its reason and the build goes on with the others.

    \b
    Exit status: 0 every file read; 2 the dataset was built but some files failed (their
    count and names are printed, also in OUT_DIR/errors.jsonl; run again to retry them);
    1 nothing was built (a bad option, no audio, an unusable OUT_DIR).
    """
    from ..dataset import build

    depth: Literal[8, 16] = 8 if bit_depth == "8" else 16
    kwargs = {k: v for k, v in kwargs.items() if not (k in ("db_min", "db_max") and v is None)}
    report = build(audio_dir, out_dir, size=_size(size), bit_depth=depth, progress=sys.stderr.isatty(), **kwargs)
    click.echo(str(report))
    if report.files_failed:
        click.echo(f"specimg: error: {report.files_failed} of {report.files} file(s) failed (named above, and in "
                   f"{report.out_dir / 'errors.jsonl'}); the other {report.files - report.files_failed} were built",
                   err=True)  # fmt: skip
        click.get_current_context().exit(2)


@dataset.command("decode")
@click.argument("gan_output_dir", metavar="GAN_OUTPUT_DIR", type=click.Path(file_okay=False))
@click.argument("audio_out", metavar="AUDIO_OUT", type=click.Path(file_okay=False))
@click.option("--like", "like", required=True, type=click.Path(), metavar="OUT_DIR",
              help="The dataset the GAN was trained on (its folder or specimg.json): its calibration is used.")
@click.option("--stitch", is_flag=True, help="Join all tiles, in name order, into one file without seams.")
@click.option("--quality", type=click.Choice(get_args(Quality)), default="balanced", show_default=True)
@click.option("--n-iter", type=click.IntRange(min=0), default=None, help="Phase iterations (RAAR + accelerated Griffin-Lim; mel: Griffin-Lim with the mel fit). [default: preset]")
@click.option("--value-range", default=None, metavar="LO:HI",
              help="Values of silence and of the loudest level in the inputs. [default: from the dtype]")
@click.option("--step-frames", type=click.IntRange(min=1), default=None,
              help="--stitch: frames between tile starts. [default: the dataset's]")
@click.option("--domain", type=click.Choice(["unit", "db"]), default=None,
              help="Float inputs are levels in [-1, 1] (unit, TileDataset's default) or calibrated dB (db). "
                   "[default: detected]")
@click.option("--grid", default=None, metavar="ROWSxCOLS",
              help="Every picture is a grid of tiles, as torchvision.utils.save_image(batch, nrow=COLS) writes it.")
@click.option("--grid-padding", type=click.IntRange(min=0), default=None,
              help="Pixels between grid cells. [default: found from the grid's height]")
@click.option("--key", default=None, help="The one array of each .npz (or entry of a saved dict). [default: all]")
@click.option("--no-check", is_flag=True,
              help="Decode inputs that look like a loader trap (mostly at full scale) instead of refusing them.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--subtype", default=None, help="soundfile subtype, e.g. PCM_24 or FLOAT. [default: PCM_16]")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes. [default: one per CPU]")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Decode on a Dask cluster, e.g. tcp://host:8786 (pip install 'specimg[dask]').")
def dataset_decode(gan_output_dir: str, audio_out: str, like: str, stitch: bool, quality: str, n_iter: int | None,
                   value_range: str | None, step_frames: int | None, domain: str | None, grid: str | None,
                   grid_padding: int | None, key: str | None, no_check: bool, seed: int, subtype: str | None,
                   workers: int | None, scheduler: str | None) -> None:  # fmt: skip
    """Decode the bare images (PNG, TIFF, save_image grids), arrays (.npy, .npz) and tensors (.pt, .pth)
    in GAN_OUTPUT_DIR to WAV files in AUDIO_OUT.

    Tiles with a second plane, the instantaneous frequency of a dataset built with --phase if
    (gray+alpha PNGs, arrays (N, 2, H, W)), start the phase reconstruction from the IF
    integrated along time."""
    from ..dataset import decode_dir

    cells = None
    if grid is not None and (cells := grid_size(grid)) is None:
        raise ParameterError(f"--grid {grid!r} must be ROWSxCOLS with positive integers, e.g. 4x8")
    written = decode_dir(
        gan_output_dir, audio_out, dataset=like, stitch=stitch, quality=quality, n_iter=n_iter,  # type: ignore[arg-type]
        value_range=_value_range(value_range), domain=domain, grid=cells,  # type: ignore[arg-type]
        grid_padding=grid_padding, key=key, check=not no_check, step_frames=step_frames, rng=seed, subtype=subtype,
        workers=workers, scheduler=scheduler, progress=sys.stderr.isatty(),
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
    from ..dataset import format_stats, stats

    click.echo(format_stats(stats(out_dir, contact_sheet=contact_sheet, n=n, seed=seed)))
