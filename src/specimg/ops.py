"""Image operations on calibrated spectrograms: denoise, erase, gain, inpaint, masks.

Every operation takes a :class:`~specimg.SpectrogramImage` and returns a **new** one whose
``params`` equal the input's except that ``params.edits`` has one more entry, a dict
``{"op": <name>, ...}`` holding the operation's (resolved, JSON-serialisable) arguments.
The input is never modified. Operations work channel by channel on the calibrated level in
dB (:attr:`SpectrogramImage.db`), or on the level scaled to 0..1 where a library needs
that, and re-quantise the result with :meth:`SpectrogramImage.from_db` (levels outside
``[db_min, db_max]`` are clipped).

Units and axes
--------------
* Time in seconds: frame ``t`` sits at ``params.times(n_frames)[t]`` (its centre).
* Frequency in Hz: row ``k`` of a channel sits at ``params.frequencies[k]`` (the STFT bin
  frequency, or the centre frequency of mel band ``k`` for a mel image).
* Levels in dB relative to ``params.ref``; strengths of the denoisers are in dB too.
* :func:`region_mask` is in **bin order** (lowest frequency first), like
  :attr:`SpectrogramImage.db`. Masks given as pictures (:func:`inpaint`,
  :func:`apply_mask`) and the arrays :func:`apply` hands to a function are in **image
  orientation**: rows as stored in the file, low frequencies at the bottom when
  ``params.flip`` (the default), exactly what an image editor shows.

Unit level ("0..1")
-------------------
``u = (dB - db_min) / (db_max - db_min)``: 0 is the floor (silence), 1 the loudest level,
whatever ``params.invert`` says about the pixel values.

Examples
--------
>>> import numpy as np, specimg
>>> from specimg import ops
>>> sr = 22050
>>> y = 0.1 * np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr)
>>> img = specimg.encode(y, sr)
>>> quiet = ops.gain(img, -6.0, time=(0.5, 1.0), freq=(300.0, 600.0))
>>> cut = ops.erase(quiet, time=(1.2, 1.5))
>>> [e["op"] for e in cut.params.edits]
['gain', 'erase']
>>> cut.params.replace(edits=()) == img.params
True
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import scipy.ndimage

from .errors import ClippingWarning, FormatError, MissingFileError, ParameterError
from .image import SpectrogramImage
from .params import SpectrogramParams

__all__ = [
    "DENOISE_OPTIONS", "DENOISE_STRENGTH", "apply", "apply_mask", "denoise", "erase", "gain", "inpaint", "region_mask",
]  # fmt: skip

DenoiseMethod = Literal["nlmeans", "tv", "wavelet", "bilateral", "median", "gate"]
InpaintMethod = Literal["telea", "ns", "biharmonic"]
Domain = Literal["db", "unit"]
Span = Union[Sequence[Union[float, None]], None]  # noqa: UP007  (a runtime alias: keep it 3.10-safe)
MaskLike = Union[np.ndarray, str, "os.PathLike[str]"]

_CLIP_WARN_FRACTION = 1e-3


# ---------------------------------------------------------------------------- helpers
def _check_img(img: Any) -> SpectrogramImage:
    if not isinstance(img, SpectrogramImage):
        raise ParameterError(
            f"img={type(img).__name__} must be a SpectrogramImage; load a file with specimg.load(path) first"
        )
    return img


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}={value!r} must be a real number")
    if not math.isfinite(value):
        raise ParameterError(f"{name}={value!r} must be finite")
    return float(value)


def _nonneg(name: str, value: Any, unit: str) -> float:
    v = _real(name, value)
    if v < 0:
        raise ParameterError(f"{name}={value!r} must be >= 0 ({unit})")
    return v


def _duration(params: SpectrogramParams, n_frames: int) -> float:
    """Length of the audio the image stands for, in seconds."""
    n = params.n_samples if params.n_samples is not None else params.length_for(n_frames)
    return n / params.sr


def _top_hz(params: SpectrogramParams) -> float:
    """Highest frequency an image row can stand for: sr / 2, or fmax for mel."""
    return float(params.fmax) if params.scale == "mel" else params.sr / 2  # type: ignore[arg-type]


def _span(name: str, span: Span, lo: float, hi: float, unit: str, limit: str) -> tuple[float, float] | None:
    """Validate a (start, end) pair; None entries mean the axis ends."""
    if span is None:
        return None
    letter = "t" if unit == "s" else "f"
    if isinstance(span, (str, bytes)) or not isinstance(span, (Sequence, np.ndarray)) or len(span) != 2:
        raise ParameterError(
            f"{name}={span!r} must be a pair ({letter}0, {letter}1) in {unit}, or None for the whole axis"
        )
    a = lo if span[0] is None else _real(f"{name}[0]", span[0])
    b = hi if span[1] is None else _real(f"{name}[1]", span[1])
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


def _time_span(params: SpectrogramParams, n_frames: int, time: Span, name: str = "time") -> tuple[float, float] | None:
    return _span(name, time, 0.0, _duration(params, n_frames), "s", "the end of the image")


def _freq_span(params: SpectrogramParams, freq: Span, name: str = "freq") -> tuple[float, float] | None:
    limit = "fmax, the top of this mel image" if params.scale == "mel" else "the Nyquist frequency sr/2"
    return _span(name, freq, 0.0, _top_hz(params), "Hz", limit)


def _ramp(x: np.ndarray, span: tuple[float, float] | None, fade: float) -> np.ndarray:
    """1 inside ``span``, a raised-cosine fall to 0 over ``fade`` outside it, 0 beyond.

    A span that holds none of the points ``x`` (narrower than their spacing) stands for
    the point nearest to its middle.
    """
    if span is None:
        return np.ones(x.shape)
    if not np.any((x >= span[0]) & (x <= span[1])):
        near = float(x[np.argmin(np.abs(x - 0.5 * (span[0] + span[1])))])
        span = (near, near)
    d = np.maximum(np.maximum(span[0] - x, x - span[1]), 0.0)
    if fade <= 0:
        return (d <= 0).astype(np.float64)
    return np.where(d < fade, 0.5 * (1.0 + np.cos(np.pi * np.minimum(d, fade) / fade)), 0.0)


def _resolve_fade_hz(params: SpectrogramParams, fade_hz: float | None) -> float:
    if fade_hz is None:
        return 4.0 * params.sr / params.n_fft
    return _nonneg("fade_hz", fade_hz, "Hz")


def _channels(img: SpectrogramImage) -> np.ndarray:
    """dB of every channel, (n_channels, n_bins, n_frames), bin order, float64 (a copy)."""
    db = img.db
    return db[np.newaxis] if db.ndim == 2 else db


def _oriented(block: np.ndarray, params: SpectrogramParams) -> np.ndarray:
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


def _result(
    img: SpectrogramImage, S_db: np.ndarray, edit: dict[str, Any], *, changed: np.ndarray | None = None
) -> SpectrogramImage:
    """Re-quantise ``S_db`` (n_channels, n_bins, n_frames) and append ``edit`` to the history.

    Where ``changed`` (bin order, broadcastable to ``S_db``) is False the input's pixels are
    copied exactly.
    """
    edit = _jsonable(edit, "edit")
    json.dumps(edit, allow_nan=False)
    params = img.params.replace(edits=(*img.params.edits, edit))
    out = SpectrogramImage.from_db(S_db, params)
    if changed is not None:
        keep = np.broadcast_to(~np.asarray(changed, dtype=bool), S_db.shape)
        if params.flip:
            keep = keep[:, ::-1, :]
        keep = keep.reshape(-1, S_db.shape[-1])
        out = SpectrogramImage(np.where(keep, img.pixels, out.pixels), params)
    return out


def _warn_clipping(before: np.ndarray, after: np.ndarray, params: SpectrogramParams, what: str) -> None:
    newly = np.count_nonzero((after > params.db_max) & (before < params.db_max)) / after.size
    if newly > _CLIP_WARN_FRACTION:
        warnings.warn(
            f"{what} pushed {100 * newly:.2f} % of the bins above db_max={params.db_max} dB, where they are "
            "clipped; use a smaller gain, or encode with a higher db_max",
            ClippingWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- regions
def region_mask(
    img: SpectrogramImage,
    *,
    time: Span = None,
    freq: Span = None,
    fade: float = 0.02,
    fade_hz: float | None = None,
) -> np.ndarray:
    """Soft time–frequency mask of a rectangle given in seconds and Hz.

    The weight is 1 for frames whose centre time lies in ``time`` and rows whose frequency
    lies in ``freq``, and falls outside the rectangle to 0 along a raised cosine,
    ``0.5 * (1 + cos(pi * d / fade))`` at distance ``d``, over ``fade`` seconds in time and
    ``fade_hz`` Hz in frequency. The mask is separable: ``w[k, t] = w_f[k] * w_t[t]``.
    It is the mask :func:`erase` and :func:`gain` use.

    Parameters
    ----------
    img : SpectrogramImage
    time : (t0, t1) in seconds, or None
        ``0 <= t0 <= t1 <=`` duration. None (or a None end) means the whole axis. A span
        that holds no frame centre (shorter than a hop) stands for the nearest frame.
    freq : (f0, f1) in Hz, or None
        ``0 <= f0 <= f1 <= sr / 2`` (``<= fmax`` for a mel image, whose rows are mapped
        through their mel centre frequencies). None (or a None end) means the whole axis.
        A band that holds no row's frequency stands for the nearest row.
    fade : float >= 0 [scalar], seconds
        Width of the soft time edge outside the region. At the default hop (~23 ms) the
        default 20 ms reaches at most one frame on each side; the overlap of the STFT
        windows smooths the edge of the decoded sound further.
    fade_hz : float >= 0 [scalar], Hz, or None
        Width of the soft frequency edge. None → ``4 * sr / n_fft`` (four STFT bins).

    Returns
    -------
    np.ndarray [shape=(n_bins, n_frames)], float64 in [0, 1], bin order (lowest first)

    Raises
    ------
    ParameterError
        If a region lies outside the image, has its ends swapped, or a fade is negative.
    """
    img = _check_img(img)
    p = img.params
    t_span = _time_span(p, img.n_frames, time)
    f_span = _freq_span(p, freq)
    fade = _nonneg("fade", fade, "seconds")
    fade_hz_ = _resolve_fade_hz(p, fade_hz)
    w_t = _ramp(img.times, t_span, fade)
    w_f = _ramp(img.frequencies, f_span, fade_hz_)
    return np.outer(w_f, w_t)


def _region_edit(img: SpectrogramImage, time: Span, freq: Span, fade: float, fade_hz: float | None) -> dict[str, Any]:
    p = img.params
    t_span = _time_span(p, img.n_frames, time)
    f_span = _freq_span(p, freq)
    return {
        "time": None if t_span is None else list(t_span),
        "freq": None if f_span is None else list(f_span),
        "fade": float(fade),
        "fade_hz": _resolve_fade_hz(p, fade_hz),
    }


def erase(
    img: SpectrogramImage,
    *,
    time: Span = None,
    freq: Span = None,
    fade: float = 0.02,
    fade_hz: float | None = None,
) -> SpectrogramImage:
    """Silence a time–frequency rectangle, with soft edges.

    Inside the region every bin becomes the floor ``db_min`` (silence); on the soft edge
    the amplitude is scaled by ``1 - w`` (``w`` from :func:`region_mask`), a raised-cosine
    fade as a sound editor would apply. Pixels where ``w == 0`` are copied unchanged.

    Parameters
    ----------
    img : SpectrogramImage
    time, freq, fade, fade_hz :
        The region and its soft edges, see :func:`region_mask`. ``erase(img)`` silences
        everything.

    Returns
    -------
    SpectrogramImage
        Same params plus ``{"op": "erase", "time": [t0, t1] | None, "freq": [f0, f1] |
        None, "fade": s, "fade_hz": Hz}`` in ``edits``.

    Raises
    ------
    ParameterError
        If the region is outside the image or its ends are swapped.
    """
    img = _check_img(img)
    w = region_mask(img, time=time, freq=freq, fade=fade, fade_hz=fade_hz)
    S = _channels(img)
    with np.errstate(divide="ignore"):
        out = S + 20.0 * np.log10(np.clip(1.0 - w, 0.0, 1.0))
    out = np.maximum(out, img.params.db_min)
    edit = {"op": "erase", **_region_edit(img, time, freq, fade, fade_hz)}
    return _result(img, out, edit, changed=w > 0)


def gain(
    img: SpectrogramImage,
    db: float,
    *,
    time: Span = None,
    freq: Span = None,
    fade: float = 0.02,
    fade_hz: float | None = None,
) -> SpectrogramImage:
    """Raise or lower the level of a time–frequency rectangle by ``db`` dB, with soft edges.

    Each bin gets ``w * db`` dB (``w`` from :func:`region_mask`). Silence stays silent:
    bins at the floor ``db_min`` are not raised. Levels pushed above ``db_max`` are
    clipped when the result is re-quantised.

    Parameters
    ----------
    img : SpectrogramImage
    db : float [scalar], dB
        Gain; negative values attenuate.
    time, freq, fade, fade_hz :
        The region and its soft edges, see :func:`region_mask`. None for both: the whole
        image.

    Returns
    -------
    SpectrogramImage
        Same params plus ``{"op": "gain", "db": db, "time": ..., "freq": ..., "fade": s,
        "fade_hz": Hz}`` in ``edits``.

    Raises
    ------
    ParameterError
        If ``db`` is not a finite number or the region is invalid.

    Warns
    -----
    ClippingWarning
        If more than 0.1 % of the bins are pushed above ``db_max``.
    """
    img = _check_img(img)
    g = _real("db", db)
    w = region_mask(img, time=time, freq=freq, fade=fade, fade_hz=fade_hz)
    S = _channels(img)
    floor = S <= img.params.db_min
    out = np.where(floor, S, S + w * g)
    _warn_clipping(S, out, img.params, f"gain(db={g:g})")
    edit = {"op": "gain", "db": g, **_region_edit(img, time, freq, fade, fade_hz)}
    return _result(img, out, edit, changed=(w > 0) & ~floor)


# ---------------------------------------------------------------------------- denoise
def _unit(S: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    return (S - params.db_min) / (params.db_max - params.db_min)


def _from_unit(u: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    return params.db_min + np.asarray(u, dtype=np.float64) * (params.db_max - params.db_min)


def _pair(name: str, value: Any) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be a positive integer or a pair (bins, frames)") from None
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"{name}={value!r} must hold positive integers (bins, frames)")
    return int(a), int(b)


# (time span, band or None): where the noise alone is, in seconds and Hz
_NoiseRegion = tuple[tuple[float, float], Union[tuple[float, float], None]]  # noqa: UP007


def _noise_floor(
    S: np.ndarray, times: np.ndarray, freqs: np.ndarray, noise: _NoiseRegion | None, quantile: float, db_min: float
) -> tuple[np.ndarray, np.ndarray]:
    """Noise floor of each row in dB (mean noise power), and the rows it stands for.

    From the frames of ``noise`` (and, with a band, only for the rows in it), else from
    the quietest ``quantile`` of the frames by mean level, leaving out frames of digital
    silence (every bin at the floor), which hold no noise to measure.
    """
    n_bins, n_frames = S.shape
    rows = np.ones(n_bins, dtype=bool)
    if noise is not None:
        (t0, t1), band = noise
        frames = (times >= t0) & (times <= t1)
        if not frames.any():  # a span narrower than a hop: the nearest frame
            frames[np.argmin(np.abs(times - 0.5 * (t0 + t1)))] = True
        if band is not None:
            rows = (freqs >= band[0]) & (freqs <= band[1])
    else:
        candidates = np.flatnonzero(np.any(S > db_min, axis=0))
        if candidates.size == 0:
            candidates = np.arange(n_frames)
        k = max(1, math.ceil(quantile * candidates.size))
        frames = np.zeros(n_frames, dtype=bool)
        frames[candidates[np.argsort(S[:, candidates].mean(axis=0), kind="stable")[:k]]] = True
    peak = S[:, frames].max(axis=1, keepdims=True)  # factor out before 10**(dB/10)
    floor = peak[:, 0] + 10.0 * np.log10(np.mean(10.0 ** ((S[:, frames] - peak) / 10.0), axis=1))
    return floor, rows


def _subtract(
    S: np.ndarray, floor: np.ndarray, rows: np.ndarray, *, alpha: float, reduction: float, db_min: float
) -> np.ndarray:
    """Power spectral subtraction of ``floor`` raised by ``alpha`` dB, at most ``reduction`` dB."""
    ratio = 10.0 ** (np.minimum(floor[:, None] - S, 300.0) / 10.0)
    g = np.maximum(1.0 - 10.0 ** (alpha / 10.0) * ratio, 10.0 ** (-reduction / 10.0))
    out = S + 10.0 * np.log10(g)
    out[~rows] = S[~rows]
    return np.maximum(out, db_min)


def _gate(
    S: np.ndarray, floor: np.ndarray, rows: np.ndarray, *, threshold: float, reduction: float,
    smooth: Sequence[int], db_min: float,
) -> np.ndarray:  # fmt: skip
    """Spectral gating of one channel (bin order, dB)."""
    # Compare a lightly smoothed level with the floor: single noisy bins (the dB level of
    # noise scatters by ~5.6 dB) should not open the gate.
    level = scipy.ndimage.uniform_filter(S, size=3, mode="nearest")
    open_ = (level > (floor + threshold)[:, None]).astype(np.float64)
    # Widen the open area by the smoothing window before smoothing, so the gain ramps
    # down outside what was detected and every detected bin keeps its full level.
    open_ = scipy.ndimage.maximum_filter(open_, size=tuple(smooth), mode="nearest")
    open_ = scipy.ndimage.uniform_filter(open_, size=tuple(smooth), mode="nearest")
    out = S - reduction * (1.0 - open_)
    out[~rows] = S[~rows]
    return np.maximum(out, db_min)


def _smooth_channel(S: np.ndarray, params: SpectrogramParams, method: str, strength: float | None,
                    opts: dict[str, Any]) -> np.ndarray:  # fmt: skip
    """Stage 1 of the picture denoisers: the image filter itself, dB in, dB out."""
    span = params.db_max - params.db_min
    if method == "median":
        return scipy.ndimage.median_filter(S, size=tuple(opts["size"]), mode="nearest")
    if method == "nlmeans":
        import cv2

        u16 = np.rint(np.clip(_unit(S, params), 0.0, 1.0) * 65535.0).astype(np.uint16)
        h = float(strength) / span * 65535.0  # type: ignore[arg-type]
        den = cv2.fastNlMeansDenoising(
            np.ascontiguousarray(u16), h=[h], templateWindowSize=opts["template_size"],
            searchWindowSize=opts["search_size"], normType=cv2.NORM_L1,
        )  # fmt: skip
        return _from_unit(den / 65535.0, params)
    from skimage import restoration

    u = _unit(S, params)
    if method == "tv":
        den = restoration.denoise_tv_chambolle(
            u, weight=float(strength) / span, eps=opts["eps"], max_num_iter=opts["max_num_iter"]  # type: ignore[arg-type]
        )
    elif method == "wavelet":
        den = restoration.denoise_wavelet(
            u, sigma=None if strength is None else strength / span, wavelet=opts["wavelet"], mode=opts["mode"],
            wavelet_levels=opts["levels"], method=opts["wavelet_method"], rescale_sigma=True,
        )  # fmt: skip
    else:  # bilateral
        den = restoration.denoise_bilateral(
            u, win_size=opts["win_size"], sigma_color=float(strength) / span,  # type: ignore[arg-type]
            sigma_spatial=opts["sigma_spatial"], mode="edge",
        )  # fmt: skip
    return _from_unit(den, params)


_FLOOR_OPTIONS: dict[str, Any] = {"subtract": True, "alpha": 3.0, "reduction": 20.0, "quantile": 0.1}

#: Default strength in dB of each denoiser (None: not used, or estimated from the image).
#: Chosen on speech + white noise at 5 dB SNR (tests/test_ops.py measures them).
DENOISE_STRENGTH: dict[str, float | None] = {
    "nlmeans": 3.0,
    "tv": 2.0,
    "wavelet": None,
    "bilateral": 3.0,
    "median": None,
    "gate": 6.0,
}

#: Further options of each denoiser and their defaults (pass them as keyword arguments).
DENOISE_OPTIONS: dict[str, dict[str, Any]] = {
    "nlmeans": {"template_size": 7, "search_size": 21, **_FLOOR_OPTIONS},
    "tv": {"max_num_iter": 200, "eps": 2e-4, **_FLOOR_OPTIONS},
    "wavelet": {"wavelet": "db2", "mode": "soft", "wavelet_method": "BayesShrink", "levels": None, **_FLOOR_OPTIONS},
    "bilateral": {"sigma_spatial": 2.0, "win_size": None, **_FLOOR_OPTIONS},
    "median": {"size": [3, 3], **_FLOOR_OPTIONS},
    "gate": {"reduction": 20.0, "quantile": 0.1, "smooth": [3, 5]},
}


def _check_denoise_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    allowed = DENOISE_OPTIONS[method]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ParameterError(f"method={method!r} has no option {unknown[0]!r}; it takes: {', '.join(allowed)}")
    opts = {**allowed, **options}
    if "subtract" in opts and not isinstance(opts["subtract"], (bool, np.bool_)):
        raise ParameterError(f"subtract={opts['subtract']!r} must be True or False")
    if "alpha" in opts:
        opts["alpha"] = _real("alpha", opts["alpha"])
    opts["reduction"] = _nonneg("reduction", opts["reduction"], "dB of attenuation at most")
    q = _real("quantile", opts["quantile"])
    if not 0 < q <= 1:
        raise ParameterError(f"quantile={q!r} must be in (0, 1]: the fraction of quietest frames taken as noise")
    opts["quantile"] = q
    if method == "nlmeans":
        for name in ("template_size", "search_size"):
            v = opts[name]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 or v % 2 == 0:
                raise ParameterError(f"{name}={v!r} must be a positive odd integer (pixels)")
            opts[name] = int(v)
    elif method == "median":
        opts["size"] = list(_pair("size", opts["size"]))
    elif method == "gate":
        opts["smooth"] = list(_pair("smooth", opts["smooth"]))
    elif method == "tv":
        v = opts["max_num_iter"]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"max_num_iter={v!r} must be a positive integer")
        opts["max_num_iter"] = int(v)
        opts["eps"] = _nonneg("eps", opts["eps"], "relative change that stops the iterations")
    elif method == "bilateral":
        opts["sigma_spatial"] = _nonneg("sigma_spatial", opts["sigma_spatial"], "pixels")
        if opts["win_size"] is not None:
            v = opts["win_size"]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ParameterError(f"win_size={v!r} must be a positive integer (pixels) or None")
            opts["win_size"] = int(v)
    elif method == "wavelet":
        if not isinstance(opts["wavelet"], str):
            raise ParameterError(f"wavelet={opts['wavelet']!r} must be a wavelet name such as 'db2'")
        if opts["levels"] is not None:
            v = opts["levels"]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ParameterError(f"levels={v!r} must be a positive integer or None")
            opts["levels"] = int(v)
        if opts["wavelet_method"] not in ("BayesShrink", "VisuShrink"):
            raise ParameterError(f"wavelet_method={opts['wavelet_method']!r} must be 'BayesShrink' or 'VisuShrink'")
        if opts["mode"] not in ("soft", "hard"):
            raise ParameterError(f"mode={opts['mode']!r} must be 'soft' or 'hard'")
    return opts


def denoise(
    img: SpectrogramImage,
    method: DenoiseMethod = "nlmeans",
    *,
    strength: float | None = None,
    noise: Sequence[float] | None = None,
    **options: Any,
) -> SpectrogramImage:
    """Remove noise from a spectrogram image, working on its calibrated level.

    In the dB picture additive noise is not the zero-mean noise image filters expect: it
    adds a texture (the dB level of noise scatters by about 5.6 dB) *and* lifts the floor
    where the signal is quieter than the noise. The picture filters (nlmeans, tv, wavelet,
    bilateral, median) remove the texture; by default (``subtract=True``) a second step
    then removes the lifted floor by power spectral subtraction [5]_:
    ``P_out = P * max(1 - 10**(alpha/10) * N / P, 10**(-reduction/10))``, with ``N`` the
    noise power per row measured on the filtered picture. ``subtract=False`` returns the
    filtered picture alone. ``"gate"`` is a spectral gate that needs no picture filter.

    Parameters
    ----------
    img : SpectrogramImage
    method : {"nlmeans", "tv", "wavelet", "bilateral", "median", "gate"}
        * ``"nlmeans"``: OpenCV non-local means [1]_ (:func:`cv2.fastNlMeansDenoising`) on
          the level as 16-bit pixels with ``normType=NORM_L1`` (8-bit and float images are
          converted first, so the result does not depend on the bit depth). ``strength`` is
          its filter parameter ``h`` in dB (``h = strength / (db_max - db_min) * 65535``).
          Options ``template_size=7``, ``search_size=21`` (pixels, odd).
        * ``"tv"``: total variation [2]_, :func:`skimage.restoration.denoise_tv_chambolle`
          on the 0..1 level; ``strength`` is its ``weight`` in dB. Options
          ``max_num_iter=200``, ``eps=2e-4``.
        * ``"wavelet"``: :func:`skimage.restoration.denoise_wavelet` [3]_ (needs
          PyWavelets) on the 0..1 level; ``strength`` is the noise standard deviation in
          dB, None → estimated from the image. Options ``wavelet="db2"``, ``mode="soft"``,
          ``wavelet_method="BayesShrink"``, ``levels=None``.
        * ``"bilateral"``: :func:`skimage.restoration.denoise_bilateral` [4]_ on the 0..1
          level; ``strength`` is ``sigma_color`` in dB. Options ``sigma_spatial=2.0``
          (pixels), ``win_size=None``.
        * ``"median"``: :func:`scipy.ndimage.median_filter` of the dB level; no strength.
          Option ``size=(3, 3)`` (bins, frames).
        * ``"gate"``: spectral gating. Bins whose level, averaged over 3 × 3 bins, is less
          than ``strength`` dB above their row's noise floor are attenuated by
          ``reduction`` dB; the open/closed decision is averaged over ``smooth`` (bins,
          frames) so the gain varies gently (no "musical noise"). Options
          ``reduction=20.0`` (dB), ``quantile=0.1``, ``smooth=(3, 5)``.

        The picture filters also take ``subtract=True``, ``alpha=3.0`` (dB of
        over-subtraction), ``reduction=20.0`` (dB, the most a bin is lowered) and
        ``quantile=0.1``.
    strength : float >= 0 [scalar], dB, or None
        None → the method's default (:data:`DENOISE_STRENGTH`): nlmeans 3 dB, tv 2 dB,
        wavelet estimated, bilateral 3 dB, gate 6 dB. Chosen on speech plus white noise at
        5 dB SNR, where every default lowers the dB error against the clean spectrogram.
    noise : (t0, t1) or (t0, t1, f0, f1), seconds and Hz, optional
        A region that holds noise alone, for the noise floor (the mean noise power of each
        row). None → the quietest ``quantile`` of the frames (by mean level; frames of
        digital silence left out) are taken as noise. With a band ``f0..f1`` only the rows
        in that band are gated or subtracted.
    **options :
        The method's options listed above (:data:`DENOISE_OPTIONS`).

    Returns
    -------
    SpectrogramImage
        Same params plus ``{"op": "denoise", "method": ..., "strength": dB or None,
        "noise": [...] or None, <every option, resolved>}`` in ``edits``.

    Raises
    ------
    ParameterError
        If the method or an option is unknown or invalid, ``strength`` is negative or
        given to "median", or ``noise`` lies outside the image.

    Notes
    -----
    Each channel is denoised on its own. nlmeans, tv, wavelet and bilateral see the level
    mapped to 0..1, ``(dB - db_min) / (db_max - db_min)``; median and gate work on dB.
    The noise floor assumes the quietest frames (or the ``noise`` region) hold noise
    alone: on music without pauses, pass ``noise=`` or ``subtract=False``.

    References
    ----------
    .. [1] A. Buades, B. Coll, J.-M. Morel, "A non-local algorithm for image denoising",
       CVPR 2005, doi:10.1109/CVPR.2005.38.
    .. [2] A. Chambolle, "An algorithm for total variation minimization and applications",
       J. Math. Imaging Vis. 20, 2004, doi:10.1023/B:JMIV.0000011325.36760.1e.
    .. [3] S. G. Chang, B. Yu, M. Vetterli, "Adaptive wavelet thresholding for image
       denoising and compression", IEEE Trans. Image Process. 9(9), 2000,
       doi:10.1109/83.862633.
    .. [4] C. Tomasi, R. Manduchi, "Bilateral filtering for gray and color images", ICCV
       1998, doi:10.1109/ICCV.1998.710815.
    .. [5] S. Boll, "Suppression of acoustic noise in speech using spectral subtraction",
       IEEE Trans. ASSP 27(2), 1979, doi:10.1109/TASSP.1979.1163209.
    """
    img = _check_img(img)
    p = img.params
    if not isinstance(method, str) or method not in DENOISE_OPTIONS:
        raise ParameterError(f"method={method!r} is unknown; use one of {', '.join(map(repr, DENOISE_OPTIONS))}")
    if method == "median" and strength is not None:
        raise ParameterError(
            f"strength={strength!r}: method='median' has no strength; set its window with size=(bins, frames)"
        )
    strength = DENOISE_STRENGTH[method] if strength is None else _nonneg("strength", strength, "dB")
    if strength == 0 and method in ("tv", "wavelet", "bilateral"):
        # scikit-image reads 0 as "divide by it" (tv), "estimate it" (bilateral) or NaN (wavelet)
        raise ParameterError(
            f"strength=0 for method={method!r}: use a positive strength in dB, or subtract=False and no filter"
        )
    opts = _check_denoise_options(method, options)
    if method == "wavelet":
        try:
            import pywt
        except ImportError:
            raise ParameterError("method='wavelet' needs PyWavelets (pip install PyWavelets); use another method") from None
        if opts["wavelet"] not in pywt.wavelist(kind="discrete"):
            raise ParameterError(f"wavelet={opts['wavelet']!r} is not a discrete wavelet PyWavelets knows (e.g. 'db2', 'sym4')")
    region: _NoiseRegion | None = None
    if noise is not None and not opts.get("subtract", True):
        raise ParameterError(f"noise={noise!r} is used to measure the floor to subtract; it has no use with subtract=False")
    if noise is not None:
        if isinstance(noise, (str, bytes)) or not isinstance(noise, (Sequence, np.ndarray)) or len(noise) not in (2, 4):
            raise ParameterError(f"noise={noise!r} must be (t0, t1) in seconds or (t0, t1, f0, f1) in seconds and Hz")
        t_span = _time_span(p, img.n_frames, tuple(noise[:2]), "noise time")
        f_span = _freq_span(p, tuple(noise[2:]), "noise freq") if len(noise) == 4 else None
        assert t_span is not None
        region = (t_span, f_span)
    times, freqs = img.times, img.frequencies
    S = _channels(img)
    out = np.empty_like(S)
    for c in range(S.shape[0]):
        if method == "gate":
            floor, rows = _noise_floor(S[c], times, freqs, region, opts["quantile"], p.db_min)
            out[c] = _gate(S[c], floor, rows, threshold=float(strength), reduction=opts["reduction"],  # type: ignore[arg-type]
                           smooth=opts["smooth"], db_min=p.db_min)  # fmt: skip
            continue
        L = _smooth_channel(S[c], p, method, strength, opts)
        if opts["subtract"]:
            floor, rows = _noise_floor(L, times, freqs, region, opts["quantile"], p.db_min)
            L = _subtract(L, floor, rows, alpha=opts["alpha"], reduction=opts["reduction"], db_min=p.db_min)
        out[c] = L
    edit = {
        "op": "denoise", "method": method, "strength": strength,
        "noise": None if region is None else [*region[0], *(region[1] or ())], **opts,
    }  # fmt: skip
    return _result(img, out, edit)


# ---------------------------------------------------------------------------- masks
def _gray_from_file(path: Path) -> np.ndarray:
    """Any image file → gray float64 in [0, 1] (alpha composited over black)."""
    from PIL import Image

    from .formats import _pixel_limit  # masks are as large as the images specimg writes

    if not path.is_file():
        raise MissingFileError(f"no such mask file: {str(path)!r}")
    try:
        with _pixel_limit(), Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA")
                mode = "RGBA"
            data = np.asarray(im)
    except (OSError, SyntaxError, ValueError) as exc:
        raise FormatError(f"mask {str(path)!r} is not an image Pillow can read: {exc}") from None
    if mode == "1":
        return data.astype(np.float64)
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.clip(data.astype(np.float64) / 65535.0, 0.0, 1.0)
    if mode == "F":
        return np.clip(data.astype(np.float64), 0.0, 1.0)
    x = data.astype(np.float64) / 255.0
    if mode == "L":
        return x
    if mode == "LA":
        return x[..., 0] * x[..., 1]
    if mode in ("RGB", "RGBA"):
        gray = x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114
        return gray * x[..., 3] if mode == "RGBA" else gray
    raise FormatError(f"mask {str(path)!r} has image mode {mode!r}; save it as grayscale or RGB PNG")


def _gray_from_array(mask: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(mask)
    if a.dtype == bool:
        return a.astype(np.float64)
    if a.dtype == np.uint8:
        return a / 255.0
    if a.dtype == np.uint16:
        return a / 65535.0
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ParameterError(f"{name} of dtype {a.dtype} must be bool, uint8, uint16 or a float array in [0, 1]")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)) or a.size and (a.min() < 0 or a.max() > 1):
        raise ParameterError(
            f"{name} of dtype {mask.dtype} holds values outside [0, 1] (or NaN); scale it to 0..1 or pass a bool array"
        )
    return a


def _mask_gray(mask: Any, img: SpectrogramImage, name: str) -> tuple[np.ndarray, str | None]:
    """A mask (file or array) → gray in [0, 1] of the full image shape, image orientation."""
    source = None
    if isinstance(mask, SpectrogramImage):
        raise ParameterError(f"{name} must be a mask array or image file, not a SpectrogramImage; pass its .pixels")
    if isinstance(mask, (str, os.PathLike)):
        source = os.fspath(mask)
        gray = _gray_from_file(Path(mask))
    elif isinstance(mask, np.ndarray):
        gray = _gray_from_array(mask, name)
    else:
        raise ParameterError(f"{name}={type(mask).__name__} must be a numpy array or the path of an image file")
    rows, cols = img.shape
    n_bins = img.params.n_bins
    if gray.ndim == 2 and gray.shape == (rows, cols):
        return gray, source
    if gray.ndim == 2 and gray.shape == (n_bins, cols):
        return np.tile(gray, (img.params.n_channels, 1)), source
    what = f"{gray.shape[1]}×{gray.shape[0]}" if gray.ndim == 2 else f"of shape {gray.shape}"
    per_channel = f" (or {cols}×{n_bins} for one channel)" if img.params.n_channels > 1 else ""
    raise ParameterError(
        f"{name} {source or 'array'} is {what} (width×height) but the image is {cols}×{rows}{per_channel}; "
        "paint the mask on a copy of the image itself"
    )


def _blocks(a: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Full image (rows, frames) → (n_channels, n_bins, n_frames) in bin order."""
    b = a.reshape(params.n_channels, params.n_bins, a.shape[-1])
    return b[:, ::-1, :] if params.flip else b


