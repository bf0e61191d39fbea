"""``specimg encode``, ``decode``, ``info`` and ``demo``: audio ↔ image.

The library's codec, file formats and metrics are imported inside the commands, so that
importing this module (``specimg --help``) stays fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click

from .._samples import sample_data_dir
from ..errors import FormatError, SpecimgError
from ..typing import Quality
from ..resources import format_size
from ._common import DbRef, params_option, read_params

if TYPE_CHECKING:
    from ..image import SpectrogramImage

__all__ = ["encode", "decode", "info", "demo", "output_folder", "phase_summary", "stored_version"]


@contextlib.contextmanager
def output_folder(out_path: str) -> Iterator[None]:
    """Create the missing folders of output file ``out_path`` (as ``mkdir -p``) for a command.

    The rule of every ``specimg`` command: the folder an output goes into is created if
    it is missing (``dataset build OUT`` creates OUT, ``encode IN sub/OUT.png`` creates
    ``sub``). If the command then fails, the folders made here are removed again (when
    still empty), so a failed command leaves nothing behind.
    """
    made = []
    folder = Path(out_path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        made.append(folder)
        folder = folder.parent
    for f in reversed(made):
        f.mkdir()
    try:
        yield
    except BaseException:
        for f in made:
            try:
                f.rmdir()
            except OSError:
                break
        raise


@click.command()
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
@click.option("--ref", type=DbRef(), default=1.0, show_default=True, help="Amplitude of 0 dB, or 'max'.")
@click.option("--flip/--no-flip", default=True, show_default=True, help="Low frequencies at the bottom.")
@click.option("--invert", is_flag=True, help="Dark pixels are loud.")
@click.option("--bit-depth", type=click.Choice(["8", "16", "32"]), default="16", show_default=True)
@click.option("--sidecar", is_flag=True, help="Also write OUT.json with the metadata (and the phase).")
@click.option("--store-phase", is_flag=True,
              help="Store the STFT phase in the file (a private PNG chunk / TIFF tag, and OUT.json with "
                   "--sidecar): decode then brings the audio back from the file alone, exact where the picture "
                   "is not edited.")
@click.option("--phase-bits", type=click.IntRange(8, 16), default=None,
              help="Precision of the stored phase, in bits; implies --store-phase. [default: 16]")
def encode(in_path: str, out_path: str, sidecar: bool, sr: int | None, norm: str, bit_depth: str,
           store_phase: bool, phase_bits: int | None, **kwargs: Any) -> None:  # fmt: skip
    """Encode audio file IN as spectrogram image OUT (.png, .tif); OUT's folder is created if missing."""
    from .. import encode_file

    with output_folder(out_path):
        img = encode_file(
            in_path, out_path, sr=sr, sidecar=sidecar, progress=sys.stderr.isatty(),
            store_phase=store_phase or phase_bits is not None, phase_bits=phase_bits,
            norm=None if norm == "none" else norm, bit_depth=int(bit_depth), **kwargs,
        )  # fmt: skip
    p = img.params
    phase = "" if img.phase is None else f", {img.phase.bits}-bit phase"
    click.echo(f"{out_path}: {img.shape[0]}×{img.shape[1]} {p.bit_depth}-bit, {p.n_channels} channel(s), "
               f"{img.duration:.2f} s at {p.sr} Hz{phase}")  # fmt: skip


