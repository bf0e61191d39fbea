"""Denoisers of the calibrated level: picture filters plus spectral subtraction, and a
spectral gate (:func:`denoise`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, Union

import numpy as np
import scipy.ndimage

from .. import image
from ..errors import ParameterError
from ..image import SpectrogramImage
from ..params import SpectrogramParams, check_float
from ._core import (
    Span, channel_db, check_img, db_to_level, edited, frame_times, freq_span, level_to_db, nonneg, time_span, whole,
)
from ._regions import region_edit, region_mask

__all__ = ["DENOISE_OPTIONS", "DENOISE_STRENGTH", "denoise"]

DenoiseMethod = Literal["nlmeans", "tv", "wavelet", "bilateral", "median", "gate"]

#: Pixels :func:`cv2.fastNlMeansDenoising` works on (it takes 8- or 16-bit images only).
_NLMEANS_BIT_DEPTH = 16


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

        # OpenCV's nlmeans takes 8- or 16-bit pixels: the level on the 16-bit scale, whatever
        # the image's own depth, so the result does not depend on it.
        pixels = image.from_unit(db_to_level(S, params), _NLMEANS_BIT_DEPTH)
        h = float(strength) / span * image.pixel_max(_NLMEANS_BIT_DEPTH)  # type: ignore[arg-type]
        den = cv2.fastNlMeansDenoising(
            np.ascontiguousarray(pixels), h=[h], templateWindowSize=opts["template_size"],
            searchWindowSize=opts["search_size"], normType=cv2.NORM_L1,
        )  # fmt: skip
        return level_to_db(image.to_unit(den), params)
    from skimage import restoration

    u = db_to_level(S, params)
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
    return level_to_db(den, params)


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
        opts["alpha"] = check_float("alpha", opts["alpha"])
    opts["reduction"] = nonneg("reduction", opts["reduction"], "dB of attenuation at most")
    q = check_float("quantile", opts["quantile"])
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
        opts["eps"] = nonneg("eps", opts["eps"], "relative change that stops the iterations")
    elif method == "bilateral":
        opts["sigma_spatial"] = nonneg("sigma_spatial", opts["sigma_spatial"], "pixels")
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
    time: Span = None,
    freq: Span = None,
    fade: float = 0.02,
    fade_hz: float | None = None,
    **options: Any,
) -> SpectrogramImage:
    """Remove noise from a spectrogram image, or from a region of it, working on its calibrated level.

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
    time, freq, fade, fade_hz :
        The region to denoise and its soft edges, as for :func:`erase` and :func:`gain`
        (see :func:`region_mask`; seconds and Hz). Each bin moves ``w`` of the way from
        its level to the denoised one (``w`` the region's weight); bins where ``w == 0``
        keep their pixels exactly. None for both (the default): the whole image. The
        noise floor is measured as without a region (from ``noise``, which may lie
        elsewhere), so the noise learnt in one place is removed in another.
    **options :
        The method's options listed above (:data:`DENOISE_OPTIONS`).

    Returns
    -------
    SpectrogramImage
        Same params plus ``{"op": "denoise", "method": ..., "strength": dB or None,
        "noise": [...] or None, <every option, resolved>}`` in ``edits``, and, when a region
        is given, its ``"time"``, ``"freq"``, ``"fade"`` and ``"fade_hz"`` as :func:`erase`
        records them (so :func:`replay` runs it again).

    Raises
    ------
    ParameterError
        If the method or an option is unknown or invalid, ``strength`` is negative or
        given to "median", or ``noise`` or the region lies outside the image.

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

    Examples
    --------
    >>> import numpy as np, specimg
    >>> from specimg import ops
    >>> y = 0.01 * np.random.default_rng(0).standard_normal(22050)
    >>> img = specimg.encode(y, 22050)
    >>> out = ops.denoise(img, "gate", noise=(0.0, 0.3), time=(0.5, 0.8), fade=0.0)
    >>> outside = (img.times < 0.45) | (img.times > 0.85)
    >>> bool(np.array_equal(out.pixels[:, outside], img.pixels[:, outside]))
    True
    >>> round(float(np.median(img.db[:, 30:33] - out.db[:, 30:33])), 1)  # the noise lowered by reduction=20 dB
    20.0
    >>> out.params.edits[-1]["time"], out.params.edits[-1]["noise"]
    ([0.5, 0.8], [0.0, 0.3])
    """
    img = check_img(img)
    p = img.params
    if not isinstance(method, str) or method not in DENOISE_OPTIONS:
        raise ParameterError(f"method={method!r} is unknown; use one of {', '.join(map(repr, DENOISE_OPTIONS))}")
    if method == "median" and strength is not None:
        raise ParameterError(
            f"strength={strength!r}: method='median' has no strength; set its window with size=(bins, frames)"
        )
    strength = DENOISE_STRENGTH[method] if strength is None else nonneg("strength", strength, "dB")
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
        t_span = time_span(*whole(img), tuple(noise[:2]), "noise time")
        f_span = freq_span(p, tuple(noise[2:]), "noise freq") if len(noise) == 4 else None
        assert t_span is not None
        region = (t_span, f_span)
    w = None
    if time is not None or freq is not None:
        w = region_mask(img, time=time, freq=freq, fade=fade, fade_hz=fade_hz)
    times, freqs = frame_times(img), img.frequencies
    S = channel_db(img)
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
    if w is None:
        return edited(img, out, edit)
    out = np.where(w >= 1.0, out, S + w * (out - S))  # the region's soft edge
    edit.update(region_edit(img, time, freq, fade, fade_hz))
    return edited(img, out, edit, changed=w > 0)
