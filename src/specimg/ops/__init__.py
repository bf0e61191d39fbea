"""Image operations on calibrated spectrograms: denoise, erase, gain, inpaint, masks.

Every operation takes a :class:`~specimg.SpectrogramImage` and returns a **new** one whose
``params`` equal the input's except that ``params.edits`` has one more entry, a dict
``{"op": <name>, ...}`` holding the operation's (resolved, JSON-serialisable) arguments.
The input is never modified. Operations work channel by channel on the calibrated level in
dB (:attr:`SpectrogramImage.db`), or on the level scaled to 0..1 where a library needs
that, and re-quantise the result with :meth:`SpectrogramImage.from_db` (levels outside
``[db_min, db_max]`` are clipped).

Units and axes
--------------
* Time in seconds: frame ``t`` sits at ``params.times(n_frames)[t]`` (its centre).
* Frequency in Hz: row ``k`` of a channel sits at ``params.frequencies[k]`` (the STFT bin
  frequency, or the centre frequency of mel band ``k`` for a mel image).
* Levels in dB relative to ``params.ref``; strengths of the denoisers are in dB too.
* :func:`region_mask` is in **bin order** (lowest frequency first), like
  :attr:`SpectrogramImage.db`. Masks given as pictures (:func:`inpaint`,
  :func:`apply_mask`) and the arrays :func:`apply` hands to a function are in **image
  orientation**: rows as stored in the file, low frequencies at the bottom when
  ``params.flip`` (the default), exactly what an image editor shows.

Unit level ("0..1")
-------------------
``u = (dB - db_min) / (db_max - db_min)``: 0 is the floor (silence), 1 the loudest level,
whatever ``params.invert`` says about the pixel values.

Examples
--------
>>> import numpy as np, specimg
>>> from specimg import ops
>>> sr = 22050
>>> y = 0.1 * np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr)
>>> img = specimg.encode(y, sr)
>>> quiet = ops.gain(img, -6.0, time=(0.5, 1.0), freq=(300.0, 600.0))
>>> cut = ops.erase(quiet, time=(1.2, 1.5))
>>> [e["op"] for e in cut.params.edits]
['gain', 'erase']
>>> cut.params.replace(edits=()) == img.params
True

Selections in seconds and Hz (rectangles, lassos, harmonic series, select-similar by
level; the ones ``specimg studio`` makes) become soft masks with :func:`selection_mask`
(:func:`check_selection`, :func:`selection_frames`, :func:`selection_bounds`), and
:func:`replay` runs an edit history again; :data:`APPLY_FUNCTIONS` lists the functions a
history may name for :func:`apply`.

The package is split by concept: ``_regions`` (region_mask, erase, gain), ``_denoise``,
``_masks`` (reading masks, inpaint, apply_mask), ``_apply``, ``_selection``, ``_replay``,
and ``_core`` for what they share; the public names are re-exported here.
"""

from __future__ import annotations

from ._apply import Domain as Domain
from ._apply import apply
from ._core import Span as Span
from ._core import frames_of
from ._denoise import DENOISE_OPTIONS, DENOISE_STRENGTH, denoise
from ._denoise import DenoiseMethod as DenoiseMethod
from ._masks import InpaintMethod as InpaintMethod
from ._masks import MaskLike as MaskLike
from ._masks import apply_mask, inpaint
from ._regions import erase, gain, region_mask
from ._replay import APPLY_FUNCTIONS, APPLY_KWARGS, APPLY_MODES, HOLE_THRESHOLD, apply_function, replay
from ._selection import check_selection, selection_bounds, selection_frames, selection_mask

__all__ = [
    "APPLY_FUNCTIONS", "APPLY_KWARGS", "APPLY_MODES", "DENOISE_OPTIONS", "DENOISE_STRENGTH", "HOLE_THRESHOLD", "apply", "apply_function", "apply_mask",
    "check_selection", "denoise", "erase", "frames_of", "gain", "inpaint", "region_mask", "replay", "selection_bounds",
    "selection_frames", "selection_mask",
]  # fmt: skip
