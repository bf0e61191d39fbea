"""What a GAN emits → pixel tiles of the dataset: files, layouts, tensors, grids, value range, loader traps.

The range contract these functions implement is written in :mod:`specimg.dataset.decode`
(module notes): ``(lo, hi)`` from ``value_range``, the dtype's full scale
(:func:`specimg.image.full_scale`) or, for floats, detected; pixels re-quantised at the
decoding bit depth with :func:`specimg.image.from_unit`. Before any tile is decoded,
:func:`value_range_of` and :func:`check_saturation` refuse inputs that no tile of the
dataset can give (the loader traps: a 16-bit tile read as 8 bits, int16 wrap-around,
values scaled twice or not at all), naming the likely cause and the fix.

torch is never imported here: a tensor is recognised by its type's module
(:func:`is_tensor`) and converted with its own methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import ParameterError
from ..image import db_to_unit, from_unit, full_scale, pixel_dtype, pixel_max, to_unit
from ..params import SpectrogramParams
from ..pictures import read_picture, to_gray
from ..typing import PathLike
from .grids import guess_grid
from .inputfiles import check_input, read_arrays

__all__ = [
    "DB_BELOW",
    "RANGE_SLACK",
    "SATURATED_FRACTION",
    "FLOOR_NEAR",
    "SATURATION_DB_MAX",
    "as_numpy",
    "check_height",
    "check_saturation",
    "domain_of",
    "is_tensor",
    "read_input",
    "read_input_planes",
    "split_planes",
    "split_tiles",
    "stitch_tiles",
    "to_pixels",
    "unit_from_db",
    "value_range_of",
]

#: How far (fraction of the range) float values may stray outside the detected range
#: before auto-detection gives up and asks for value_range.
RANGE_SLACK = 0.05

#: Float values within this of 0 are the floor of a [0, 1] batch; below -FLOOR_NEAR they
#: mean [-1, 1]; a batch with no value under FLOOR_NEAR is ambiguous (:func:`value_range_of`).
FLOOR_NEAR = 0.01

#: :func:`check_saturation` applies where ``db_max`` is above this: no real sound puts half
#: of a tile's bins there (a full-scale square wave's mel bins read about -10 dB).
SATURATION_DB_MAX = -10.0

#: Float values reaching below this are taken as calibrated dB (when they fit the
#: dataset's dB range): no pixel level in [-1, 1] or [0, 1] gets there, and every tile of
#: real audio has bins far quieter than -3 dB.
DB_BELOW = -3.0

#: A tile with more than this fraction of its pixels at full scale (``db_max``, above a
#: full-scale sine) is refused (:func:`check_saturation`). Real audio has none there; a 16-bit
#: tile read as 8 bits has every bin above the lowest 1/257 of the range there: 97 % of a
#: real recording's, about half of a pure tone's (the rest sits at the floor).
SATURATED_FRACTION = 0.5

Domain = Literal["unit", "db"]

# The fix offered by every loader-trap message.
_READ_RIGHT = (
    "read the tiles with specimg.dataset.TileDataset (float32 in [-1, 1]), or with "
    "torchvision.io.read_image(path, ImageReadMode.UNCHANGED) / np.asarray(PIL.Image.open(path)), which keep "
    "their dtype; or build the dataset at 8 bits (specimg dataset build --bit-depth 8), which every loader reads"
)


# ---------------------------------------------------------------------------- tensors and layouts
def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (told by its type's module: torch is not imported).

    Examples
    --------
    >>> is_tensor(np.zeros(3))
    False
    """
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def as_numpy(x: Any) -> np.ndarray:
    """A tensor (CPU or CUDA, with or without grad) or array-like as a numpy array.

    Integer tensors keep their dtype (uint8, uint16, int16, int32: their values mean what
    they meant), float64 stays float64, other floats (float16, bfloat16) become float32.

    Parameters
    ----------
    x : torch.Tensor or array-like

    Returns
    -------
    np.ndarray

    Examples
    --------
    >>> as_numpy([[0, 255]]).dtype
    dtype('int64')
    """
    if not is_tensor(x):
        return np.asarray(x)
    t = x.detach()
    if t.device.type != "cpu":
        t = t.to("cpu")
    if t.is_floating_point() and str(t.dtype) not in ("torch.float32", "torch.float64"):
        t = t.float()
    return np.asarray(t.numpy())


