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

The public names and the subpackages ``specimg.ops``, ``specimg.legacy`` and
``specimg.dataset`` are imported on first access (``specimg.encode(...)``,
``from specimg import ops``), so that ``import specimg`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from . import dataset, legacy, ops
    from .codec import decode, decode_file, encode, encode_file, read_audio, write_audio
    from .formats import load, read_metadata, save
    from .image import SpectrogramImage
    from .params import FORMAT_VERSION, SpectrogramParams

__version__ = "0.1.0"

_LAZY_SUBPACKAGES = ("ops", "legacy", "dataset")
#: Public names and the module that defines them, imported on first access (numpy, librosa
#: and the codec load then, not on ``import specimg``: ``specimg --help`` starts fast).
_LAZY_NAMES = {
    **dict.fromkeys(("encode", "encode_file", "decode", "decode_file", "read_audio", "write_audio"), "codec"),
    **dict.fromkeys(("load", "read_metadata", "save"), "formats"),
    "SpectrogramImage": "image",
    **dict.fromkeys(("SpectrogramParams", "FORMAT_VERSION"), "params"),
}

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


def __getattr__(name: str) -> Any:
    # PEP 562: import a subpackage or the module of a public name on first access; the
    # value is then bound in this package's namespace, so this runs once per name.
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBPACKAGES) | set(_LAZY_NAMES))
