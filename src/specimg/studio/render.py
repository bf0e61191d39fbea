"""Pictures of the spectrogram at the zoom the page shows: a level-of-detail pyramid (the
loudest of merged frames), colormaps from matplotlib, a linear, log or mel display axis,
tick marks, and a small PNG writer for the colour pictures the page draws (zlib level 1
without row filters: on a noisy 1062 × 650 view 33 ms and 0.9 MB, where Pillow's encoder
at compress_level=1 takes 83 ms for 1.6 MB), or the raw RGBA pixels.

The page never receives the full-resolution array: a view is at most 4096 × 4096 pixels,
read from the pyramid level whose frames are no finer than the view's columns.
"""

from __future__ import annotations

import struct
import threading
import zlib
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..image import pixel_max, pixels_to_db
from ..params import SpectrogramParams

__all__ = ["Pyramid", "View", "png_bytes", "COLORMAPS", "FREQ_AXES", "VIEW_FORMATS", "render", "render_rgb", "axes",
           "colorbar", "overlay"]

#: Colormaps the page may ask for (matplotlib's names).
COLORMAPS = ("magma", "viridis", "inferno", "plasma", "gray", "gray_r", "cividis", "turbo")
FREQ_AXES = ("linear", "log", "mel")
#: What /api/view can answer: a PNG, or raw RGBA bytes.
VIEW_FORMATS = ("png", "rgba")
#: Largest view side in pixels.
MAX_SIDE = 4096
#: Frames merged by the finest pyramid level (finer views read the pixels themselves).
FIRST_FACTOR = 8


