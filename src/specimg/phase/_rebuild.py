"""One channel of a picture back to audio: the one call :func:`specimg.decode` makes into this package.

:func:`rebuild` takes the calibrated magnitude a picture stores (linear or mel) and what is
known of the phase (:class:`KnownPhase`: nothing, a starting phase, the stored phase of
some bins, or the original STFT of some bins), and chooses the iterations itself:

* the stored phase, when the phase-locked decode fits the memory budget: the held bins keep
  their phase and only their magnitude is refined within what the pixels allow
  (:func:`phase_locked`);
* otherwise the preset's iterations (:func:`reconstruct`: PGHI, RAAR, accelerated
  Griffin-Lim, block by block on long pictures), with known coefficients held
  (:func:`griffin_lim`'s ``hold``) and a known phase as the start;
* for a mel picture, the joint estimation of the linear magnitude and the phase, fitted to
  the mel bands every other iteration (:func:`mel_start`, :func:`mel_refiner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError
from ..resources import decode_bytes, locked_decode_bytes, memory_budget
from ._gla import Init
from ._locked import phase_locked
from ._mel import mel_iterations, mel_low_band, mel_refiner, mel_start
from ._reconstruct import Quality, reconstruct, resolve_quality

if TYPE_CHECKING:
    from ..params import SpectrogramParams

__all__ = ["KnownPhase", "rebuild", "locked_fits"]


@dataclass(frozen=True, eq=False)
class KnownPhase:
    """What is known of the phase of one channel's linear STFT (librosa's convention).

    Make one with a constructor: :meth:`start`, :meth:`stored` or :meth:`original`.

    Attributes
    ----------
    angle : np.ndarray [shape=(n_fft // 2 + 1, n_frames)], float, radians
        The phase of every bin: exact where ``held``, a starting point elsewhere.
    held : np.ndarray [shape=angle.shape], bool, or None
        Bins whose phase is known exactly; None: the phase is only a start.
    coefficients : np.ndarray [shape=angle.shape], complex, or None
        The calibrated STFT of the original audio: in ``held`` bins its magnitude is known
        too and the coefficient is kept as it is.
    pixels : np.ndarray [shape=(n_bins, n_frames)] or None
        The channel's pixels in bin order, for a linear picture whose phase is stored: each
        held bin's magnitude is only known to its pixel's quantisation cell
        (:func:`specimg.image.pixel_cells`).

    Examples
    --------
    >>> import numpy as np
    >>> k = KnownPhase.start(np.zeros((129, 10)))
    >>> k.held is None and k.coefficients is None
    True
    """

    angle: np.ndarray
    held: np.ndarray | None = None
    coefficients: np.ndarray | None = None
    pixels: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = np.shape(self.angle)
        if len(shape) != 2:
            raise ParameterError(f"known phase of shape {shape} must be (n_fft // 2 + 1, n_frames)")
        for name in ("held", "coefficients"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ParameterError(f"known {name} of shape {np.shape(value)} must be the phase's shape {shape}")

    @classmethod
    def start(cls, angle: np.ndarray) -> KnownPhase:
        """A phase to start the iterations from (an IF plane integrated, say), nothing held."""
        return cls(np.asarray(angle))

    @classmethod
    def stored(cls, angle: np.ndarray, held: np.ndarray, *, pixels: np.ndarray | None = None) -> KnownPhase:
        """The stored phase: exact in ``held`` bins, whose magnitude the pixels bound.

        ``pixels`` (one channel, bin order) are needed for a linear picture, not for mel.
        """
        return cls(np.asarray(angle), np.asarray(held, dtype=bool), None, pixels)

    @classmethod
    def original(cls, X: np.ndarray, held: np.ndarray) -> KnownPhase:
        """The calibrated STFT ``X`` of the original audio, kept in the ``held`` bins."""
        return cls(np.angle(X), np.asarray(held, dtype=bool), X)


def locked_fits(params: SpectrogramParams, n_frames: int) -> bool:
    """Whether the phase-locked decode of a whole picture fits the memory budget.

    The decode of every channel (:func:`specimg.resources.decode_bytes`) plus the locked
    iteration of one channel (:func:`specimg.resources.locked_decode_bytes`) against
    :func:`specimg.resources.memory_budget`.
    """
    need = decode_bytes(
        params.n_fft, n_frames, n_rows=params.n_bins, length=params.output_length(n_frames) * params.n_channels
    )
    return need + locked_decode_bytes(params.n_fft, n_frames) <= memory_budget()


def rebuild(
    S: np.ndarray,
    params: SpectrogramParams,
    *,
    known: KnownPhase | None = None,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    momentum: float = 0.99,
    init: Init = "pghi",
    rng: np.random.Generator | int | None = 0,
    length: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Audio of one channel from the magnitude a picture stores and what is known of its phase.

    Chooses the iterations (see the module): phase-locked when the stored phase is known
    (``known.held`` without ``coefficients``) and :func:`locked_fits`; otherwise
    :func:`reconstruct` with the preset, holding known coefficients, starting from a known
    phase, and for a mel picture estimating the linear magnitude jointly with the phase.

    Parameters
    ----------
    S : np.ndarray [shape=(n_bins, n_frames)], non-negative, float
        Calibrated magnitude of one channel as the picture stores it
        (:meth:`specimg.SpectrogramImage.channel_magnitude`): ``n_fft // 2 + 1`` linear
        bins, or ``n_mels`` mel bands when ``params.scale == "mel"``.
    params : SpectrogramParams
        The picture's parameters (geometry, calibration, scale, pixel range).
    known : KnownPhase or None
        What is known of the phase; None: nothing (the phase is rebuilt from ``init``).
    quality : {"fast", "balanced", "high"}
        Preset (:data:`QUALITY_PRESETS`; :data:`MEL_ITERATIONS` for mel).
    n_iter : int >= 0 or None
        Overrides the preset's number of iterations.
    momentum : float >= 0
        Momentum of the Griffin-Lim steps (not used by the locked decode).
    init : {"pghi", "random", "zeros"} or np.ndarray
        Initial phase when ``known`` is None.
    rng : np.random.Generator, int or None
    length : int or None
        Output samples; None → :meth:`~specimg.SpectrogramParams.output_length`.
    progress : bool
        Progress bar on long reconstructions.

    Returns
    -------
    np.ndarray [shape=(length,)], float32

    Raises
    ------
    ParameterError
        If ``quality`` is not a preset, or an argument does not fit the picture (see
        :func:`reconstruct`, :func:`phase_locked`).

    References
    ----------
    .. [1] Z. Průša, P. Balazs, P. L. Søndergaard, "A Noniterative Method for
       Reconstruction of Phase From STFT Magnitude", IEEE/ACM TASLP 25(5), 2017.
    .. [2] D. Griffin, J. Lim, "Signal estimation from modified short-time Fourier
       transform", IEEE Trans. ASSP 32(2), 236–243, 1984.

    Examples
    --------
    >>> import numpy as np
    >>> from specimg import SpectrogramParams
    >>> from specimg.spectral import stft
    >>> p = SpectrogramParams(sr=8000, n_fft=256, n_samples=4000)
    >>> y = np.sin(2 * np.pi * 440 * np.arange(4000) / 8000)
    >>> X = stft(y, p)
    >>> held = np.ones(X.shape, dtype=bool)
    >>> y_hat = rebuild(np.abs(X).astype(np.float32), p, known=KnownPhase.original(X, held), n_iter=0)
    >>> bool(np.max(np.abs(y_hat - y)) < 1e-4)
    True
    """
    iters = resolve_quality(quality, n_iter)  # before any expensive work
    n_frames = np.shape(S)[-1]
    if length is None:
        length = params.output_length(n_frames)
    if known is not None and known.held is not None and known.coefficients is None and locked_fits(params, n_frames):
        return _locked(S, known, params, n_iter=iters, length=length)
    refine, n_iter_c, n_low, decimation = None, n_iter, 0, 4
    if params.scale == "mel":
        # Joint estimation: the phase iterations also estimate the linear magnitude,
        # fitted to the stored mel bands at every other iteration (mel_refiner), then
        # iterate on the low band alone (mel_low_band).
        M, S = S, mel_start(S, params)
        refine, n_iter_c = mel_refiner(M, params, S), mel_iterations(quality, n_iter)
        n_low, decimation = mel_low_band(params, quality, n_iter)
    hold = None
    if known is not None:
        init = known.angle
        if known.coefficients is not None:  # the original STFT: kept where the pixels are unchanged
            assert known.held is not None
            S = np.where(known.held, np.abs(known.coefficients), S).astype(np.float32)
            hold = (known.held, known.coefficients)
        elif known.held is not None and params.scale != "mel":  # too long to lock: start from it, hold it
            hold = (known.held, (S * np.exp(1j * init)).astype(np.complex64))
    return reconstruct(
        S, params, quality=quality, n_iter=n_iter_c, length=length, momentum=momentum, init=init, rng=rng,
        refine=refine, hold=hold, progress=progress, n_low=n_low, decimation=decimation,
    )  # fmt: skip


def _locked(S: np.ndarray, known: KnownPhase, params: SpectrogramParams, *, n_iter: int, length: int | None) -> np.ndarray:
    """The phase-locked decode: the held bins keep their phase, their magnitude stays within
    what the picture allows (linear: the pixel's cell, ±half a step in dB, unbounded above
    ``db_max``; mel: the stored bands, :func:`specimg.spectral.match_mel`).

    Measured on the corpus (``benchmarks/stored_phase.py``, median spectral convergence):
    8-bit pictures −55 dB, against −43 dB with the phase held at the pixel magnitude and
    −30 dB without phase; mel pictures −41 dB (−34 … −64) against −18 dB without.
    """
    from ..spectral import match_mel, mel_to_linear

    assert known.held is not None
    if params.scale == "mel":
        A = mel_to_linear(S, params).astype(np.float32)

        def bound(mag: np.ndarray) -> np.ndarray:
            return match_mel(mag, S, params).astype(np.float32)
    else:
        from ..image import pixel_cells

        if known.pixels is None:
            raise ParameterError("the stored phase of a linear picture needs its pixels (KnownPhase.stored(pixels=))")
        A = np.asarray(S, dtype=np.float32)
        lo, hi = pixel_cells(known.pixels, params)

        def bound(mag: np.ndarray) -> np.ndarray:
            return np.clip(mag, lo, hi)

    return phase_locked(A, known.angle, params, held=known.held, bound=bound, n_iter=n_iter, length=length)
