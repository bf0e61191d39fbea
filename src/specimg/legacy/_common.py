"""Pieces shared by the legacy importers: lost levels, reading pixels, building the image."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image

from ..errors import AssumptionWarning, FormatError, MissingFileError, ParameterError
from ..formats import _pixel_limit
from ..image import SpectrogramImage
from ..params import SpectrogramParams

__all__ = ["DEFAULT_PEAK_DB", "default_peak_db", "ImageLike", "resolve_peak_db", "image_from_db", "read_pixels"]

ImageLike = Union[str, "os.PathLike[str]", np.ndarray, Image.Image]

#: Level in dBFS given to the loudest bin when the input does not carry its absolute level
#: (``ref=np.max``, min-max scaling, colour scales). Measured with specimg's calibration
#: (a full-scale sine reads 0 dBFS) at n_fft=2048: the median loudest bin over the music,
#: speech and effects recordings of our corpus is -12.3 dBFS for a linear spectrogram and
#: -26.1 dB for a 128-band Slaney mel spectrogram. Narrower bands read higher (-28.2 dB
#: for 64 bands, -23.8 dB for 256): the mel default rises by 2.2 dB per doubling of
#: ``n_mels`` from the 128-band value (:func:`default_peak_db`).
DEFAULT_PEAK_DB: dict[str, float] = {"linear": -12.0, "mel": -26.0}


def default_peak_db(scale: str, n_mels: int = 128) -> float:
    """The level assumed for the loudest bin when the input does not carry it, in dBFS."""
    if scale == "mel":
        return DEFAULT_PEAK_DB["mel"] + 2.2 * float(np.log2(max(n_mels, 1) / 128.0))
    return DEFAULT_PEAK_DB["linear"]


def resolve_peak_db(
    peak_db: float | None, scale: str, *, source: str, n_mels: int = 128, stacklevel: int = 3
) -> float:
    """``peak_db`` if given, else the documented default with an :class:`AssumptionWarning`.

    Parameters
    ----------
    peak_db : float or None
        Level in dBFS of the loudest bin, as the user knows it.
    scale : {"linear", "mel"}
    n_mels : int, the number of mel bands (the mel default depends on it)
    source : str
        What discarded the level, for the message (e.g. ``"ref=np.max"``).
    """
    if peak_db is not None:
        value = float(peak_db)
        if not np.isfinite(value):
            raise ParameterError(f"peak_db={peak_db!r} must be a finite level in dBFS")
        return value
    default = round(default_peak_db(scale, n_mels), 1)
    warnings.warn(
        f"the absolute level is unknown ({source} keeps only levels relative to the loudest bin); "
        f"the loudest bin is set to {default:g} dBFS, a typical level for music and speech. "
        "Pass peak_db=<level in dBFS> (CLI: --peak-db) to choose it.",
        AssumptionWarning,
        stacklevel=stacklevel,
    )
    return default


def image_from_db(S_db: np.ndarray, params: SpectrogramParams) -> SpectrogramImage:
    """A 16-bit image whose dB range holds every finite value of ``S_db``.

    Parameters
    ----------
    S_db : np.ndarray [shape=(n_bins, n_frames) or (n_channels, n_bins, n_frames)], float
        Level in dB relative to ``params.ref``, bins in ascending frequency. ``-inf``
        (silence) becomes the floor pixel, which decodes to magnitude 0; so do values at
        the lowest level present.
    params : SpectrogramParams
        Everything but the dB range and bit depth, which are set here.
    """
    S_db = np.asarray(S_db, dtype=np.float64)
    finite = S_db[np.isfinite(S_db)]
    if finite.size:
        hi = float(np.ceil(finite.max() * 100) / 100)
        lo = float(np.floor(finite.min() * 100) / 100)
        lo = min(lo, hi - 1.0)
    else:
        lo, hi = params.db_min, params.db_max
    params = params.replace(db_min=lo, db_max=hi, bit_depth=16)
    return SpectrogramImage.from_db(np.where(np.isnan(S_db), -np.inf, S_db), params)


def read_pixels(image: ImageLike, *, what: str = "image") -> tuple[np.ndarray, dict[int, Any]]:
    """Pixels and EXIF tags of an image file, Pillow image or array.

    Parameters
    ----------
    image : path, binary file object, PIL.Image.Image or np.ndarray [shape=(H, W) or (H, W, 3|4)]
    what : str
        Name of the input, for messages.

    Returns
    -------
    pixels : np.ndarray [shape=(H, W)] (gray, any dtype) or [shape=(H, W, 3)] uint8 (colour)
        Palette images are expanded; an alpha channel is composited over white, as an
        image viewer shows it.
    exif : dict
        EXIF tags (empty for arrays and images without them).

    Raises
    ------
    MissingFileError
        If a path does not exist.
    FormatError
        If the file is not an image Pillow can read, or the array is not an image.
    """
    if isinstance(image, np.ndarray):
        data = image
        exif: dict[int, Any] = {}
    elif isinstance(image, Image.Image):
        data, exif = _from_pillow(image), dict(image.getexif())
    elif isinstance(image, (str, os.PathLike)) or hasattr(image, "read"):
        source: Any = image
        if not hasattr(image, "read"):
            source = Path(image)  # type: ignore[arg-type]
            if not source.is_file():
                raise MissingFileError(f"{what} {str(source)!r} does not exist")
        try:
            with _pixel_limit(), Image.open(source) as im:
                im.load()
                data, exif = _from_pillow(im), dict(im.getexif())
        except (OSError, SyntaxError, ValueError) as exc:
            raise FormatError(f"{what} {str(getattr(source, 'name', source))!r} is not an image Pillow can read: {exc}") from None
    else:
        raise ParameterError(f"{what}={image!r} must be a file path, a binary file, a PIL image or a numpy array")
    if data.ndim == 3 and data.shape[-1] == 4:
        alpha = data[..., 3:].astype(np.float64) / (255.0 if data.dtype == np.uint8 else 1.0)
        data = np.rint(data[..., :3] * alpha + (255.0 if data.dtype == np.uint8 else 1.0) * (1 - alpha)).astype(data.dtype)
    if data.ndim == 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if not (data.ndim == 2 or (data.ndim == 3 and data.shape[-1] == 3)) or min(data.shape[:2]) < 2:
        raise FormatError(f"{what} of shape {data.shape} is not a 2-D gray or (H, W, 3) colour image")
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise FormatError(f"{what} holds NaN or infinite pixels")
    return data, exif


def _from_pillow(im: Image.Image) -> np.ndarray:
    if im.mode in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
        data = np.array(im)
        return data.astype(np.uint16) if data.dtype == np.int32 else data
    if im.mode in ("1", "LA", "La"):
        return np.array(im.convert("L"))
    return np.array(im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB"))
