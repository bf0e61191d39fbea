"""What a GAN emits → pixel tiles of the dataset: layouts, value range, stitching.

The range contract these functions implement is written in :mod:`specimg.dataset.decode`
(module notes): ``(lo, hi)`` from ``value_range``, the dtype's full scale
(:func:`specimg.image.full_scale`) or, for floats, detected; pixels re-quantised at the
decoding bit depth with :func:`specimg.image.from_unit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..image import from_unit, full_scale, pixel_dtype, pixel_max
from ..params import SpectrogramParams

__all__ = ["RANGE_SLACK", "check_height", "split_tiles", "stitch_tiles", "to_pixels", "value_range_of"]

#: How far (fraction of the range) float values may stray outside the detected range
#: before auto-detection gives up and asks for value_range.
RANGE_SLACK = 0.05


def split_tiles(arrays: Any) -> list[np.ndarray]:
    """Bare 2-D tiles (views) from any accepted layout.

    Parameters
    ----------
    arrays : array-like [shape=(N, H, W), (N, 1, H, W), (N, H, W, 1), (H, W) or (H, W, 1)], or a sequence of
        (H, W), (1, H, W) or (H, W, 1) arrays

    Returns
    -------
    list of np.ndarray [shape=(H, W)], the input's dtype

    Raises
    ------
    ParameterError
        For an empty batch or another layout (colour: several channels).

    Examples
    --------
    >>> [t.shape for t in split_tiles(np.zeros((2, 1, 4, 3)))]
    [(4, 3), (4, 3)]
    """
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


def value_range_of(tiles: Sequence[np.ndarray], value_range: tuple[float, float] | None) -> tuple[float, float]:
    """(lo, hi) of a batch: ``value_range`` checked, else from the dtype, or detected for floats.

    uint8 and uint16 → (0, :func:`~specimg.image.full_scale`); floats → (-1, 1) if some
    value is below ``-RANGE_SLACK``, else (0, 1).

    Raises
    ------
    ParameterError
        For a bad ``value_range``, mixed dtypes, non-finite floats, floats outside the
        detected range by more than ``RANGE_SLACK``, or a dtype without a standard range.

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
    if dt in (np.uint8, np.uint16):
        return 0.0, full_scale(dt)
    if np.issubdtype(dt, np.floating):
        lo_seen = min(float(np.min(t)) for t in tiles)
        hi_seen = max(float(np.max(t)) for t in tiles)
        if not (np.isfinite(lo_seen) and np.isfinite(hi_seen)):
            raise ParameterError("images hold NaN or infinite values; clean them first (e.g. np.nan_to_num)")
        # [-1, 1] (tanh) only when values are clearly negative: a [0, 1] (sigmoid) batch with
        # a stray -1e-4 must not be read as [-1, 1], which would lift it by ~14 dB
        lo, hi = (-1.0, 1.0) if lo_seen < -RANGE_SLACK else (0.0, 1.0)
        slack = RANGE_SLACK * (hi - lo)
        if lo_seen < lo - slack or hi_seen > hi + slack:
            raise ParameterError(
                f"float images span [{lo_seen:.4g}, {hi_seen:.4g}], outside [{lo:g}, {hi:g}]; pass value_range=(lo, hi) "
                "with the range the network outputs (e.g. (0, 255) for unscaled 8-bit values)"
            )
        return lo, hi
    if np.issubdtype(dt, np.integer) and dt != np.bool_:
        raise ParameterError(
            f"images of dtype {dt} have no standard pixel range; cast them to uint8 or uint16, or pass "
            f"value_range=(lo, hi) (e.g. (0, {full_scale(np.uint16):g}) for 16-bit values read by Pillow as int32)"
        )
    raise ParameterError(f"images of dtype {dt} are not pixel values; pass uint8, uint16 or floats")


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


def check_height(tiles: Sequence[np.ndarray], params: SpectrogramParams) -> None:
    """Check that every tile has ``params.n_bins`` rows and at least 2 frames.

    Raises
    ------
    ParameterError
        Naming the first tile that does not (and suggesting a transpose if it fits).
    """
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
