"""Audio from what a GAN makes: bare images or arrays decoded with a dataset's calibration.

A GAN trained on a specimg dataset (``specimg.dataset.build``) emits tiles with no metadata
at all: arrays of uint8, uint16 or floats, in one of the layouts deep-learning frameworks
use. Every tile of the dataset shares one set of parameters, stored once in
``OUT_DIR/specimg.json`` (see the dataset layout), so those parameters turn any generated
tile into audio at the absolute level the dataset was built on:

* :func:`params_of` reads the parameters of a dataset;
* :func:`decode_batch` decodes arrays, one audio signal per tile or, with ``stitch=True``,
  consecutive tiles as one signal without seams;
* :func:`decode_dir` does the same for a folder of PNG/TIFF images and ``.npy`` arrays and
  writes WAV files.

Range contract
--------------
A tile is taken as the dataset stores it: rows are frequency bins (low frequencies at the
bottom when ``params.flip``), columns are STFT frames, and the value ``v`` of a pixel maps
to the stored pixel fraction ``x = (v - lo) / (hi - lo)``, clipped to [0, 1], whose dB level
is ``db_min + x * (db_max - db_min)`` (``1 - x`` when ``params.invert``). ``(lo, hi)`` is
``value_range`` when given, else follows from the dtype:

* ``uint8`` → (0, 2⁸ − 1); ``uint16`` → (0, 2¹⁶ − 1), whatever the dataset's bit depth (the
  dtype's full scale, :func:`specimg.image.full_scale`);
* floats → (-1, 1) if some value of the batch is below -0.05 (a ``tanh`` output), else (0, 1)
  (a ``sigmoid`` output, or tiles divided by their maximum). Values up to 5 % of the range
  outside it are clipped; further out is an error that asks for ``value_range``;
* other integer dtypes → an error that asks for ``value_range`` or a cast.

Tiles are decoded at 16 bits (float32 for a float-TIFF dataset), so a uint8, uint16 or
float copy of the same tile gives exactly the same audio. Picture files are read through
:mod:`specimg.pictures`, like every picture specimg reads: colour becomes gray by ITU-R
BT.601 luma (exact for equal channels), and transparency is composited over black.

The arrays → pixels steps live in :mod:`specimg.dataset.arrays`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union, overload

import numpy as np

from ..codec import decode, write_audio
from ..errors import FormatError, MissingFileError, ParameterError
from ..formats import read_metadata
from ..image import SpectrogramImage
from ..params import SpectrogramParams
from ..phase import Quality, resolve_quality
from ..pictures import picture_size, read_picture, to_gray
from ..typing import PathLike
from .arrays import check_height, split_tiles, stitch_tiles, to_pixels, value_range_of
from .layout import DATASET_JSON, description_params, read_description, tile_geometry

__all__ = ["DATASET_JSON", "decode_batch", "decode_dir", "params_of"]

#: Extensions :func:`decode_dir` reads.
INPUT_EXTS = (".png", ".tif", ".tiff", ".npy")

Like = Union[SpectrogramParams, SpectrogramImage, PathLike]


# ---------------------------------------------------------------------------- dataset description
def params_of(out_dir: PathLike) -> SpectrogramParams:
    """The spectrogram parameters shared by every tile of a dataset.

    Parameters
    ----------
    out_dir : str or path-like
        The ``OUT_DIR`` of :func:`specimg.dataset.build`, or its ``specimg.json``.

    Returns
    -------
    SpectrogramParams
        As stored (``n_samples=None``, ``n_channels=1``, no edits).

    Raises
    ------
    MissingFileError
        If there is no ``specimg.json``.
    FormatError
        If it is not a version-1 specimg dataset description.

    Examples
    --------
    >>> params = specimg.dataset.params_of("my_dataset")          # doctest: +SKIP
    >>> params.n_bins, params.sr                                   # doctest: +SKIP
    (256, 22050)
    """
    data, path = read_description(out_dir)
    return description_params(data, path)


def _dataset_argument(func: str, dataset: Like | None, old_name: str, old: Like | None) -> Like:
    """``dataset``, or the value passed under its deprecated name ``old_name`` (with a warning)."""
    if old is not None:
        if dataset is not None:
            raise TypeError(f"{func}() got both dataset= and {old_name}=, its old name; pass dataset= only")
        warnings.warn(
            f"{func}({old_name}=...) is deprecated: the keyword is now dataset= (same meaning); "
            f"{old_name}= will be removed in the next release",
            DeprecationWarning,
            stacklevel=3,
        )
        return old
    if dataset is None:
        raise TypeError(
            f"{func}() missing required argument 'dataset' (the dataset's OUT_DIR, its {DATASET_JSON}, or its "
            "SpectrogramParams)"
        )
    return dataset


def _template(dataset: Like) -> tuple[SpectrogramParams, int | None, int | None]:
    """(params for decoding one mono tile, dataset tile width, dataset step) from ``dataset``."""
    tile_frames = step = None
    if isinstance(dataset, SpectrogramParams):
        params = dataset
    elif isinstance(dataset, SpectrogramImage):
        params = dataset.params
    elif isinstance(dataset, (str, os.PathLike)):
        path = Path(dataset)
        if path.is_dir() or path.suffix.lower() == ".json":
            data, json_path = read_description(path)
            params = description_params(data, json_path)
            tile_frames, step = tile_geometry(data, json_path)
        else:
            found = read_metadata(path)
            if found is None:
                raise FormatError(
                    f"{str(path)!r} carries no specimg metadata; pass the dataset's OUT_DIR or its {DATASET_JSON}"
                )
            params = found
    else:
        raise ParameterError(
            f"dataset={dataset!r} must be a dataset OUT_DIR or its {DATASET_JSON}, SpectrogramParams, or a specimg image"
        )
    depth = 32 if params.bit_depth == 32 else 16
    work = params.replace(n_samples=None, n_channels=1, edits=(), bit_depth=depth)
    return work, tile_frames, step


# ---------------------------------------------------------------------------- decoding
def _check_quality(quality: str, n_iter: int | None) -> None:
    """Check ``quality`` and ``n_iter`` before anything is read or decoded."""
    resolve_quality(quality)
    if n_iter is not None and (isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0):
        raise ParameterError(f"n_iter={n_iter!r} must be an integer >= 0")


def _decode_stitched(
    tiles: Sequence[np.ndarray], params: SpectrogramParams, *, step: int, quality: Quality, n_iter: int | None,
    rng: np.random.Generator | int | None, progress: bool,
) -> np.ndarray:  # fmt: skip
    """Decode consecutive pixel tiles of ``params``' bit depth, ``step`` frames apart, as one signal."""
    img = SpectrogramImage(stitch_tiles(tiles, step, params), params)
    return decode(img, quality=quality, n_iter=n_iter, rng=rng, progress=progress)[0]


