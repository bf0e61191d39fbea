"""Audio from what a GAN makes: bare images or arrays decoded with a dataset's calibration.

A GAN trained on a specimg dataset (``specimg.dataset.build``) emits tiles with no metadata
at all: tensors or arrays of uint8, uint16 or floats, in one of the layouts deep-learning
frameworks use. Every tile of the dataset shares one set of parameters, stored once in
``OUT_DIR/specimg.json`` (see the dataset layout), so those parameters turn any generated
tile into audio at the absolute level the dataset was built on:

* :func:`params_of` reads the parameters of a dataset;
* :func:`decode_batch` decodes tensors (CPU or CUDA), arrays, or one file, one audio signal
  per tile or, with ``stitch=True``, consecutive tiles as one signal without seams;
* :func:`decode_dir` does the same for a folder of PNG/TIFF images (``save_image`` grids
  too), ``.npy``/``.npz`` arrays and ``.pt``/``.pth`` tensors and writes WAV files, on a
  local process pool or a Dask cluster.

Range contract
--------------
A tile is taken as the dataset stores it: rows are frequency bins (low frequencies at the
bottom when ``params.flip``), columns are STFT frames, and the value ``v`` of a pixel maps
to the stored pixel fraction ``x = (v - lo) / (hi - lo)``, clipped to [0, 1], whose dB level
is ``db_min + x * (db_max - db_min)`` (``1 - x`` when ``params.invert``). ``(lo, hi)`` is
``value_range`` when given, else follows from the dtype:

* ``uint8`` → (0, 2⁸ − 1); ``uint16`` → (0, 2¹⁶ − 1), whatever the dataset's bit depth (the
  dtype's full scale, :func:`specimg.image.full_scale`);
* floats with ``domain="unit"`` (:class:`~specimg.dataset.TileDataset`'s default) → (-1, 1);
* floats with ``domain="db"`` (``TileDataset(domain="db")``) are calibrated dB, mapped by
  :func:`specimg.image.db_to_unit`;
* floats with ``domain=None`` (default): dB if some value is below -3 and all lie in the
  dataset's [db_min, db_max] (± 5 %); else (-1, 1) if some value is below -0.05 (a ``tanh``
  output), else (0, 1) (a ``sigmoid`` output, or tiles divided by their maximum). Values up
  to 5 % of the range outside it are clipped; further out is an error that names the likely
  scaling mistake (8- or 16-bit values as floats, ImageNet normalisation) and the fix;
* int16 → an error naming the wrap-around of ``ToTensor()`` on 16-bit PNGs; other integer
  dtypes → an error that asks for ``value_range`` or a cast.

Loader traps
------------
A 16-bit tile read as 8 bits (``ImageFolder``'s ``convert("RGB")``, ``convert("L")``,
StyleGAN2-ADA's ``dataset_tool``) comes out mostly white. Unless ``check=False``, a tile
with more than half of its pixels at full scale is refused with an error naming that trap
and the fix, instead of being decoded as noise far above 0 dBFS
(:func:`specimg.dataset.arrays.check_saturation`).

Tiles are decoded at 16 bits (float32 for a float-TIFF dataset), so a uint8, uint16 or
float copy of the same tile gives exactly the same audio. Colour becomes gray by
:func:`specimg.pictures.to_gray` (exact for equal channels). The files → arrays → pixels
steps live in :mod:`specimg.dataset.arrays`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Union, overload

import numpy as np

from ..codec import decode, write_audio
from ..errors import FormatError, ParameterError
from ..formats import read_metadata
from ..image import SpectrogramImage, from_unit
from ..params import SpectrogramParams
from ..phase import Quality, resolve_quality
from ..typing import PathLike
from .arrays import Domain, check_height, check_saturation, domain_of
from .folders import ARRAY_EXTS, grid_of, list_inputs, parse_grid, probe, tiles_in
from .grids import cut_grid
from .arrays import read_input_planes, split_planes, stitch_tiles, to_pixels, unit_from_db, value_range_of
from .ifplane import decode_tile, prepare_planes, stitch_planes
from .layout import DATASET_JSON, description_params, read_description, tile_geometry
from .staging import make_stage, remove_stale_stages

__all__ = ["DATASET_JSON", "decode_batch", "decode_dir", "params_of"]

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
    rng: np.random.Generator | int | None, progress: bool, planes: Sequence[np.ndarray] | None = None,
) -> np.ndarray:  # fmt: skip
    """Decode consecutive pixel tiles of ``params``' bit depth, ``step`` frames apart, as one signal
    (with their IF planes, values in row order, when given)."""
    pixels = stitch_tiles(tiles, step, params)
    if planes is not None:
        return decode_tile(pixels, stitch_planes(planes, step), params, quality=quality, n_iter=n_iter, rng=rng)
    return decode(SpectrogramImage(pixels, params), quality=quality, n_iter=n_iter, rng=rng, progress=progress)[0]


def _decode_each(
    tiles: Sequence[np.ndarray], params: SpectrogramParams, *, quality: Quality, n_iter: int | None,
    rng: np.random.Generator | int | None, progress: bool, planes: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:  # fmt: skip
    """Decode pixel tiles of ``params``' bit depth one by one (with their IF planes when given)."""
    from tqdm import tqdm

    out = []
    for k, t in enumerate(tqdm(tiles, desc="decode", unit="tile", delay=1.0, leave=False, disable=not progress)):
        # an int seed restarts for every tile, so a tile's audio does not depend on its batch
        seed = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if planes is not None:
            out.append(decode_tile(t, planes[k], params, quality=quality, n_iter=n_iter, rng=seed))
        else:
            out.append(decode(SpectrogramImage(t, params), quality=quality, n_iter=n_iter, rng=seed)[0])
    return out