def _is_labels(x: Any, n: int) -> bool:
    """Whether ``x`` is a DataLoader's label batch: n integers in one dimension."""
    a = as_numpy(x) if (is_tensor(x) or isinstance(x, (np.ndarray, list))) else None
    return a is not None and a.ndim == 1 and len(a) == n and a.dtype.kind in "iu"


def _chw_to_gray(a: np.ndarray) -> np.ndarray:
    """One (3, H, W) colour image as gray, by :func:`specimg.pictures.to_gray`."""
    return to_gray(np.moveaxis(a, 0, -1))


def _one_image(a: np.ndarray) -> np.ndarray:
    """An item of a sequence: (H, W), (1, H, W), (H, W, 1), (3, H, W) or (H, W, 3) → (H, W)."""
    if a.ndim == 3 and a.shape[0] == 1:
        return a[0]
    if a.ndim == 3 and a.shape[-1] == 1:
        return a[..., 0]
    if a.ndim == 3 and a.shape[0] == 3:
        return _chw_to_gray(a)
    if a.ndim == 3 and a.shape[-1] == 3:
        return to_gray(a)
    if a.ndim != 2:
        raise ParameterError(
            f"an image of the sequence has shape {a.shape}; each must be (H, W), (1, H, W), (H, W, 1), or colour "
            "(3, H, W) / (H, W, 3)"
        )
    return a


def split_tiles(arrays: Any) -> list[np.ndarray]:
    """Bare 2-D gray images from any accepted layout, tensors and colour included.

    Parameters
    ----------
    arrays : array-like or torch.Tensor [shape=(N, H, W), (N, 1, H, W), (N, H, W, 1), (N, 3, H, W),
        (N, H, W, 3), (H, W), (H, W, 1) or (H, W, 3)], a sequence of (H, W), (1, H, W), (H, W, 1),
        (3, H, W) or (H, W, 3) images, or a DataLoader batch ``(images, labels)``
        A 3-D tensor is one image ``[C, H, W]`` when C is 1 or 3 (torch's layout), a 3-D
        numpy array ``(N, H, W)`` is N tiles (one ``(H, W, 1)`` or ``(H, W, 3)`` image when
        its last axis is 1 or 3). Colour becomes gray by :func:`specimg.pictures.to_gray`
        (equal channels exactly; else ITU-R BT.601 luma, which keeps any affine range).
        The labels of a ``(images, labels)`` pair are ignored.

    Returns
    -------
    list of np.ndarray [shape=(H, W)], the input's dtype (tensors: see :func:`as_numpy`)

    Raises
    ------
    ParameterError
        For an empty batch or another layout.

    Examples
    --------
    >>> [t.shape for t in split_tiles(np.zeros((2, 1, 4, 3)))]
    [(4, 3), (4, 3)]
    >>> [t.shape for t in split_tiles(np.zeros((2, 3, 4, 5)))]
    [(4, 5), (4, 5)]
    """
    if isinstance(arrays, (list, tuple)):
        if not arrays:
            raise ParameterError("arrays is empty; pass at least one image")
        if len(arrays) == 2 and len(getattr(arrays[0], "shape", ())) == 4 and _is_labels(arrays[1], len(arrays[0])):
            return split_tiles(arrays[0])  # a DataLoader batch (images, labels)
        out: list[np.ndarray] = []
        for item in arrays:
            a = as_numpy(item)
            out.extend(split_tiles(a) if a.ndim == 4 else [_one_image(a)])
        return out
    a = as_numpy(arrays)
    if a.ndim == 2:
        return [a]
    if a.ndim == 3:
        if a.shape[0] == 0:
            raise ParameterError(f"arrays of shape {a.shape} hold no image")
        if is_tensor(arrays) and a.shape[0] in (1, 3):  # torch's [C, H, W]
            return [_one_image(a)]
        if a.shape[-1] in (1, 3) and a.shape[0] > 3:  # one (H, W, C) image, not H images C columns wide
            return [_one_image(a)]
        return list(a)
    if a.ndim == 4:
        if a.shape[0] == 0:
            raise ParameterError(f"arrays of shape {a.shape} hold no image")
        if a.shape[1] == 1:
            return list(a[:, 0])
        if a.shape[-1] == 1:
            return list(a[..., 0])
        if a.shape[1] == 3:
            return [_chw_to_gray(x) for x in a]
        if a.shape[-1] == 3:
            return [to_gray(x) for x in a]
        raise ParameterError(
            f"arrays of shape {a.shape} have no gray or RGB channel axis; specimg tiles are grayscale: pass "
            "(N, 1, H, W), (N, H, W, 1), RGB as (N, 3, H, W) / (N, H, W, 3), or two planes (magnitude, IF) as "
            "(N, 2, H, W) / (N, H, W, 2)"
        )
    raise ParameterError(f"arrays of shape {a.shape} must be (N, H, W), (N, C, H, W), (N, H, W, C) or (H, W)")


