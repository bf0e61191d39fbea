"""specimg: audio ↔ calibrated spectrogram images, and back.

Encode audio into a grayscale PNG/TIFF whose metadata makes it self-describing, edit it as
a picture, and decode it back to audio of the right length and loudness.

>>> import numpy as np, specimg
>>> sr = 22050
>>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
>>> img = specimg.encode(y, sr)
>>> y_hat, sr_hat = specimg.decode(img)
>>> y_hat.shape == y.shape and sr_hat == sr
True
"""

from . import legacy, ops
from .codec import decode, decode_file, encode, encode_file, read_audio, write_audio
from .errors import (
    AssumptionWarning,
    AudioError,
    ClippingWarning,
    FormatError,
    LossyWarning,
    MissingFileError,
    ParameterError,
    SpecimgError,
    SpecimgWarning,
)
from .formats import load, read_metadata, save
from .image import SpectrogramImage
from .params import FORMAT_VERSION, SpectrogramParams

__version__ = "0.1.0"

__all__ = [
    "encode",
    "encode_file",
    "decode",
    "decode_file",
    "read_audio",
    "write_audio",
    "load",
    "save",
    "read_metadata",
    "SpectrogramImage",
    "SpectrogramParams",
    "FORMAT_VERSION",
    "SpecimgError",
    "ParameterError",
    "FormatError",
    "AudioError",
    "MissingFileError",
    "SpecimgWarning",
    "LossyWarning",
    "ClippingWarning",
    "AssumptionWarning",
    "ops",
    "legacy",
]
