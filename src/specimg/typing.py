"""Type aliases shared across specimg (one definition each)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:  # numpy is not imported for an alias: ``specimg --help`` starts without it
    import numpy as np

__all__ = ["PathLike", "Window", "Quality"]

#: A file system path, as :func:`open` takes it.
PathLike = Union[str, "os.PathLike[str]"]

#: A window as :func:`scipy.signal.get_window` takes it (name or (name, parameter) tuple),
#: or the window's samples.
Window = Union[str, tuple, "np.ndarray"]

#: The names of the phase reconstruction presets (their iteration counts are
#: :data:`specimg.phase.QUALITY_PRESETS`).
Quality = Literal["fast", "balanced", "high"]
