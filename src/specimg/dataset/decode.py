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

* ``uint8`` → (0, 255); ``uint16`` → (0, 65535), whatever the dataset's bit depth;
* floats → (-1, 1) if some value of the batch is below -0.05 (a ``tanh`` output), else (0, 1)
  (a ``sigmoid`` output, or tiles divided by their maximum). Values up to 5 % of the range
  outside it are clipped; further out is an error that asks for ``value_range``;
* other integer dtypes → an error that asks for ``value_range`` or a cast.

Tiles are decoded at 16 bits (float32 for a float-TIFF dataset), so a uint8, uint16 or
float copy of the same tile gives exactly the same audio.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union, overload

import numpy as np

from ..codec import decode, write_audio
from ..errors import FormatError, MissingFileError, ParameterError
from ..formats import _pixel_limit, _read_image, read_metadata
from ..image import SpectrogramImage, pixel_dtype, pixel_max
from ..params import SpectrogramParams
from ..phase import QUALITY_PRESETS, Quality
from .layout import DATASET_JSON, description_params, read_description, tile_geometry

__all__ = ["DATASET_JSON", "decode_batch", "decode_dir", "params_of"]

#: Extensions :func:`decode_dir` reads.
INPUT_EXTS = (".png", ".tif", ".tiff", ".npy")

# How far (fraction of the range) float values may stray outside the detected range
# before auto-detection gives up and asks for value_range.
_RANGE_SLACK = 0.05

PathLike = Union[str, "os.PathLike[str]"]
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


def _template(like: Like) -> tuple[SpectrogramParams, int | None, int | None]:
    """(params for decoding one mono tile, dataset tile width, dataset step) from ``like``."""
    tile_frames = step = None
    if isinstance(like, SpectrogramParams):
        params = like
    elif isinstance(like, SpectrogramImage):
        params = like.params
    elif isinstance(like, (str, os.PathLike)):
        path = Path(like)
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
            f"params={like!r} must be SpectrogramParams, a dataset OUT_DIR or its {DATASET_JSON}, or a specimg image"
        )
    depth = 32 if params.bit_depth == 32 else 16
    work = params.replace(n_samples=None, n_channels=1, edits=(), bit_depth=depth)
    return work, tile_frames, step


# ---------------------------------------------------------------------------- arrays → tiles
def _split(arrays: Any) -> list[np.ndarray]:
    """Bare 2-D tiles (views) from any accepted layout."""
    if isinstance(arrays, (list, tuple)):
        if not arrays:
            raise ParameterError("arrays is empty; pass at least one image")
        out: list[np.ndarray] = []
        for item in arrays:
            a = np.asarray(item)
            if a.ndim == 3 and a.shape[0] == 1:
                a = a[0]
            elif a.ndim == 3 and a.shape[-1] == 1:
                a = a[..., 0]
            if a.ndim != 2:
                raise ParameterError(
                    f"an image of the sequence has shape {a.shape}; each must be (H, W), (1, H, W) or (H, W, 1)"
                )
            out.append(a)
        return out
    a = np.asarray(arrays)
    if a.ndim == 2:
        return [a]
    if a.ndim == 3:
        if a.shape[0] == 0:
            raise ParameterError(f"arrays of shape {a.shape} hold no image")
        if a.shape[-1] == 1 and a.shape[0] > 1:  # one (H, W, 1) image, not H images one column wide
            return [a[..., 0]]
        return list(a)
    if a.ndim == 4:
        if a.shape[1] == 1:
            return list(a[:, 0])
        if a.shape[-1] == 1:
            return list(a[..., 0])
        raise ParameterError(
            f"arrays of shape {a.shape} have no single-channel axis; specimg tiles are grayscale: pass "
            "(N, 1, H, W) or (N, H, W, 1), e.g. arrays[:, :1] or arrays.mean(axis=1, keepdims=True) for RGB"
        )
    raise ParameterError(f"arrays of shape {a.shape} must be (N, H, W), (N, 1, H, W), (N, H, W, 1) or (H, W)")