def png_bytes(rgb: np.ndarray, *, level: int = 1) -> bytes:
    """A PNG file of an (H, W, 3) RGB or (H, W, 4) RGBA uint8 picture.

    Examples
    --------
    >>> png_bytes(np.zeros((2, 3, 3), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    h, w, c = rgb.shape
    raw = np.empty((h, 1 + w * c), dtype=np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = rgb.reshape(h, w * c)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    head = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw.tobytes(), level)) + chunk(b"IEND", b"")


@lru_cache(maxsize=16)
def _cmap(name: str) -> np.ndarray:
    import matplotlib

    if name not in COLORMAPS:
        raise ParameterError(f"cmap={name!r:.30} is unknown; use one of {', '.join(COLORMAPS)}")
    return (matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255 + 0.5).astype(np.uint8)


@lru_cache(maxsize=8)
def _lut(params_json: str, bit_depth: int, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    params = SpectrogramParams.from_json(params_json)
    values = np.arange(int(pixel_max(bit_depth)) + 1)
    return _colour(pixels_to_db(values, params), cmap, vmin, vmax)


def _colour(db: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    x = np.clip((db - vmin) / max(vmax - vmin, 1e-9), 0.0, 1.0)
    return _cmap(cmap)[np.rint(x * 255).astype(np.intp)]


class Pyramid:
    """Maxima over 8, 16, 32 ... frames of an image's pixels (minima for ``invert``).

    Parameters
    ----------
    pixels : np.ndarray, the image rows (kept by reference: level 0)
    params : SpectrogramParams
    """

    def __init__(self, pixels: np.ndarray, params: SpectrogramParams) -> None:
        self.pixels = pixels
        self.reduce = np.minimum if params.invert else np.maximum
        self.levels: list[tuple[int, np.ndarray]] = []
        self.lock = threading.Lock()
        n = pixels.shape[1]
        factor = FIRST_FACTOR
        prev = None
        while factor < n or prev is None:
            if prev is None:
                level = self.reduce.reduceat(pixels, np.arange(0, n, factor), axis=1)
            else:
                level = self.reduce.reduceat(prev, np.arange(0, prev.shape[1], 2), axis=1)
            self.levels.append((factor, level))
            prev = level
            factor *= 2
            if level.shape[1] <= 1:
                break

    def update(self, a: int, b: int) -> None:
        """Recompute the levels over frames ``[a, b)`` after the pixels changed there."""
        if b <= a:
            return
        with self.lock:
            n = self.pixels.shape[1]
            for factor, level in self.levels:
                c0, c1 = a // factor, min(-(-b // factor), level.shape[1])
                lo, hi = c0 * factor, min(c1 * factor, n)
                level[:, c0:c1] = self.reduce.reduceat(self.pixels[:, lo:hi], np.arange(0, hi - lo, factor), axis=1)

    def columns(self, starts: np.ndarray, frames_per_px: float, rows: slice) -> np.ndarray:
        """The reduced pixels of ``rows`` over columns starting at frames ``starts`` (non-decreasing)."""
        factor, data = 1, self.pixels
        for f, level in self.levels:
            if f <= frames_per_px:
                factor, data = f, level
        idx = np.minimum(starts // factor, data.shape[1] - 1)
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        if frames_per_px > factor:
            hi = min(data.shape[1], int(idx[-1]) + max(1, int(frames_per_px // factor)))
        with self.lock:
            block = data[rows, lo:hi]
            if frames_per_px <= 1:
                return block[:, idx - lo]
            return self.reduce.reduceat(block, idx - lo, axis=1)


class View:
    """The geometry of one view: time ``t0..t1`` left to right, frequency ``f0..f1`` bottom to top."""

    def __init__(self, params: SpectrogramParams, n_frames: int, q: dict[str, Any]) -> None:
        self.params, self.n_frames = params, n_frames
        dur = params.output_length(n_frames) / params.sr
        top = params.fmax if params.scale == "mel" else params.sr / 2
        self.t0, self.t1 = _num(q, "t0", 0.0), _num(q, "t1", dur)
        self.f0, self.f1 = _num(q, "f0", 0.0), _num(q, "f1", top)
        self.width, self.height = int(_num(q, "width", 1024)), int(_num(q, "height", 512))
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE):
            raise ParameterError(f"width={self.width} and height={self.height} must be from 1 to {MAX_SIDE} pixels")
        if not (self.t0 < self.t1 and self.f0 < self.f1):
            raise ParameterError(f"the view t0={self.t0:g}..t1={self.t1:g} s, f0={self.f0:g}..f1={self.f1:g} Hz is empty")
        self.axis = str(q.get("freq_axis") or "linear")
        if self.axis not in FREQ_AXES:
            raise ParameterError(f"freq_axis={self.axis!r:.20} must be one of {', '.join(FREQ_AXES)}")
        ch = q.get("channel", "all")
        if ch in (None, "", "all", "null"):
            self.channels = list(range(params.n_channels))
        else:
            try:
                c = int(ch)
            except (TypeError, ValueError):
                raise ParameterError(f"channel={ch!r:.20} must be a channel number or 'all'") from None
            if not 0 <= c < params.n_channels:
                raise ParameterError(f"channel={c} must be in [0, {params.n_channels}) or 'all'")
            self.channels = [c]
        k = len(self.channels)
        edges = [round(i * self.height / k) for i in range(k + 1)]
        self.bands = [(edges[i], edges[i + 1], c) for i, c in enumerate(self.channels)]

    # frequency axis -------------------------------------------------------------
    def _fwd(self, f: np.ndarray) -> np.ndarray:
        if self.axis == "log":
            return np.log(np.maximum(f, self._log_floor()))
        if self.axis == "mel":
            import librosa

            return np.asarray(librosa.hz_to_mel(f))
        return np.asarray(f, dtype=np.float64)

    def _inv(self, g: np.ndarray) -> np.ndarray:
        if self.axis == "log":
            return np.exp(g)
        if self.axis == "mel":
            import librosa

            return np.asarray(librosa.mel_to_hz(g))
        return g

    def _log_floor(self) -> float:
        return max(self.params.sr / self.params.n_fft, 1.0)

    def row_freqs(self, h: int, *, edges: bool = False) -> np.ndarray:
        """Frequencies of ``h`` rows, top to bottom (their centres, or ``h + 1`` edges)."""
        g0, g1 = self._fwd(np.array(self.f0)), self._fwd(np.array(self.f1))
        pos = np.arange(h + 1) if edges else np.arange(h) + 0.5
        return self._inv(g1 - (g1 - g0) * pos / h)

    def frame_of(self, t: np.ndarray) -> np.ndarray:
        p = self.params
        offset = (p.n_fft // 2 - (p.n_fft // 2 if p.center else 0)) / p.sr
        return (np.asarray(t) - offset) * p.sr / p.hop_length

    def x_to_time(self) -> dict[str, float]:
        return {"t0": self.t0, "t1": self.t1}


def _num(q: dict[str, Any], key: str, default: float) -> float:
    value = query_number(q, key, default)
    assert value is not None
    return value


def query_number(q: Any, key: str, default: float | None) -> float | None:
    """The number a request's query gives for ``key``; ``default`` when absent, empty or null.

    Raises
    ------
    ParameterError
        If the value is not a finite number.
    """
    value = q.get(key)
    if value in (None, "", "null"):
        return default
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{key}={value!r:.30} must be a number") from None
    if not np.isfinite(v):
        raise ParameterError(f"{key}={value!r:.30} must be finite")
    return v


def _columns(view: View) -> tuple[np.ndarray, float]:
    fr = view.frame_of(view.t0 + (view.t1 - view.t0) * np.arange(view.width + 1) / view.width)
    starts = np.clip(np.floor(fr[:-1] + 0.5), 0, view.n_frames - 1).astype(np.intp)
    return starts, float((fr[-1] - fr[0]) / view.width)


def _rows(view: View, h: int) -> np.ndarray:
    """Row start indices (bin order, non-decreasing) of ``h`` display rows, bottom to top."""
    freqs = view.params.frequencies
    edges = view.row_freqs(h, edges=True)[::-1]  # bottom to top
    pos = np.interp(edges, freqs, np.arange(freqs.size, dtype=np.float64))
    return np.clip(np.floor(pos[:-1] + 0.5), 0, freqs.size - 1).astype(np.intp)


def gather(pyramid: Pyramid, view: View) -> list[tuple[int, int, int, np.ndarray]]:
    """For each channel band: (y_top, y_bottom, channel, pixels of the band, top row first)."""
    p = view.params
    starts, fpp = _columns(view)
    out = []
    for y0, y1, c in view.bands:
        h = y1 - y0
        if h <= 0:
            continue
        cols = pyramid.columns(starts, fpp, slice(c * p.n_bins, (c + 1) * p.n_bins))  # image rows
        bins = cols[::-1] if p.flip else cols  # bin order
        rows = _rows(view, h)
        bins_per_px = (rows[-1] - rows[0]) / max(h, 1)
        if bins_per_px > 1:
            band = pyramid.reduce.reduceat(bins, rows, axis=0)
        else:
            band = bins[rows]
        out.append((y0, y1, c, band[::-1]))
    return out


def render(pyramid: Pyramid, view: View, *, cmap: str = "magma", vmin: float | None = None,
           vmax: float | None = None, fmt: str = "png") -> bytes:  # fmt: skip
    """The picture of ``view`` (width × height, channels stacked top to bottom).

    ``fmt="png"``: a PNG file; ``fmt="rgba"``: the raw pixels, ``width * height * 4``
    bytes, rows top to bottom (what a canvas's ``putImageData`` takes; no coding on
    either side).
    """
    if fmt not in VIEW_FORMATS:
        raise ParameterError(f"format={fmt!r:.20} must be one of {', '.join(VIEW_FORMATS)}")
    rgb = render_rgb(pyramid, view, cmap=cmap, vmin=vmin, vmax=vmax)
    if fmt == "png":
        return png_bytes(rgb)
    rgba = np.empty((view.height, view.width, 4), dtype=np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255
    return rgba.tobytes()


def render_rgb(pyramid: Pyramid, view: View, *, cmap: str = "magma", vmin: float | None = None,
               vmax: float | None = None) -> np.ndarray:  # fmt: skip
    """The (height, width, 3) uint8 colours of ``view``."""
    p = view.params
    lo = p.db_min if vmin is None else vmin
    hi = p.db_max if vmax is None else vmax
    rgb = np.zeros((view.height, view.width, 3), dtype=np.uint8)
    for y0, y1, _, band in gather(pyramid, view):
        if p.bit_depth == 32:
            rgb[y0:y1] = _colour(pixels_to_db(band, p), cmap, lo, hi)
        else:
            rgb[y0:y1] = _lut(p.to_json(), p.bit_depth, cmap, float(lo), float(hi))[band]
    return rgb


def overlay(mask_at: Any, view: View, colour: tuple[int, int, int] = (80, 200, 255)) -> bytes:
    """RGBA PNG of a selection's soft mask over ``view``; ``mask_at(frames)`` gives (n_channels, n_bins, len(frames))."""
    starts, _ = _columns(view)
    rgba = np.zeros((view.height, view.width, 4), dtype=np.uint8)
    rgba[..., :3] = colour
    m = mask_at(starts)
    for y0, y1, c in view.bands:
        rows = _rows(view, y1 - y0)
        rgba[y0:y1, :, 3] = (np.clip(m[c][rows][::-1], 0, 1) * 110).astype(np.uint8)
    return png_bytes(rgba)