def inpaint(
    img: SpectrogramImage,
    mask: MaskLike,
    *,
    method: InpaintMethod = "telea",
    radius: float = 3.0,
    threshold: float = 0.5,
) -> SpectrogramImage:
    """Remove a region and fill it from its surroundings.

    Parameters
    ----------
    img : SpectrogramImage
    mask : np.ndarray or path
        The hole, in **image orientation**: a bool array (True = fill), or a gray/RGB
        image file or numeric array whose gray level is above ``threshold`` (0..1; uint8 /
        uint16 arrays are scaled by 255 / 65535). Shape: the whole image
        ``img.pixels.shape``, or one channel block ``(n_bins, n_frames)`` applied to every
        channel.
    method : {"telea", "ns", "biharmonic"}
        ``"telea"`` / ``"ns"``: :func:`cv2.inpaint` (fast marching [1]_ / Navier-Stokes
        [2]_) on the level scaled to 0..65535, as float32; ``"biharmonic"``:
        :func:`skimage.restoration.inpaint_biharmonic` [3]_ (smoothest, slowest).
    radius : float > 0 [scalar], pixels
        Neighbourhood of each filled pixel for telea / ns (cv2's ``inpaintRadius``).
    threshold : float in [0, 1)
        Gray level above which a mask pixel belongs to the hole.

    Returns
    -------
    SpectrogramImage
        Pixels outside the hole are bit-identical to the input's. ``edits`` gains
        ``{"op": "inpaint", "method": ..., "radius": pixels (None for biharmonic),
        "mask": path or None, "pixels": number of filled pixels}``.

    Raises
    ------
    ParameterError
        If the method is unknown or the mask's size differs from the image's.
    MissingFileError, FormatError
        If the mask file does not exist or is not an image.

    References
    ----------
    .. [1] A. Telea, "An image inpainting technique based on the fast marching method",
       J. Graphics Tools 9(1), 2004, doi:10.1080/10867651.2004.10487596.
    .. [2] M. Bertalmio, A. L. Bertozzi, G. Sapiro, "Navier-Stokes, fluid dynamics, and
       image and video inpainting", CVPR 2001, doi:10.1109/CVPR.2001.990497.
    .. [3] S. B. Damelin, N. S. Hoang, "On surface completion and image inpainting by
       biharmonic functions", Int. J. Math. Math. Sci. 2018, doi:10.1155/2018/3950312.
    """
    img = _check_img(img)
    if method not in ("telea", "ns", "biharmonic"):
        raise ParameterError(f"method={method!r} is unknown; use 'telea', 'ns' or 'biharmonic'")
    r = _real("radius", radius)
    if r <= 0:
        raise ParameterError(f"radius={radius!r} must be > 0 (pixels)")
    thr = _real("threshold", threshold)
    if not 0 <= thr < 1:
        raise ParameterError(f"threshold={threshold!r} must be in [0, 1)")
    gray, source = _mask_gray(mask, img, "mask")
    p = img.params
    hole = _blocks(gray > thr, p)  # bin order
    S = _channels(img)
    out = S.copy()
    for c in range(p.n_channels):
        h = _oriented(hole[c], p)
        if not h.any():
            continue
        u = _oriented(_unit(S[c], p), p)
        if method == "biharmonic":
            from skimage.restoration import inpaint_biharmonic

            filled = inpaint_biharmonic(u, h, split_into_regions=True)
        else:
            import cv2

            flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
            # cv2's Telea assumes a 0..255-like scale (on 0..1 floats it overshoots wildly):
            # inpaint the level on the 16-bit scale, in float32.
            filled = cv2.inpaint(
                np.ascontiguousarray(u * 65535.0, dtype=np.float32), np.ascontiguousarray(h, dtype=np.uint8), r, flag
            ).astype(np.float64) / 65535.0
        out[c] = np.where(hole[c], _oriented(_from_unit(filled, p), p), S[c])
    edit = {
        "op": "inpaint", "method": method, "radius": None if method == "biharmonic" else r, "mask": source,
        "pixels": int(np.count_nonzero(hole)),
    }  # fmt: skip
    return _result(img, out, edit, changed=hole)