def _two_planes(a: np.ndarray, tensor: bool, top: bool) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """(magnitudes, IF planes) of an array holding two planes per tile, else None."""
    if a.ndim == 4 and a.shape[1] == 2:
        return list(a[:, 0]), list(a[:, 1])
    if a.ndim == 4 and a.shape[-1] == 2 and a.shape[1] not in (1, 3):
        return list(a[..., 0]), list(a[..., 1])
    if a.ndim == 3 and a.shape[0] == 2 and (tensor or not top):  # one [2, H, W] tile (numpy (N, H, W) is N tiles)
        return [a[0]], [a[1]]
    if a.ndim == 3 and a.shape[-1] == 2 and a.shape[0] > 3:  # one (H, W, 2) tile
        return [a[..., 0]], [a[..., 1]]
    return None


def split_planes(arrays: Any) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Like :func:`split_tiles`, and the IF planes of tiles given as two planes (magnitude, IF).

    Two-plane layouts: ``(N, 2, H, W)``, ``(N, H, W, 2)``, a tensor ``[2, H, W]``, one ``(H, W, 2)``
    array, sequences of such, ``(images, labels)`` batches (of ``TileDataset(planes=("magnitude",
    "if"))``). A numpy ``(2, H, W)`` array stays two one-plane tiles, as in :func:`split_tiles`.

    Returns
    -------
    (tiles, planes) : tiles as :func:`split_tiles`; each tile's IF plane (its dtype), or None

    Raises
    ------
    ParameterError
        As :func:`split_tiles`, and when some tiles have an IF plane and others not.

    Examples
    --------
    >>> tiles, planes = split_planes(np.zeros((3, 2, 4, 5)))
    >>> len(tiles), planes[0].shape
    (3, (4, 5))
    >>> split_planes(np.zeros((3, 4, 5)))[1] is None
    True
    """
    x = arrays
    batch = isinstance(x, (list, tuple)) and len(x) == 2 and len(getattr(x[0], "shape", ())) == 4
    if batch and _is_labels(x[1], len(x[0])):
        x = x[0]  # a DataLoader batch (images, labels)
    items = list(x) if isinstance(x, (list, tuple)) else [x]
    if not items:
        raise ParameterError("arrays is empty; pass at least one image")
    tiles: list[np.ndarray] = []
    planes: list[np.ndarray | None] = []
    for item in items:
        a = as_numpy(item)
        pair = _two_planes(a, is_tensor(item), top=not isinstance(x, (list, tuple)))
        if pair is None:
            if not isinstance(x, (list, tuple)):
                found = split_tiles(item)
            else:
                found = split_tiles(a) if a.ndim == 4 else split_tiles([a])
            tiles += found
            planes += [None] * len(found)
        else:
            tiles += pair[0]
            planes += pair[1]
    if all(p is None for p in planes):
        return tiles, None
    if any(p is None for p in planes):
        raise ParameterError(
            "some tiles have two planes (magnitude, IF) and others one; pass every tile with its IF plane, or none"
        )
    return tiles, [p for p in planes if p is not None]


# ---------------------------------------------------------------------------- files
def read_input(path: PathLike, *, key: str | None = None) -> list[np.ndarray]:
    """The images of one input file as 2-D gray arrays of its own dtype.

    Parameters
    ----------
    path : str or path-like
        A picture (PNG, TIFF: colour converted to gray, TIFF pages apart), ``.npy``,
        ``.npz`` (every array in the file's order, or ``key``'s), or ``.pt``/``.pth``
        (``torch.load(weights_only=True)``: a tensor, a list or tuple of tensors, a
        ``(images, labels)`` batch or a dict of tensors, every value or ``key``'s).
    key : str or None
        The one array of a ``.npz`` (or entry of a saved dict) to read.

    Returns
    -------
    list of np.ndarray [shape=(H, W)]
        In any layout :func:`specimg.dataset.arrays.split_tiles` takes.

    Raises
    ------
    FormatError
        If the file is unreadable (or refused by ``weights_only``), or holds tensors that
        are not dense on the CPU (:mod:`specimg.dataset.inputfiles`).
    ResourceError
        If reading it would take too much memory, estimated from its headers before any
        data is inflated or copied (:func:`specimg.dataset.inputfiles.check_input`).
    ParameterError
        For an unknown ``key`` or a layout that is not images.
    SpecimgError
        For ``.pt``/``.pth`` without torch installed.
    """
    return _read(Path(path), key, False)[0]


def read_input_planes(path: PathLike, *, key: str | None = None) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """:func:`read_input`, and the IF planes of tiles stored with one (:func:`split_planes`).

    A gray + alpha PNG (a tile of a dataset built with ``phase="if"``) gives its gray
    channel as the tile and its alpha channel as the IF plane, never composited.

    Returns
    -------
    (tiles, planes) : as :func:`split_planes`

    Raises
    ------
    FormatError, ParameterError, SpecimgError
        As :func:`read_input`, and when some tiles of the file have an IF plane and others not.
    """
    return _read(Path(path), key, True)


def _read(path: Path, key: str | None, keep_planes: bool) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    ext = path.suffix.lower()

    def split(items: list[Any]) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        if not keep_planes:
            return [t for item in items for t in split_tiles(item)], None
        parts = [split_planes(item) for item in items]
        tiles = [t for found, _ in parts for t in found]
        if all(p is None for _, p in parts):
            return tiles, None
        if any(p is None for _, p in parts):
            raise ParameterError(f"{str(path)!r}: some arrays have an IF plane and others not; give all or none")
        return tiles, [v for _, p in parts for v in (p or [])]

    # every size is checked from the headers first (specimg.dataset.inputfiles)
    if ext in (".npy", ".npz"):
        return split(read_arrays(path, key))
    if ext in (".pt", ".pth"):
        items = read_arrays(path, key)
        try:
            return split(items)
        except ParameterError as exc:
            raise ParameterError(f"{str(path)!r}: {exc}") from None
    check_input(path)
    picture = read_picture(path, keep_alpha=keep_planes)
    assert picture.pixels is not None
    if picture.pixels.ndim == 3 and picture.pixels.shape[-1] == 2:  # gray + alpha: the IF plane
        return [picture.pixels[..., 0]], [picture.pixels[..., 1]]
    gray = to_gray(picture.pixels)  # the one gray rule (alpha already over black)
    n_pages = picture.n_pages or 1
    return (list(gray.reshape(n_pages, -1, gray.shape[-1])) if n_pages > 1 else [gray]), None


# ---------------------------------------------------------------------------- grids of tiles
def domain_of(tiles: Sequence[np.ndarray], params: SpectrogramParams, domain: Domain | None) -> str:
    """``"db"`` if the tiles are calibrated dB, else ``"pixels"``.

    ``domain="db"`` → dB; ``"unit"`` → pixels; None → dB when the tiles are floats
    reaching below :data:`DB_BELOW` and all within the dataset's [db_min, db_max] (±
    :data:`RANGE_SLACK` of the span), else pixels.

    Raises
    ------
    ParameterError
        For another ``domain``, or dB values outside the dataset's range with ``domain="db"``.
    """
    if domain not in (None, "unit", "db"):
        raise ParameterError(f"domain={domain!r} must be 'unit', 'db' or None (detect)")
    if domain == "unit":
        return "pixels"
    floats = all(t.dtype.kind == "f" for t in tiles)
    if not floats:
        if domain == "db":
            raise ParameterError(f"domain='db' needs float dB values, not {tiles[0].dtype}")
        return "pixels"
    lo_seen = min(float(np.min(t)) for t in tiles)
    hi_seen = max(float(np.max(t)) for t in tiles)
    slack = RANGE_SLACK * (params.db_max - params.db_min)
    inside = params.db_min - slack <= lo_seen and hi_seen <= params.db_max + slack
    if domain == "db":
        if not inside:
            raise ParameterError(
                f"dB values span [{lo_seen:.4g}, {hi_seen:.4g}], outside the dataset's [{params.db_min:g}, "
                f"{params.db_max:g}] dB; are they dB of this dataset (TileDataset(domain='db'))?"
            )
        return "db"
    return "db" if inside and lo_seen < DB_BELOW else "pixels"


def unit_from_db(tile: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Calibrated dB → the stored pixel level in [0, 1] (:func:`specimg.image.db_to_unit`)."""
    return db_to_unit(tile.astype(np.float64), params)


