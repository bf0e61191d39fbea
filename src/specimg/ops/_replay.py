"""Replay an edit history on an image: :func:`replay`.

An entry of ``params.edits`` holds the resolved arguments of the operation that made it,
so most entries can be run again on another image. Entries recorded by ``specimg studio``
for masks made from a selection (``apply_mask`` and ``inpaint`` with a ``"selection"``
member, see :func:`specimg.ops.check_selection`) rebuild that mask; ``apply`` entries
replay when their function is one of :data:`APPLY_FUNCTIONS` and they carry its
``"kwargs"``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..image import SpectrogramImage, stack_channels
from ._apply import apply
from ._denoise import denoise
from ._masks import apply_mask, inpaint
from ._regions import erase, gain
from ._selection import check_selection, selection_mask

__all__ = ["replay", "APPLY_FUNCTIONS", "APPLY_KWARGS", "APPLY_MODES", "apply_function", "HOLE_THRESHOLD"]

#: Functions :func:`specimg.ops.apply` may run from a history (:func:`specimg.ops.replay`)
#: or from ``specimg studio``, by public name → (module, attribute). Only these: a history
#: never names code to import. :func:`apply_function` binds one to its keyword arguments.
APPLY_FUNCTIONS: dict[str, tuple[str, str]] = {
    "scipy.ndimage.gaussian_filter": ("scipy.ndimage", "gaussian_filter"),
    "scipy.ndimage.median_filter": ("scipy.ndimage", "median_filter"),
    "scipy.ndimage.uniform_filter": ("scipy.ndimage", "uniform_filter"),
    "scipy.ndimage.maximum_filter": ("scipy.ndimage", "maximum_filter"),
    "scipy.ndimage.minimum_filter": ("scipy.ndimage", "minimum_filter"),
}

#: Level of a selection's soft mask (:func:`specimg.ops.selection_mask`, 0..1) from which
#: a bin belongs to the hole that :func:`specimg.ops.inpaint` fills when a history entry
#: heals a selection.
HOLE_THRESHOLD = 0.5

#: Boundary modes of :mod:`scipy.ndimage` filters a history may name.
APPLY_MODES = ("reflect", "constant", "nearest", "mirror", "wrap")
#: Keyword arguments each of :data:`APPLY_FUNCTIONS` takes from a history or the studio:
#: name → (kind, low, high, required). ``"float"``/``"int"`` take a number or a pair (one
#: per image axis) in ``[low, high]``; ``"mode"`` one of :data:`APPLY_MODES`. The bounds
#: keep a filter's window, and so its time and memory, within a spectrogram's size.
_SIZE = {"size": ("int", 1, 255, True), "mode": ("mode", 0, 0, False), "cval": ("float", -1e6, 1e6, False)}
APPLY_KWARGS: dict[str, dict[str, tuple[str, float, float, bool]]] = {
    "scipy.ndimage.gaussian_filter": {"sigma": ("float", 0.0, 64.0, True), "mode": ("mode", 0, 0, False),
                                      "cval": ("float", -1e6, 1e6, False), "truncate": ("float", 0.5, 8.0, False)},
    "scipy.ndimage.median_filter": _SIZE,
    "scipy.ndimage.uniform_filter": _SIZE,
    "scipy.ndimage.maximum_filter": _SIZE,
    "scipy.ndimage.minimum_filter": _SIZE,
}  # fmt: skip


def _check_value(public: str, key: str, value: Any, spec: tuple[str, float, float, bool]) -> None:
    kind, low, high, _ = spec
    if kind == "mode":
        if value not in APPLY_MODES:
            raise ParameterError(f"kwargs {key}={value!r:.40} for {public} must be one of {', '.join(APPLY_MODES)}")
        return
    items = value if isinstance(value, list) and len(value) == 2 else [value]
    for v in items:
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and (kind == "float" or isinstance(v, int))
        if not number or not low <= v <= high:
            what = "an integer" if kind == "int" else "a number"
            raise ParameterError(f"kwargs {key}={value!r:.40} for {public} must be {what} from {low:g} to {high:g}, "
                                 "or a pair of them (one per axis)")  # fmt: skip


def _plain_kwargs(public: str, kwargs: Any) -> dict[str, Any]:
    allowed = APPLY_KWARGS[public]
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping):
        raise ParameterError(f"kwargs={kwargs!r:.60} must be an object of {public}'s arguments: {', '.join(allowed)}")
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key not in allowed:
            raise ParameterError(f"kwargs {str(key)!r:.30} is not taken for {public}; it takes: {', '.join(allowed)}")
        _check_value(public, key, value, allowed[key])
        out[key] = value
    missing = [k for k, spec in allowed.items() if spec[3] and k not in out]
    if missing:
        raise ParameterError(f"{public} needs kwargs {missing[0]!r} (it takes: {', '.join(allowed)})")
    return out


def apply_function(name: Any, kwargs: Any = None) -> tuple[Callable[[np.ndarray], Any], dict[str, Any]]:
    """The function of :data:`APPLY_FUNCTIONS` called ``name`` with ``kwargs`` bound, and the kwargs.

    Parameters
    ----------
    name : str
        The public name (a key of :data:`APPLY_FUNCTIONS`), or the ``module.qualname``
        that :func:`specimg.ops.apply` records for it.
    kwargs : dict or None
        The function's keyword arguments allowed in :data:`APPLY_KWARGS` (``sigma``,
        ``size``, ``mode``, ``cval``, ``truncate``), each a number (or a pair) in its range.

    Returns
    -------
    (callable, dict)
        The function with ``kwargs`` bound (one array in, one array out, for
        :func:`specimg.ops.apply`), and the kwargs as recorded in the history.

    Raises
    ------
    ParameterError
        If ``name`` is not in :data:`APPLY_FUNCTIONS`, or ``kwargs`` holds a key the function
        does not take there (the message names it and the allowed ones), a value out of
        its range, or lacks a required one (``sigma``, ``size``).

    Examples
    --------
    >>> import numpy as np
    >>> from specimg import ops
    >>> func, kw = ops.apply_function("scipy.ndimage.gaussian_filter", {"sigma": 1.0})
    >>> func(np.ones((4, 4))).shape, kw
    ((4, 4), {'sigma': 1.0})
    >>> ops.apply_function("scipy.ndimage.gaussian_filter", {"sigma": 1.0, "output": "float16"})
    Traceback (most recent call last):
    ...
    specimg.errors.ParameterError: kwargs 'output' is not taken for scipy.ndimage.gaussian_filter; it takes: sigma, mode, cval, truncate
    """
    for public, (module, attr) in APPLY_FUNCTIONS.items():
        func = getattr(importlib.import_module(module), attr)
        recorded = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}"
        if name in (public, recorded):
            kw = _plain_kwargs(public, kwargs)
            return functools.partial(func, **kw), kw
    raise ParameterError(f"function {name!r:.80} cannot be applied; use one of {', '.join(APPLY_FUNCTIONS)}")


def _with_extra(img: SpectrogramImage, extra: dict[str, Any]) -> SpectrogramImage:
    """``img`` with ``extra`` merged into its last edit entry."""
    edits = img.params.edits
    return img.replace(params=img.params.replace(edits=(*edits[:-1], {**edits[-1], **extra})))


def _selection_gray(img: SpectrogramImage, selection: Any) -> tuple[dict[str, Any], np.ndarray]:
    sel = check_selection(selection, img.params, img.n_frames)
    return sel, stack_channels(selection_mask(img, sel), img.params)


def replay_one(img: SpectrogramImage, edit: Mapping[str, Any]) -> SpectrogramImage:
    """Run one entry of an edit history on ``img`` (see :func:`replay`)."""
    if not isinstance(edit, Mapping) or not isinstance(edit.get("op"), str):
        raise ParameterError(f"edit {edit!r:.80} must be an object with an 'op'")
    op = edit["op"]
    e = dict(edit)
    if op in ("erase", "gain"):
        time, freq, fade, fade_hz = e.get("time"), e.get("freq"), e.get("fade", 0.02), e.get("fade_hz")
        if op == "erase":
            return erase(img, time=time, freq=freq, fade=fade, fade_hz=fade_hz)
        return gain(img, e.get("db"), time=time, freq=freq, fade=fade, fade_hz=fade_hz)  # type: ignore[arg-type]
    if op == "apply_mask" and "selection" in e:
        sel, gray = _selection_gray(img, e["selection"])
        out = apply_mask(img, gray, db=e.get("db", -60.0), threshold=e.get("threshold"), fade=e.get("fade", 0.0),
                         invert=bool(e.get("invert", False)))  # fmt: skip
        return _with_extra(out, {"selection": sel})
    if op == "inpaint" and "selection" in e:
        sel, gray = _selection_gray(img, e["selection"])
        radius = e.get("radius")
        out = inpaint(img, gray >= HOLE_THRESHOLD, method=e.get("method", "telea"), radius=3.0 if radius is None else radius)
        return _with_extra(out, {"selection": sel})
    if op in ("apply_mask", "inpaint") and isinstance(e.get("mask"), str):
        if op == "inpaint":
            radius = e.get("radius")
            return inpaint(img, e["mask"], method=e.get("method", "telea"), radius=3.0 if radius is None else radius)
        return apply_mask(img, e["mask"], db=e.get("db", -60.0), threshold=e.get("threshold"), fade=e.get("fade", 0.0),
                          invert=bool(e.get("invert", False)))  # fmt: skip
    if op == "denoise":
        options = {k: v for k, v in e.items() if k not in ("op", "method", "strength", "noise")}
        return denoise(img, e.get("method", "nlmeans"), strength=e.get("strength"), noise=e.get("noise"), **options)
    if op == "apply" and "kwargs" in e:
        func, kw = apply_function(e.get("func"), e["kwargs"])
        return _with_extra(apply(img, func, domain=e.get("domain", "db")), {"kwargs": kw})
    raise ParameterError(
        f"edit {op!r:.40} cannot be replayed: its entry does not hold what it was made with "
        "(a mask painted in memory, a function by name only, an external editor)"
    )


def replay(img: SpectrogramImage, edits: Sequence[Mapping[str, Any]]) -> SpectrogramImage:
    """Run the operations of an edit history on ``img``, in order.

    Parameters
    ----------
    img : SpectrogramImage
    edits : sequence of dict
        Entries of ``params.edits`` (of this image or of another one), or the ``"edits"``
        of a history exported by ``specimg studio``. Replayed: ``erase``, ``gain``,
        ``denoise``, ``apply_mask`` and ``inpaint`` with a mask file or a studio
        ``"selection"``, and ``apply`` of one of :data:`APPLY_FUNCTIONS` with its
        ``"kwargs"``.

    Returns
    -------
    SpectrogramImage
        The result; its ``params.edits`` ends with the same entries as ``edits``.

    Raises
    ------
    ParameterError
        If an entry cannot be replayed (the message names it) or does not fit ``img``.

    Examples
    --------
    >>> import numpy as np, specimg
    >>> from specimg import ops
    >>> img = specimg.encode(0.1 * np.sin(np.arange(22050) / 5), 22050)
    >>> edited = ops.gain(ops.erase(img, time=(0.2, 0.4)), -12, freq=(0, 300))
    >>> again = ops.replay(img, edited.params.edits)
    >>> bool(np.array_equal(again.pixels, edited.pixels)), again.params.edits == edited.params.edits
    (True, True)
    """
    if isinstance(edits, (str, bytes, Mapping)) or not isinstance(edits, Sequence):
        raise ParameterError("edits must be a list of edit entries (params.edits, or a history's 'edits')")
    for k, edit in enumerate(edits):
        try:
            img = replay_one(img, edit)
        except ParameterError as exc:
            raise ParameterError(f"edit {k + 1} of {len(edits)}: {exc}") from None
    return img
