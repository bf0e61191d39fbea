"""Pieces shared by the legacy importers: lost levels, reading pixels, building the image."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..errors import AssumptionWarning, FormatError, MissingFileError, ParameterError, SpecimgError
from ..image import SpectrogramImage
from ..params import SpectrogramParams
from ..pictures import read_picture, to_gray

__all__ = ["DEFAULT_PEAK_DB", "positive", "read_gray", "default_peak_db", "ImageLike", "resolve_peak_db", "image_from_db", "read_pixels"]

#: A picture file path, a binary file, a PIL image or an array (see :func:`read_pixels`).
ImageLike = Union[str, "os.PathLike[str]", np.ndarray, Any]

#: Fallback for :func:`default_peak_db` when the bundled samples cannot be read: the median
#: loudest bin of our corpus recordings (music, speech, effects) at n_fft=2048, -12.3 dBFS
#: for a linear spectrogram and -26.1 dB for a 128-band Slaney mel spectrogram.
DEFAULT_PEAK_DB: dict[str, float] = {"linear": -12.0, "mel": -26.0}


def default_peak_db(params: SpectrogramParams) -> float:
    """The level assumed for the loudest bin when an input does not carry it, in dBFS.

    The mean of the loudest bin of specimg's bundled sample music and speech
    (``sample_data/``, mono, resampled to ``params.sr``) analysed with exactly these
    parameters. The loudest bin's level depends on the filterbank (mel band widths,
    ``norm``, ``power``) and on ``n_fft``; measuring it on real sound keeps decoded audio
    at a plausible loudness for any of them: -11.7 dBFS for librosa's linear STFT,
    -25.0 dB for its 128-band mel spectrogram, -10.5 dB for torchaudio's and -4.7 dB for
    riffusion's.

    Parameters
    ----------
    params : SpectrogramParams, the geometry and filterbank of the input

    Returns
    -------
    float, dBFS (``to_db`` of the calibrated amplitude)
    """
    # the cache key: the geometry and filterbank only
    geometry = params.replace(db_min=-120.0, db_max=6.0, bit_depth=16, n_samples=None, n_channels=1, edits=(),
                              flip=True, invert=False)  # fmt: skip
    return _sample_peak_db(geometry.to_json())


@functools.lru_cache(maxsize=32)
def _sample_peak_db(geometry: str) -> float:
    import librosa

    from .._samples import sample_data_dir
    from ..codec import read_audio
    from ..spectral import magnitude, to_db

    params = SpectrogramParams.from_json(geometry)
    levels = []
    for name in ("music.wav", "speech.wav"):
        try:
            y, sr = read_audio(sample_data_dir() / name)
        except (OSError, SpecimgError):  # a broken install: fall back to the corpus figures
            return DEFAULT_PEAK_DB[params.scale]
        y = librosa.to_mono(np.asarray(y, dtype=np.float32))
        if sr != params.sr:
            y = librosa.resample(y, orig_sr=sr, target_sr=params.sr)
        with warnings.catch_warnings():  # librosa's empty-filter warning is about the input, said elsewhere
            warnings.simplefilter("ignore")
            levels.append(float(to_db(magnitude(y, params)).max()))
    return float(np.mean(levels))


def resolve_peak_db(peak_db: float | None, params: SpectrogramParams, *, source: str, stacklevel: int = 3) -> float:
    """``peak_db`` if given, else :func:`default_peak_db` with an :class:`AssumptionWarning`.

    Parameters
    ----------
    peak_db : float or None
        Level in dBFS of the loudest bin, as the user knows it.
    params : SpectrogramParams
        The input's geometry and filterbank (the default depends on them).
    source : str
        What discarded the level, for the message (e.g. ``"ref=np.max"``).
    """
    if peak_db is not None:
        value = float(peak_db)
        if not np.isfinite(value):
            raise ParameterError(f"peak_db={peak_db!r} must be a finite level in dBFS")
        return value
    default = round(default_peak_db(params), 1)
    warnings.warn(
        f"the absolute level is unknown ({source} keeps only levels relative to the loudest bin); "
        f"the loudest bin is set to {default:g} dBFS, what specimg's sample music and speech read with these "
        "parameters. "
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


def positive(name: str, value: Any, hint: str = "") -> float:
    """``value`` as a float if it is a finite number > 0, else a ParameterError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        np.isfinite(value) and value > 0
    ):
        raise ParameterError(f"{name}={value!r} must be a positive number{hint}")
    return float(value)


def read_gray(image: ImageLike, *, what: str, hint: str) -> np.ndarray:
    """:func:`read_pixels` for a gray picture: an RGB one with equal channels is accepted.

    Raises
    ------
    FormatError
        If the picture is in colour; ``hint`` says what to use instead.
    """
    pixels, _ = read_pixels(image, what=what)
    if pixels.ndim == 3:
        if not (np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])):
            raise FormatError(f"the {what} is in colour; {hint}")
        pixels = to_gray(pixels)
    return pixels


def read_pixels(image: ImageLike, *, what: str = "image") -> tuple[np.ndarray, dict[int, Any]]:
    """Pixels and EXIF tags of an image file, Pillow image or array.

    Parameters
    ----------
    image : path, binary file object, PIL.Image.Image or np.ndarray [shape=(H, W) or (H, W, 3|4)]
    what : str
        Name of the input, for messages.

    Returns
    -------
    pixels : np.ndarray [shape=(H, W)] (gray, any dtype) or [shape=(H, W, 3)] (colour)
        Read by :func:`specimg.pictures.read_picture`: palette images are expanded and
        an alpha channel is composited over black, as everywhere in specimg.
    exif : dict
        EXIF tags (empty for arrays and images without them).

    Raises
    ------
    MissingFileError
        If a path does not exist.
    FormatError
        If the file is not an image Pillow can read, or the array is not an image.
    """
    picture = read_picture(image, what=what)
    data = picture.pixels
    assert data is not None
    if min(data.shape[:2]) < 2:
        raise FormatError(f"{what} of shape {data.shape} is not a 2-D gray or (H, W, 3) colour image")
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise FormatError(f"{what} holds NaN or infinite pixels")
    return data, picture.exif