def _float_range_hint(lo_seen: float, hi_seen: float, params: SpectrogramParams | None) -> str:
    u16 = full_scale(np.uint16)
    if lo_seen >= -RANGE_SLACK and hi_seen <= 255 * (1 + RANGE_SLACK):
        return ("they look like 8-bit values as floats (e.g. read_image(path).float() without / 255): "
                "divide by 255 or pass value_range=(0, 255)")  # fmt: skip
    if lo_seen >= -RANGE_SLACK and hi_seen <= u16 * (1 + RANGE_SLACK):
        return (f"they look like 16-bit values as floats (e.g. ToTensor() of a 16-bit PNG opened in Pillow mode "
                f"'I', then .float()): divide by {u16:g} or pass value_range=(0, {u16:g})")  # fmt: skip
    if lo_seen < 0 and max(-lo_seen, hi_seen) <= 4:
        return ("they look normalised with a mean/std other than 0.5 (e.g. transforms.Normalize with ImageNet's "
                "statistics): use Normalize(0.5, 0.5), or pass value_range=(lo, hi) of that normalisation")  # fmt: skip
    db = f"; calibrated dB of this dataset lie in [{params.db_min:g}, {params.db_max:g}]" if params else ""
    return f"pass value_range=(lo, hi) with the range the network outputs{db}"


