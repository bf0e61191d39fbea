"""Time–frequency regions in seconds and Hz with soft edges: :func:`region_mask`,
:func:`erase`, :func:`gain`, and the time fade :func:`apply_mask` uses."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..image import SpectrogramImage
from ..params import SpectrogramParams, check_float
from ._core import (
    Span, channel_db, check_img, edited, frame_times, freq_span, nonneg, ramp, time_span, warn_clipping, whole,
)

__all__ = ["erase", "gain", "region_mask", "region_edit"]


def _resolve_fade_hz(params: SpectrogramParams, fade_hz: float | None) -> float:
    if fade_hz is None:
        return 4.0 * params.sr / params.n_fft
    return nonneg("fade_hz", fade_hz, "Hz")



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
    img = check_img(img)
    p = img.params
    t_span = time_span(*whole(img), time)
    f_span = freq_span(p, freq)
    fade = nonneg("fade", fade, "seconds")
    fade_hz_ = _resolve_fade_hz(p, fade_hz)
    w_t = ramp(frame_times(img), t_span, fade)
    w_f = ramp(img.frequencies, f_span, fade_hz_)
    return np.outer(w_f, w_t)


def region_edit(img: SpectrogramImage, time: Span, freq: Span, fade: float, fade_hz: float | None) -> dict[str, Any]:
    """The region's fields of an edit entry (resolved): time, freq, fade, fade_hz."""
    p = img.params
    t_span = time_span(*whole(img), time)
    f_span = freq_span(p, freq)
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
    img = check_img(img)
    w = region_mask(img, time=time, freq=freq, fade=fade, fade_hz=fade_hz)
    S = channel_db(img)
    with np.errstate(divide="ignore"):
        out = S + 20.0 * np.log10(np.clip(1.0 - w, 0.0, 1.0))
    out = np.maximum(out, img.params.db_min)
    edit = {"op": "erase", **region_edit(img, time, freq, fade, fade_hz)}
    return edited(img, out, edit, changed=w > 0)


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
    img = check_img(img)
    g = check_float("db", db)
    w = region_mask(img, time=time, freq=freq, fade=fade, fade_hz=fade_hz)
    S = channel_db(img)
    floor = S <= img.params.db_min
    out = np.where(floor, S, S + w * g)
    warn_clipping(S, out, img.params, f"gain(db={g:g})")
    edit = {"op": "gain", "db": g, **region_edit(img, time, freq, fade, fade_hz)}
    return edited(img, out, edit, changed=(w > 0) & ~floor)



def fade_time(w: np.ndarray, fade: float, params: SpectrogramParams) -> np.ndarray:
    """Extend a weight (…, n_frames) outward along time with a raised cosine of ``fade`` s."""
    dt = params.hop_length / params.sr
    n = math.floor(fade / dt)
    out = w.copy()
    for k in range(1, n + 1):
        g = 0.5 * (1.0 + math.cos(math.pi * k * dt / fade))
        out[..., k:] = np.maximum(out[..., k:], g * w[..., :-k])
        out[..., :-k] = np.maximum(out[..., :-k], g * w[..., k:])
    return out