def _nice(span: float, n: int) -> float:
    raw = span / max(n, 1)
    mag = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return float(m * mag)
    return float(10 * mag)


def _hz(f: float) -> str:
    return f"{f / 1000:g} kHz" if f >= 1000 else f"{f:g} Hz"


def axes(view: View) -> dict[str, Any]:
    """Tick marks and the pixel → (time, frequency, channel) maps of ``view``."""
    step = _nice(view.t1 - view.t0, max(2, view.width // 110))
    ticks = np.arange(np.ceil(view.t0 / step) * step, view.t1 + 1e-9, step)
    digits = max(0, -int(np.floor(np.log10(step))))
    time_ticks = [[float((t - view.t0) / (view.t1 - view.t0) * view.width), f"{t:.{digits}f} s"] for t in ticks]
    freq_ticks: list[list[Any]] = []
    y_to_freq: list[float] = []
    for y0, y1, _ in view.bands:
        h = y1 - y0
        y_to_freq += [float(f) for f in view.row_freqs(h)]
        g0, g1 = view._fwd(np.array(view.f0)), view._fwd(np.array(view.f1))
        if view.axis == "log":
            cands = [m * 10.0**e for e in range(0, 6) for m in (1, 2, 5)]
        else:
            fs = _nice(view.f1 - view.f0, max(2, h // 60))
            cands = list(np.arange(np.ceil(view.f0 / fs) * fs, view.f1 + 1e-9, fs))
        for f in cands:
            if view.f0 <= f <= view.f1:
                y = y0 + float((g1 - view._fwd(np.array(f))) / (g1 - g0) * h)
                freq_ticks.append([y, _hz(float(f))])
    return {"time_ticks": time_ticks, "freq_ticks": freq_ticks, "x_to_time": view.x_to_time(),
            "y_to_freq": y_to_freq, "channel_rows": [[y0, y1, c] for y0, y1, c in view.bands]}  # fmt: skip


def colorbar(params: SpectrogramParams, *, cmap: str, height: int, vmin: float | None, vmax: float | None) -> bytes:
    """A 20 × ``height`` PNG: ``vmax`` at the top, ``vmin`` at the bottom."""
    if not 1 <= height <= MAX_SIDE:
        raise ParameterError(f"height={height} must be from 1 to {MAX_SIDE}")
    lo = params.db_min if vmin is None else vmin
    hi = params.db_max if vmax is None else vmax
    db = hi - (hi - lo) * (np.arange(height) + 0.5) / height
    col = _colour(db, cmap, lo, hi)
    return png_bytes(np.repeat(col[:, np.newaxis, :], 20, axis=1))
