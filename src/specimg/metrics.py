"""Figures of merit for a round trip (spectral convergence, level difference) and the
level change between two versions of one spectrogram image, region by region."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .messages import shorten
from .image import SpectrogramImage, pixel_max, pixels_to_db
from .params import SpectrogramParams
from .spectral import stft_magnitude

__all__ = [
    "spectral_convergence",
    "magnitude_convergence",
    "db_correlation",
    "rms_db",
    "level_difference_db",
    "level_summary",
    "RegionDiff",
    "region_diff",
    "region_edges",
]


def magnitude_convergence(S_hat: np.ndarray, S: np.ndarray) -> float:
    """Spectral convergence of two magnitudes, in dB.

    ``20 * log10(‖S_hat − S‖_F / ‖S‖_F)``; lower is better, ``-inf`` for identical input.

    Parameters
    ----------
    S_hat, S : np.ndarray, same shape, non-negative magnitudes
    """
    num = float(np.linalg.norm(np.asarray(S_hat, dtype=np.float64) - S))
    den = float(np.linalg.norm(S))
    if den == 0.0:
        return -np.inf if num == 0.0 else np.inf
    if num == 0.0:
        return -np.inf
    return 20.0 * np.log10(num / den)


def spectral_convergence(y_hat: np.ndarray, y: np.ndarray, params: SpectrogramParams) -> float:
    """Linear-magnitude spectral convergence of ``y_hat`` against ``y``, in dB.

    ``SC = 20 log10(‖|STFT(y_hat)| − |STFT(y)|‖_F / ‖|STFT(y)|‖_F)`` with the STFT geometry
    of ``params`` (always linear frequency, whatever ``params.scale``).

    Parameters
    ----------
    y_hat, y : np.ndarray [shape=(..., n_samples)], same shape
    params : SpectrogramParams
    """
    if np.shape(y_hat) != np.shape(y):
        raise ParameterError(f"y_hat {np.shape(y_hat)} and y {np.shape(y)} must have the same shape")
    return magnitude_convergence(stft_magnitude(y_hat, params), stft_magnitude(y, params))


def db_correlation(y_hat: np.ndarray, y: np.ndarray, params: SpectrogramParams, *, top_db: float = 80.0) -> float:
    """Pearson correlation of the dB spectrograms of ``y_hat`` and ``y``.

    Both are taken as ``librosa.amplitude_to_db(|STFT|, ref=np.max, top_db=top_db)`` on the
    linear STFT grid of ``params``, and compared on the bins where ``y`` is within
    ``top_db`` of its loudest bin. Insensitive to a level offset, so it judges the shape
    of a spectrogram whose absolute level was lost. When the lengths differ (a decoder
    that could only know the length to within a hop), the shorter length is used.

    Parameters
    ----------
    y_hat, y : np.ndarray [shape=(..., n_samples)]
    params : SpectrogramParams, the STFT geometry
    top_db : float > 0, dB range below the peak that counts

    Returns
    -------
    float in [-1, 1]; nan if fewer than two bins qualify or either side is constant
    """
    n = min(np.shape(y_hat)[-1], np.shape(y)[-1])
    A = stft_magnitude(np.asarray(y)[..., :n], params)
    B = stft_magnitude(np.asarray(y_hat)[..., :n], params)

    def to_rel_db(S: np.ndarray) -> np.ndarray:
        peak = float(S.max())
        if peak <= 0:
            return np.full(S.shape, -top_db)
        with np.errstate(divide="ignore"):
            return np.maximum(20.0 * np.log10(np.maximum(S, 1e-30) / peak), -top_db)

    a, b = to_rel_db(A), to_rel_db(B)
    keep = a > -top_db
    if keep.sum() < 2 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def rms_db(y: np.ndarray) -> float:
    """RMS level of ``y`` in dBFS (``-inf`` for silence)."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(y, dtype=np.float64)))))
    return 20.0 * np.log10(rms) if rms > 0 else -np.inf


def level_difference_db(y_hat: np.ndarray, y: np.ndarray) -> float:
    """RMS level of ``y_hat`` minus that of ``y``, in dB (0 when both are silent)."""
    a, b = rms_db(y_hat), rms_db(y)
    if np.isinf(a) and np.isinf(b):
        return 0.0
    return a - b


