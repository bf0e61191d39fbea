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

The subpackages ``specimg.ops``, ``specimg.legacy`` and ``specimg.dataset`` are imported on
first access (``specimg.ops.gain(...)`` or ``from specimg import ops``), so that
``import specimg`` stays fast.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from .codec import decode, decode_file, encode, encode_file, read_audio, write_audio
from .errors import (
    AssumptionWarning,
    AudioError,
    ClippingWarning,
    FormatError,
    LossyWarning,
    MissingFileError,
    OutputError,
    ParameterError,
    PhaseWarning,
    ResourceError,
    SpecimgError,
    SpecimgWarning,
)
from .formats import load, read_metadata, save
from .image import SpectrogramImage
from .params import FORMAT_VERSION, SpectrogramParams

if TYPE_CHECKING:
    from . import dataset, legacy, ops

__version__ = "0.1.0"

_LAZY_SUBPACKAGES = ("ops", "legacy", "dataset")

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
    "OutputError",
    "ResourceError",
    "SpecimgWarning",
    "LossyWarning",
    "ClippingWarning",
    "AssumptionWarning",
    "PhaseWarning",
    "ops",
    "legacy",
]


def __getattr__(name: str) -> ModuleType:
    # PEP 562: import a subpackage on first access; the import machinery then binds it as
    # an attribute of this package, so this runs once per subpackage.
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBPACKAGES))
