"""Type aliases shared across specimg (one definition each)."""

from __future__ import annotations

import os
from typing import Union

import numpy as np

__all__ = ["PathLike", "Window"]

#: A file system path, as :func:`open` takes it.
PathLike = Union[str, "os.PathLike[str]"]

#: A window as :func:`scipy.signal.get_window` takes it (name or (name, parameter) tuple),
#: or the window's samples.
Window = Union[str, tuple, np.ndarray]