def _decode_each(
    tiles: Sequence[np.ndarray], params: SpectrogramParams, *, quality: Quality, n_iter: int | None,
    rng: np.random.Generator | int | None, progress: bool,
) -> list[np.ndarray]:  # fmt: skip
    """Decode pixel tiles of ``params``' bit depth one by one."""
    from tqdm import tqdm

    out = []
    for t in tqdm(tiles, desc="decode", unit="tile", delay=1.0, leave=False, disable=not progress):
        # an int seed restarts for every tile, so a tile's audio does not depend on its batch
        seed = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        out.append(decode(SpectrogramImage(t, params), quality=quality, n_iter=n_iter, rng=seed)[0])
    return out


# ---------------------------------------------------------------------------- public: arrays
@overload
def decode_batch(
    arrays: Any,
    dataset: Like | None = ...,
    *,
    value_range: tuple[float, float] | None = ...,
    quality: Quality = ...,
    n_iter: int | None = ...,
    stitch: Literal[False] = ...,
    step_frames: int | None = ...,
    rng: np.random.Generator | int | None = ...,
    progress: bool = ...,
    params: Like | None = ...,
) -> list[np.ndarray]: ...


@overload
def decode_batch(
    arrays: Any,
    dataset: Like | None = ...,
    *,
    value_range: tuple[float, float] | None = ...,
    quality: Quality = ...,
    n_iter: int | None = ...,
    stitch: Literal[True],
    step_frames: int | None = ...,
    rng: np.random.Generator | int | None = ...,
    progress: bool = ...,
    params: Like | None = ...,
) -> np.ndarray: ...


