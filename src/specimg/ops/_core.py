"""What every operation of :mod:`specimg.ops` shares: argument checks, regions in seconds
and Hz, the channels in dB, and the edited image with its history entry.

Internal to the package (the names are public so that the sibling modules can use them;
they are not part of :mod:`specimg.ops`' API).
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Union

import numpy as np

from .. import image
from ..errors import ClippingWarning, ParameterError
from ..image import SpectrogramImage
from ..resources import check_memory
from ..params import SpectrogramParams, check_float

Span = Union[Sequence[Union[float, None]], None]  # noqa: UP007  (a runtime alias: keep it 3.10-safe)

_CLIP_WARN_FRACTION = 1e-3


#: Bytes per pixel an edit holds at its peak: the dB and the result per channel as
#: float64, a working copy for the filter, the keep-mask and the new pixels.
OP_BYTES_PER_PIXEL = 40


def check_img(img: Any) -> SpectrogramImage:
    """``img`` itself, if it is a :class:`SpectrogramImage` whose edit fits the memory budget.

    Raises
    ------
    ParameterError
        If ``img`` is not a SpectrogramImage.
    ResourceError
        If the edit's estimated memory (:data:`OP_BYTES_PER_PIXEL` per pixel) is over
        :func:`specimg.resources.memory_budget`.
    """
    if not isinstance(img, SpectrogramImage):
        raise ParameterError(
            f"img={type(img).__name__} must be a SpectrogramImage; load a file with specimg.load(path) first"
        )
    rows, cols = img.shape
    check_memory(OP_BYTES_PER_PIXEL * rows * cols, f"editing a {cols}×{rows} image", "edit a shorter excerpt")
    return img


def nonneg(name: str, value: Any, unit: str) -> float:
    """``value`` as a float, if it is a finite real number >= 0 (``unit`` goes in the message)."""
    v = check_float(name, value)
    if v < 0:
        raise ParameterError(f"{name}={value!r} must be >= 0 ({unit})")
    return v


#: (first frame, frames and n_samples of the whole image) inside :func:`frames_of`, else None
_PART: ContextVar[tuple[int, int, int | None] | None] = ContextVar("specimg_ops_frames_of", default=None)


@contextlib.contextmanager
def frames_of(first_frame: int, n_frames: int, *, n_samples: int | None = None) -> Iterator[None]:
    """Edit a crop of frames as part of the image it was cut from.

    Inside the block, an image handed to an operation of :mod:`specimg.ops` stands for the
    frames ``first_frame, first_frame + 1, ...`` of an image of ``n_frames`` frames: its
    frame times, and the limits that ``time=`` and ``noise=`` are checked against, are the
    whole image's. A region edit (:func:`erase`, :func:`gain`, :func:`denoise` on a
    region) of a crop that holds the region and its fades therefore gives, on those
    frames, exactly the pixels and the ``edits`` entry of the same call on the whole
    image, without converting the whole image to float (what ``specimg studio`` does on
    long files).

    Parameters
    ----------
    first_frame : int >= 0
        Index, in the whole image, of the crop's first frame.
    n_frames : int > 0
        Frames of the whole image.
    n_samples : int > 0 or None
        The whole image's ``params.n_samples`` (a crop's own must be None, as its length
        in samples is not that of the whole): the duration that ``time=`` is checked
        against and clipped to.

    Raises
    ------
    ParameterError
        If the numbers are not integers in range; inside the block, if an image does not
        fit in ``n_frames`` from ``first_frame``.

    Examples
    --------
    >>> import numpy as np, specimg
    >>> from specimg import ops
    >>> img = specimg.encode(0.1 * np.sin(np.arange(22050) / 5), 22050)
    >>> whole = ops.erase(img, time=(0.3, 0.5))
    >>> crop = specimg.SpectrogramImage(img.pixels[:, 10:30], img.params.replace(n_samples=None))
    >>> with ops.frames_of(10, img.n_frames, n_samples=img.params.n_samples):
    ...     part = ops.erase(crop, time=(0.3, 0.5))
    >>> bool(np.array_equal(part.pixels, whole.pixels[:, 10:30])), part.params.edits == whole.params.edits
    (True, True)
    """
    for name, value, low in (("first_frame", first_frame, 0), ("n_frames", n_frames, 1), ("n_samples", n_samples, 1)):
        if name == "n_samples" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ParameterError(f"{name}={value!r} must be an integer >= {low}")
    token = _PART.set((int(first_frame), int(n_frames), None if n_samples is None else int(n_samples)))
    try:
        yield
    finally:
        _PART.reset(token)


def whole(img: SpectrogramImage) -> tuple[SpectrogramParams, int]:
    """Parameters and frames of the image ``img`` is part of (:func:`frames_of`), or its own."""
    part = _PART.get()
    if part is None:
        return img.params, img.n_frames
    first, total, n_samples = part
    if first + img.n_frames > total:
        raise ParameterError(
            f"an image of {img.n_frames} frames does not fit in frames_of({first}, {total}): "
            f"give n_frames >= {first + img.n_frames}"
        )
    return (img.params if n_samples is None else img.params.replace(n_samples=n_samples)), total


def frame_times(img: SpectrogramImage) -> np.ndarray:
    """Times (s) of ``img``'s frames as the whole image numbers them (:func:`frames_of`)."""
    part = _PART.get()
    if part is None:
        return img.times
    params, total = whole(img)
    return params.times(total)[part[0] : part[0] + img.n_frames]


