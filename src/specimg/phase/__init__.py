"""Phase reconstruction from STFT magnitude: PGHI initialisation, then RAAR and fast or accelerated Griffin-Lim.

The STFT convention is librosa's (:func:`librosa.stft` with ``pad_mode="constant"``):
frame ``m`` covers samples ``m * hop_length - n_fft // 2 ...`` when ``center=True``, and
the phase of bin ``k`` is referred to the start of the frame.

Units: :func:`reconstruct` with a :class:`~specimg.SpectrogramParams` takes the calibrated
magnitude that images store (a full-scale sine reads 1.0; see :mod:`specimg.spectral`).
Without params, and in :func:`pghi` and :func:`griffin_lim`, the magnitude ``S`` is in the
units of :func:`librosa.stft` (not calibrated).

Layout: ``_stft`` (the STFT/ISTFT pair), ``_pghi``, ``_gla`` (fast/accelerated
Griffin-Lim and RAAR, blocks), ``_reconstruct`` (quality presets), ``_if``
(instantaneous-frequency planes), ``_mel`` (joint mel decode), ``_lowband`` (iterations on
the low band alone, as the decimated signal's STFT), ``_locked`` (phase-locked
reconstruction: the phase known, the magnitude refined), ``_rebuild`` (one channel of a
picture: chooses among the above from what is known of the phase), ``_kernels`` (numba loops, imported on first use so
that importing this package does not import numba).

Methods: PGHI [1]_ starts the iterations; fast Griffin-Lim [2]_ is Griffin-Lim [3]_ with
momentum.

References
----------
.. [1] Z. Průša, P. Balazs, P. L. Søndergaard, "A Noniterative Method for Reconstruction of
   Phase From STFT Magnitude", IEEE/ACM Trans. Audio, Speech, Lang. Process. 25(5),
   1154–1164, 2017. doi:10.1109/TASLP.2017.2678166
.. [2] N. Perraudin, P. Balazs, P. L. Søndergaard, "A fast Griffin-Lim algorithm",
   IEEE WASPAA 2013. doi:10.1109/WASPAA.2013.6701851
.. [3] D. Griffin, J. Lim, "Signal estimation from modified short-time Fourier transform",
   IEEE Trans. ASSP 32(2), 236–243, 1984.
"""

from __future__ import annotations

from ..typing import Window
from ._gla import Init, Method, Refine, griffin_lim
from ._if import if_scale, if_to_phase, phase_to_if
from ._locked import Bound, phase_locked
from ._lowband import LOW_BAND_HZ, decimation_for
from ._mel import MEL_ITERATIONS, MEL_LOW_ITERATIONS, mel_iterations, mel_low_band, mel_refiner, mel_start
from ._pghi import gaussian_tfr, pghi
from ._rebuild import KnownPhase, locked_fits, rebuild
from ._reconstruct import PRESET_METHODS, QUALITY_PRESETS, Quality, reconstruct, resolve_quality
from ._stft import StftPair

__all__ = [
    "StftPair",
    "pghi",
    "griffin_lim",
    "reconstruct",
    "rebuild",
    "KnownPhase",
    "locked_fits",
    "resolve_quality",
    "QUALITY_PRESETS",
    "PRESET_METHODS",
    "Method",
    "gaussian_tfr",
    "phase_to_if",
    "if_to_phase",
    "if_scale",
    "phase_locked",
    "Bound",
    "mel_start",
    "mel_refiner",
    "mel_iterations",
    "MEL_ITERATIONS",
    "MEL_LOW_ITERATIONS",
    "mel_low_band",
    "decimation_for",
    "LOW_BAND_HZ",
    "Init",
    "Refine",
    "Quality",
    "Window",
]