def value_range_of(
    tiles: Sequence[np.ndarray], value_range: tuple[float, float] | None, *, domain: Domain | None = None,
    params: SpectrogramParams | None = None,
) -> tuple[float, float]:  # fmt: skip
    """(lo, hi) of a batch of pixel values: ``value_range`` checked, else from the dtype, or detected for floats.

    uint8 and uint16 → (0, :func:`~specimg.image.full_scale`); floats → (-1, 1) with
    ``domain="unit"`` (:class:`~specimg.dataset.TileDataset`'s), else (-1, 1) if some
    value is below ``-FLOOR_NEAR``, (0, 1) if the lowest is within ``FLOOR_NEAR`` of 0;
    a batch with no value near either floor is refused as ambiguous.

    Raises
    ------
    ParameterError
        For a bad ``value_range``, mixed dtypes, non-finite floats, floats outside the
        range by more than ``RANGE_SLACK`` (naming the likely scaling mistake), int16 values
        (the wrap-around of ``ToTensor()`` on 16-bit PNGs), or a dtype without a standard range.

    Examples
    --------
    >>> value_range_of([np.zeros((2, 2), np.uint8)], None)
    (0.0, 255.0)
    >>> value_range_of([np.full((2, 2), -0.5)], None)
    (-1.0, 1.0)
    """
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
    u16 = full_scale(np.uint16)
    if dt in (np.uint8, np.uint16):
        return 0.0, full_scale(dt)
    if np.issubdtype(dt, np.floating):
        lo_seen = min(float(np.min(t)) for t in tiles)
        hi_seen = max(float(np.max(t)) for t in tiles)
        if not (np.isfinite(lo_seen) and np.isfinite(hi_seen)):
            raise ParameterError("images hold NaN or infinite values; clean them first (e.g. np.nan_to_num)")
        # negative values mean [-1, 1] (tanh; a stray -1e-4 of a [0, 1] batch does not); values
        # near 0 are the floor of [0, 1] (sigmoid); with neither the two differ by ~50 dB: ask
        at_one = max(float(np.mean(t >= 1.0 - 0.5 / 255)) for t in tiles)  # the loader trap: check_saturation
        if domain != "unit" and lo_seen > FLOOR_NEAR and at_one <= SATURATED_FRACTION:
            raise ParameterError(
                f"float images span [{lo_seen:.4g}, {hi_seen:.4g}]: [-1, 1] and [0, 1] cannot be told apart "
                "without a value near the floor; pass domain='unit' for [-1, 1] (TileDataset, a tanh output) "
                "or value_range=(0, 1) (a sigmoid output)"
            )
        lo, hi = (-1.0, 1.0) if domain == "unit" or lo_seen < -FLOOR_NEAR else (0.0, 1.0)
        slack = RANGE_SLACK * (hi - lo)
        if lo_seen < lo - slack or hi_seen > hi + slack:
            raise ParameterError(
                f"float images span [{lo_seen:.4g}, {hi_seen:.4g}], outside [{lo:g}, {hi:g}]: no tile of the dataset "
                f"gives that; {_float_range_hint(lo_seen, hi_seen, params)}"
            )
        return lo, hi
    if dt == np.int16:
        wrapped = any(bool(np.any(t < 0)) for t in tiles)
        raise ParameterError(
            ("int16 images with negative values: the loader trap of ToTensor() (or np.int16) on 16-bit PNGs, "
             "which wraps every level above 32767 around to negative numbers. " if wrapped else
             "int16 images: ToTensor() reads 16-bit PNGs (Pillow mode I;16) as int16, wrapping levels above "
             "32767 around. ")
            + "Fix: reinterpret the bits as uint16 (x.numpy().view(np.uint16), or x.view(torch.uint16)), or "
            + _READ_RIGHT
        )  # fmt: skip
    if np.issubdtype(dt, np.integer) and dt != np.bool_:
        raise ParameterError(
            f"images of dtype {dt} have no standard pixel range; cast them to uint8 or uint16, or pass "
            f"value_range=(lo, hi) (e.g. (0, {u16:g}) for 16-bit values read by Pillow as int32, mode 'I')"
        )
    raise ParameterError(f"images of dtype {dt} are not pixel values; pass uint8, uint16 or floats")