def decode_batch(
    arrays: Any,
    dataset: Like | None = None,
    *,
    value_range: tuple[float, float] | None = None,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    stitch: bool = False,
    step_frames: int | None = None,
    rng: np.random.Generator | int | None = 0,
    progress: bool = False,
    params: Like | None = None,
) -> list[np.ndarray] | np.ndarray:
    """Decode bare generated tiles to audio with a dataset's calibration.

    Parameters
    ----------
    arrays : np.ndarray [shape=(N, H, W), (N, 1, H, W), (N, H, W, 1) or (H, W)], or a sequence of (H, W) arrays
        Tiles as the dataset stores them: ``H == params.n_bins`` rows of frequency (low
        frequencies at the bottom when ``params.flip``), ``W`` frames. uint8, uint16, or
        floats in [-1, 1] or [0, 1]; anything ``np.asarray`` takes (a CPU torch tensor,
        for instance).
    dataset : str or path-like, SpectrogramParams or SpectrogramImage
        The dataset: its ``OUT_DIR`` or ``specimg.json`` (which also give the tile step
        for ``stitch``), its parameters (:func:`params_of`), or any specimg image of it.
        Required.
    value_range : (float, float) or None
        The values that mean the darkest and the brightest pixel. None → from the dtype,
        and for floats (-1, 1) if some value of the batch is below -0.05, else (0, 1); see the
        module notes.
    quality : {"fast", "balanced", "high"}
        Phase reconstruction preset (:func:`specimg.phase.reconstruct`).
    n_iter : int >= 0 or None
        Fast Griffin-Lim iterations; overrides the preset.
    stitch : bool
        False (default): one signal per tile. True: the tiles are consecutive pieces of one
        recording, started ``step_frames`` frames apart; they are joined into one image
        and decoded as one, so the phase runs on across the joins and no seam is heard.
        Where tiles overlap (``step_frames < W``), the overlapping frames are crossfaded
        in dB with a raised-cosine weight (identical frames come out unchanged).
    step_frames : int > 0 or None
        Frames between the starts of consecutive tiles, for ``stitch``. None → the
        dataset's ``tile.step_frames`` when ``dataset`` is a dataset folder or
        ``specimg.json``, else ``W`` (no overlap).
    rng : np.random.Generator, int or None
        Seed of the phase reconstruction. An int seeds every tile alike, so a tile's audio
        does not depend on the other tiles of the batch.
    progress : bool
        Show a progress bar after one second.
    params : deprecated
        The old name of ``dataset`` (warns ``DeprecationWarning``; removed in the next release).

    Returns
    -------
    list of np.ndarray [shape=(params.length_for(W),)], float32
        With ``stitch=False``: one signal per tile, in the batch order, even for a single
        (H, W) image. ``length_for(W) = (W - 1) * hop_length`` for centred frames.
    np.ndarray [shape=(params.length_for((N - 1) * step_frames + W),)], float32
        With ``stitch=True``.

    The sample rate is ``params.sr``; the level is absolute, as in the dataset.

    Raises
    ------
    ParameterError
        If ``H != params.n_bins``, the layout or dtype is not one of the above, float values
        lie outside the detected range, or the tiles cannot be stitched.
    MissingFileError, FormatError
        If ``dataset`` is a path without a readable dataset description.
    TypeError
        If ``dataset`` is missing, or given twice (as ``dataset`` and ``params``).

    Examples
    --------
    >>> fake = generator(z).detach().cpu().numpy()          # doctest: +SKIP
    >>> fake.shape, fake.dtype                              # doctest: +SKIP
    ((16, 1, 256, 256), dtype('float32'))
    >>> audio = specimg.dataset.decode_batch(fake, "my_dataset")   # doctest: +SKIP
    >>> sr = specimg.dataset.params_of("my_dataset").sr            # doctest: +SKIP
    """
    dataset = _dataset_argument("decode_batch", dataset, "params", params)
    _check_quality(quality, n_iter)
    work, tile_frames, dataset_step = _template(dataset)
    tiles = split_tiles(arrays)
    check_height(tiles, work)
    lo, hi = value_range_of(tiles, value_range)
    pixels = [to_pixels(t, lo, hi, work) for t in tiles]
    if stitch:
        step = _step(step_frames, dataset_step, tile_frames, pixels[0].shape[1])
        return _decode_stitched(pixels, work, step=step, quality=quality, n_iter=n_iter, rng=rng, progress=progress)
    return _decode_each(pixels, work, quality=quality, n_iter=n_iter, rng=rng, progress=progress)


