"""Selections in seconds and Hz as soft masks: rectangles, free-hand polygons, harmonic
series and select-similar by level (:func:`check_selection`, :func:`selection_mask`).

A selection is a plain JSON object, so it can travel in an edit history:

* ``{"kind": "rect", "time": [t0, t1] | None, "freq": [f0, f1] | None, "channel": c | None,
  "fade": s, "fade_hz": Hz}``: the mask of :func:`specimg.ops.region_mask` (a time range
  when ``freq`` is None, a band when ``time`` is None);
* ``{"kind": "lasso", "points": [[t, f], ...], "channel": c | None}``: the frames and
  rows whose (time, frequency) lies inside the polygon;
* ``{"kind": "harmonic", "time": [t0, t1], "f0": Hz, "n_harmonics": N, "width_hz": Hz,
  "channel": c | None, "fade": s, "fade_hz": Hz}``: bands ``width_hz`` wide around
  ``f0, 2 f0, ... N f0``;
* ``{"kind": "level", "within": <selection>, "above_db": dB}``: the bins of ``within``
  whose level is above ``above_db``.

``channel`` None means every channel. The public names are re-exported by
:mod:`specimg.ops` (:func:`specimg.ops.selection_mask` and its companions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..image import SpectrogramImage, pixels_to_db
from ..params import SpectrogramParams, check_float
from ._core import duration, nonneg, ramp, top_hz

__all__ = ["check_selection", "selection_mask", "selection_frames", "selection_bounds"]

#: Vertices a lasso may have.
MAX_POINTS = 10_000
#: Harmonics a harmonic selection may have.
MAX_HARMONICS = 200
#: Nesting of "level" selections.
MAX_DEPTH = 4


def _channel(value: Any, params: SpectrogramParams) -> int | None:
    if value is None or value == "all":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < params.n_channels:
        raise ParameterError(f"channel={value!r} must be an integer in [0, {params.n_channels}) or null for every channel")
    return int(value)


def _pair(name: str, value: Any, hi: float, unit: str) -> list[float] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ParameterError(f"{name}={value!r} must be a pair [start, end] in {unit}, or null for the whole axis")
    a = 0.0 if value[0] is None else check_float(f"{name}[0]", value[0])
    b = hi if value[1] is None else check_float(f"{name}[1]", value[1])
    tol = 1e-9 * max(1.0, hi)
    if a < -tol or b > hi + tol:
        raise ParameterError(f"{name}={value!r} lies outside the image: give values from 0 to {hi:g} {unit}")
    if a > b:
        raise ParameterError(f"{name}={value!r}: the start is after the end; give [start, end]")
    return [max(a, 0.0), min(b, hi)]


def check_selection(
    selection: Any, params: SpectrogramParams, n_frames: int, *, _depth: int = 0
) -> dict[str, Any]:
    """A selection checked against an image, with its defaults filled in.

    A selection is a plain JSON object in seconds and Hz, so it can travel in an edit
    history (``specimg studio`` records it in the ``apply_mask`` and ``inpaint`` entries
    it makes, and :func:`specimg.ops.replay` rebuilds the mask from it):

    * ``{"kind": "rect", "time": [t0, t1] | None, "freq": [f0, f1] | None, "channel": c |
      None, "fade": s, "fade_hz": Hz}``: the mask of :func:`specimg.ops.region_mask` (a
      time range when ``freq`` is None, a band when ``time`` is None);
    * ``{"kind": "lasso", "points": [[t, f], ...], "channel": c | None}``: the frames and
      rows whose (time, frequency) lies inside the polygon (3 to 10 000 vertices);
    * ``{"kind": "harmonic", "time": [t0, t1], "f0": Hz, "n_harmonics": N, "width_hz": Hz,
      "channel": c | None, "fade": s, "fade_hz": Hz}``: bands ``width_hz`` wide around
      ``f0, 2 f0, ... N f0``;
    * ``{"kind": "level", "within": <selection>, "above_db": dB}``: the bins of ``within``
      whose level is above ``above_db`` (select-similar).

    Parameters
    ----------
    selection : dict
        One of the kinds above. ``channel`` None (or ``"all"``) means every channel.
        Defaults: ``fade=0.02`` s, ``fade_hz=4 * sr / n_fft``, ``n_harmonics=10``,
        ``width_hz=2 * sr / n_fft``.
    params : SpectrogramParams
        The image's parameters (``img.params``).
    n_frames : int
        Columns of the image (``img.n_frames``).

    Returns
    -------
    dict
        The selection with every field present (plain JSON). Checking a checked
        selection returns it unchanged.

    Raises
    ------
    ParameterError
        If the kind is unknown, a field is missing, unknown or invalid, or the selection
        lies outside the image (times beyond the duration, frequencies above sr / 2, or
        ``fmax`` for a mel image).

    Examples
    --------
    >>> from specimg import ops
    >>> from specimg.params import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=256, n_samples=8000)
    >>> sel = ops.check_selection({"kind": "rect", "time": [0.1, 0.2]}, p, 126)
    >>> sel["freq"], sel["fade"], sel["fade_hz"]
    (None, 0.02, 125.0)
    >>> ops.check_selection({"kind": "rect", "time": [0.5, 2.0]}, p, 126)
    Traceback (most recent call last):
    ...
    specimg.errors.ParameterError: time=[0.5, 2.0] lies outside the image: give values from 0 to 1 s
    """
    if not isinstance(selection, Mapping):
        raise ParameterError(f"selection={selection!r:.80} must be an object with a 'kind'")
    kind = selection.get("kind")
    dur, top = duration(params, n_frames), top_hz(params)
    known = {"rect": {"time", "freq", "channel", "fade", "fade_hz"}, "lasso": {"points", "channel"},
             "harmonic": {"time", "f0", "n_harmonics", "width_hz", "channel", "fade", "fade_hz"},
             "level": {"within", "above_db"}}  # fmt: skip
    if kind not in known:
        raise ParameterError(f"selection kind={kind!r:.40} is unknown; use 'rect', 'lasso', 'harmonic' or 'level'")
    extra = sorted(set(selection) - known[kind] - {"kind"})
    if extra:
        raise ParameterError(f"selection of kind {kind!r} has no field {extra[0]!r:.40}; it takes {sorted(known[kind])}")
    out: dict[str, Any] = {"kind": kind}
    if kind in ("rect", "harmonic"):
        out["fade"] = nonneg("fade", selection.get("fade", 0.02), "seconds")
        fade_hz = selection.get("fade_hz")
        out["fade_hz"] = 4.0 * params.sr / params.n_fft if fade_hz is None else nonneg("fade_hz", fade_hz, "Hz")
    if kind == "rect":
        out["time"] = _pair("time", selection.get("time"), dur, "s")
        out["freq"] = _pair("freq", selection.get("freq"), top, "Hz")
        out["channel"] = _channel(selection.get("channel"), params)
    elif kind == "lasso":
        points = selection.get("points")
        if not isinstance(points, (list, tuple)) or not 3 <= len(points) <= MAX_POINTS:
            raise ParameterError(f"lasso points must be a list of 3 to {MAX_POINTS} [time, freq] pairs")
        pts = []
        for k, pt in enumerate(points):
            if not isinstance(pt, (list, tuple)) or len(pt) != 2:
                raise ParameterError(f"lasso point {k} = {pt!r:.40} must be [time, freq]")
            t, f = check_float(f"points[{k}][0]", pt[0]), check_float(f"points[{k}][1]", pt[1])
            if not (-1e-9 <= t <= dur + 1e-9 and -1e-9 <= f <= top + 1e-9):
                raise ParameterError(
                    f"lasso point {k} = [{t:g} s, {f:g} Hz] lies outside the image (0..{dur:g} s, 0..{top:g} Hz)"
                )
            pts.append([t, f])
        out["points"] = pts
        out["channel"] = _channel(selection.get("channel"), params)
    elif kind == "harmonic":
        out["time"] = _pair("time", selection.get("time"), dur, "s")
        f0 = check_float("f0", selection.get("f0"))
        if not 0 < f0 <= top:
            raise ParameterError(f"f0={f0!r} must be in (0, {top:g}] Hz")
        n = selection.get("n_harmonics", 10)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_HARMONICS:
            raise ParameterError(f"n_harmonics={n!r} must be an integer from 1 to {MAX_HARMONICS}")
        out.update(f0=f0, n_harmonics=int(n), width_hz=nonneg("width_hz", selection.get("width_hz", 2.0 * params.sr / params.n_fft), "Hz"))
        out["channel"] = _channel(selection.get("channel"), params)
    else:
        if _depth >= MAX_DEPTH:
            raise ParameterError(f"level selections nest at most {MAX_DEPTH} deep")
        out["within"] = check_selection(selection.get("within"), params, n_frames, _depth=_depth + 1)
        out["above_db"] = check_float("above_db", selection.get("above_db"))
    return out


def _time_weight(sel: dict[str, Any], times: np.ndarray) -> np.ndarray:
    return ramp(times, sel["time"], sel["fade"])


def _frame_coord(times: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.interp(t, times, np.arange(times.size, dtype=np.float64)) if times.size > 1 else np.zeros(np.shape(t))


def selection_frames(selection: dict[str, Any], params: SpectrogramParams, n_frames: int) -> tuple[int, int]:
    """The frames ``[a, b)`` where a checked selection's mask may be non-zero.

    Parameters
    ----------
    selection : dict
        A selection checked by :func:`check_selection`.
    params : SpectrogramParams
    n_frames : int
        Columns of the image.

    Returns
    -------
    (int, int)
        Frame indices ``0 <= a <= b <= n_frames``, the fades included; ``(0, 0)`` if the
        selection holds no frame.

    Examples
    --------
    >>> from specimg import ops
    >>> from specimg.params import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=256, n_samples=8000)
    >>> sel = ops.check_selection({"kind": "rect", "time": [0.5, 0.6], "fade": 0}, p, 126)
    >>> ops.selection_frames(sel, p, 126)
    (63, 76)
    """
    times = params.times(n_frames)
    kind = selection["kind"]
    if kind == "level":
        return selection_frames(selection["within"], params, n_frames)
    if kind == "lasso":
        ts = [pt[0] for pt in selection["points"]]
        lo, hi = min(ts), max(ts)
        idx = np.flatnonzero((times >= lo) & (times <= hi))
        if idx.size == 0:
            return (0, 0)
        return int(idx[0]), int(idx[-1]) + 1
    w = _time_weight(selection, times)
    idx = np.flatnonzero(w > 0)
    if idx.size == 0:
        return (0, 0)
    return int(idx[0]), int(idx[-1]) + 1


def _freq_weight(sel: dict[str, Any], freqs: np.ndarray) -> np.ndarray:
    if sel["kind"] == "rect":
        return ramp(freqs, sel["freq"], sel["fade_hz"])
    w = np.zeros(freqs.shape)
    top = float(freqs[-1]) if freqs.size else 0.0
    half = 0.5 * sel["width_hz"]
    for k in range(1, sel["n_harmonics"] + 1):
        centre = k * sel["f0"]
        if centre - half > top + sel["fade_hz"]:
            break
        w = np.maximum(w, ramp(freqs, [max(centre - half, 0.0), centre + half], sel["fade_hz"]))
    return w


def _lasso(sel: dict[str, Any], params: SpectrogramParams, times: np.ndarray, frames: np.ndarray) -> np.ndarray:
    from matplotlib.path import Path as PolyPath

    freqs = params.frequencies
    pts = np.asarray(sel["points"], dtype=np.float64)
    # the polygon in (frame, row) coordinates, where the grid is regular
    verts = np.column_stack([_frame_coord(times, pts[:, 0]), np.interp(pts[:, 1], freqs, np.arange(freqs.size))])
    poly = PolyPath(verts)
    ff, kk = np.meshgrid(frames.astype(np.float64), np.arange(freqs.size, dtype=np.float64))
    inside = poly.contains_points(np.column_stack([ff.ravel(), kk.ravel()]), radius=1e-9)
    return inside.reshape(freqs.size, frames.size).astype(np.float64)


def selection_mask(img: SpectrogramImage, selection: dict[str, Any], *, frames: Any = None) -> np.ndarray:
    """The soft mask of a selection, in [0, 1], for the frames asked for.

    Parameters
    ----------
    img : SpectrogramImage
        The image the selection is on (a ``"level"`` selection reads its pixels).
    selection : dict
        A selection in seconds and Hz (see :func:`check_selection`, which is applied
        first; a checked selection passes unchanged).
    frames : slice, array of frame indices, or None
        The columns to compute (None: every frame). The mask of a frame does not depend
        on which other frames are asked for, so a long image can be masked piece by piece.

    Returns
    -------
    np.ndarray [shape=(n_channels, n_bins, n_selected_frames)], float64 in [0, 1]
        In **bin order** (lowest frequency first), like :attr:`SpectrogramImage.db` and
        :func:`region_mask`; zero in the channels the selection leaves out. Use
        :func:`specimg.image.stack_channels` for the image orientation that
        :func:`apply_mask` and :func:`inpaint` take.

    Raises
    ------
    ParameterError
        If the selection is invalid or lies outside the image (see :func:`check_selection`).

    Examples
    --------
    >>> import numpy as np, specimg
    >>> from specimg import ops
    >>> img = specimg.encode(np.zeros(8000), 8000, n_fft=256)
    >>> m = ops.selection_mask(img, {"kind": "rect", "time": [0.5, 0.6], "freq": [0, 1000]}, frames=slice(60, 80))
    >>> m.shape, float(m.max())
    ((1, 129, 20), 1.0)
    >>> rect = ops.region_mask(img, time=(0.5, 0.6), freq=(0, 1000))
    >>> bool(np.array_equal(ops.selection_mask(img, {"kind": "rect", "time": [0.5, 0.6], "freq": [0, 1000]})[0], rect))
    True
    """
    selection = check_selection(selection, img.params, img.n_frames)
    p = img.params
    times_all = p.times(img.n_frames)
    idx = np.arange(img.n_frames)[slice(None) if frames is None else frames]
    kind = selection["kind"]
    if kind == "level":
        inner = selection_mask(img, selection["within"], frames=idx)
        cols = img.pixels[:, idx]
        rows = cols.reshape(p.n_channels, p.n_bins, idx.size)
        if p.flip:
            rows = rows[:, ::-1]
        db = pixels_to_db(rows, p)
        return np.where(db > selection["above_db"], inner, 0.0)
    if kind == "lasso":
        one = _lasso(selection, p, times_all, idx)
    else:
        one = np.outer(_freq_weight(selection, p.frequencies), _time_weight(selection, times_all)[idx])
    out = np.zeros((p.n_channels, *one.shape))
    if selection["channel"] is None:
        out[:] = one
    else:
        out[selection["channel"]] = one
    return out


def selection_bounds(selection: dict[str, Any], params: SpectrogramParams, n_frames: int) -> dict[str, list[float]]:
    """The time and frequency extent of a checked selection, without its fades.

    Parameters
    ----------
    selection : dict
        A selection checked by :func:`check_selection`.
    params : SpectrogramParams
    n_frames : int
        Columns of the image.

    Returns
    -------
    dict
        ``{"time": [t0, t1], "freq": [f0, f1]}`` in seconds and Hz; an open axis (None)
        spans the whole image. It is the ``noise=(t0, t1, f0, f1)`` region that
        :func:`denoise` takes for a selection that holds noise alone.

    Examples
    --------
    >>> from specimg import ops
    >>> from specimg.params import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=256, n_samples=8000)
    >>> sel = ops.check_selection({"kind": "rect", "time": [0.5, 0.6]}, p, 126)
    >>> ops.selection_bounds(sel, p, 126)
    {'time': [0.5, 0.6], 'freq': [0.0, 4000.0]}
    """
    kind = selection["kind"]
    dur, top = duration(params, n_frames), top_hz(params)
    if kind == "level":
        return selection_bounds(selection["within"], params, n_frames)
    if kind == "lasso":
        pts = np.asarray(selection["points"])
        return {"time": [float(pts[:, 0].min()), float(pts[:, 0].max())],
                "freq": [float(pts[:, 1].min()), float(pts[:, 1].max())]}  # fmt: skip
    time = selection["time"] or [0.0, dur]
    if kind == "rect":
        return {"time": list(time), "freq": list(selection["freq"] or [0.0, top])}
    half = 0.5 * selection["width_hz"]
    hi = min(top, selection["n_harmonics"] * selection["f0"] + half)
    return {"time": list(time), "freq": [max(0.0, selection["f0"] - half), hi]}


def ceil_frames(seconds: float, params: SpectrogramParams) -> int:
    """Frames that ``seconds`` spans, rounded up.

    >>> ceil_frames(0.1, SpectrogramParams(sr=8000, n_fft=256))
    13
    """
    return math.ceil(seconds * params.sr / params.hop_length)