def check_saturation(pixels: Sequence[np.ndarray], params: SpectrogramParams) -> None:
    """Refuse tiles whose level is mostly at full scale: the mark of a 16-bit tile read as 8 bits.

    ``ImageFolder``'s ``convert("RGB")``, ``Image.convert("L")`` or StyleGAN2-ADA's
    ``dataset_tool --img-format L`` clip every 16-bit level above 255 (the lowest 1/257
    of the range) to white, so most of a tile reads full scale. No tile of real audio has
    more than :data:`SATURATED_FRACTION` (half) of its bins at ``db_max``, above a full-scale
    sine; a nearly silent tile is at the floor, not at full scale.

    Parameters
    ----------
    pixels : sequence of np.ndarray [shape=(H, W)], pixels of ``params.bit_depth``
    params : SpectrogramParams
        ``invert`` says which end is loud.

    Raises
    ------
    ParameterError
        Naming the tiles, the likely loader trap and the fix.
    """
    if params.db_max < SATURATION_DB_MAX:
        return  # quiet scales: loud audio may legitimately fill the top
    edge = 0.5 / 255  # within half an 8-bit step of full scale
    worst, bad = 0.0, []
    for i, p in enumerate(pixels):
        x = to_unit(p)
        x = 1.0 - x if params.invert else x
        # share of the tile's sound (not its floor, e.g. padding) at full scale
        frac = float(np.mean(x >= 1.0 - edge)) / max(float(np.mean(x > edge)), 1e-12)
        if frac > SATURATED_FRACTION:
            bad.append(i)
            worst = max(worst, frac)
    if bad:
        which = f"tile {bad[0]}" if len(bad) == 1 else f"{len(bad)} of {len(pixels)} tiles (first: {bad[0]})"
        raise ParameterError(
            f"{which}: {worst:.1%} of the pixels at full scale (db_max = {params.db_max:g} dB), which no tile of "
            "real audio has; decoded, it would be loud noise. Likely loader trap: a 16-bit tile read as 8 bits "
            "(ImageFolder/PIL convert('RGB') or convert('L') then ToTensor(), StyleGAN2-ADA dataset_tool, "
            f"diffusers' training scripts) turns every level above the lowest 1/257 white. Fix: {_READ_RIGHT}. "
            "If these really are the tiles, pass check=False (--no-check)"
        )