def _value_range(tiles: Sequence[np.ndarray], value_range: tuple[float, float] | None) -> tuple[float, float]:
    """(lo, hi) of the batch: given, from the dtype, or detected for floats (see the module notes)."""
    dtypes = {t.dtype for t in tiles}
    if value_range is not None:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ParameterError(f"value_range={value_range!r} must be a pair (lo, hi) of numbers") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ParameterError(f"value_range={value_range!r} must be finite with lo < hi")
        for dt in dtypes:
            if not (np.issubdtype(dt, np.integer) or np.issubdtype(dt, np.floating)) or dt == np.bool_:
                raise ParameterError(f"images of dtype {dt} are not pixel values; pass integers or floats")
        return lo, hi
    if len(dtypes) != 1:
        raise ParameterError(f"the images mix dtypes {sorted(map(str, dtypes))}; pass value_range=(lo, hi) or cast them")
    dt = dtypes.pop()
    if dt == np.uint8:
        return 0.0, 255.0
    if dt == np.uint16:
        return 0.0, 65535.0
    if np.issubdtype(dt, np.floating):
        lo_seen = min(float(np.min(t)) for t in tiles)
        hi_seen = max(float(np.max(t)) for t in tiles)
        if not (np.isfinite(lo_seen) and np.isfinite(hi_seen)):
            raise ParameterError("images hold NaN or infinite values; clean them first (e.g. np.nan_to_num)")
        # [-1, 1] (tanh) only when values are clearly negative: a [0, 1] (sigmoid) batch with
        # a stray -1e-4 must not be read as [-1, 1], which would lift it by ~14 dB
        lo, hi = (-1.0, 1.0) if lo_seen < -_RANGE_SLACK else (0.0, 1.0)
        slack = _RANGE_SLACK * (hi - lo)
        if lo_seen < lo - slack or hi_seen > hi + slack:
            raise ParameterError(
                f"float images span [{lo_seen:.4g}, {hi_seen:.4g}], outside [{lo:g}, {hi:g}]; pass value_range=(lo, hi) "
                "with the range the network outputs (e.g. (0, 255) for unscaled 8-bit values)"
            )
        return lo, hi
    if np.issubdtype(dt, np.integer) and dt != np.bool_:
        raise ParameterError(
            f"images of dtype {dt} have no standard pixel range; cast them to uint8 or uint16, or pass "
            "value_range=(lo, hi) (e.g. (0, 65535) for 16-bit values read by Pillow as int32)"
        )
    raise ParameterError(f"images of dtype {dt} are not pixel values; pass uint8, uint16 or floats")


def _pixels(tile: np.ndarray, lo: float, hi: float, params: SpectrogramParams) -> np.ndarray:
    """One tile as pixels of ``params.bit_depth`` (16 or 32), mapped from the range (lo, hi)."""
    if params.bit_depth == 16 and tile.dtype == np.uint16 and (lo, hi) == (0.0, 65535.0):
        return np.ascontiguousarray(tile)
    x = (tile.astype(np.float64) - lo) / (hi - lo)
    if tile.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise ParameterError("images hold NaN or infinite values; clean them first (e.g. np.nan_to_num)")
    np.clip(x, 0.0, 1.0, out=x)
    p_max = pixel_max(params.bit_depth)
    if params.bit_depth == 32:
        return (x * p_max).astype(np.float32)
    return np.rint(x * p_max).astype(pixel_dtype(params.bit_depth))


def _check_height(tiles: Sequence[np.ndarray], params: SpectrogramParams) -> None:
    for i, t in enumerate(tiles):
        if t.shape[0] != params.n_bins:
            hint = ""
            if t.shape[1] == params.n_bins:
                hint = "; it looks transposed (frames × bins): pass arrays.swapaxes(-1, -2)"
            raise ParameterError(
                f"image {i} has {t.shape[0]} rows (H) but the dataset's tiles have n_bins={params.n_bins} "
                f"({params.scale} bins, shape (H, W) = ({params.n_bins}, n_frames)){hint}"
            )
        if t.shape[1] < 2:
            raise ParameterError(f"image {i} has {t.shape[1]} column(s); a tile needs at least 2 frames")