@dataclass(frozen=True)
class RegionDiff:
    """The level change from image ``a`` to image ``b`` on a grid of regions (:func:`region_diff`).

    Attributes
    ----------
    time_edges : np.ndarray [shape=(n_segments + 1,)], float64, seconds, increasing from 0
        to the duration; segment ``k`` is ``[time_edges[k], time_edges[k + 1])``, the last
        one closed
    freq_edges : np.ndarray [shape=(n_bands + 1,)], float64, Hz, increasing from 0 to the
        top of the frequency axis; bands as segments
    mean_db : np.ndarray [shape=(n_bands, n_segments)], float64, dB
        Mean of ``b.db - a.db`` over the bins of band ``j`` and segment ``k`` that are above
        the floor (``db_min``) in ``a`` or in ``b``, all channels together; row 0 is the
        lowest band; ``nan`` where no bin qualifies
    max_abs_db : float, largest ``|b.db - a.db|`` over the whole image, dB
    changed : float in [0, 1], fraction of pixels that differ
    """

    time_edges: np.ndarray
    freq_edges: np.ndarray
    mean_db: np.ndarray
    max_abs_db: float
    changed: float


def _cells(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the half-open cell ``[edges[k], edges[k + 1])`` (the last one closed) of
    each value of ``x``; -1 outside the edges."""
    n = len(edges) - 1
    k = np.searchsorted(edges, x, side="right") - 1
    k[x == edges[-1]] = n - 1
    k[(x < edges[0]) | (x > edges[-1]) | (k >= n)] = -1
    return k


def region_edges(
    img: SpectrogramImage,
    *,
    grid: tuple[int, int] = (4, 4),
    time_step: float | None = None,
    freq_bands: list[float] | tuple[float, ...] | np.ndarray | None = None,
    max_segments: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Time and frequency edges of the regions of :func:`region_diff` for image ``img``.

    Parameters
    ----------
    img : SpectrogramImage
    grid : (int >= 1, int >= 1), time segments and frequency bands: equal durations, and
        equal widths on the image's frequency axis (Hz for linear, mel for mel); at most
        the image's frames and bins (and ``max_segments`` time segments)
    time_step : float > 0 or None, seconds per segment instead of ``grid[0]`` (the last
        segment is cut at the end)
    freq_bands : sequence of float in [0, top] or None, frequencies (Hz) that split the
        bands instead of ``grid[1]``; ``top`` is ``sr / 2``, or ``fmax`` for mel
    max_segments : int or None, refuse a grid or ``time_step`` that makes more segments than this

    Returns
    -------
    time_edges, freq_edges : np.ndarray, float64, seconds and Hz (see :class:`RegionDiff`)

    Raises
    ------
    ParameterError
        A grid count below 1 or above the image's frames or bins, ``time_step <= 0``, more
        than ``max_segments`` segments, or a band edge outside ``[0, top]``.
    """
    p = img.params
    try:
        n_t, n_f = (int(n) for n in grid)
        valid = len(grid) == 2 and n_t >= 1 and n_f >= 1
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ParameterError(f"grid={shorten(grid)} must be two integers >= 1 (time segments, frequency bands)")
    # more regions than pixels only makes empty cells (and unbounded work): refuse first
    n_frames, n_bins = img.n_frames, p.n_bins
    if n_t > n_frames or n_f > n_bins:
        raise ParameterError(
            f"grid={n_t}x{n_f} has more regions than the image has frames x bins ({n_frames}x{n_bins}); "
            f"use at most {n_frames} time segments and {n_bins} frequency bands"
        )
    if max_segments is not None and n_t > max_segments:
        raise ParameterError(f"grid={n_t}x{n_f} makes {n_t} time segments; use at most {max_segments}")
    duration = img.duration
    if time_step is not None:
        if not time_step > 0:
            raise ParameterError(f"time_step={time_step!r} must be > 0 seconds")
        n_t = int(np.ceil(duration / time_step - 1e-9))
        if max_segments is not None and n_t > max_segments:
            raise ParameterError(
                f"time_step={time_step:g} makes {n_t} segments for {duration:.2f} s; use at most {max_segments}"
            )
        t_edges = np.minimum(np.arange(n_t + 1) * time_step, duration)
    else:
        t_edges = np.linspace(0.0, duration, n_t + 1)
    top = float(p.fmax) if p.scale == "mel" else p.sr / 2
    if freq_bands is not None:
        points = sorted({float(x) for x in freq_bands})
        if len(points) >= p.n_bins:
            raise ParameterError(
                f"freq_bands has {len(points)} frequencies for an image of {p.n_bins} bins; give fewer than {p.n_bins}"
            )
        bad = [x for x in points if not 0 <= x <= top]
        if bad:
            raise ParameterError(f"freq_bands: {bad[0]:g} Hz is outside 0..{top:g} Hz")
        f_edges = np.array(sorted({0.0, *points, top}))
    elif p.scale == "mel":
        import librosa

        f_edges = librosa.mel_frequencies(n_mels=n_f + 1, fmin=p.fmin, fmax=top, htk=p.htk)
        f_edges[0], f_edges[-1] = 0.0, top
    else:
        f_edges = np.linspace(0.0, top, n_f + 1)
    return np.asarray(t_edges, dtype=np.float64), np.asarray(f_edges, dtype=np.float64)


def region_diff(
    a: SpectrogramImage,
    b: SpectrogramImage,
    *,
    grid: tuple[int, int] = (4, 4),
    time_step: float | None = None,
    freq_bands: list[float] | tuple[float, ...] | np.ndarray | None = None,
    max_segments: int | None = None,
) -> RegionDiff:
    """The mean level change from ``a`` to ``b`` in each region of a time × frequency grid.

    For two versions of one spectrogram (an original and its edit): same parameters apart
    from ``edits``, same shape. Only bins above the floor in ``a`` or ``b`` count, so
    silence does not dilute a change.

    Parameters
    ----------
    a, b : SpectrogramImage, the two versions
    grid, time_step, freq_bands, max_segments : the regions, see :func:`region_edges`
        (computed on ``a``)

    Returns
    -------
    RegionDiff

    Raises
    ------
    ParameterError
        ``a`` and ``b`` differ in a parameter or in shape, or a region option is invalid.

    Examples
    --------
    >>> import numpy as np, specimg
    >>> from specimg.metrics import region_diff
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> a = specimg.encode(y, 22050, n_fft=512)
    >>> b = specimg.ops.gain(a, 6.0, time=(0.0, 0.5), fade=0.0)
    >>> d = region_diff(a, b, grid=(2, 1))
    >>> np.round(d.mean_db, 1).tolist()
    [[6.0, 0.0]]
    """
    pa, pb = a.params.replace(edits=()), b.params.replace(edits=())
    if pa != pb:
        da_, db_ = pa.to_dict(), pb.to_dict()
        what = ", ".join(f"{k} ({da_[k]!r} vs {db_[k]!r})" for k in da_ if da_[k] != db_.get(k))
        raise ParameterError(f"A and B differ in {what}; diff compares two versions of one spectrogram")
    if a.shape != b.shape:
        raise ParameterError(f"A is {a.shape[1]}×{a.shape[0]} pixels but B is {b.shape[1]}×{b.shape[0]}")
    t_edges, f_edges = region_edges(a, grid=grid, time_step=time_step, freq_bands=freq_bands,
                                    max_segments=max_segments)
    floor = a.params.db_min
    da, db = a.db, b.db
    if da.ndim == 2:
        da, db = da[np.newaxis], db[np.newaxis]
    delta = db - da
    n_t, n_f = len(t_edges) - 1, len(f_edges) - 1
    col = _cells(np.asarray(a.times, dtype=np.float64), t_edges)
    band = _cells(np.asarray(a.frequencies, dtype=np.float64), f_edges)
    cell = np.where((band[:, None] >= 0) & (col[None, :] >= 0), band[:, None] * n_t + col[None, :], -1)
    sel = ((da > floor) | (db > floor)) & (cell >= 0)[np.newaxis]
    index = np.broadcast_to(cell, delta.shape)[sel]
    total = np.bincount(index, weights=delta[sel], minlength=n_f * n_t)
    count = np.bincount(index, minlength=n_f * n_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan).reshape(n_f, n_t)
    changed = float(np.count_nonzero(a.pixels != b.pixels)) / a.pixels.size
    return RegionDiff(t_edges, f_edges, mean, float(np.abs(delta).max()), changed)


def level_summary(img: SpectrogramImage) -> dict[str, float]:
    """Level statistics of an image's pixels, in dB, without a full-size float copy.

    Computed on the stored pixels (the pixel → dB map is affine, so extremes and the median
    carry over), which keeps ``specimg info`` on a 200-megapixel image near the size of its
    pixels instead of 8 bytes per pixel.

    Parameters
    ----------
    img : SpectrogramImage

    Returns
    -------
    dict
        ``min_db``, ``max_db``, ``median_db`` (dB re ``params.ref``), and ``floor`` and ``top``:
        the fractions of pixels at ``db_min`` and at ``db_max``.

    Examples
    --------
    >>> import numpy as np, specimg
    >>> img = specimg.encode(np.zeros(4096), 8000, n_fft=256)
    >>> level_summary(img)["floor"]
    1.0
    """
    p = img.params
    pixels = img.pixels
    lo, hi, median = (float(v) for v in (pixels.min(), pixels.max(), np.median(pixels)))
    to_db = lambda v: float(pixels_to_db(np.array(v), p))  # noqa: E731
    floor_pixel, top_pixel = (pixel_max(p.bit_depth), 0.0) if p.invert else (0.0, pixel_max(p.bit_depth))
    n = pixels.size
    floor = np.count_nonzero(pixels <= floor_pixel) if not p.invert else np.count_nonzero(pixels >= floor_pixel)
    top = np.count_nonzero(pixels >= top_pixel) if not p.invert else np.count_nonzero(pixels <= top_pixel)
    lo_db, hi_db = sorted((to_db(lo), to_db(hi)))
    return {"min_db": lo_db, "max_db": hi_db, "median_db": to_db(median), "floor": float(floor) / n, "top": float(top) / n}