def to_pixels(tile: np.ndarray, lo: float, hi: float, params: SpectrogramParams) -> np.ndarray:
    """One tile as pixels of ``params.bit_depth`` (16 or 32), mapped from the range (lo, hi).

    Parameters
    ----------
    tile : np.ndarray [shape=(H, W)], integers or floats
    lo, hi : float, the values of the darkest and the brightest pixel
    params : SpectrogramParams

    Returns
    -------
    np.ndarray [shape=(H, W)], ``pixel_dtype(params.bit_depth)``; values outside (lo, hi) clipped

    Raises
    ------
    ParameterError
        If a float tile holds NaN or infinite values.

    Examples
    --------
    >>> p = SpectrogramParams(sr=22050, bit_depth=16)
    >>> tanh_out = np.array([[-1.0, 0.0, 1.0]])
    >>> to_pixels(tanh_out, -1.0, 1.0, p).tolist() == [[0, 32768, pixel_max(16)]]
    True
    """
    if (
        params.bit_depth != 32
        and tile.dtype == pixel_dtype(params.bit_depth)
        and (lo, hi) == (0.0, pixel_max(params.bit_depth))
    ):
        return np.ascontiguousarray(tile)  # already the pixels
    x = (tile.astype(np.float64) - lo) / (hi - lo)
    if tile.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise ParameterError("images hold NaN or infinite values; clean them first (e.g. np.nan_to_num)")
    return from_unit(x, params.bit_depth)


def check_height(tiles: Sequence[np.ndarray], params: SpectrogramParams, *, n_frames: int | None = None,
                 name: str = "") -> None:  # fmt: skip
    """Check that every tile has ``params.n_bins`` rows and at least 2 frames.

    Parameters
    ----------
    tiles : sequence of np.ndarray [shape=(H, W)]
    params : SpectrogramParams
    n_frames : int or None
        The dataset's tile width, used to name the grid a taller image may be.
    name : str
        The file the tiles come from, for the message.

    Raises
    ------
    ParameterError
        Naming the first tile that does not (and suggesting a transpose or a grid if one fits).
    """
    where = f"{name}: " if name else ""
    for i, t in enumerate(tiles):
        if t.shape[0] != params.n_bins:
            hint = ""
            if t.shape[1] == params.n_bins:
                hint = "; it looks transposed (frames × bins): pass arrays.swapaxes(-1, -2)"
            elif t.shape[0] > params.n_bins and (grid := guess_grid(t.shape[0], t.shape[1], params.n_bins, n_frames)):
                hint = f"; it looks like a torchvision save_image grid: pass {grid}"
            raise ParameterError(
                f"{where}image {i} has {t.shape[0]} rows (H) but the dataset's tiles have n_bins={params.n_bins} "
                f"({params.scale} bins, shape (H, W) = ({params.n_bins}, n_frames)){hint}"
            )
        if t.shape[1] < 2:
            raise ParameterError(f"{where}image {i} has {t.shape[1]} column(s); a tile needs at least 2 frames")


def stitch_tiles(tiles: Sequence[np.ndarray], step: int, params: SpectrogramParams) -> np.ndarray:
    """Consecutive pixel tiles (started ``step`` frames apart) as one image, overlaps crossfaded.

    Parameters
    ----------
    tiles : sequence of np.ndarray [shape=(n_bins, W)], pixels of ``params.bit_depth``, one width
    step : int in [1, W]
    params : SpectrogramParams

    Returns
    -------
    np.ndarray [shape=(n_bins, (len(tiles) - 1) * step + W)], the tiles' dtype
        Over each overlap, the newer tile has a raised-cosine weight rising from 0 to 1.

    Raises
    ------
    ParameterError
        If the tiles differ in width or ``step`` is out of range.
    """
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