def ramp(x: np.ndarray, span: Sequence[float] | None, fade: float) -> np.ndarray:
    """1 inside ``span``, a raised-cosine fall to 0 over ``fade`` outside it, 0 beyond.

    A span that holds none of the points ``x`` (narrower than their spacing) stands for
    the point nearest to its middle.
    """
    if span is None:
        return np.ones(x.shape)
    lo, hi = span
    if not np.any((x >= lo) & (x <= hi)):
        lo = hi = float(x[np.argmin(np.abs(x - 0.5 * (lo + hi)))])
    d = np.maximum(np.maximum(lo - x, x - hi), 0.0)
    if fade <= 0:
        return (d <= 0).astype(np.float64)
    return np.where(d < fade, 0.5 * (1.0 + np.cos(np.pi * np.minimum(d, fade) / fade)), 0.0)


def duration(params: SpectrogramParams, n_frames: int) -> float:
    """Length of the audio the image stands for, in seconds."""
    return params.output_length(n_frames) / params.sr


def top_hz(params: SpectrogramParams) -> float:
    """Highest frequency an image row can stand for: sr / 2, or fmax for mel."""
    return params.fmax if params.scale == "mel" else params.sr / 2


def _span(name: str, span: Span, lo: float, hi: float, unit: str, limit: str) -> tuple[float, float] | None:
    """Validate a (start, end) pair; None entries mean the axis ends."""
    if span is None:
        return None
    letter = "t" if unit == "s" else "f"
    if isinstance(span, (str, bytes)) or not isinstance(span, (Sequence, np.ndarray)) or len(span) != 2:
        raise ParameterError(
            f"{name}={span!r} must be a pair ({letter}0, {letter}1) in {unit}, or None for the whole axis"
        )
    a = lo if span[0] is None else check_float(f"{name}[0]", span[0])
    b = hi if span[1] is None else check_float(f"{name}[1]", span[1])
    tol = 1e-9 * max(1.0, abs(hi))
    if a < lo - tol:
        raise ParameterError(
            f"{name}={span!r}: {letter}0={a:g} {unit} is below the start of the image; give {letter}0 >= {lo:g}"
        )
    if b > hi + tol:
        raise ParameterError(
            f"{name}={span!r}: {letter}1={b:g} {unit} is past {limit} ({hi:g} {unit}); give {letter}1 <= {hi:g} "
            "or None for the end of the axis"
        )
    if a > b:
        raise ParameterError(f"{name}={span!r}: {letter}0={a:g} is after {letter}1={b:g}; give {letter}0 <= {letter}1")
    return a, min(b, hi)


def time_span(params: SpectrogramParams, n_frames: int, time: Span, name: str = "time") -> tuple[float, float] | None:
    return _span(name, time, 0.0, duration(params, n_frames), "s", "the end of the image")


def freq_span(params: SpectrogramParams, freq: Span, name: str = "freq") -> tuple[float, float] | None:
    limit = "fmax, the top of this mel image" if params.scale == "mel" else "the Nyquist frequency sr/2"
    return _span(name, freq, 0.0, top_hz(params), "Hz", limit)



def _upright(params: SpectrogramParams) -> SpectrogramParams:
    return params.replace(invert=False) if params.invert else params


def db_to_level(S_db: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """dB → the unit level of :mod:`specimg.ops`, in [0, 1]: 0 the floor, 1 ``db_max``.

    The file's own map (:func:`specimg.image.db_to_unit`) read as if not inverted: the
    level an operation sees does not depend on ``params.invert``.
    """
    return image.db_to_unit(S_db, _upright(params))


def level_to_db(u: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """The unit level (clipped to [0, 1]) → dB, the inverse of :func:`db_to_level`."""
    return image.unit_to_db(u, _upright(params))


def channel_db(img: SpectrogramImage) -> np.ndarray:
    """dB of every channel, (n_channels, n_bins, n_frames), bin order, float64 (a copy)."""
    db = img.db
    return db[np.newaxis] if db.ndim == 2 else db


def oriented(block: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Bin order ↔ image orientation of one channel block (its own inverse)."""
    return block[::-1] if params.flip else block


def _jsonable(value: Any, name: str) -> Any:
    """Plain-JSON copy of an edit argument (tuples → lists, numpy scalars → Python)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_jsonable(v, name) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, name) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"{name}={value!r} must be finite")
        return value
    raise ParameterError(f"{name}={value!r} cannot be recorded in the edit history; pass numbers, strings or lists")


def edited(
    img: SpectrogramImage, S_db: np.ndarray, edit: dict[str, Any], *, changed: np.ndarray | None = None
) -> SpectrogramImage:
    """Re-quantise ``S_db`` (n_channels, n_bins, n_frames) and append ``edit`` to the history.

    Where ``changed`` (bin order, broadcastable to ``S_db``) is False the input's pixels are
    copied exactly. A stored phase is kept, no longer valid for the bins whose pixels changed.
    """
    edit = _jsonable(edit, "edit")
    json.dumps(edit, allow_nan=False)
    params = img.params.replace(edits=(*img.params.edits, edit))
    out = SpectrogramImage.from_db(S_db, params)
    if changed is not None:
        keep = image.stack_channels(np.broadcast_to(~np.asarray(changed, dtype=bool), S_db.shape), params)
        out = SpectrogramImage(np.where(keep, img.pixels, out.pixels), params)
    if img.phase is not None:  # the stored phase stays; the bins whose pixels changed lose it
        out = out.replace(phase=img.phase.rebase(img.pixels, out.pixels, params))
    return out


def warn_clipping(before: np.ndarray, after: np.ndarray, params: SpectrogramParams, what: str) -> None:
    newly = np.count_nonzero((after > params.db_max) & (before < params.db_max)) / after.size
    if newly > _CLIP_WARN_FRACTION:
        warnings.warn(
            f"{what} pushed {100 * newly:.2f} % of the bins above db_max={params.db_max} dB, where they are "
            "clipped; use a smaller gain, or encode with a higher db_max",
            ClippingWarning,
            stacklevel=3,
        )
