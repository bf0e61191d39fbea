"""Quality presets and :func:`reconstruct`, the entry point of the decoder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ParameterError
from ..spectral import calibration
from ._checks import check_magnitude, renamed_magnitude
from ._gla import griffin_lim

if TYPE_CHECKING:
    from ..params import SpectrogramParams

__all__ = ["QUALITY_PRESETS", "PRESET_METHODS", "Quality", "resolve_quality", "reconstruct"]

from ..typing import Quality  # noqa: E402  (the names; the counts are here)

#: Iteration counts of the presets of :func:`reconstruct` (PGHI start, then the iterations
#: of :data:`PRESET_METHODS`), chosen with ``benchmarks/phase_methods.py`` on the corpus
#: (n_fft=2048, hop=512) to fit, with a margin, in 0.3×, 1× and 5× the time of
#: ``librosa.griffinlim(n_iter=32)`` (quiet machine, best of 2: 0.21×, 0.69×, 3.0×).
#: Median SC on the corpus (see ``benchmarks/PHASE_METHODS.md``): fast −26.7 dB,
#: balanced −34.0 dB, high −42.9 dB (it was −25.4, −31.5 and −33.8 dB with 12, 96 and 500
#: fast Griffin-Lim iterations), every file better.
QUALITY_PRESETS: dict[str, int] = {"fast": 16, "balanced": 104, "high": 600}

#: Keywords of :func:`griffin_lim` that each preset adds (a caller's own keywords win).
#: ``raar_fraction`` is the share of the iterations that are RAAR (``n_raar``) before the
#: accelerated Griffin-Lim ones; "fast" is accelerated Griffin-Lim alone.
PRESET_METHODS: dict[str, dict[str, Any]] = {
    "fast": {"method": "agla", "gamma": 1.15, "beta": 1.3, "raar_fraction": 0.0},
    "balanced": {"method": "agla", "gamma": 1.25, "raar_fraction": 0.6, "raar_beta": 0.97},
    "high": {"method": "agla", "gamma": 1.25, "raar_fraction": 0.75, "raar_beta": 0.99},
}


def resolve_quality(quality: str, n_iter: int | None = None) -> int:
    """Number of phase iterations of a quality preset, or ``n_iter`` if given.

    The one place where a preset name becomes a number (:data:`QUALITY_PRESETS`).

    Parameters
    ----------
    quality : {"fast", "balanced", "high"}
        Checked even when ``n_iter`` is given.
    n_iter : int or None
        Overrides the preset (checked by :func:`griffin_lim`).

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        If ``quality`` is not a preset; the message names the three.

    Examples
    --------
    >>> resolve_quality("fast"), resolve_quality("high", n_iter=7)
    (16, 7)
    """
    if not isinstance(quality, str) or quality not in QUALITY_PRESETS:
        names = ", ".join(repr(name) for name in QUALITY_PRESETS)
        raise ParameterError(f"quality={quality!r} must be one of {names}")
    return QUALITY_PRESETS[quality] if n_iter is None else n_iter


_GEOMETRY = ("n_fft", "hop_length", "win_length", "window", "center")


def reconstruct(
    S: np.ndarray | None = None,
    params: SpectrogramParams | None = None,
    *,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    magnitude: np.ndarray | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Audio from STFT magnitude: PGHI initial phase, then the iterations of a quality preset.

    The presets (:data:`QUALITY_PRESETS`, :data:`PRESET_METHODS`) run RAAR then
    accelerated Griffin-Lim ("balanced", "high") or accelerated Griffin-Lim alone ("fast");
    see :func:`griffin_lim`.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative
        With ``params``: the calibrated linear magnitude an image stores (a full-scale
        sine reads 1.0; :func:`specimg.spectral.stft_magnitude`, or
        :meth:`~specimg.SpectrogramImage.channel_magnitude` of a linear image). Without:
        magnitude in the units of :func:`librosa.stft`.
    params : SpectrogramParams or None
        The STFT geometry (``n_fft``, ``hop_length``, ``win_length``, ``window``,
        ``center``; then not accepted in ``kwargs``) and the calibration of ``S``. The
        default ``length`` is then :meth:`~specimg.SpectrogramParams.output_length`. A
        ``refine`` hook receives and returns calibrated magnitudes, and ``hold`` values
        are calibrated STFT coefficients (:func:`specimg.spectral.stft`).
    quality : {"fast", "balanced", "high"}
        Preset number of iterations after PGHI (:data:`QUALITY_PRESETS`, resolved by
        :func:`resolve_quality`) and their algorithm (:data:`PRESET_METHODS`; keywords
        given in ``kwargs`` override it, e.g. ``method="fgla", n_raar=0`` for fast
        Griffin-Lim alone).
    n_iter : int or None
        Overrides the preset's number of iterations (its RAAR share scales with it).
    magnitude : np.ndarray or None
        Deprecated name of ``S`` (warns; removed in the next release).
    **kwargs
        Passed to :func:`griffin_lim` (geometry without ``params``, ``momentum``, ``rng``,
        ``length``, ``init``, ``refine``, ``hold``, ...).

    Returns
    -------
    np.ndarray [shape=(..., length)], float32

    Raises
    ------
    ParameterError
        If ``quality`` is not one of the presets, or an argument is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from specimg import SpectrogramParams
    >>> from specimg.spectral import stft_magnitude
    >>> p = SpectrogramParams(sr=8000, n_fft=512, n_samples=4000)
    >>> y = np.sin(2 * np.pi * 440 * np.arange(4000) / 8000)
    >>> y_hat = reconstruct(stft_magnitude(y, p), p, quality="fast", rng=0)
    >>> y_hat.shape, y_hat.dtype
    ((4000,), dtype('float32'))
    """
    S = renamed_magnitude(S, magnitude, "reconstruct")
    iters = resolve_quality(quality, n_iter)
    kwargs.setdefault("init", "pghi")
    preset = dict(PRESET_METHODS[quality])
    fraction = preset.pop("raar_fraction")
    preset["n_raar"] = int(round(fraction * iters)) if isinstance(iters, (int, np.integer)) and iters > 0 else 0
    for key, value in preset.items():
        kwargs.setdefault(key, value)
    if params is not None:
        S, kwargs = _librosa_units(S, params, kwargs)
    return griffin_lim(S, n_iter=iters, **kwargs)


