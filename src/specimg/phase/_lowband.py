"""Phase iterations on the low band alone, run as the STFT of the decimated signal.

Bin ``k`` of a frame's DFT, taken from every ``D``-th sample of the frame only, is the
``D``-fold alias sum ``(1/D) Σ_j X[k + j·n_fft/D]`` of the full DFT. For a signal with
nothing above ``sr / (2D)`` the first ``n_fft // (2D) + 1`` bins of its STFT (window ``w``,
hop ``H``) are therefore ``D`` times the STFT of the signal decimated by ``D`` (window
``w[::D]``, hop ``H / D``). Iterating on that band alone costs about ``1 / D`` of an
iteration over all bins, FFTs, fit and projections alike (measured 4.7× cheaper for the
consistency projection at ``D = 4``, n_fft 2048, 229 frames).

Why it pays: after the full-band iterations of a mel decode, what a listener still hears on
voices is the alignment of the harmonics below about 2 kHz (benchmarks/SPEECH.md, round 3);
the iterations improve it slowly, and 200 iterations of the low band buy what 168 more
full-band iterations buy (round 6). A few full-band iterations after them (:data:`POLISH_ITERATIONS`)
join the bands again: without them the mel SC of noise and music got worse by up to 8 dB,
with them it is better than before on every file of the corpus.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ParameterError
from ._stft import StftPair

__all__ = ["LOW_BAND_HZ", "MIN_FRAME", "POLISH_ITERATIONS", "LowBand", "LowRefine", "check_decimation", "decimation_for"]

#: Lowest top frequency (Hz) of the band :func:`decimation_for` keeps: the low band
#: reaches at least this, so the harmonics below 2 kHz that PESQ weighs are inside it.
LOW_BAND_HZ = 2500.0

#: Fewest samples in a frame of the decimated STFT.
MIN_FRAME = 64

#: Share of the low band (of its top bin) whose phase is taken from the low-band
#: iterations: all of it below ``_KEEP``, cross-faded to the full-band phase up to
#: ``_CUT``, the full-band phase above; above ``_CUT`` the low-band iterations also keep
#: the full-band magnitude, away from the band edge where decimation aliases.
_KEEP, _CUT = 0.82, 0.9

#: Full-band iterations of ``n_iter`` that :func:`specimg.phase.griffin_lim` runs after the
#: low-band ones (at most half of ``n_iter``), so that the bands join again (the cross-fade
#: and the band's edge).
POLISH_ITERATIONS = 16


def decimation_for(sr: float, n_fft: int, hop_length: int) -> int:
    """The largest decimation ``D`` (a power of two) whose band still reaches :data:`LOW_BAND_HZ`.

    ``D`` must divide ``hop_length`` and leave an even number of at least :data:`MIN_FRAME`
    samples in a decimated frame (``n_fft / D``; even, so that a centred frame's padding is
    the full one's divided by ``D``); 1 means that no decimation fits (then there are no
    low-band iterations).

    Examples
    --------
    >>> decimation_for(22050, 2048, 512), decimation_for(44100, 2048, 512), decimation_for(16000, 512, 128)
    (4, 8, 2)
    >>> decimation_for(8000, 256, 64), decimation_for(22050, 2048, 441), decimation_for(44100, 600, 200)
    (1, 1, 4)
    """
    D = 1
    while _fits(2 * D, n_fft, hop_length) and sr / (2 * 2 * D) >= LOW_BAND_HZ:
        D *= 2
    return D


def _fits(decimation: int, n_fft: int, hop_length: int) -> bool:
    frame = n_fft // decimation
    return n_fft % decimation == 0 and hop_length % decimation == 0 and frame % 2 == 0 and frame >= MIN_FRAME


def check_decimation(decimation: object, n_fft: int, hop_length: int) -> int:
    """``decimation`` as an int; ParameterError unless :func:`decimation_for`'s conditions hold for it."""
    if isinstance(decimation, bool) or not isinstance(decimation, (int, np.integer)) or decimation < 2:
        raise ParameterError(f"decimation={decimation!r} must be an integer >= 2")
    if not _fits(int(decimation), n_fft, hop_length):
        raise ParameterError(
            f"decimation={decimation} must divide n_fft={n_fft} and hop_length={hop_length} and leave an even"
            f" n_fft // decimation >= {MIN_FRAME} (specimg.phase.decimation_for(sr, n_fft, hop_length) picks one)"
        )
    return int(decimation)


