"""Spectrogram figures drawn by :func:`librosa.display.specshow` and saved as pictures.

The usual recipe is::

    Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    fig = plt.figure(figsize=(w, h), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1]); ax.axis("off")
    librosa.display.specshow(Xdb, sr=sr, y_axis="log", cmap="magma", ax=ax)
    fig.savefig("x.png", dpi=100)

:func:`from_figure` reads the colour of every pixel back to a level through the
colormap's own table, maps the figure's rows and columns back to STFT bins (or mel bands)
and frames through the axis scale matplotlib drew with, and returns a calibrated
:class:`~specimg.SpectrogramImage`.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any, Literal

import numpy as np
import scipy.sparse
from scipy.spatial import cKDTree

from ..errors import AssumptionWarning, FormatError, ParameterError
from ..image import SpectrogramImage, requantize
from ..params import SpectrogramParams
from ._common import ImageLike, image_from_db, positive, read_pixels, resolve_peak_db

__all__ = ["from_figure"]

#: librosa's names for a linear-frequency STFT axis and for a mel axis.
_Y_AXES = ("hz", "linear", "fft", "log", "mel")

#: Colour distance (CIELAB ΔE*ab, CIE76) above which a pixel is not a colour of the table.
_DELTA_E_OFF = 10.0
#: The colours do not fit the colormap if the median ΔE exceeds this, or if more than
#: _MAX_OFF_FRACTION of the pixels are off the table. Measured on specshow figures of
#: speech and music (hz, log, mel axes; magma, viridis, gray; 640x480 and 2000x2000 px):
#: PNG gives exactly 0 and 0 %; JPEG quality 95 a median ΔE of 0.5-2.4 and 0.1-10.9 %
#: of pixels above ΔE 10 (worst: dense music at 640x480 in magma). Figures read with the
#: wrong colormap give a median ΔE of 5.7-8 (magma vs inferno, the closest pair) to
#: 20-58 (viridis, plasma, cividis, gray, jet vs magma) and 11-100 % off the table.
_MAX_MEDIAN_DELTA_E = 4.0
_MAX_OFF_FRACTION = 0.25
#: A border line is margin when this fraction of its pixels is off the table (or white).
_MARGIN_LINE_FRACTION = 0.97
#: Relative disagreement between the columns (rows) the figure shows and those expected.
_SIZE_TOLERANCE = 0.10
#: Score (boundary change above the within-cell change, in units of its spread) from which
#: a figure's columns (rows) are taken to show runs of equal cells.
_MIN_CELL_SCORE = 4.0
#: Largest mean change between lines inside cells, relative to that at cell boundaries,
#: for a candidate cell count to count (PNG: 0; JPEG q95 measured below 0.1).
_MAX_INSIDE_CHANGE = 0.2
#: Narrowest cell, in pixels, that the figure's size checks look for.
_MIN_CELL_PX = 2.5

_SAVE_HINT = (
    "draw the spectrogram alone: fig = plt.figure(figsize=(w, h), dpi=100); "
    "ax = fig.add_axes([0, 0, 1, 1]); ax.axis('off'); librosa.display.specshow(..., ax=ax); "
    "fig.savefig(...), or crop the picture to the plot area"
)


def from_figure(
    image: ImageLike,
    *,
    sr: int = 22050,
    duration: float | None = None,
    n_samples: int | None = None,
    y_axis: str = "hz",
    cmap: str = "magma",
    top_db: float = 80.0,
    peak_db: float | None = None,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_mels: int = 128,
    fmin: float | None = None,
    fmax: float | None = None,
    htk: bool = False,
) -> SpectrogramImage:
    """Invert a saved :func:`librosa.display.specshow` figure to a calibrated image.

    The figure must show the plot area only (``fig.add_axes([0, 0, 1, 1])``,
    ``ax.axis("off")``), of ``Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(y)),
    ref=np.max)`` (or ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr),
    ref=np.max)`` with ``y_axis="mel"``), at any pixel size, PNG or JPEG.

    Each pixel's colour is matched to the nearest entry (in CIELAB) of the colormap's own
    table; entry ``i`` of ``N`` stands for the normalised level ``(i + 0.5) / N`` of the
    colour range ``[peak_db - top_db, peak_db]`` (specshow's colour limits are the data
    minimum and maximum, ``[-top_db, 0]`` for ``ref=np.max``). Rows and columns are then
    resampled to the STFT bins (or mel bands) and frames through the axis scale the figure
    was drawn with: averaged over the pixels of a cell when the figure has more pixels than
    the spectrogram, interpolated between pixel centres when it has fewer.

    Parameters
    ----------
    image : str, os.PathLike, PIL.Image.Image or np.ndarray [shape=(H, W, 3|4) or (H, W)]
        The figure: a file path, a Pillow image or an array. Colour (RGB or RGBA, alpha
        composited over white) or gray (for a gray colormap).
    sr : int > 0 [scalar]
        Sample rate in Hz passed to ``specshow`` and ``stft``; librosa's default 22050.
    duration : float > 0 [scalar] or None
        Length of the audio in seconds; ``n_samples = round(duration * sr)``.
    n_samples : int > 0 [scalar] or None
        Length of the audio in samples (instead of ``duration``). If neither is given, the
        number of frames is read from the figure when it is wider than the spectrogram
        (each frame is a run of equal columns), with an :class:`~specimg.AssumptionWarning`.
    y_axis : {"hz", "linear", "fft", "log", "mel"}
        ``y_axis`` given to ``specshow``. ``"hz"``, ``"linear"``, ``"fft"``: linear
        frequency axis; ``"log"``: librosa's symmetric-log axis (base 2, linear below C2
        = 65.4 Hz). These give a linear-frequency image with ``n_fft // 2 + 1`` rows.
        ``"mel"``: a mel spectrogram on librosa's mel axis (symmetric log, base 2, linear
        below 1 kHz); the result is a mel image with ``n_mels`` rows.
    cmap : str
        Name of the matplotlib colormap the figure used (any registered name, including
        ``"_r"`` reversals); specshow's default for signed-free data is ``"magma"``.
    top_db : float > 0 [scalar]
        Range in dB of the colour scale: ``amplitude_to_db``'s ``top_db`` (default 80).
    peak_db : float [scalar] or None
        Level in dBFS of the loudest bin. ``None`` → :func:`default_peak_db` (the level specimg's sample audio reads) with an
        :class:`~specimg.AssumptionWarning` (``ref=np.max`` discards the level).
    n_fft : int > 0 [scalar]
        FFT size of the STFT; librosa's default 2048.
    hop_length : int > 0 [scalar] or None
        Hop in samples of the STFT (also given to ``specshow``). None → ``win_length // 4``,
        librosa's default (512 for n_fft=2048).
    win_length : int > 0 [scalar] or None
        Window length, ``None`` → ``n_fft`` (librosa's default; the window is ``"hann"``).
    n_mels : int > 0 [scalar]
        Mel bands (``y_axis="mel"`` only); librosa's default 128.
    fmin, fmax : float >= 0 [scalar] or None
        Mel frequency range in Hz (``y_axis="mel"`` only), as given to both
        ``melspectrogram`` and ``specshow``; ``None`` → 0 and ``sr / 2``.
    htk : bool
        HTK mel formula instead of Slaney's (``y_axis="mel"`` only).

    Returns
    -------
    SpectrogramImage
        16-bit image of shape ``(n_fft // 2 + 1, n_frames)`` (linear) or ``(n_mels,
        n_frames)`` (mel, power 2, Slaney norm), ``n_frames = 1 + n_samples //
        hop_length`` (``center=True``), with ``params.n_samples`` set; levels in dBFS.

    Raises
    ------
    ParameterError
        If ``y_axis`` or ``cmap`` is unknown (the message suggests close names), if a
        parameter is out of range, if ``duration`` and ``n_samples`` disagree, if neither
        is given and the figure does not show its frame count, or if the figure clearly
        shows a different number of frames (or STFT bins) than the parameters imply.
    FormatError
        If the picture is not an image, if it still holds axes, labels, a colorbar or
        white margins, or if its colours do not belong to ``cmap`` (the message names the
        registered colormaps that fit best).

    Warns
    -----
    AssumptionWarning
        If ``peak_db`` is None, or if the frame count was read from the figure.

    References
    ----------
    .. [1] B. McFee et al., "librosa: Audio and music signal analysis in Python",
       Proc. 14th Python in Science Conf., 2015 (``librosa.display.specshow``).
    .. [2] J. D. Hunter, "Matplotlib: A 2D graphics environment", Computing in Science &
       Engineering 9(3), 2007 (``pcolormesh`` with ``shading="nearest"``, ``symlog``).
    .. [3] CIE 15:2004, Colorimetry (CIELAB and the ΔE*ab colour difference).
    """
    if y_axis not in _Y_AXES:
        raise ParameterError(
            f"y_axis={y_axis!r} is not a frequency axis this reader knows; use one of "
            f"{', '.join(repr(a) for a in _Y_AXES)} (librosa.display.specshow's names)"
        )
    top_db = positive("top_db", top_db, " of dB (amplitude_to_db's default is 80)")
    scale: Literal["linear", "mel"] = "mel" if y_axis == "mel" else "linear"
    base = SpectrogramParams(
        sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window="hann", center=True,
        scale=scale, n_mels=n_mels, fmin=0.0 if fmin is None else fmin, fmax=fmax, htk=htk,
        norm="slaney", power=2.0,
    )
    hop_length = base.hop_length

    lut_lab = _colormap_lab(cmap)
    n_lut = lut_lab.shape[0]

    pixels, _ = read_pixels(image, what="image")
    gray_input = pixels.ndim == 2
    packed = _packed_rgb(pixels)
    height, width = packed.shape
    index, delta_e, counts = _nearest_entries(packed, lut_lab)

    _check_margins(packed, delta_e, lut_lab, cmap)
    _check_colours(packed, delta_e, counts, cmap, gray_input)

    n_bins = base.n_bins
    n_frames_seen = _count_cells(_line_changes(packed, axis=1))
    if n_samples is None and duration is None:
        if n_frames_seen is None:
            raise ParameterError(
                f"the figure ({width} px wide) does not show how many frames it holds; pass "
                "duration=<seconds> (or n_samples=) of the audio"
            )
        n_samples = base.length_for(n_frames_seen)
        warnings.warn(
            f"the figure shows {n_frames_seen} frames (runs of equal columns), i.e. "
            f"{n_samples / sr:.3f} s at sr={sr}, hop_length={hop_length}; pass duration= to set it",
            AssumptionWarning,
            stacklevel=2,
        )
    n_samples = _resolve_length(duration, n_samples, sr)
    params = base.replace(n_samples=n_samples)
    n_frames = params.frames_for(n_samples)
    if n_frames_seen is not None and abs(n_frames_seen - n_frames) > _SIZE_TOLERANCE * n_frames:
        implied = params.length_for(n_frames_seen) / sr
        raise ParameterError(
            f"the figure shows about {n_frames_seen} frames (runs of equal columns) but "
            f"{n_samples} samples at hop_length={hop_length} make {n_frames}; the figure implies "
            f"duration ≈ {implied:.2f} s (at sr={sr}, hop_length={hop_length}). Check duration, sr and hop_length"
        )
    if y_axis in ("hz", "linear", "fft"):
        n_rows_seen = _count_cells(_line_changes(packed, axis=0))
        if n_rows_seen is not None and abs(n_rows_seen - n_bins) > _SIZE_TOLERANCE * n_bins:
            raise ParameterError(
                f"the figure shows about {n_rows_seen} frequency bins (runs of equal rows) but n_fft={n_fft} "
                f"makes {n_bins}; the figure implies n_fft ≈ {2 * (n_rows_seen - 1)}. Check n_fft and y_axis"
            )

    peak = resolve_peak_db(peak_db, params, source="a colour scale", stacklevel=3)
    level = peak + ((index.astype(np.float64) + 0.5) / n_lut - 1.0) * float(top_db)

    lo, hi = _row_cells(y_axis, params)
    rows = _cell_weights((1.0 - hi) * height, (1.0 - lo) * height, height)
    edges = np.arange(n_frames + 1) / n_frames
    cols = _cell_weights(edges[:-1] * width, edges[1:] * width, width)
    S_db = np.asarray(cols @ np.asarray(rows @ level).T).T
    return image_from_db(S_db, params)


# ---------------------------------------------------------------------- colours
def _colormap(cmap: str) -> Any:
    import matplotlib

    if not isinstance(cmap, str):
        raise ParameterError(f"cmap={cmap!r} must be the name of a matplotlib colormap")
    try:
        return matplotlib.colormaps[cmap]
    except KeyError:
        names = list(matplotlib.colormaps)
        close = difflib.get_close_matches(cmap, names, n=4, cutoff=0.5)
        if not close:
            close = difflib.get_close_matches(cmap.lower(), [n.lower() for n in names], n=4, cutoff=0.5)
            close = [n for n in names if n.lower() in close]
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "see list(matplotlib.colormaps)"
        raise ParameterError(f"cmap={cmap!r} is not a registered matplotlib colormap; {hint}") from None


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB of RGB values in [0, 1], shape (..., 3)."""
    from skimage.color import rgb2lab

    return np.asarray(rgb2lab(np.clip(rgb, 0.0, 1.0)), dtype=np.float64)


def _colormap_lab(cmap: str) -> np.ndarray:
    """CIELAB of the colormap's lookup table: entry ``i`` of ``N`` stands for ``(i + 0.5) / N``."""
    cm = _colormap(cmap)
    table = np.asarray(cm(np.arange(cm.N)), dtype=np.float64)[:, :3]
    # matplotlib writes 8-bit pixels: compare with the colours a figure can actually hold
    return _lab(np.round(table * 255.0) / 255.0)


def _packed_rgb(pixels: np.ndarray) -> np.ndarray:
    """8-bit colours packed as ``r << 16 | g << 8 | b`` (gray levels as ``(g, g, g)``)."""
    # pictures.read_picture gave bool, uint8, uint16 or float: each by its dtype's full scale
    rgb8 = pixels if pixels.dtype == np.uint8 else requantize(pixels, 8)
    g = rgb8.astype(np.uint32)
    if g.ndim == 2:
        return g * np.uint32(0x010101)
    return (g[..., 0] << 16) | (g[..., 1] << 8) | g[..., 2]


def _unpack(packed: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] of packed colours, shape (..., 3)."""
    p = np.asarray(packed, dtype=np.uint32)
    return np.stack([(p >> 16) & 255, (p >> 8) & 255, p & 255], axis=-1).astype(np.float64) / 255.0


def _nearest_entries(packed: np.ndarray, lut_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest table entry and its ΔE for every pixel, via the distinct colours.

    Returns
    -------
    index : np.ndarray [shape=(H, W)], int
    delta_e : np.ndarray [shape=(H, W)], float32
    counts : np.ndarray [shape=(2, n_colours)]: the distinct packed colours and their counts
    """
    flat = packed.ravel()
    uniq, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    dist, idx = cKDTree(lut_lab).query(_lab(_unpack(uniq)))
    index = idx.astype(np.int32)[inverse].reshape(packed.shape)
    delta_e = dist.astype(np.float32)[inverse].reshape(packed.shape)
    return index, delta_e, np.stack([uniq.astype(np.int64), counts.astype(np.int64)])


def _check_colours(packed: np.ndarray, delta_e: np.ndarray, counts: np.ndarray, cmap: str, gray: bool) -> None:
    median = float(np.median(delta_e))
    off = float(np.mean(delta_e > _DELTA_E_OFF))
    if median <= _MAX_MEDIAN_DELTA_E and off <= _MAX_OFF_FRACTION:
        return
    best = _best_colormaps(counts)
    fits = ", ".join(f"{name!r} (median ΔE {d:.1f})" for name, d in best)
    extra = ""
    if gray and not any(name == cmap for name, _ in best):
        extra = " The picture is grayscale: a colour figure converted to gray cannot be read back; use the original."
    raise FormatError(
        f"the colours of the figure do not match cmap={cmap!r}: median colour distance ΔE = {median:.1f} and "
        f"{100 * off:.1f} % of pixels are more than ΔE {_DELTA_E_OFF:g} from every colour of {cmap!r} "
        f"(a lossless figure drawn with it gives 0, JPEG quality 95 about 1). Registered colormaps that fit best: "
        f"{fits} (a '_r' reversal has the same colours in reverse order).{extra}"
    )


def _best_colormaps(counts: np.ndarray, n_best: int = 4, n_sample: int = 4000) -> list[tuple[str, float]]:
    """Registered colormaps ranked by median ΔE over a sample of the figure's colours."""
    import matplotlib

    uniq, freq = counts
    rng = np.random.default_rng(0)
    sample = rng.choice(uniq, size=min(n_sample, int(freq.sum())), p=freq / freq.sum())
    lab = _lab(_unpack(sample))
    scores: list[tuple[float, str]] = []
    seen: dict[bytes, float] = {}
    for name in matplotlib.colormaps:
        if name.endswith("_r") and name[:-2] in matplotlib.colormaps:
            continue  # same colours as its forward version
        cm = matplotlib.colormaps[name]
        table = np.round(np.asarray(cm(np.arange(cm.N)))[:, :3] * 255.0) / 255.0
        key = table.tobytes()
        if key not in seen:
            seen[key] = float(np.median(cKDTree(_lab(table)).query(lab)[0]))
        scores.append((seen[key], name))
    scores.sort()
    return [(name, d) for d, name in scores[:n_best]]


# ---------------------------------------------------------------------- margins and axes
def _edge_lines(mask: np.ndarray) -> list[tuple[str, int]]:
    """For each side, how many outermost lines are (nearly) entirely ``mask``."""
    out = []
    for side, frac in (
        ("top", mask.mean(axis=1)),
        ("bottom", mask.mean(axis=1)[::-1]),
        ("left", mask.mean(axis=0)),
        ("right", mask.mean(axis=0)[::-1]),
    ):
        bad = frac >= _MARGIN_LINE_FRACTION
        n = int(np.argmin(bad)) if not bad.all() else bad.size
        out.append((side, n))
    return out


def _check_margins(packed: np.ndarray, delta_e: np.ndarray, lut_lab: np.ndarray, cmap: str) -> None:
    height, width = packed.shape
    white_lab = _lab(np.ones(3))
    dist_white = np.linalg.norm(lut_lab - white_lab, axis=1)
    white_in_table = float(dist_white.min()) < 3.0
    near_white = _near_white(packed)
    off = delta_e > _DELTA_E_OFF
    problems: list[str] = []
    # 1. borders of colours that are not in the colormap (white figure background, labels),
    #    around a centre that is (else the colormap is wrong: _check_colours says so)
    centre = delta_e[int(0.3 * height): int(0.7 * height) + 1, int(0.3 * width): int(0.7 * width) + 1]
    if float(np.median(centre)) <= _MAX_MEDIAN_DELTA_E and float(np.mean(centre > _DELTA_E_OFF)) <= _MAX_OFF_FRACTION:
        for side, n in _edge_lines(off | (near_white & ~white_in_table)):
            if n >= 2:
                problems.append(f"{n} px at the {side} are not colours of {cmap!r}")
    # 2. white borders when white is a colour of the table
    if white_in_table and not problems:
        white_entry = int(np.argmin(dist_white))
        white_is_loud = white_entry >= lut_lab.shape[0] // 2
        sides = [(s, n) for s, n in _edge_lines(near_white) if n >= 2]
        if sides and white_is_loud:
            # whole lines at the loudest level do not happen in a spectrogram
            problems += [f"{n} px at the {s} are uniformly white" for s, n in sides]
        elif len(sides) >= 3 or (sides and _has_frame_line(packed, sides)):
            problems += [f"{n} px at the {s} are uniformly white" for s, n in sides]
    if problems:
        raise FormatError(
            f"the picture ({width}x{height} px) still shows figure margins, axes, labels or a colorbar "
            f"around the spectrogram ({'; '.join(problems)}); {_SAVE_HINT}"
        )


def _near_white(packed: np.ndarray) -> np.ndarray:
    r, g, b = (packed >> 16) & 255, (packed >> 8) & 255, packed & 255
    return np.asarray((r >= 245) & (g >= 245) & (b >= 245))


def _has_frame_line(packed: np.ndarray, sides: list[tuple[str, int]]) -> bool:
    """An axes spine: a straight dark line just inside a white margin."""
    lum = (((packed >> 16) & 255) + ((packed >> 8) & 255) + (packed & 255)) / 3.0
    for side, n in sides:
        for k in (n, n + 1):
            if side == "top" and k < lum.shape[0]:
                line = lum[k]
            elif side == "bottom" and k < lum.shape[0]:
                line = lum[-1 - k]
            elif side == "left" and k < lum.shape[1]:
                line = lum[:, k]
            elif side == "right" and k < lum.shape[1]:
                line = lum[:, -1 - k]
            else:
                continue
            inner = line[line.size // 5: line.size - line.size // 5]
            if np.mean(inner < 100) >= 0.9:
                return True
    return False


# ---------------------------------------------------------------------- size
def _line_changes(packed: np.ndarray, axis: int) -> np.ndarray:
    """Mean absolute RGB change (0-255) between neighbouring columns (axis=1) or rows (axis=0)."""
    rgb = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=-1).astype(np.float32)
    other = 0 if axis == 1 else 1
    return np.asarray(np.abs(np.diff(rgb, axis=axis)).mean(axis=(other, 2)), dtype=np.float64)


def _count_cells(change: np.ndarray, *, min_score: float = _MIN_CELL_SCORE) -> int | None:
    """Number of equal-width data cells drawn across ``change.size + 1`` pixel lines, or None.

    pcolormesh paints pixel line ``c`` with the cell under its centre, so ``n`` cells put
    boundaries exactly where ``floor((c + 0.5) * n / n_px)`` changes. Each candidate
    ``n <= n_px / 2.5`` (cells at least 2.5 px wide) is scored by how far the changes at its
    boundaries stand above the changes elsewhere, in units of their spread; the figure's
    own ``n`` scores far above every other (within a cell, lossless lines are identical).
    None when no candidate stands out, e.g. when the figure is narrower than the data.
    """
    n_px = change.size + 1
    if n_px < 16:
        return None
    cands = np.arange(4, int(n_px / _MIN_CELL_PX) + 1)
    if cands.size == 0:
        return None
    centres = np.arange(n_px) + 0.5
    best_n, best_score = 0, -np.inf
    for chunk in np.array_split(cands, max(1, cands.size * n_px // 4_000_000 + 1)):
        cell = np.floor(np.outer(chunk, centres) / n_px)
        bound = np.diff(cell, axis=1) > 0  # (n_cands, n_px - 1)
        n_b = bound.sum(axis=1)
        n_o = bound.shape[1] - n_b
        s_b = bound @ change
        s_o = change.sum() - s_b
        mean_b = s_b / np.maximum(n_b, 1)
        mean_o = s_o / np.maximum(n_o, 1)
        var_o = ((~bound) @ change**2) / np.maximum(n_o, 1) - mean_o**2
        score = (mean_b - mean_o) / (np.sqrt(np.maximum(var_o, 0.0)) + 0.5)
        # Within a real cell the lines are (nearly) identical: a candidate whose lines change
        # inside its cells about as much as at its boundaries is structure in the sound (a
        # loop, a rhythm), not cells; e.g. a 10-s loop repeated over a 60-s figure.
        score = np.where(mean_o <= _MAX_INSIDE_CHANGE * mean_b, score, -np.inf)
        k = int(np.argmax(score))
        if score[k] > best_score:
            best_n, best_score = int(chunk[k]), float(score[k])
    return best_n if best_score >= min_score else None


# ---------------------------------------------------------------------- geometry
def _row_cells(y_axis: str, params: SpectrogramParams) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of each data row, as fractions of the figure height from the bottom.

    specshow draws ``pcolormesh(x, y, data, shading="auto")`` with one coordinate per row:
    edges lie halfway between coordinates (in data units) and half a spacing beyond the
    ends, the axis spans the mesh, and the y scale maps it to the figure.
    """
    import librosa
    from matplotlib.scale import SymmetricalLogTransform

    if y_axis == "mel":
        coords = librosa.mel_frequencies(
            n_mels=params.n_mels, fmin=params.fmin, fmax=params.fmax, htk=params.htk
        )
    else:
        coords = librosa.fft_frequencies(sr=params.sr, n_fft=params.n_fft)
    coords = np.asarray(coords, dtype=np.float64)
    if coords.size > 1:
        d = np.diff(coords) / 2
        edges = np.concatenate([[coords[0] - d[0]], coords[:-1] + d, [coords[-1] + d[-1]]])
    else:
        edges = np.array([coords[0] - 0.5, coords[0] + 0.5])
    t: np.ndarray = edges
    if y_axis == "mel":  # librosa.display's axis scales (symlog base 2)
        t = np.asarray(SymmetricalLogTransform(2, 1000.0, 1.0).transform_non_affine(edges), dtype=np.float64)
    elif y_axis == "log":
        linthresh = float(librosa.note_to_hz("C2"))
        t = np.asarray(SymmetricalLogTransform(2, linthresh, 0.5).transform_non_affine(edges), dtype=np.float64)
    frac = (t - t[0]) / (t[-1] - t[0])
    return frac[:-1], frac[1:]


def _cell_weights(a: np.ndarray, b: np.ndarray, n_px: int) -> scipy.sparse.csr_matrix:
    """Weights (n_cells, n_px) that read each cell ``[a, b)`` (pixel units) from pixel lines.

    A cell at least one pixel tall averages the pixels it covers (area-weighted, half a
    pixel trimmed at both ends so that neighbours' edge pixels count little); a smaller
    cell is interpolated linearly between the centres of the two nearest pixels.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = a.size
    width = b - a
    big = width >= 1.0
    trim = np.where(big, np.minimum(0.5, (width - 1.0) / 2), 0.0)
    lo = np.clip(a + trim, 0.0, n_px)
    hi = np.clip(b - trim, 0.0, n_px)
    # area-weighted cells
    cells_big = np.flatnonzero(big)
    start = np.floor(lo[cells_big]).astype(np.int64)
    stop = np.maximum(np.ceil(hi[cells_big]).astype(np.int64), start + 1)
    stop = np.minimum(stop, n_px)
    start = np.minimum(start, n_px - 1)
    span = np.maximum(stop - start, 1)
    row_big = np.repeat(cells_big, span)
    offsets = np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
    px_big = np.repeat(start, span) + offsets
    w_big = np.minimum(px_big + 1, np.repeat(hi[cells_big], span)) - np.maximum(px_big, np.repeat(lo[cells_big], span))
    w_big = np.maximum(w_big, 0.0)
    # interpolated cells
    cells_small = np.flatnonzero(~big)
    pos = np.clip((a[cells_small] + b[cells_small]) / 2 - 0.5, 0.0, n_px - 1.0)
    p0 = np.minimum(np.floor(pos).astype(np.int64), n_px - 1)
    p1 = np.minimum(p0 + 1, n_px - 1)
    f = pos - p0
    rows = np.concatenate([row_big, cells_small, cells_small])
    cols = np.concatenate([px_big, p0, p1])
    vals = np.concatenate([w_big, 1.0 - f, f])
    m = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, n_px))
    total = np.asarray(m.sum(axis=1)).ravel()
    empty = total <= 0
    if np.any(empty):  # a cell that trimmed to nothing: nearest pixel
        centre = np.clip(((a + b) / 2)[empty].astype(np.int64), 0, n_px - 1)
        m = m + scipy.sparse.csr_matrix((np.ones(centre.size), (np.flatnonzero(empty), centre)), shape=(n, n_px))
        total = np.asarray(m.sum(axis=1)).ravel()
    return scipy.sparse.csr_matrix(scipy.sparse.diags(1.0 / total) @ m)


def _resolve_length(duration: float | None, n_samples: int | None, sr: int) -> int:
    from_duration = None
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, (int, float, np.integer, np.floating)) or not (
            np.isfinite(duration) and duration > 0
        ):
            raise ParameterError(f"duration={duration!r} must be a positive length in seconds")
        from_duration = round(float(duration) * sr)
    if n_samples is not None:
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples <= 0:
            raise ParameterError(f"n_samples={n_samples!r} must be a positive number of samples")
        if from_duration is not None and abs(from_duration - int(n_samples)) > 1:
            raise ParameterError(
                f"duration={duration!r} s is {from_duration} samples at sr={sr}, but n_samples={n_samples}; "
                "pass only one of them"
            )
        return int(n_samples)
    assert from_duration is not None
    return max(from_duration, 1)