# ---------------------------------------------------------------------------- inputs → pixels
def _prepare(
    images: Sequence[np.ndarray], work: SpectrogramParams, *, grid: tuple[int, int] | None, grid_padding: int | None,
    tile_frames: int | None, value_range: tuple[float, float] | None, domain: Domain | None, check: bool,
    name: str = "",
) -> list[np.ndarray]:  # fmt: skip
    """Images (2-D, any dtype) → tiles cut from grids, checked, mapped to pixels of ``work``'s bit depth."""
    tiles = _cut(images, work, grid=grid, grid_padding=grid_padding, name=name)
    check_height(tiles, work, n_frames=tile_frames, name=name)
    if value_range is None and domain_of(tiles, work, domain) == "db":
        pixels = [from_unit(unit_from_db(t, work), work.bit_depth) for t in tiles]
    else:
        lo, hi = value_range_of(tiles, value_range, domain=domain, params=work)
        pixels = [to_pixels(t, lo, hi, work) for t in tiles]
    if check:
        try:
            check_saturation(pixels, work)
        except ParameterError as exc:
            raise ParameterError(f"{name}: {exc}" if name else str(exc)) from None
    return pixels


def _cut(images: Sequence[np.ndarray], work: SpectrogramParams, *, grid: tuple[int, int] | None,
         grid_padding: int | None, name: str = "") -> list[np.ndarray]:  # fmt: skip
    if grid is None:
        return list(images)
    rows, cols = parse_grid(grid)
    try:
        return [t for im in images for t in cut_grid(im, rows, cols, n_bins=work.n_bins, padding=grid_padding)]
    except ParameterError as exc:
        raise ParameterError(f"{name}: {exc}" if name else str(exc)) from None


# ---------------------------------------------------------------------------- public: arrays
DecodeInput = Any


@overload
def decode_batch(
    arrays: DecodeInput, dataset: Like | None = ..., *, value_range: tuple[float, float] | None = ...,
    domain: Domain | None = ..., grid: tuple[int, int] | None = ..., grid_padding: int | None = ...,
    key: str | None = ..., check: bool = ..., quality: Quality = ..., n_iter: int | None = ...,
    stitch: Literal[False] = ..., step_frames: int | None = ..., rng: np.random.Generator | int | None = ...,
    progress: bool = ..., params: Like | None = ...,
) -> list[np.ndarray]: ...  # fmt: skip
@overload
def decode_batch(
    arrays: DecodeInput, dataset: Like | None = ..., *, value_range: tuple[float, float] | None = ...,
    domain: Domain | None = ..., grid: tuple[int, int] | None = ..., grid_padding: int | None = ...,
    key: str | None = ..., check: bool = ..., quality: Quality = ..., n_iter: int | None = ...,
    stitch: Literal[True], step_frames: int | None = ..., rng: np.random.Generator | int | None = ...,
    progress: bool = ..., params: Like | None = ...,
) -> np.ndarray: ...  # fmt: skip