def _stitch(tiles: Sequence[np.ndarray], step: int, params: SpectrogramParams) -> np.ndarray:
    """Consecutive pixel tiles (started ``step`` frames apart) as one image, overlaps crossfaded."""
    width = tiles[0].shape[1]
    if any(t.shape[1] != width for t in tiles):
        raise ParameterError(f"tiles to stitch must have one width; got {sorted({t.shape[1] for t in tiles})} frames")
    if not 1 <= step <= width:
        raise ParameterError(
            f"step_frames={step} must be in [1, {width}] (the tile width): tiles must cover contiguous frames"
        )
    overlap = width - step
    total = (len(tiles) - 1) * step + width
    out = np.empty((params.n_bins, total), dtype=tiles[0].dtype)
    # raised-cosine weight of the newer tile over the overlap; 1 - fade for the older one
    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / max(overlap, 1))
    p_max = pixel_max(params.bit_depth)
    for k, t in enumerate(tiles):
        start = k * step
        if k == 0 or overlap == 0:
            out[:, start : start + width] = t
            continue
        old = out[:, start : start + overlap].astype(np.float64)
        mixed = (1.0 - fade) * old + fade * t[:, :overlap].astype(np.float64)
        out[:, start : start + overlap] = mixed if params.bit_depth == 32 else np.clip(np.rint(mixed), 0, p_max)
        out[:, start + overlap : start + width] = t[:, overlap:]
    return out


def _check_quality(quality: str, n_iter: int | None) -> None:
    if quality not in QUALITY_PRESETS:
        raise ParameterError(f"quality={quality!r} must be one of {sorted(QUALITY_PRESETS)}")
    if n_iter is not None and (isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0):
        raise ParameterError(f"n_iter={n_iter!r} must be an integer >= 0")


def _decode_tiles(
    tiles: Sequence[np.ndarray],
    params: SpectrogramParams,
    *,
    stitch: bool,
    step: int,
    quality: Quality,
    n_iter: int | None,
    rng: np.random.Generator | int | None,
    progress: bool,
) -> list[np.ndarray] | np.ndarray:
    """Decode pixel tiles of ``params``' bit depth (checked) one by one, or stitched."""
    if stitch:
        img = SpectrogramImage(_stitch(tiles, step, params), params)
        return decode(img, quality=quality, n_iter=n_iter, rng=rng, progress=progress)[0]
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
    params: Like,
    *,
    value_range: tuple[float, float] | None = ...,
    quality: Quality = ...,
    n_iter: int | None = ...,
    stitch: Literal[False] = ...,
    step_frames: int | None = ...,
    rng: np.random.Generator | int | None = ...,
    progress: bool = ...,
) -> list[np.ndarray]: ...


@overload
def decode_batch(
    arrays: Any,
    params: Like,
    *,
    value_range: tuple[float, float] | None = ...,
    quality: Quality = ...,
    n_iter: int | None = ...,
    stitch: Literal[True],
    step_frames: int | None = ...,
    rng: np.random.Generator | int | None = ...,
    progress: bool = ...,
) -> np.ndarray: ...


def decode_batch(
    arrays: Any,
    params: Like,
    *,
    value_range: tuple[float, float] | None = None,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    stitch: bool = False,
    step_frames: int | None = None,
    rng: np.random.Generator | int | None = 0,
    progress: bool = False,
) -> list[np.ndarray] | np.ndarray:
    """Decode bare generated tiles to audio with a dataset's calibration.

    Parameters
    ----------
    arrays : np.ndarray [shape=(N, H, W), (N, 1, H, W), (N, H, W, 1) or (H, W)], or a sequence of (H, W) arrays
        Tiles as the dataset stores them: ``H == params.n_bins`` rows of frequency (low
        frequencies at the bottom when ``params.flip``), ``W`` frames. uint8, uint16, or
        floats in [-1, 1] or [0, 1]; anything ``np.asarray`` takes (a CPU torch tensor,
        for instance).
    params : SpectrogramParams, or str or path-like
        The dataset's parameters (:func:`params_of`), its ``OUT_DIR`` or ``specimg.json``
        (which also give the tile step for ``stitch``), or any specimg image of it.
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
        dataset's ``tile.step_frames`` when ``params`` is a dataset folder or
        ``specimg.json``, else ``W`` (no overlap).
    rng : np.random.Generator, int or None
        Seed of the phase reconstruction. An int seeds every tile alike, so a tile's audio
        does not depend on the other tiles of the batch.
    progress : bool
        Show a progress bar after one second.

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
        If ``params`` is a path without a readable dataset description.

    Examples
    --------
    >>> fake = generator(z).detach().cpu().numpy()          # doctest: +SKIP
    >>> fake.shape, fake.dtype                              # doctest: +SKIP
    ((16, 1, 256, 256), dtype('float32'))
    >>> audio = specimg.dataset.decode_batch(fake, "my_dataset")   # doctest: +SKIP
    >>> sr = specimg.dataset.params_of("my_dataset").sr            # doctest: +SKIP
    """
    _check_quality(quality, n_iter)
    work, tile_frames, dataset_step = _template(params)
    tiles = _split(arrays)
    _check_height(tiles, work)
    lo, hi = _value_range(tiles, value_range)
    pixels = [_pixels(t, lo, hi, work) for t in tiles]
    step = _step(step_frames, dataset_step, tile_frames, pixels[0].shape[1]) if stitch else 0
    return _decode_tiles(pixels, work, stitch=stitch, step=step, quality=quality, n_iter=n_iter, rng=rng,
                         progress=progress)  # fmt: skip


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
    from PIL import Image

    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                page_shape = tif.pages[0].shape  # type: ignore[union-attr]
                return len(tif.pages), int(page_shape[0]), int(page_shape[1])
        with _pixel_limit(), Image.open(path) as im:
            return 1, im.size[1], im.size[0]
    except (OSError, ValueError, SyntaxError, IndexError) as exc:
        raise FormatError(f"{str(path)!r} is not a readable image: {exc}") from None