def _librosa_units(S: np.ndarray, params: SpectrogramParams, kwargs: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Calibrated ``S``, ``refine`` and ``hold`` of :func:`reconstruct` in librosa's units, with the geometry of ``params``."""
    from ..params import SpectrogramParams

    if not isinstance(params, SpectrogramParams):
        raise ParameterError(f"params={params!r:.300} must be a SpectrogramParams (or None for librosa units)")
    clash = [name for name in _GEOMETRY if name in kwargs]
    if clash:
        raise ParameterError(f"{', '.join(clash)} come(s) from params; do not pass them with params")
    check_magnitude(S)
    cal = calibration(params)
    inverse = 1.0 / cal
    S = S * S.dtype.type(inverse) if np.issubdtype(S.dtype, np.floating) else S * inverse
    kwargs = dict(kwargs, **{name: getattr(params, name) for name in _GEOMETRY})
    kwargs.setdefault("length", params.output_length(S.shape[-1]))
    refine = kwargs.get("refine")
    if refine is not None:

        def refine_calibrated(A: np.ndarray, frames: slice) -> np.ndarray:
            return refine(A * cal, frames) / cal

        kwargs["refine"] = refine_calibrated
    hold = kwargs.get("hold")
    if hold is not None and len(hold) == 2:
        values = np.asarray(hold[1])
        scale = values.real.dtype.type(inverse) if np.issubdtype(values.dtype, np.inexact) else inverse
        kwargs["hold"] = (hold[0], values * scale)
    return S, kwargs