def _fade_time(w: np.ndarray, fade: float, params: SpectrogramParams) -> np.ndarray:
    """Extend a weight (…, n_frames) outward along time with a raised cosine of ``fade`` s."""
    dt = params.hop_length / params.sr  # type: ignore[operator]
    n = math.floor(fade / dt)
    out = w.copy()
    for k in range(1, n + 1):
        g = 0.5 * (1.0 + math.cos(math.pi * k * dt / fade))
        out[..., k:] = np.maximum(out[..., k:], g * w[..., :-k])
        out[..., :-k] = np.maximum(out[..., :-k], g * w[..., k:])
    return out


def apply_mask(
    img: SpectrogramImage,
    mask: MaskLike,
    *,
    db: float = -60.0,
    threshold: float | None = 0.5,
    fade: float = 0.0,
    invert: bool = False,
) -> SpectrogramImage:
    """Turn a black-and-white mask painted in any image editor into an attenuation.

    Convention: **white = attenuate, black = keep** (paint over what should go, e.g.
    white strokes on a black layer). ``invert=True`` swaps that for black strokes on
    white. Bins at the floor stay at the floor.

    Parameters
    ----------
    img : SpectrogramImage
    mask : np.ndarray or path
        In **image orientation**, the size of ``img.pixels`` (or of one channel block,
        applied to every channel). A file may be any image Pillow reads: L, RGB, RGBA,
        16-bit…; it is converted to gray 0..1 (ITU-R 601 luma; alpha composited over
        black, so unpainted transparent pixels keep). Arrays: bool, uint8 (/255), uint16
        (/65535) or float in [0, 1].
    db : float [scalar], dB
        Gain where the mask is white; negative attenuates (default −60 dB).
    threshold : float in [0, 1) or None
        Gray level above which a pixel counts as white (gets the full ``db``). None uses
        the gray level as a continuous weight, ``gain = gray * db``, so an anti-aliased
        or soft brush gives soft edges.
    fade : float >= 0 [scalar], seconds
        Outward raised-cosine edge along time around the painted area. 0 (default)
        applies the mask exactly as painted.
    invert : bool
        Black means attenuate.

    Returns
    -------
    SpectrogramImage
        Pixels where the weight is 0 are bit-identical to the input's. ``edits`` gains
        ``{"op": "apply_mask", "mask": path or None, "db": ..., "threshold": ..., "fade": ...,
        "invert": ..., "pixels": number of pixels with weight > 0}``.

    Raises
    ------
    ParameterError
        If the mask's size differs from the image's (both sizes are named), or an
        argument is invalid.
    MissingFileError, FormatError
        If the mask file does not exist or is not an image.
    """
    img = _check_img(img)
    g = _real("db", db)
    if threshold is not None:
        thr = _real("threshold", threshold)
        if not 0 <= thr < 1:
            raise ParameterError(f"threshold={threshold!r} must be in [0, 1), or None for a continuous mask")
    fade = _nonneg("fade", fade, "seconds")
    if not isinstance(invert, (bool, np.bool_)):
        raise ParameterError(f"invert={invert!r} must be True or False")
    gray, source = _mask_gray(mask, img, "mask")
    if invert:
        gray = 1.0 - gray
    w = (gray > thr).astype(np.float64) if threshold is not None else gray
    p = img.params
    w = _blocks(w, p)
    if fade > 0:
        w = _fade_time(w, fade, p)
    S = _channels(img)
    floor = S <= p.db_min
    out = np.where(floor, S, S + w * g)
    _warn_clipping(S, out, p, f"apply_mask(db={g:g})")
    changed = (w > 0) & ~floor
    edit = {
        "op": "apply_mask", "mask": source, "db": g, "threshold": threshold, "fade": fade, "invert": bool(invert),
        "pixels": int(np.count_nonzero(w > 0)),
    }  # fmt: skip
    return _result(img, out, edit, changed=changed)


# ---------------------------------------------------------------------------- apply
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
    img = _check_img(img)
    if not callable(func):
        raise ParameterError(f"func={func!r} must be callable: func(array) -> array of the same shape")
    if domain not in ("db", "unit"):
        raise ParameterError(f"domain={domain!r} must be 'db' or 'unit'")
    p = img.params
    name = _func_name(func)
    S = _channels(img)
    out = np.empty_like(S)
    for c in range(p.n_channels):
        a = _oriented(S[c], p)
        if domain == "unit":
            a = _unit(a, p)
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
            r = _from_unit(r, p)
        out[c] = _oriented(r, p)
    return _result(img, out, {"op": "apply", "func": name, "domain": domain})