def _step(step_frames: int | None, dataset_step: int | None, tile_frames: int | None, width: int) -> int:
    if step_frames is not None:
        if isinstance(step_frames, bool) or not isinstance(step_frames, (int, np.integer)) or step_frames < 1:
            raise ParameterError(f"step_frames={step_frames!r} must be a positive integer")
        return int(step_frames)
    if dataset_step is None:
        return width
    if tile_frames is not None and tile_frames != width:
        raise ParameterError(
            f"tiles are {width} frames wide but the dataset's are {tile_frames} (step {dataset_step}); "
            "pass step_frames= to stitch them"
        )
    return dataset_step


# ---------------------------------------------------------------------------- public: folders
def _natural_key(rel: Path) -> list[Any]:
    """Sort key comparing digit runs by value: img_2 before img_10."""
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", rel.as_posix())]


def _inputs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise MissingFileError(f"no such folder: {str(folder)!r}")
    found = [
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.suffix.lower() in INPUT_EXTS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    if not found:
        raise MissingFileError(f"{str(folder)!r} holds no {', '.join(INPUT_EXTS)} files to decode")
    return sorted(found, key=_natural_key)


def _probe(path: Path) -> tuple[int, int, int]:
    """(n_tiles, H, W) of an input file from its header, without reading the pixels."""
    if path.suffix.lower() == ".npy":
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise FormatError(f"{str(path)!r} is not a readable .npy array: {exc}") from None
        shape = a.shape
        if len(shape) == 4 and shape[1] == 1:
            shape = (shape[0],) + shape[2:]
        elif len(shape) == 4 and shape[3] == 1:
            shape = shape[:3]
        elif len(shape) == 2:
            shape = (1,) + shape
        if len(shape) != 3:
            raise ParameterError(
                f"{str(path)!r} holds an array of shape {a.shape}; it must be (N, H, W), (N, 1, H, W), (N, H, W, 1) "
                "or (H, W)"
            )
        return int(shape[0]), int(shape[1]), int(shape[2])
    return picture_size(path)  # from the header: FormatError if it is not a picture


def _read(path: Path) -> list[np.ndarray]:
    """The tiles of an input file as 2-D arrays of its own dtype (colour converted to gray, TIFF pages apart)."""
    if path.suffix.lower() == ".npy":
        return split_tiles(np.load(path, allow_pickle=False))
    picture = read_picture(path)
    assert picture.pixels is not None
    gray = to_gray(picture.pixels)  # the one gray rule (alpha already over black)
    n_pages = picture.n_pages or 1
    return list(gray.reshape(n_pages, -1, gray.shape[-1])) if n_pages > 1 else [gray]


def decode_dir(
    gan_output_dir: PathLike,
    audio_out: PathLike,
    *,
    dataset: Like | None = None,
    stitch: bool = False,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    value_range: tuple[float, float] | None = None,
    step_frames: int | None = None,
    rng: np.random.Generator | int | None = 0,
    subtype: str | None = None,
    progress: bool = False,
    like: Like | None = None,
) -> list[Path]:
    """Decode a folder of bare generated images and arrays to WAV files.

    Reads every ``.png``, ``.tif``/``.tiff`` and ``.npy`` file under ``gan_output_dir``
    (sub-folders included, hidden files skipped), sorted by relative path with numbers
    compared by value (``img_2`` before ``img_10``). Each file is a tile as
    :func:`decode_batch` takes it (an 8- or 16-bit PNG, RGB converted to gray; a ``.npy``
    may hold a batch). Metadata embedded in a file is ignored: ``dataset`` calibrates all.

    Parameters
    ----------
    gan_output_dir : str or path-like
        Folder of generated tiles.
    audio_out : str or path-like
        Folder for the WAV files (created if missing).
    dataset : str or path-like, or SpectrogramParams
        The dataset: its ``OUT_DIR`` or ``specimg.json`` (or its parameters). Required.
    stitch : bool
        False: one WAV per tile, ``<relative path without extension>.wav`` (a ``.npy`` of
        N > 1 tiles gives ``<name>_<k>.wav``, k zero-padded). True: all tiles in the order
        above joined as in :func:`decode_batch` into one ``<folder name>.wav``.
    quality, n_iter, value_range, step_frames, rng :
        As for :func:`decode_batch` (``value_range`` detection is per file).
    subtype : str or None
        soundfile subtype; None → PCM_16 (clips, with a warning, above 0 dBFS).
    progress : bool
        Show a progress bar after one second.
    like : deprecated
        The old name of ``dataset`` (warns ``DeprecationWarning``; removed in the next release).

    Returns
    -------
    list of Path
        The files written, in input order.

    Raises
    ------
    MissingFileError
        If ``gan_output_dir`` does not exist or holds no input file.
    ParameterError, FormatError
        For a file that cannot be read or decoded (see :func:`decode_batch`). Every input
        is checked before anything is decoded, and outputs are staged in a hidden folder
        inside ``audio_out`` that is moved into place only once every file is complete:
        on any error no output file is left behind.
    TypeError
        If ``dataset`` is missing, or given twice (as ``dataset`` and ``like``).
    """
    dataset = _dataset_argument("decode_dir", dataset, "like", like)
    _check_quality(quality, n_iter)
    work, tile_frames, dataset_step = _template(dataset)
    folder, out = Path(gan_output_dir), Path(audio_out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"audio_out={str(out)!r} is a file; give a folder for the WAV files")
    if subtype is not None:
        import soundfile as sf

        if not sf.check_format("WAV", subtype):
            raise ParameterError(
                f"subtype={subtype!r} cannot be written as WAV; use one of {sorted(sf.available_subtypes('WAV'))}"
            )
    inputs = _inputs(folder)
    # check every header first: a bad file fails before any decoding
    names: dict[Path, Path] = {}
    plan: list[tuple[Path, list[Path]]] = []
    for rel in inputs:
        n, h, _ = _probe(folder / rel)
        if h != work.n_bins:
            raise ParameterError(
                f"{str(folder / rel)!r} is {h} pixels high but the dataset's tiles have n_bins={work.n_bins} rows"
            )
        stem = rel.with_suffix("")
        outs = [stem.with_name(stem.name + ".wav")] if n == 1 else [
            stem.with_name(f"{stem.name}_{k:0{len(str(n - 1))}d}.wav") for k in range(n)
        ]  # fmt: skip
        for o in outs:
            if o in names:
                raise ParameterError(f"{str(rel)!r} and {str(names[o])!r} would both be decoded to {str(o)!r}; rename one")
            names[o] = rel
        plan.append((rel, outs))
    stitched_name = Path((folder.resolve().name or "stitched") + ".wav")

    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".specimg-decode-", dir=out))
    written: list[Path] = []
    try:
        staged: list[Path] = []
        if stitch:
            raws = [_read(folder / rel) for rel, _ in plan]
            for raw in raws:
                check_height(raw, work)
            # one range for the whole stitched file, not one per input file
            lo, hi = value_range_of([t for raw in raws for t in raw], value_range)
            tiles = [to_pixels(t, lo, hi, work) for raw in raws for t in raw]
            step = _step(step_frames, dataset_step, tile_frames, tiles[0].shape[1])
            y = _decode_stitched(tiles, work, step=step, quality=quality, n_iter=n_iter, rng=rng, progress=progress)
            write_audio(stage / stitched_name, y, work.sr, subtype=subtype)
            staged.append(stitched_name)
        else:
            from tqdm import tqdm

            total = sum(len(outs) for _, outs in plan)
            with tqdm(total=total, desc="decode", unit="tile", delay=1.0, leave=False, disable=not progress) as bar:
                for rel, outs in plan:
                    raw = _read(folder / rel)
                    check_height(raw, work)
                    lo, hi = value_range_of(raw, value_range)
                    for t, o in zip(raw, outs):
                        (y,) = _decode_each([to_pixels(t, lo, hi, work)], work, quality=quality, n_iter=n_iter,
                                            rng=rng, progress=False)  # fmt: skip
                        (stage / o).parent.mkdir(parents=True, exist_ok=True)
                        write_audio(stage / o, y, work.sr, subtype=subtype)
                        staged.append(o)
                        bar.update()
        for o in staged:  # every file is complete: move them into place
            final = out / o
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / o, final)
            written.append(final)
    except BaseException:
        for final in written:  # only if a move itself failed
            final.unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise
    shutil.rmtree(stage, ignore_errors=True)
    return written
