"""Griffin-Lim-type phase retrieval from a chosen initial phase, in bounded memory.

Fast Griffin-Lim [2]_, accelerated Griffin-Lim [4]_ and relaxed averaged alternating
reflections [5]_ (RAAR, as a first stage), all iterating the projections on consistent
STFTs (:meth:`StftPair.project`) and on the target magnitude.

References
----------
.. [2] N. Perraudin, P. Balazs, P. L. Søndergaard, "A fast Griffin-Lim algorithm",
   IEEE WASPAA 2013. doi:10.1109/WASPAA.2013.6701851
.. [3] D. Griffin, J. Lim, "Signal estimation from modified short-time Fourier transform",
   IEEE Trans. ASSP 32(2), 236–243, 1984.
.. [4] R. Nenov, D.-K. Nguyen, P. Balazs, R. I. Boţ, "Faster than fast: accelerating the
   Griffin-Lim algorithm", IEEE ICASSP 2023. doi:10.1109/ICASSP49357.2023.10095230
.. [5] D. R. Luke, "Relaxed averaged alternating reflections for diffraction imaging",
   Inverse Problems 21(1), 37–50, 2005; for STFT phase retrieval: T. Peer, S. Welker,
   T. Gerkmann, "Beyond Griffin-Lim: improved iterative phase retrieval for speech",
   IWAENC 2022.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np

from ..errors import ParameterError
from ..geometry import frame_offset, span_length
from ..typing import Window
from ._checks import as_generator, check_magnitude, renamed_magnitude, stft_geometry
from ._lowband import POLISH_ITERATIONS, LowBand, LowRefine, check_decimation
from ._pghi import pghi
from ._stft import StftPair

__all__ = ["Init", "Method", "Refine", "griffin_lim"]

#: The initial phase of :func:`griffin_lim`: PGHI, uniform random, zero, or given (radians).
Init = Union[Literal["pghi", "random", "zeros"], np.ndarray]
#: The iteration of :func:`griffin_lim` after the RAAR ones: fast or accelerated Griffin-Lim.
Method = Literal["fgla", "agla"]
#: ``refine(S, frames) -> S``: see :func:`griffin_lim`.
Refine = Callable[[np.ndarray, slice], np.ndarray]

# Frames shared by consecutive blocks of a long reconstruction (see _fgla_blocks).
_BLOCK_OVERLAP = 64


def griffin_lim(
    S: np.ndarray | None = None,
    *,
    n_iter: int = 32,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window: Window = "hann",
    center: bool = True,
    length: int | None = None,
    momentum: float = 0.99,
    init: Init = "pghi",
    rng: np.random.Generator | int | None = None,
    dtype: type = np.float32,
    workers: int | None = None,
    block_frames: int = 2048,
    refine: Refine | None = None,
    refine_every: int = 2,
    hold: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = False,
    magnitude: np.ndarray | None = None,
    method: Method = "fgla",
    beta: float = 1.1,
    gamma: float = 1.0,
    n_raar: int = 0,
    raar_beta: float = 0.9,
    n_low: int = 0,
    decimation: int = 4,
) -> np.ndarray:
    """Fast or accelerated Griffin-Lim phase retrieval, from a chosen initial phase.

    By default fast Griffin-Lim [2]_. ``n_raar`` first iterations of RAAR [5]_ and
    ``method="agla"`` (accelerated Griffin-Lim [4]_) reach a lower spectral convergence
    for the same number of iterations on most sounds; :func:`reconstruct`'s quality
    presets use them (:data:`PRESET_METHODS`).

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative
        Target STFT magnitude in the units of :func:`librosa.stft` (not calibrated; see
        :func:`reconstruct` for the calibrated magnitude of an image).
    n_iter : int >= 0
        Number of full-band iterations; 0 returns the ISTFT of the initial estimate
        (``n_low`` included).
    hop_length, win_length, n_fft, window, center :
        STFT geometry, as for :func:`librosa.stft`. ``n_fft=None`` →
        ``2 * (S.shape[-2] - 1)``; ``win_length=None`` → ``n_fft``;
        ``hop_length=None`` → ``win_length // 4``.
    length : int >= 0 or None
        Number of output samples. ``None`` → ``hop_length * (n_frames - 1)`` (centered).
    momentum : float >= 0
        Momentum of the fast Griffin-Lim update [2]_ (0 gives plain Griffin-Lim [3]_).
    init : {"pghi", "random", "zeros"} or np.ndarray of phases
        Initial phase: PGHI [1]_ (default), uniform random, zero, or given (radians,
        same shape as ``S``).
    rng : np.random.Generator, int or None
        Seed or generator for the random parts; results are deterministic for a seed.
    dtype : np.float32 or np.float64
        Working precision.
    workers : int or None
        Threads for :mod:`scipy.fft` (negative: counted back from the number of cores, as
        :mod:`scipy.fft` does; −1: all). None: one thread up to 512 frames of 2048
        samples, where a thread pool costs more than it gains, and all cores above.
    block_frames : int >= 256
        Signals longer than this many frames are reconstructed in overlapping blocks, so
        memory stays bounded whatever the length (about 0.5 GB per 2048 frames of 1025
        bins). Each block starts from the phases the previous one converged to in their
        overlap, and the two are cross-faded there, so no seam is audible.
    refine : callable or None
        For a target magnitude that is itself only an estimate (a mel image): every
        ``refine_every`` iterations, ``refine(A, frames)`` receives the magnitude ``A``
        [shape=(n_bins, n_block_frames)] of the current estimate (after the momentum
        step, before the magnitude projection) for the frames
        ``frames`` (a slice of the whole signal) and returns the magnitude to project on
        from then on, same shape and units. ``specimg.decode`` uses it to impose the
        stored mel bands while keeping the fine structure the iterations find. During
        the ``n_low`` iterations it receives and returns the low band's bins only.
    refine_every : int > 0
        Iterations between calls of ``refine``.
    hold : (mask, values) or None
        Coefficients known exactly: ``mask`` [bool, shape=S.shape] marks them and
        ``values`` [complex, same shape, units of :func:`librosa.stft`] gives them. They
        are set at the start and after every step, so only the other coefficients are
        reconstructed (``specimg.decode(..., phase_from=...)`` holds the unedited part of
        an image at the original audio's STFT).
    progress : bool
        Show a progress bar (after one second) over the iterations.
    magnitude : np.ndarray or None
        Deprecated name of ``S`` (warns; removed in the next release).
    method : {"fgla", "agla"}
        The iteration after the RAAR ones: fast Griffin-Lim (momentum ``momentum``), or
        accelerated Griffin-Lim [4]_ with α = ``momentum``, β = ``beta``, γ = ``gamma``:
        ``t_n = (1 − γ) d_{n−1} + γ P_C(P_M(c_{n−1}))``, ``c_n = t_n + α (t_n − t_{n−1})``,
        ``d_n = t_n + β (t_n − t_{n−1})`` (P_C: projection on consistent STFTs, P_M: on
        the magnitude ``S``); γ = 1 is fast Griffin-Lim.
    beta : float >= 0
        β of accelerated Griffin-Lim (used when ``gamma != 1``).
    gamma : float > 0
        γ of accelerated Griffin-Lim (``method="agla"`` only).
    n_raar : int >= 0
        Number of the ``n_iter`` iterations that are RAAR [5]_, first:
        ``x ← β_r (x + P_C(R_M x) − P_M x) + (1 − β_r) P_M x`` with ``R_M = 2 P_M − I``
        and β_r = ``raar_beta``; the rest start from ``P_M x``. RAAR leaves the basin of
        the initial phase more readily than Griffin-Lim, which pays off over tens of
        iterations. Ignored with ``refine``, as are ``method``, ``beta`` and ``gamma`` (then
        every iteration is fast Griffin-Lim with ``momentum``).
    raar_beta : float in (0, 1]
        Relaxation of RAAR (1: Douglas-Rachford, the difference map with β = 1).
    n_low : int >= 0
        Iterations on the lowest ``n_fft // (2 * decimation) + 1`` bins alone, run before
        the last ``min(16, n_iter // 2)`` of the ``n_iter`` ones, as the STFT of the signal
        decimated by ``decimation`` (window ``window[::decimation]``, hop
        ``hop_length // decimation``), so that each costs about ``1 / decimation`` of a
        full one: fast Griffin-Lim with ``momentum``, and ``refine`` (if given) every
        ``refine_every`` of them, called with those bins only. Their phase then replaces
        the full-band phase up to 82 % of the band, cross-faded to it by 90 %, and the
        last full-band iterations join the bands again (see
        :mod:`specimg.phase._lowband`). ``specimg.decode`` runs them on mel pictures
        (:data:`MEL_LOW_ITERATIONS`): the alignment of a voice's low harmonics, which a
        listener hears most, converges slowly, and the low band buys it cheaply.
    decimation : int >= 2
        Decimation of the ``n_low`` iterations (not used without them): it must divide
        ``hop_length`` and leave an even number of at least 64 samples per decimated frame
        (:func:`decimation_for` picks it from the sampling rate).

    Returns
    -------
    np.ndarray [shape=(..., length)], ``dtype``, the reconstructed signal.

    Raises
    ------
    ParameterError
        If the magnitude or a parameter is invalid.

    See Also
    --------
    librosa.griffinlim : the same iteration from a random start; its ``random_state`` is
        ``rng`` here, and its ``init="random"`` is ``init="random"``.

    References
    ----------
    .. [1] Z. Průša, P. Balazs, P. L. Søndergaard, "A Noniterative Method for Reconstruction
       of Phase From STFT Magnitude", IEEE/ACM TASLP 25(5), 2017.
    .. [2] N. Perraudin, P. Balazs, P. L. Søndergaard, "A fast Griffin-Lim algorithm",
       IEEE WASPAA 2013.
    .. [3] D. Griffin, J. Lim, "Signal estimation from modified short-time Fourier
       transform", IEEE Trans. ASSP 32(2), 1984.
    .. [4] R. Nenov, D.-K. Nguyen, P. Balazs, R. I. Boţ, "Faster than fast: accelerating the
       Griffin-Lim algorithm", IEEE ICASSP 2023.
    .. [5] D. R. Luke, "Relaxed averaged alternating reflections for diffraction imaging",
       Inverse Problems 21(1), 2005; T. Peer, S. Welker, T. Gerkmann, "Beyond Griffin-Lim:
       improved iterative phase retrieval for speech", IWAENC 2022.
    """
    S = renamed_magnitude(S, magnitude, "griffin_lim")
    check_magnitude(S)
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ParameterError(f"n_iter={n_iter!r} must be an integer >= 0")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.number)) or not 0 <= momentum < np.inf:
        raise ParameterError(f"momentum={momentum!r} must be a finite number >= 0")  # also rejects NaN
    n_fft, hop_length, win_length, w = stft_geometry(S.shape[-2], n_fft, hop_length, win_length, window)
    if hold is not None:
        if not isinstance(hold, (tuple, list)) or len(hold) != 2 or np.shape(hold[0]) != S.shape or np.shape(hold[1]) != S.shape:
            raise ParameterError(f"hold must be (mask, values), both of the magnitude's shape {S.shape}")
        if np.asarray(hold[0]).dtype != bool:
            raise ParameterError(f"hold's mask has dtype {np.asarray(hold[0]).dtype}; it must be bool")
        if not np.all(np.isfinite(hold[1]) | ~np.asarray(hold[0])):  # bool temporaries, no complex copy
            raise ParameterError("hold's values hold NaN or infinity where the mask is set; they must be finite")
    if dtype not in (np.float32, np.float64):
        raise ParameterError(f"dtype={dtype!r} must be np.float32 or np.float64")
    n_cores = os.cpu_count() or 1
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or not (-n_cores <= workers != 0)):  # fmt: skip
        raise ParameterError(f"workers={workers!r} must be a thread count >= 1, or -1 (all cores) … -{n_cores}, or None")
    if method not in ("fgla", "agla"):
        raise ParameterError(f"method={method!r} must be 'fgla' or 'agla'")
    for name, value, low in (("beta", beta, 0.0), ("gamma", gamma, 1e-9), ("raar_beta", raar_beta, 1e-9)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not low <= value < np.inf:
            raise ParameterError(f"{name}={value!r} must be a finite number {'>= 0' if low == 0 else '> 0'}")
    if raar_beta > 1:
        raise ParameterError(f"raar_beta={raar_beta!r} must be <= 1")
    if isinstance(n_raar, bool) or not isinstance(n_raar, (int, np.integer)) or n_raar < 0:
        raise ParameterError(f"n_raar={n_raar!r} must be an integer >= 0")
    if isinstance(n_low, bool) or not isinstance(n_low, (int, np.integer)) or n_low < 0:
        raise ParameterError(f"n_low={n_low!r} must be an integer >= 0")
    if isinstance(refine_every, bool) or not isinstance(refine_every, (int, np.integer)) or refine_every < 1:
        raise ParameterError(f"refine_every={refine_every!r} must be an integer >= 1")
    if isinstance(block_frames, bool) or not isinstance(block_frames, (int, np.integer)) or block_frames < 4 * _BLOCK_OVERLAP:
        raise ParameterError(f"block_frames={block_frames!r} must be an integer >= {4 * _BLOCK_OVERLAP}")
    if n_low:
        check_decimation(decimation, n_fft, hop_length)
    n_frames = S.shape[-1]
    if length is None:
        length = span_length(n_frames, n_fft=n_fft, hop_length=hop_length, center=center)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ParameterError(f"length={length!r} must be an integer >= 0")
    gen = as_generator(rng)

    if not isinstance(init, np.ndarray) and init not in ("pghi", "random", "zeros"):
        raise ParameterError(f"init={init!r} must be 'pghi', 'random', 'zeros' or an array of phases")
    if isinstance(init, np.ndarray) and init.shape != S.shape:
        raise ParameterError(f"init phase of shape {init.shape} must match magnitude {S.shape}")
    if isinstance(init, np.ndarray) and (not np.issubdtype(init.dtype, np.floating) and not np.issubdtype(init.dtype, np.integer)
                                         or not np.all(np.isfinite(init))):
        raise ParameterError(f"init phases (dtype {init.dtype}) must be finite real numbers in radians; pass np.angle(X) for an STFT X")
    scheme = Scheme(momentum=float(momentum), beta=float(beta), gamma=float(gamma) if method == "agla" else 1.0,
                    n_raar=int(n_raar), raar_beta=float(raar_beta), n_low=int(n_low),
                    decimation=int(decimation) if n_low else 1)
    bar = None
    if progress:
        from tqdm import tqdm

        n_signals = int(np.prod(S.shape[:-2], dtype=int))
        bar = tqdm(total=(scheme.work(n_iter) + 1) * n_signals, desc="phase", unit="it", delay=1.0, leave=False,
                   bar_format="{l_bar}{bar}| {elapsed}<{remaining}")
    out: np.ndarray = np.zeros(S.shape[:-2] + (length,), dtype=dtype)
    geometry = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window)
    for idx in np.ndindex(*S.shape[:-2]):
        init_i = init[idx] if isinstance(init, np.ndarray) else init
        if n_frames <= block_frames:
            pair = StftPair(
                n_fft=n_fft, hop_length=hop_length, window=w, n_frames=n_frames, length=length,
                center=center, dtype=dtype, workers=workers,
            )  # fmt: skip
            phase0 = _initial_phase(S[idx], init_i, None, geometry, gen)
            if bar is not None:
                bar.update()
            refine_i = _for_frames(refine, slice(0, n_frames), refine_every)
            hold_i = None if hold is None else (hold[0][idx], hold[1][idx])
            X = _fgla(S[idx], phase0, pair, n_iter, scheme, dtype, bar, refine=refine_i, hold=hold_i)
            out[idx] = pair.inverse(X)
        else:
            out[idx] = _fgla_blocks(
                S[idx], init_i, geometry, w, center, length, n_iter, scheme, dtype, workers, gen, bar,
                block_frames=block_frames, overlap=_BLOCK_OVERLAP, refine=refine, refine_every=refine_every,
                hold=None if hold is None else (hold[0][idx], hold[1][idx]),
            )  # fmt: skip
    if bar is not None:
        bar.close()
    return out



def _initial_phase(
    S: np.ndarray, init: str | np.ndarray, known: np.ndarray | None, geometry: dict, gen: np.random.Generator
) -> np.ndarray:
    if isinstance(init, np.ndarray):
        return init
    if init == "pghi":
        return pghi(S, known=known, rng=gen, **geometry)
    phase = gen.uniform(-np.pi, np.pi, size=S.shape) if init == "random" else np.zeros(S.shape)
    if known is not None:
        phase = np.where(np.isfinite(known), known, phase)
    return phase



class _BlockRefine:
    """``refine`` bound to the frames ``frames`` of a block, due every ``every`` iterations."""

    def __init__(self, refine: Refine, frames: slice, every: int) -> None:
        self.refine, self.frames, self.every = refine, frames, every

    def due(self, k: int) -> bool:
        return k % self.every == 0

    def __call__(self, A: np.ndarray) -> np.ndarray:
        """New target (n_frames, n_bins) from the magnitude ``A`` (n_frames, n_bins) of the estimate."""
        new = np.asarray(self.refine(A.T, self.frames))
        if new.shape != A.T.shape:  # the compiled steps do not check bounds
            raise ParameterError(f"refine returned shape {new.shape}; it must return the shape it received {A.T.shape}")
        return new.T


def _for_frames(refine: Refine | None, frames: slice, every: int) -> _BlockRefine | None:
    """Bind ``refine`` to a block (None stays None)."""
    return None if refine is None else _BlockRefine(refine, frames, every)



@dataclass(frozen=True)
class Scheme:
    """The iteration of :func:`griffin_lim`: optional RAAR iterations, then accelerated GLA.

    ``momentum`` is the α of [4]_ (the momentum of fast Griffin-Lim [2]_), ``beta`` and
    ``gamma`` its β and γ (γ = 1: fast Griffin-Lim); the first ``n_raar`` iterations are
    relaxed averaged alternating reflections [5]_ with relaxation ``raar_beta``; ``n_low``
    iterations on the low band, decimated by ``decimation`` (1 when there are none), run
    before the last ``min(16, n_iter // 2)`` (see :func:`griffin_lim`).
    """

    momentum: float = 0.99
    beta: float = 1.1
    gamma: float = 1.0
    n_raar: int = 0
    raar_beta: float = 0.9
    n_low: int = 0
    decimation: int = 1

    def polish(self, n_iter: int) -> int:
        """Full-band iterations of ``n_iter`` after the low-band ones (0 when there are none)."""
        return min(POLISH_ITERATIONS, n_iter // 2) if self.n_low and n_iter else 0

    def work(self, n_iter: int) -> float:
        """The iterations in units of a full-band one (a low-band iteration: 1 / ``decimation``), for progress."""
        return n_iter + (self.n_low / self.decimation if self.n_low and n_iter else 0.0)


class _Held:
    """Coefficients held through the iterations: ``mask``/``values`` (n_frames, n_bins) and the first frames ``fixed``."""

    def __init__(self, mask: np.ndarray | None, values: np.ndarray | None, fixed: np.ndarray | None) -> None:
        self.mask, self.values, self.fixed = mask, values, fixed

    def constrain(self, Z: np.ndarray) -> None:
        """Set the held coefficients of ``Z`` (in place)."""
        if self.mask is not None:
            np.copyto(Z, self.values, where=self.mask)  # type: ignore[arg-type]
        if self.fixed is not None and len(self.fixed):
            Z[: len(self.fixed)] = self.fixed

    def low(self, decimation: int, n_bins: int) -> _Held:
        """The same on the first ``n_bins`` bins, in the units of the STFT decimated by ``decimation``."""
        return _Held(
            None if self.mask is None else np.ascontiguousarray(self.mask[:, :n_bins]),
            None if self.values is None else self.values[:, :n_bins] / decimation,
            None if self.fixed is None else self.fixed[:, :n_bins] / decimation,
        )


class _Fraction:
    """A progress bar that advances by ``step`` per update (a low-band iteration counts ``1 / decimation``)."""

    def __init__(self, bar: object, step: float) -> None:
        self.bar, self.step = bar, step

    def update(self, n: float = 1) -> None:
        self.bar.update(n * self.step)  # type: ignore[attr-defined]


def _fgla(
    S: np.ndarray,
    phase0: np.ndarray,
    pair: StftPair,
    n_iter: int,
    scheme: Scheme,
    dtype: type,
    bar: object,
    fixed: np.ndarray | None = None,
    refine: _BlockRefine | None = None,
    hold: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Phase retrieval on one (n_bins, n_frames) magnitude; returns the final STFT (n_frames, n_bins).

    ``fixed`` (n_fixed, n_bins), if given, holds the first frames constant throughout;
    ``refine`` (see :func:`_for_frames`) may replace the target magnitude between steps
    (then the iteration is fast Griffin-Lim with ``scheme.momentum``, as the refiners
    expect); ``hold`` (mask, values) in (n_bins, n_frames) holds single coefficients.
    """
    from ._kernels import polar

    mag: np.ndarray = np.ascontiguousarray(S.T, dtype=dtype)
    cdtype = np.result_type(dtype, np.complex64)
    X = np.empty(mag.shape, dtype=cdtype)
    polar(mag, np.ascontiguousarray(phase0.T), X)
    holds = hold is not None and bool(np.any(hold[0]))
    held = _Held(
        np.ascontiguousarray(hold[0].T) if holds else None,  # type: ignore[index]
        np.ascontiguousarray(hold[1].T).astype(cdtype, copy=False) if holds else None,  # type: ignore[index]
        fixed,
    )  # fmt: skip
    constrain = held.constrain
    constrain(X)
    # with low-band iterations: the last `after` full ones follow them and join the bands again
    after = scheme.polish(n_iter)
    if refine is not None:
        X = _refined(X, mag, pair, n_iter - after, scheme.momentum, dtype, bar, refine, constrain)
    else:
        X = _iterated(X, mag, pair, n_iter - after, scheme, bar, constrain)
    if scheme.n_low and n_iter:  # the same iterations on the low band alone, as the decimated signal's STFT
        band = LowBand(X, pair, scheme.decimation)
        low_refine = LowRefine(band, refine, refine.due if refine is not None else lambda k: False)
        low_bar = None if bar is None else _Fraction(bar, 1.0 / band.decimation)
        Z = _refined(band.start, band.target, band.pair, scheme.n_low, scheme.momentum, dtype, low_bar, low_refine,
                     held.low(band.decimation, band.n_bins).constrain)
        band.merge(X, Z)
        constrain(X)
        if refine is not None:
            X = _refined(X, np.abs(X), pair, after, scheme.momentum, dtype, bar, refine, constrain)
        else:
            X = _iterated(X, mag, pair, after, dataclasses.replace(scheme, n_raar=0), bar, constrain)
    return X


def _iterated(
    X: np.ndarray,
    mag: np.ndarray,
    pair: StftPair,
    n_iter: int,
    scheme: Scheme,
    bar: object,
    constrain: Callable[[np.ndarray], None],
) -> np.ndarray:
    """The iterations of :func:`_fgla` on a fixed target: ``scheme.n_raar`` RAAR ones, then fast or accelerated Griffin-Lim."""
    from ._kernels import accelerated_step, momentum_project, project_magnitude, raar_step

    n_raar = min(scheme.n_raar, n_iter)
    if n_raar:
        state = X.copy()
        for _ in range(n_raar):
            raar_step(pair.project(X), state, mag, scheme.raar_beta, X)
            constrain(state)
            constrain(X)
            if bar is not None:
                bar.update()  # type: ignore[attr-defined]
        X[...] = state
        project_magnitude(X, mag)
        constrain(X)
    if scheme.gamma == 1.0:
        # fast Griffin-Lim from t_0 = 0: P_M(t_n + α (t_n − t_{n−1})), which is
        # P_M(t_n − α/(1 + α) t_{n−1}) of Perraudin et al. scaled by (1 + α): the same projection
        prev = np.zeros_like(X)
    else:  # accelerated Griffin-Lim from t_0 = d_0 = X
        prev, lead = X.copy(), X.copy()
    for k in range(n_iter - n_raar):
        if scheme.gamma != 1.0:
            accelerated_step(pair.project(X), prev, lead, mag, scheme.momentum, scheme.beta, scheme.gamma, X)
        else:
            momentum_project(pair.project(X), prev, scheme.momentum, mag, X)
        constrain(X)
        if bar is not None:
            bar.update()  # type: ignore[attr-defined]
    return X



def _refined(
    X: np.ndarray,
    mag: np.ndarray,
    pair: StftPair,
    n_iter: int,
    momentum: float,
    dtype: type,
    bar: object,
    refine: _BlockRefine | LowRefine,
    constrain: Callable[[np.ndarray], None],
) -> np.ndarray:
    """The iterations of :func:`_fgla` with a moving target: fast Griffin-Lim, ``refine`` when due.

    The momentum point ``c = t + α (t − t_prev)`` (``t``: the consistency projection) is
    (1 + α) times fast Griffin-Lim's ``t − α/(1 + α) t_prev``: the same phase and, the fit
    being scale-free in the magnitude it receives, the same target. Accelerated
    Griffin-Lim (γ 1.25, either start of its state) measured worse here: on speech_human
    −45.7 dB mel SC against −62.7 at 192 iterations (benchmarks/PHASE_MEL.md).
    """
    from ._kernels import momentum_point, momentum_project, project_target

    prev = np.zeros_like(X)  # t_0 = 0: the first step projects the start itself
    A: np.ndarray = np.empty(mag.shape, dtype=dtype)
    for k in range(n_iter):
        rebuilt = pair.project(X)
        if refine.due(k):
            momentum_point(rebuilt, prev, momentum, X, A)
            mag = np.ascontiguousarray(refine(A), dtype=dtype)
            project_target(X, mag)
        else:
            momentum_project(rebuilt, prev, momentum, mag, X)
        constrain(X)
        if bar is not None:
            bar.update()  # type: ignore[attr-defined]
    return X



def _fgla_blocks(
    S: np.ndarray,
    init: str | np.ndarray,
    geometry: dict,
    window: np.ndarray,
    center: bool,
    length: int,
    n_iter: int,
    scheme: Scheme,
    dtype: type,
    workers: int | None,
    gen: np.random.Generator,
    bar: object,
    *,
    block_frames: int,
    overlap: int,
    refine: Refine | None,
    refine_every: int,
    hold: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Reconstruct a long signal block by block in bounded memory.

    Blocks of ``block_frames`` frames overlap by ``overlap`` frames. In each block the
    first 3/4 of the overlap is held at the STFT the previous block converged to (PGHI
    integrates on from those phases, and Griffin-Lim keeps them), so both blocks
    synthesise the same samples from the same frames in the second quarter of the overlap,
    where the outputs are cross-faded; each block's edge frames fall outside it.
    """
    n_fft, hop = geometry["n_fft"], geometry["hop_length"]
    n_frames = S.shape[-1]
    out: np.ndarray = np.zeros(length, dtype=dtype)
    step = block_frames - overlap
    starts = list(range(0, max(n_frames - overlap, 1), step))
    prev_X: np.ndarray | None = None
    prev_start = 0
    for start in starts:
        stop = min(start + block_frames, n_frames)
        Sb = S[:, start:stop]
        # the block's frames and the samples up to its last frame's centre
        span = span_length(stop - start, n_fft=n_fft, hop_length=hop, center=center)
        local_len = span + frame_offset(n_fft, center)
        pair = StftPair(
            n_fft=n_fft, hop_length=hop, window=window, n_frames=stop - start, length=local_len,
            center=center, dtype=dtype, workers=workers,
        )  # fmt: skip
        known = fixed = None
        if prev_X is not None:
            n_fixed = 3 * overlap // 4
            fixed = prev_X[start - prev_start : start - prev_start + n_fixed]
            known = np.full(Sb.shape, np.nan)
            known[:, :n_fixed] = np.angle(fixed).T
        init_b = init[:, start:stop] if isinstance(init, np.ndarray) else init
        phase0 = _initial_phase(Sb, init_b, known, geometry, gen)
        refine_b = _for_frames(refine, slice(start, stop), refine_every)
        hold_b = None if hold is None else (hold[0][:, start:stop], hold[1][:, start:stop])
        X = _fgla(Sb, phase0, pair, n_iter, scheme, dtype, None, fixed, refine_b, hold_b)
        y = pair.inverse(X)
        g0 = start * hop
        g1 = min(g0 + local_len, length)
        y = y[: g1 - g0]
        if prev_X is None:
            out[g0:g1] = y
        else:
            f0, f1 = (start + overlap // 4) * hop, (start + overlap // 2) * hop
            fade = (0.5 - 0.5 * np.cos(np.pi * (np.arange(f1 - f0) + 0.5) / (f1 - f0))).astype(dtype)
            out[f0:f1] = (1 - fade) * out[f0:f1] + fade * y[f0 - g0 : f1 - g0]
            out[f1:g1] = y[f1 - g0 :]
        prev_X, prev_start = X, start
        if bar is not None:
            bar.update(scheme.work(n_iter) * (stop - start) / n_frames)  # type: ignore[attr-defined]
    return out