def _read(path: Path) -> list[np.ndarray]:
    """The tiles of an input file as 2-D arrays of its own dtype (colour converted to gray)."""
    if path.suffix.lower() == ".npy":
        return _split(np.load(path, allow_pickle=False))
    pixels, _, n_pages = _read_image(path, pixels=True, any_mode=True)
    assert pixels is not None
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        rgb = pixels.astype(np.float64)
        if np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2]):
            return [pixels[..., 0]]  # gray saved as RGB: exact
        gray = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma, as Pillow's convert("L")
        return [np.rint(gray).astype(pixels.dtype)]
    if n_pages and n_pages > 1:
        return list(pixels.reshape(n_pages, -1, pixels.shape[-1]))
    return [pixels]


def decode_dir(
    gan_output_dir: PathLike,
    audio_out: PathLike,
    *,
    like: Like,
    stitch: bool = False,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    value_range: tuple[float, float] | None = None,
    step_frames: int | None = None,
    rng: np.random.Generator | int | None = 0,
    subtype: str | None = None,
    progress: bool = False,
) -> list[Path]:
    """Decode a folder of bare generated images and arrays to WAV files.

    Reads every ``.png``, ``.tif``/``.tiff`` and ``.npy`` file under ``gan_output_dir``
    (sub-folders included, hidden files skipped), sorted by relative path with numbers
    compared by value (``img_2`` before ``img_10``). Each file is a tile as
    :func:`decode_batch` takes it (an 8- or 16-bit PNG, RGB converted to gray; a ``.npy``
    may hold a batch). Metadata embedded in a file is ignored: ``like`` calibrates all.

    Parameters
    ----------
    gan_output_dir : str or path-like
        Folder of generated tiles.
    audio_out : str or path-like
        Folder for the WAV files (created if missing).
    like : str or path-like, or SpectrogramParams
        The dataset's ``OUT_DIR`` or ``specimg.json`` (or its parameters).
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
    """
    _check_quality(quality, n_iter)
    work, tile_frames, dataset_step = _template(like)
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
                _check_height(raw, work)
            # one range for the whole stitched file, not one per input file
            lo, hi = _value_range([t for raw in raws for t in raw], value_range)
            tiles = [_pixels(t, lo, hi, work) for raw in raws for t in raw]
            step = _step(step_frames, dataset_step, tile_frames, tiles[0].shape[1])
            y = _decode_tiles(tiles, work, stitch=True, step=step, quality=quality, n_iter=n_iter, rng=rng,
                              progress=progress)  # fmt: skip
            write_audio(stage / stitched_name, y, work.sr, subtype=subtype)  # type: ignore[arg-type]
            staged.append(stitched_name)
        else:
            from tqdm import tqdm

            total = sum(len(outs) for _, outs in plan)
            with tqdm(total=total, desc="decode", unit="tile", delay=1.0, leave=False, disable=not progress) as bar:
                for rel, outs in plan:
                    raw = _read(folder / rel)
                    _check_height(raw, work)
                    lo, hi = _value_range(raw, value_range)
                    for t, o in zip(raw, outs):
                        y = _decode_tiles([_pixels(t, lo, hi, work)], work, stitch=False, step=0, quality=quality,
                                          n_iter=n_iter, rng=rng, progress=False)[0]  # fmt: skip
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