class LowBand:
    """The low band of an estimate, as the STFT of the decimated signal.

    ``X`` [complex, shape=(n_frames, n_bins)] is the estimate after the full-band
    iterations (projected on its target, so ``|X|`` is the target) in the geometry of
    ``pair``. The band is its first ``n_bins = n_fft // (2 · decimation) + 1`` bins:
    :attr:`start` holds them in the decimated STFT's units (``X / decimation``) and
    :attr:`target` their magnitude; :attr:`pair` is the decimated STFT's geometry, for the
    joint iterations of ``_gla._refined``. :class:`LowRefine` imposes a full-band ``refine``
    on the band and :meth:`merge` puts the band's phase back into ``X``.
    """

    def __init__(self, X: np.ndarray, pair: StftPair, decimation: int) -> None:
        D = self.decimation = decimation
        self.pair = StftPair(
            n_fft=pair.n_fft // D, hop_length=pair.hop_length // D, window=pair.window[::D], n_frames=X.shape[0],
            length=-(-pair.length // D), center=pair.offset > 0, dtype=pair.dtype.type, workers=pair.requested_workers,
        )  # fmt: skip
        self.n_bins = n = pair.n_fft // (2 * D) + 1
        self.keep, self.cut = round(_KEEP * (n - 1)), round(_CUT * (n - 1))
        self.dtype = pair.dtype.type
        self.start = np.ascontiguousarray(X[:, :n] / self.dtype(D))
        self.target = np.abs(self.start)

    def merge(self, X: np.ndarray, Z: np.ndarray) -> None:
        """The band's phase from ``Z`` below 82 % of the band, cross-faded (as unit phasors)
        to ``X``'s own by 90 %; ``X``'s magnitude. In place."""
        n = self.n_bins
        weight = np.clip((self.cut - np.arange(n)) / max(self.cut - self.keep, 1), 0.0, 1.0).astype(self.dtype)
        full = X[:, :n]
        magnitude = np.abs(full)
        u = weight * _unit(Z) + (1 - weight) * _unit(full)
        X[:, :n] = magnitude * _unit(u)


class LowRefine:
    """The ``refine`` hook of the low-band iterations: ``refine`` (a target from the magnitude
    of all bins, or None: the target stays) for the band, when ``due``.

    Called with the band's magnitude in the decimated units, it hands ``refine`` the
    magnitude in the full STFT's units with the bins above :data:`_CUT` of the band at
    their full-band target, and returns its target for the band with those bins kept.
    """

    def __init__(self, band: LowBand, refine: Callable[[np.ndarray], np.ndarray] | None, due: Callable[[int], bool]) -> None:
        self.band, self.refine, self._due = band, refine, due

    def due(self, k: int) -> bool:
        return self.refine is not None and self._due(k)

    def __call__(self, A: np.ndarray) -> np.ndarray:
        band, cut, D = self.band, self.band.cut, self.band.dtype(self.band.decimation)
        assert self.refine is not None
        A = A * D
        A[:, cut:] = band.target[:, cut:] * D
        mag = np.asarray(self.refine(A), dtype=band.dtype) / D
        mag[:, cut:] = band.target[:, cut:]
        return mag


def _unit(Z: np.ndarray) -> np.ndarray:
    """``Z / |Z|`` (1 where ``Z`` is 0)."""
    a = np.abs(Z)
    return np.where(a > 1e-30, Z / np.maximum(a, 1e-30), 1).astype(Z.dtype)
