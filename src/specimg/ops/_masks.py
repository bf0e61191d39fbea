"""Masks painted in an image editor: reading them as gray levels, :func:`inpaint`
and :func:`apply_mask`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np

from .. import image, pictures
from ..errors import ParameterError
from ..image import SpectrogramImage
from ..params import check_float
from ..typing import PathLike
from ._core import channel_db, check_img, db_to_level, edited, level_to_db, nonneg, oriented, warn_clipping
from ._regions import fade_time

__all__ = ["apply_mask", "inpaint"]

InpaintMethod = Literal["telea", "ns", "biharmonic"]
MaskLike = Union[np.ndarray, PathLike]  # noqa: UP007  (a runtime alias: keep it 3.10-safe)


def _gray_from_file(path: Path) -> np.ndarray:
    """Any picture file → gray float64 in [0, 1], by the rules of :mod:`specimg.pictures`.

    Alpha is composited over black (a transparent pixel is not painted), colour goes through
    BT.601 luma, and the level is the pixel over its dtype's full scale.
    """
    picture = pictures.read_picture(path, what="mask")
    assert picture.pixels is not None
    return pictures.unit_gray(picture.pixels)


def _gray_from_array(mask: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(mask)
    if a.dtype in (np.bool_, np.uint8, np.uint16):
        return image.to_unit(a)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ParameterError(f"{name} of dtype {a.dtype} must be bool, uint8, uint16 or a float array in [0, 1]")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)) or a.size and (a.min() < 0 or a.max() > 1):
        raise ParameterError(
            f"{name} of dtype {mask.dtype} holds values outside [0, 1] (or NaN); scale it to 0..1 or pass a bool array"
        )
    return a


def _mask_gray(mask: Any, img: SpectrogramImage, name: str) -> tuple[np.ndarray, str | None]:
    """A mask (file or array) → gray in [0, 1] of the full image shape, image orientation."""
    source = None
    if isinstance(mask, SpectrogramImage):
        raise ParameterError(f"{name} must be a mask array or image file, not a SpectrogramImage; pass its .pixels")
    if isinstance(mask, (str, os.PathLike)):
        source = os.fspath(mask)
        gray = _gray_from_file(Path(mask))
    elif isinstance(mask, np.ndarray):
        gray = _gray_from_array(mask, name)
    else:
        raise ParameterError(f"{name}={type(mask).__name__} must be a numpy array or the path of an image file")
    rows, cols = img.shape
    n_bins = img.params.n_bins
    if gray.ndim == 2 and gray.shape == (rows, cols):
        return gray, source
    if gray.ndim == 2 and gray.shape == (n_bins, cols):
        return np.tile(gray, (img.params.n_channels, 1)), source
    what = f"{gray.shape[1]}×{gray.shape[0]}" if gray.ndim == 2 else f"of shape {gray.shape}"
    per_channel = f" (or {cols}×{n_bins} for one channel)" if img.params.n_channels > 1 else ""
    raise ParameterError(
        f"{name} {source or 'array'} is {what} (width×height) but the image is {cols}×{rows}{per_channel}; "
        "paint the mask on a copy of the image itself"
    )


def inpaint(
    img: SpectrogramImage,
    mask: MaskLike,
    *,
    method: InpaintMethod = "telea",
    radius: float = 3.0,
    threshold: float = 0.5,
) -> SpectrogramImage:
    """Remove a region and fill it from its surroundings.

    Parameters
    ----------
    img : SpectrogramImage
    mask : np.ndarray or path
        The hole, in **image orientation**: a bool array (True = fill), or a gray/RGB
        image file or numeric array whose gray level is above ``threshold`` (0..1; uint8 /
        uint16 arrays are scaled by 255 / 65535). Shape: the whole image
        ``img.pixels.shape``, or one channel block ``(n_bins, n_frames)`` applied to every
        channel.
    method : {"telea", "ns", "biharmonic"}
        ``"telea"`` / ``"ns"``: :func:`cv2.inpaint` (fast marching [1]_ / Navier-Stokes
        [2]_) on the level scaled to 0..65535, as float32; ``"biharmonic"``:
        :func:`skimage.restoration.inpaint_biharmonic` [3]_ (smoothest, slowest).
    radius : float > 0 [scalar], pixels
        Neighbourhood of each filled pixel for telea / ns (cv2's ``inpaintRadius``).
    threshold : float in [0, 1)
        Gray level above which a mask pixel belongs to the hole.

    Returns
    -------
    SpectrogramImage
        Pixels outside the hole are bit-identical to the input's. ``edits`` gains
        ``{"op": "inpaint", "method": ..., "radius": pixels (None for biharmonic),
        "mask": path or None, "pixels": number of filled pixels}``.

    Raises
    ------
    ParameterError
        If the method is unknown or the mask's size differs from the image's.
    MissingFileError, FormatError
        If the mask file does not exist or is not an image.

    References
    ----------
    .. [1] A. Telea, "An image inpainting technique based on the fast marching method",
       J. Graphics Tools 9(1), 2004, doi:10.1080/10867651.2004.10487596.
    .. [2] M. Bertalmio, A. L. Bertozzi, G. Sapiro, "Navier-Stokes, fluid dynamics, and
       image and video inpainting", CVPR 2001, doi:10.1109/CVPR.2001.990497.
    .. [3] S. B. Damelin, N. S. Hoang, "On surface completion and image inpainting by
       biharmonic functions", Int. J. Math. Math. Sci. 2018, doi:10.1155/2018/3950312.
    """
    img = check_img(img)
    if method not in ("telea", "ns", "biharmonic"):
        raise ParameterError(f"method={method!r} is unknown; use 'telea', 'ns' or 'biharmonic'")
    r = check_float("radius", radius)
    if r <= 0:
        raise ParameterError(f"radius={radius!r} must be > 0 (pixels)")
    thr = check_float("threshold", threshold)
    if not 0 <= thr < 1:
        raise ParameterError(f"threshold={threshold!r} must be in [0, 1)")
    gray, source = _mask_gray(mask, img, "mask")
    p = img.params
    hole = image.unstack_channels(gray > thr, p)  # bin order
    S = channel_db(img)
    out = S.copy()
    for c in range(p.n_channels):
        h = oriented(hole[c], p)
        if not h.any():
            continue
        u = oriented(db_to_level(S[c], p), p)
        if method == "biharmonic":
            from skimage.restoration import inpaint_biharmonic

            filled = inpaint_biharmonic(u, h, split_into_regions=True)
        else:
            import cv2

            flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
            # cv2's Telea assumes a 0..255-like scale (on 0..1 floats it overshoots wildly):
            # inpaint the level on the 16-bit scale, in float32.
            scale = image.pixel_max(16)
            filled = cv2.inpaint(
                np.ascontiguousarray(u * scale, dtype=np.float32), np.ascontiguousarray(h, dtype=np.uint8), r, flag
            ).astype(np.float64) / scale
        out[c] = np.where(hole[c], oriented(level_to_db(filled, p), p), S[c])
    edit = {
        "op": "inpaint", "method": method, "radius": None if method == "biharmonic" else r, "mask": source,
        "pixels": int(np.count_nonzero(hole)),
    }  # fmt: skip
    return edited(img, out, edit, changed=hole)




def apply_mask(
    img: SpectrogramImage,
    mask: MaskLike,
    *,
    db: float = -60.0,
    threshold: float | None = 0.5,
    fade: float = 0.0,
    invert: bool = False,
) -> SpectrogramImage:
    """Turn a black-and-white mask painted in any image editor into an attenuation.

    Convention: **white = attenuate, black = keep** (paint over what should go, e.g.
    white strokes on a black layer). ``invert=True`` swaps that for black strokes on
    white. Bins at the floor stay at the floor.

    Parameters
    ----------
    img : SpectrogramImage
    mask : np.ndarray or path
        In **image orientation**, the size of ``img.pixels`` (or of one channel block,
        applied to every channel). A file may be any image Pillow reads: L, RGB, RGBA,
        16-bit…; it is converted to gray 0..1 (ITU-R 601 luma; alpha composited over
        black, so unpainted transparent pixels keep). Arrays: bool, uint8 (/255), uint16
        (/65535) or float in [0, 1].
    db : float [scalar], dB
        Gain where the mask is white; negative attenuates (default −60 dB).
    threshold : float in [0, 1) or None
        Gray level above which a pixel counts as white (gets the full ``db``). None uses
        the gray level as a continuous weight, ``gain = gray * db``, so an anti-aliased
        or soft brush gives soft edges.
    fade : float >= 0 [scalar], seconds
        Outward raised-cosine edge along time around the painted area. 0 (default)
        applies the mask exactly as painted.
    invert : bool
        Black means attenuate.

    Returns
    -------
    SpectrogramImage
        Pixels where the weight is 0 are bit-identical to the input's. ``edits`` gains
        ``{"op": "apply_mask", "mask": path or None, "db": ..., "threshold": ..., "fade": ...,
        "invert": ..., "pixels": number of pixels with weight > 0}``.

    Raises
    ------
    ParameterError
        If the mask's size differs from the image's (both sizes are named), or an
        argument is invalid.
    MissingFileError, FormatError
        If the mask file does not exist or is not an image.
    """
    img = check_img(img)
    g = check_float("db", db)
    if threshold is not None:
        thr = check_float("threshold", threshold)
        if not 0 <= thr < 1:
            raise ParameterError(f"threshold={threshold!r} must be in [0, 1), or None for a continuous mask")
    fade = nonneg("fade", fade, "seconds")
    if not isinstance(invert, (bool, np.bool_)):
        raise ParameterError(f"invert={invert!r} must be True or False")
    gray, source = _mask_gray(mask, img, "mask")
    if invert:
        gray = 1.0 - gray
    w = (gray > thr).astype(np.float64) if threshold is not None else gray
    p = img.params
    w = image.unstack_channels(w, p)
    if fade > 0:
        w = fade_time(w, fade, p)
    S = channel_db(img)
    floor = S <= p.db_min
    out = np.where(floor, S, S + w * g)
    warn_clipping(S, out, p, f"apply_mask(db={g:g})")
    changed = (w > 0) & ~floor
    edit = {
        "op": "apply_mask", "mask": source, "db": g, "threshold": threshold, "fade": fade, "invert": bool(invert),
        "pixels": int(np.count_nonzero(w > 0)),
    }  # fmt: skip
    return edited(img, out, edit, changed=changed)