def decode_batch(
    arrays: DecodeInput,
    dataset: Like | None = None,
    *,
    value_range: tuple[float, float] | None = None,
    domain: Domain | None = None,
    grid: tuple[int, int] | None = None,
    grid_padding: int | None = None,
    key: str | None = None,
    check: bool = True,
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
    arrays : torch.Tensor, np.ndarray, a sequence of them, a DataLoader batch, or a file path
        Tiles as the dataset stores them: ``H == params.n_bins`` rows of frequency (low
        frequencies at the bottom when ``params.flip``), ``W`` frames. Layouts
        ``(N, 1, H, W)``, ``(N, H, W, 1)``, ``(N, H, W)``, ``(H, W)``, colour ``(N, 3, H, W)``
        / ``(N, H, W, 3)`` / ``(H, W, 3)``, a 3-D tensor ``[C, H, W]`` with C = 1 or 3, a
        list of such images, or a ``(images, labels)`` batch of a ``DataLoader`` (the labels
        are ignored). Two planes per tile, magnitude and instantaneous frequency (a dataset
        built with ``phase="if"``): ``(N, 2, H, W)``, ``(N, H, W, 2)``, a tensor ``[2, H, W]``
        (``TileDataset(planes=("magnitude", "if"))`` batches), or gray + alpha tiles; the
        IF plane (uint8, uint16 or floats in [-1, 1]) is integrated to a phase that the
        phase iterations start from (:func:`specimg.phase.if_to_phase`). Tensors may be on
        any device and require grad; they are not modified. Values: uint8, uint16, floats in [-1, 1] or [0, 1], or calibrated dB (see
        ``domain``). A path (``str`` or path-like) is read as :func:`decode_dir` reads its
        files: a picture, ``.npy``, ``.npz`` or ``.pt``/``.pth``.
    dataset : str or path-like, SpectrogramParams or SpectrogramImage
        The dataset: its ``OUT_DIR`` or ``specimg.json`` (which also give the tile step
        for ``stitch``), its parameters (:func:`params_of`), or any specimg image of it.
        Required.
    value_range : (float, float) or None
        The values that mean the darkest and the brightest pixel; overrides ``domain``.
        None → see ``domain`` and the module notes.
    domain : {"unit", "db"} or None
        What float values are: ``"unit"``, :class:`~specimg.dataset.TileDataset`'s default,
        pixel levels in [-1, 1]; ``"db"``, calibrated dB (``TileDataset(domain="db")``).
        None → detected (module notes): dB when some value is below -3 and all fit the
        dataset's dB range, else [-1, 1] or [0, 1].
    grid : (int, int) or None
        ``(rows, cols)``: every input image is a grid of tiles, as
        ``torchvision.utils.save_image(batch, nrow=cols)`` writes (colour from gray, cells
        ``grid_padding`` pixels apart). Cells are taken row by row, all of them.
    grid_padding : int >= 0 or None
        None → found from the grid's height and ``n_bins`` (``save_image``'s default is 2).
    key : str or None
        For a ``.npz`` or ``.pt`` path holding several arrays: the one to decode (default all).
    check : bool
        True (default): refuse tiles that are mostly at full scale (the 16-bit-read-as-8-bit
        loader trap; see the module notes). False decodes them anyway.
    quality : {"fast", "balanced", "high"}
        Phase reconstruction preset (:func:`specimg.phase.reconstruct`).
    n_iter : int >= 0 or None
        Phase iterations; overrides the preset (:func:`specimg.decode`).
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
        With ``stitch=False``: one signal per tile, in the batch order (grid cells row by
        row), even for a single (H, W) image. ``length_for(W) = (W - 1) * hop_length`` for
        centred frames.
    np.ndarray [shape=(params.length_for((N - 1) * step_frames + W),)], float32
        With ``stitch=True``.

    The sample rate is ``params.sr``; the level is absolute, as in the dataset.

    Raises
    ------
    ParameterError
        If ``H != params.n_bins`` (naming the grid it may be), the layout or dtype is not one
        of the above, values lie outside the detected range, the input looks like a loader
        trap (mostly at full scale, int16 wrap-around), or the tiles cannot be stitched.
    MissingFileError, FormatError
        If ``dataset`` is a path without a readable dataset description, or ``arrays`` a
        path that cannot be read.
    TypeError
        If ``dataset`` is missing, or given twice (as ``dataset`` and ``params``).

    Examples
    --------
    >>> fake = generator(z)                                          # doctest: +SKIP
    >>> fake.shape, fake.dtype, fake.device                          # doctest: +SKIP
    (torch.Size([16, 1, 256, 256]), torch.float32, device(type='cuda', index=0))
    >>> audio = specimg.dataset.decode_batch(fake, "my_dataset", domain="unit")   # doctest: +SKIP
    >>> sr = specimg.dataset.params_of("my_dataset").sr              # doctest: +SKIP
    >>> x, labels = next(iter(loader))   # a DataLoader over TileDataset("my_dataset")  # doctest: +SKIP
    >>> audio = specimg.dataset.decode_batch((x, labels), "my_dataset")               # doctest: +SKIP
    """
    dataset = _dataset_argument("decode_batch", dataset, "params", params)
    _check_quality(quality, n_iter)
    work, tile_frames, dataset_step = _template(dataset)
    if isinstance(arrays, (str, os.PathLike)):
        path = Path(arrays)
        if path.suffix.lower() not in ARRAY_EXTS:  # a picture: its size against the tile geometry, before any pixel
            tiles_in(probe(path, key), path, work, grid, grid_padding, tile_frames)
        images, planes = read_input_planes(path, key=key)
        name = str(arrays)
    else:
        (images, planes), name = split_planes(arrays), ""
    pixels = _prepare(images, work, grid=grid, grid_padding=grid_padding, tile_frames=tile_frames,
                      value_range=value_range, domain=domain, check=check, name=name)  # fmt: skip
    values = prepare_planes(planes, images, work, grid=grid, name=name)
    if stitch:
        step = _step(step_frames, dataset_step, tile_frames, pixels[0].shape[1])
        return _decode_stitched(pixels, work, step=step, quality=quality, n_iter=n_iter, rng=rng, progress=progress,
                                planes=values)  # fmt: skip
    return _decode_each(pixels, work, quality=quality, n_iter=n_iter, rng=rng, progress=progress, planes=values)


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
# index, pixels, work, quality, n_iter, rng, IF plane or None
Job = tuple[int, np.ndarray, SpectrogramParams, Quality, Union[int, None], Any, Union[np.ndarray, None]]


def _decode_job(job: Job) -> tuple[int, np.ndarray]:
    """One tile decoded (in a pool worker, on Dask, or here): (its index, its audio)."""
    index, pixels, work, quality, n_iter, seed, plane = job
    planes = None if plane is None else [plane]
    return index, _decode_each([pixels], work, quality=quality, n_iter=n_iter, rng=seed, progress=False,
                               planes=planes)[0]  # fmt: skip


def _decode_job_on_dask(job: Job) -> tuple[int, np.ndarray]:
    from .executors import single_blas_thread

    single_blas_thread()
    return _decode_job(job)


def decode_dir(
    gan_output_dir: PathLike,
    audio_out: PathLike,
    *,
    dataset: Like | None = None,
    stitch: bool = False,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    value_range: tuple[float, float] | None = None,
    domain: Domain | None = None,
    grid: tuple[int, int] | None = None,
    grid_padding: int | None = None,
    key: str | None = None,
    check: bool = True,
    step_frames: int | None = None,
    rng: np.random.Generator | int | None = 0,
    subtype: str | None = None,
    workers: int | None = 1,
    scheduler: Any = None,
    progress: bool = False,
    like: Like | None = None,
) -> list[Path]:
    """Decode a folder of bare generated images, arrays and tensors to WAV files.

    Reads every ``.png``, ``.tif``/``.tiff``, ``.npy``, ``.npz`` and ``.pt``/``.pth`` file
    under ``gan_output_dir`` (sub-folders included, hidden files skipped), sorted by
    relative path with numbers compared by value (``img_2`` before ``img_10``). Each file
    holds tiles as :func:`decode_batch` takes them (:func:`~specimg.dataset.arrays.read_input`):
    an 8- or 16-bit picture (colour converted to gray; with ``grid``, a ``save_image``
    grid), or a batch of arrays or tensors. Metadata embedded in a file is ignored:
    ``dataset`` calibrates all.

    Parameters
    ----------
    gan_output_dir : str or path-like
        Folder of generated tiles.
    audio_out : str or path-like
        Folder for the WAV files (created if missing).
    dataset : str or path-like, or SpectrogramParams
        The dataset: its ``OUT_DIR`` or ``specimg.json`` (or its parameters). Required.
    stitch : bool
        False: one WAV per tile, ``<relative path without extension>.wav`` (a file of
        N > 1 tiles gives ``<name>_<k>.wav``, k zero-padded, grid cells row by row). True:
        all tiles in the order above joined as in :func:`decode_batch` into one
        ``<folder name>.wav``.
    quality, n_iter, value_range, domain, grid, grid_padding, key, check, step_frames, rng :
        As for :func:`decode_batch` (``value_range`` and ``domain`` detection is per file;
        ``grid`` cuts the picture files only: arrays and tensors hold tiles).
    subtype : str or None
        soundfile subtype; None → PCM_16 (clips, with a warning, above 0 dBFS).
    workers : int > 0 or None
        Processes decoding tiles at once (a local pool whose workers use one BLAS thread,
        as the build's); None → one per CPU; 1 (default) decodes in this process. The
        files written are the same whatever the number. Not used with ``stitch`` (one
        signal).
    scheduler : str, distributed.Client, cluster or None
        Decode on a Dask cluster instead (``"tcp://host:8786"``; ``pip install
        'specimg[dask]'``); tiles are sent to the workers and the audio comes back, so the
        folders need not be shared. Overrides ``workers``.
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
        For a file that cannot be read or decoded (see :func:`decode_batch`), or ``rng`` a
        Generator with several workers (pass an int seed). Every input's size is checked
        before anything is decoded, and outputs are staged in a hidden folder inside
        ``audio_out`` that is moved into place only once every file is complete: on any
        error or Ctrl-C no output file and no staging folder is left behind (one left by
        a killed run is removed by the next run: :mod:`specimg.dataset.staging`).
    ResourceError
        For a file whose reading would need more memory than the budget, or more than
        1 GiB for data expanding more than 64-fold (a ``.npz`` bomb, a stride-0 tensor, a
        blank picture header): checked from its headers before anything is read
        (:mod:`specimg.dataset.inputfiles`).
    SpecimgError
        If the Dask scheduler cannot be reached.
    TypeError
        If ``dataset`` is missing, or given twice (as ``dataset`` and ``like``).
    """
    dataset = _dataset_argument("decode_dir", dataset, "like", like)
    _check_quality(quality, n_iter)
    work, tile_frames, dataset_step = _template(dataset)
    folder, out = Path(gan_output_dir), Path(audio_out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"audio_out={str(out)!r} is a file; give a folder for the WAV files")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ParameterError(f"workers={workers!r} must be a positive integer or None (one per CPU)")
    if subtype is not None:
        import soundfile as sf

        if not sf.check_format("WAV", subtype):
            raise ParameterError(
                f"subtype={subtype!r} cannot be written as WAV; use one of {sorted(sf.available_subtypes('WAV'))}"
            )
    inputs = list_inputs(folder)
    # check every file's size first: a bad file fails before any decoding
    names: dict[Path, Path] = {}
    plan: list[tuple[Path, list[Path]]] = []
    for rel in inputs:
        n = tiles_in(probe(folder / rel, key), folder / rel, work, grid_of(rel, grid), grid_padding, tile_frames)
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
    options: dict[str, Any] = dict(tile_frames=tile_frames, value_range=value_range, domain=domain, check=check)

    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_stages(out)  # left by runs that were killed: their process is gone
    stage = make_stage(out)
    written: list[Path] = []
    try:
        staged: list[Path] = []
        if stitch:
            read = [read_input_planes(folder / rel, key=key) for rel, _ in plan]
            with_if = [p for _, p in read if p is not None]
            if with_if and len(with_if) != len(read):
                raise ParameterError(f"{str(folder)!r}: some files have an IF plane and others not; stitch all or none")
            images = [im for (rel, _), (found, _) in zip(plan, read)
                      for im in _cut(found, work, grid=grid_of(rel, grid), grid_padding=grid_padding)]  # fmt: skip
            # one range for the whole stitched file, not one per input file
            tiles = _prepare(images, work, grid=None, grid_padding=None, **options, name=str(folder))
            planes = prepare_planes([v for p in with_if for v in p] if with_if else None, images, work,
                                    grid=grid if with_if else None, name=str(folder))  # fmt: skip
            step = _step(step_frames, dataset_step, tile_frames, tiles[0].shape[1])
            y = _decode_stitched(tiles, work, step=step, quality=quality, n_iter=n_iter, rng=rng, progress=progress,
                                 planes=planes)  # fmt: skip
            write_audio(stage / stitched_name, y, work.sr, subtype=subtype)
            staged.append(stitched_name)
        else:
            options.update(grid=grid, grid_padding=grid_padding)
            staged = _decode_files(folder, plan, stage, work, options, key=key, quality=quality, n_iter=n_iter,
                                   rng=rng, subtype=subtype, workers=workers, scheduler=scheduler,
                                   progress=progress)  # fmt: skip
        for o in staged:  # every file is complete: move them into place
            final = out / o
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / o, final)
            written.append(final)
    except BaseException:  # errors and Ctrl-C (KeyboardInterrupt): nothing is left behind
        for final in written:  # only if a move itself failed
            final.unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return written


def _decode_files(
    folder: Path, plan: list[tuple[Path, list[Path]]], stage: Path, work: SpectrogramParams, options: dict[str, Any],
    *, key: str | None, quality: Quality, n_iter: int | None, rng: np.random.Generator | int | None,
    subtype: str | None, workers: int | None, scheduler: Any, progress: bool,
) -> list[Path]:  # fmt: skip
    """Decode every tile of ``plan`` to its WAV in ``stage``, here, on a pool or on Dask; the
    staged names in plan order."""
    from tqdm import tqdm

    outs = [o for _, file_outs in plan for o in file_outs]
    n_workers = min(workers or os.cpu_count() or 1, len(outs))
    if isinstance(rng, np.random.Generator) and (scheduler is not None or n_workers > 1):
        raise ParameterError("rng= a Generator cannot be shared by several workers; pass an int seed (or workers=1)")

    def jobs() -> Iterator[Job]:
        index = 0
        for rel, _ in plan:  # files are read as the workers need tiles: memory stays bounded
            file_options = {**options, "grid": grid_of(rel, options["grid"])}
            images, found = read_input_planes(folder / rel, key=key)
            tiles = _prepare(images, work, **file_options, name=str(folder / rel))
            planes = prepare_planes(found, images, work, grid=file_options["grid"] if found else None,
                                    name=str(folder / rel))  # fmt: skip
            for k, pixels in enumerate(tiles):
                yield index, pixels, work, quality, n_iter, rng, None if planes is None else planes[k]
                index += 1

    with tqdm(total=len(outs), desc="decode", unit="tile", delay=1.0, leave=False, disable=not progress) as bar:

        def finished(result: tuple[int, np.ndarray]) -> None:
            index, y = result
            (stage / outs[index]).parent.mkdir(parents=True, exist_ok=True)
            write_audio(stage / outs[index], y, work.sr, subtype=subtype)
            bar.update()

        todo = jobs()
        if scheduler is not None:
            from .executors import dask_executor, run_window

            with contextlib.ExitStack() as stack:
                executor, window = dask_executor(scheduler, stack)
                run_window(executor, _decode_job_on_dask, todo, window, finished)
        elif n_workers == 1:
            for job in todo:
                finished(_decode_job(job))
        else:
            from .executors import process_pool, run_window

            finished(_decode_job(next(todo)))  # here first: imports and compiled kernels are then forked warm
            with process_pool(n_workers) as pool:
                run_window(pool, _decode_job, todo, 2 * n_workers, finished)
    return outs
