"""Any array function (numpy, OpenCV, scikit-image…) on the calibrated level: :func:`apply`."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ..errors import ParameterError
from ..image import SpectrogramImage
from ._core import channel_db, check_img, db_to_level, edited, level_to_db, oriented

__all__ = ["apply"]

Domain = Literal["db", "unit"]


def _func_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` of a function (of the function inside a functools.partial)."""
    f: Any = func
    while isinstance(f, functools.partial):
        f = f.func
    qual = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or type(f).__qualname__
    module = getattr(f, "__module__", None)
    if not module:  # extension functions such as cv2's do not say where they live
        module = next(
            (name for name, mod in list(sys.modules.items()) if "." not in name and getattr(mod, str(qual), None) is f),
            None,
        )
    return f"{module}.{qual}" if module else str(qual)


def apply(img: SpectrogramImage, func: Callable[[np.ndarray], Any], *, domain: Domain = "db") -> SpectrogramImage:
    """Run any array function (numpy, OpenCV, scikit-image…) on the calibrated level.

    Parameters
    ----------
    img : SpectrogramImage
    func : callable, ``func(a) -> array of a.shape``
        Called once per channel with a fresh float64 array ``a`` of shape
        ``(n_bins, n_frames)`` in **image orientation** (what an image viewer shows: low
        frequencies at the bottom when ``params.flip``).
    domain : {"db", "unit"}
        ``"db"``: ``a`` is the level in dB; ``"unit"``: the level mapped to 0..1,
        ``(dB - db_min) / (db_max - db_min)`` (0 = silence, 1 = loudest, regardless of
        ``params.invert``).

    Returns
    -------
    SpectrogramImage
        The result clipped to ``[db_min, db_max]`` and re-quantised; ``edits`` gains
        ``{"op": "apply", "func": "<module>.<qualified name>", "domain": ...}``.

    Raises
    ------
    ParameterError
        If ``func`` is not callable, returns another shape, or returns NaN or infinity.

    Examples
    --------
    >>> import cv2, numpy as np, specimg
    >>> from specimg import ops
    >>> img = specimg.encode(np.random.default_rng(0).standard_normal(22050) * 0.1, 22050)
    >>> blurred = ops.apply(img, lambda a: cv2.GaussianBlur(a, (5, 5), 0))
    >>> blurred.params.edits[-1]["op"]
    'apply'
    """
    img = check_img(img)
    if not callable(func):
        raise ParameterError(f"func={func!r} must be callable: func(array) -> array of the same shape")
    if domain not in ("db", "unit"):
        raise ParameterError(f"domain={domain!r} must be 'db' or 'unit'")
    p = img.params
    name = _func_name(func)
    S = channel_db(img)
    out = np.empty_like(S)
    for c in range(p.n_channels):
        a = oriented(S[c], p)
        if domain == "unit":
            a = db_to_level(a, p)
        a = np.ascontiguousarray(a, dtype=np.float64)
        expected = a.shape
        result = func(a)
        try:
            r = np.asarray(result, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"func {name} returned {type(result).__name__}, not a numeric array: {exc}") from None
        if r.shape != expected:
            raise ParameterError(
                f"func {name} returned an array of shape {r.shape}; it must keep the shape {expected} "
                "(n_bins, n_frames) of the channel it was given"
            )
        if not np.all(np.isfinite(r)):
            raise ParameterError(f"func {name} returned NaN or infinite values; it must return finite levels")
        if domain == "unit":
            r = level_to_db(r, p)
        out[c] = oriented(r, p)
    return edited(img, out, {"op": "apply", "func": name, "domain": domain})