@click.command()
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--quality", type=click.Choice(get_args(Quality)), default="balanced", show_default=True)
@click.option("--n-iter", type=click.IntRange(min=0), default=None, help="Phase iterations (RAAR + accelerated Griffin-Lim; mel: Griffin-Lim with the mel fit). [default: preset]")
@click.option("--momentum", type=click.FloatRange(min=0), default=0.99, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--subtype", default=None, help="soundfile subtype, e.g. PCM_24 or FLOAT. [default: format's]")
@click.option("--like", "like", type=click.Path(dir_okay=False), default=None,
              help="The original specimg image of IN, for a copy edited in an image editor (no metadata, "
                   "8-bit or RGB): its parameters are borrowed, and its stored phase, if any, where the copy's "
                   "pixels are unchanged.")
@click.option("--phase-from", "phase_from", type=click.Path(dir_okay=False), default=None,
              help="The audio IN was encoded from: unedited parts keep its phase and come back as they were.")
@click.option("--ignore-stored-phase", is_flag=True,
              help="Decode from the magnitude alone, as if IN carried no stored phase.")
@params_option
def decode(in_path: str, out_path: str, quality: str, n_iter: int | None, momentum: float, seed: int,
           subtype: str | None, like: str | None, phase_from: str | None, ignore_stored_phase: bool,
           params_path: str | None) -> None:  # fmt: skip
    """Decode spectrogram image IN to audio file OUT (.wav, .flac, ...); OUT's folder is created if missing."""
    from .. import decode_file

    with output_folder(out_path):
        y, sr = decode_file(
            in_path, out_path, params=read_params(params_path), subtype=subtype, quality=quality,
            n_iter=n_iter, momentum=momentum, rng=seed, like=like, phase_from=phase_from,
            stored_phase=not ignore_stored_phase, progress=sys.stderr.isatty(),
        )  # fmt: skip
    click.echo(f"{out_path}: {y.shape[-1] / sr:.2f} s at {sr} Hz, {1 if y.ndim == 1 else y.shape[0]} channel(s)")


@click.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@params_option
def info(path: str, params_path: str | None) -> None:
    """Print the metadata of spectrogram image FILE and the dB range of its pixels."""
    from ..formats import load, metadata_source, phase_block, read_metadata, sidecar_path
    from ..metrics import level_summary

    given = read_params(params_path)
    if given is None and Path(path).is_file() and read_metadata(path) is None:
        # load's own message suggests --like, an option of decode, not of info
        raise FormatError(
            f"{path!r} carries no specimg metadata and has no sidecar {sidecar_path(path).name!r}; pass "
            "--params FILE.json (for a copy from an image editor: specimg decode --like ORIGINAL.png)"
        )
    img = load(path, params=given)
    p = img.params
    found = metadata_source(path)
    source = {"embedded": "embedded", "sidecar": f"sidecar {sidecar_path(path).name}"}.get(found or "", "--params")
    version = stored_version(path, found, params_path) or p.version  # as written: 1 without stored phase
    rows = [(k, version if k == "version" else v) for k, v in p.to_dict().items() if k not in ("format", "edits")]
    width = max([len(k) for k, _ in rows] + [len("at floor / top")])
    click.echo(f"{path}  (metadata: {source}, format version {version})")
    for key, value in rows:
        click.echo(f"  {key:<{width}}  {value}")
    levels = level_summary(img)
    click.echo(f"  {'image':<{width}}  {img.shape[0]} rows × {img.shape[1]} columns, {img.pixels.dtype}")
    click.echo(f"  {'duration':<{width}}  {img.duration:.3f} s")
    click.echo(f"  {'dB in pixels':<{width}}  {levels['min_db']:.2f} … {levels['max_db']:.2f} dB "
               f"(median {levels['median_db']:.2f})")  # fmt: skip
    click.echo(f"  {'at floor / top':<{width}}  {100 * levels['floor']:.2f} % / {100 * levels['top']:.3f} %")
    block = None if img.phase is None else phase_block(path, p, metadata=found)[0]
    click.echo(f"  {'stored phase':<{width}}  {phase_summary(img, None if block is None else len(block))}")
    if p.edits:
        click.echo(f"  {'edits':<{width}}  {json.dumps(list(p.edits))}")


def stored_version(path: str, found: str | None, params_path: str | None) -> int | None:
    """The format version the metadata of image ``path`` holds, as it was written.

    :class:`~specimg.params.SpectrogramParams` reads version-1 metadata as version 2
    (the same keys), so the version is taken from the JSON itself: version 1 for a file
    saved without stored phase, 2 with it (FORMAT.md §8).

    Parameters
    ----------
    path : str
        The image file.
    found : {"embedded", "sidecar"} or None
        Where the image's metadata is (:func:`specimg.formats.metadata_source`); None
        when it has none and the metadata comes from ``params_path``.
    params_path : str or None
        The ``--params`` JSON file, used when ``found`` is None.

    Returns
    -------
    int or None
        The ``"version"`` member of the metadata JSON; None if there is no metadata to
        read, it holds no integer version, or it cannot be read again (the file changed
        after :func:`specimg.load` read it).
    """
    from ..formats import sidecar_path
    from ..jsonfile import MAX_SIDECAR_BYTES, read_json
    from ..pictures import read_picture

    data: object
    try:
        if found == "embedded":
            data = read_json(read_picture(path, pixels=False).text or "null")
        elif found == "sidecar":
            data = read_json(sidecar_path(path), max_bytes=MAX_SIDECAR_BYTES)
        elif params_path is not None:
            data = read_json(Path(params_path), max_bytes=MAX_SIDECAR_BYTES)
        else:
            return None
    except (OSError, ValueError):  # FormatError and MissingFileError too: the file changed
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if type(version) is int else None


def phase_summary(img: SpectrogramImage, block_size: int | None = None) -> str:
    """One line on the stored phase of ``img``: precision, block size as stored, where it still holds.

    Parameters
    ----------
    img : SpectrogramImage
        The image as loaded.
    block_size : int or None
        Size in bytes of its phase block as stored, if known.

    Returns
    -------
    str
        ``none (...)`` when ``img`` carries no phase; else its bits, block size, and the
        share of the bins it is stored for and still holds for (unedited).
    """
    import numpy as np

    phase = img.phase
    if phase is None:
        return "none (decode reconstructs the phase)"
    held = phase.held(img.pixels, img.params)
    present = int(np.count_nonzero(phase.present))
    size = "" if block_size is None else f", {format_size(block_size)} block"
    return (
        f"{phase.bits} bits{size}; stored for "
        f"{100 * present / phase.present.size:.1f} % of the bins, held (unedited) for "
        f"{100 * np.count_nonzero(held) / max(present, 1):.1f} % of those"
    )


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="specimg-demo", show_default=True,
              help="Folder for the encoded images and decoded audio.")
@click.option("--quality", type=click.Choice(get_args(Quality)), default="balanced", show_default=True)
def demo(out_dir: str, quality: str) -> None:
    """Encode and decode the bundled sample audio and print the round-trip figures."""
    import numpy as np

    from tqdm import tqdm

    from .. import decode as decode_array
    from .. import decode_file, encode_file, read_audio
    from .. import encode as encode_array
    from ..metrics import level_difference_db, spectral_convergence

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
    decode_array(encode_array(warm, 22050), n_iter=1)
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
               "length: same samples and channels as the original.")  # fmt: skip
