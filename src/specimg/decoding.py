"""Decode as a plan: one picture, one phase source, one call into :mod:`specimg.phase` per channel.

:func:`plan` resolves the input to a :class:`~specimg.SpectrogramImage` (a file's header is
read first and the memory checked once from it, before any pixel), checks the arguments,
and chooses one *phase source*:

* :class:`MagnitudeOnly`: nothing is known of the phase; it is rebuilt from the magnitude;
* :class:`StoredPhaseSource`: the phase stored with the picture (FORMAT.md §7), held in the
  bins whose pixels still go with it;
* :class:`OriginalAudio`: the audio the picture was made from (``phase_from=``), whose STFT
  is kept wherever the pixels are unchanged;
* :class:`IFPlaneSource`: a dataset tile's instantaneous-frequency plane, integrated to a
  starting phase.

:func:`run` then decodes every channel with :func:`specimg.phase.rebuild`, which chooses
between the locked, block-wise and joint mel iterations itself. :func:`specimg.decode` and
the dataset decoders (:func:`specimg.dataset.decode_batch`, :func:`specimg.dataset.decode_dir`)
are this plan.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .audio import check_audio, read_audio
from .errors import FormatError, ParameterError
from .formats import load, read_header
from .image import SpectrogramImage, pixel_max
from .messages import shorten
from .params import SpectrogramParams
from .phase import Init, KnownPhase, Quality, if_to_phase, rebuild, resolve_quality
from .resources import check_memory, decode_bytes
from .spectral import linear_bins_of, magnitude, mel_to_linear, stft
from .typing import PathLike

__all__ = [
    "DecodePlan", "PhaseSource", "MagnitudeOnly", "StoredPhaseSource", "OriginalAudio", "IFPlaneSource", "plan", "run",
    "decode_need",
]  # fmt: skip

#: Peak bytes of the IF integration (:func:`specimg.phase.if_to_phase`, float64) per linear
#: bin and frame, measured at 3000 frames of n_fft 2048 (109), on top of the decode's own.
IF_BYTES_PER_BIN = 112

# One quantisation step of float32 pixels, as a fraction of the pixel range (a tolerance
# for "unchanged", wider than float32's resolution near full scale).
_FLOAT_STEP_FRACTION = 1e-6


# ---------------------------------------------------------------------------- phase sources
@dataclass(frozen=True)
class MagnitudeOnly:
    """Nothing is known of the phase: it is rebuilt from the magnitude (PGHI and the preset)."""

    what = "decode"
    fix = "decode a shorter excerpt (crop the image) or re-encode with a smaller n_fft"

    @classmethod
    def extra_bytes(cls, params: SpectrogramParams, n_frames: int) -> int:
        """Bytes this source needs on top of the decode itself (known from the parameters alone)."""
        return 0

    def known(self, img: SpectrogramImage, channel: int, S: np.ndarray, rng: np.random.Generator) -> KnownPhase | None:
        """What is known of ``channel``'s phase (None: nothing)."""
        return None


@dataclass(frozen=True, eq=False)
class StoredPhaseSource(MagnitudeOnly):
    """The phase stored with the picture, held where :meth:`~specimg.stored_phase.StoredPhase.held`.

    Attributes
    ----------
    held : np.ndarray [shape=(n_channels, n_fft // 2 + 1, n_frames)], bool
    """

    held: np.ndarray

    @classmethod
    def extra_bytes(cls, params: SpectrogramParams, n_frames: int) -> int:
        return _held_bytes(params, n_frames)

    def known(self, img: SpectrogramImage, channel: int, S: np.ndarray, rng: np.random.Generator) -> KnownPhase:
        assert img.phase is not None
        pixels = img.channel_pixels[channel] if img.params.scale != "mel" else None
        return KnownPhase.stored(img.phase.angle(channel), self.held[channel], pixels=pixels)


@dataclass(frozen=True, eq=False)
class OriginalAudio(MagnitudeOnly):
    """The audio the picture was made from: its STFT is kept where the pixels are unchanged.

    Attributes
    ----------
    y : np.ndarray [shape=(n_channels, n_samples)], float64, at the picture's ``sr``
    """

    y: np.ndarray

    @classmethod
    def extra_bytes(cls, params: SpectrogramParams, n_frames: int) -> int:
        return _held_bytes(params, n_frames)

    def known(self, img: SpectrogramImage, channel: int, S: np.ndarray, rng: np.random.Generator) -> KnownPhase:
        X0, unchanged = _unchanged(self.y[channel], img, channel)
        return KnownPhase.original(X0, unchanged)


@dataclass(frozen=True, eq=False)
class IFPlaneSource(MagnitudeOnly):
    """A dataset tile's IF plane (one channel), integrated to the starting phase.

    One IF value per mel band is close to the phase advance of the bins under narrow bands
    only, so the integrated phase is a start, not held (``benchmarks/dataset_if.py``).

    Attributes
    ----------
    plane : np.ndarray [shape=(n_bins, n_frames)], float in [-1, 1], row order
        (:func:`specimg.dataset.ifplane.if_values`).
    """

    plane: np.ndarray
    what = "decode with the IF plane"
    fix = "decode the tiles one by one (without stitch) or fewer at a time"

    @classmethod
    def extra_bytes(cls, params: SpectrogramParams, n_frames: int) -> int:
        return IF_BYTES_PER_BIN * (params.n_fft // 2 + 1) * n_frames

    def known(self, img: SpectrogramImage, channel: int, S: np.ndarray, rng: np.random.Generator) -> KnownPhase:
        p = img.params
        linear = mel_to_linear(S, p) if p.scale == "mel" else S
        return KnownPhase.start(if_to_phase(self.plane, np.maximum(linear, 0.0), p, rng=rng))


def _held_bytes(params: SpectrogramParams, n_frames: int) -> int:
    """Bytes of a source that holds known bins: its complex64 coefficients or phase, the
    masks and comparisons (24 B per linear bin), and 8 B per output sample (the original audio)."""
    return (params.n_fft // 2 + 1) * n_frames * 24 + 8 * params.output_length(n_frames) * params.n_channels


PhaseSource = Union[MagnitudeOnly, StoredPhaseSource, OriginalAudio, IFPlaneSource]


# ---------------------------------------------------------------------------- the plan
@dataclass(frozen=True, eq=False)
class DecodePlan:
    """A checked decode: the picture, its phase source and the iteration settings (:func:`plan`).

    Attributes
    ----------
    img : SpectrogramImage
    source : PhaseSource
    quality : {"fast", "balanced", "high"}
    n_iter : int or None
    momentum : float
    init : {"pghi", "random", "zeros"} or np.ndarray
    rng : np.random.Generator
    progress : bool
    """

    img: SpectrogramImage
    source: PhaseSource
    quality: Quality = "balanced"
    n_iter: int | None = None
    momentum: float = 0.99
    init: Init = "pghi"
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    progress: bool = False


def decode_need(params: SpectrogramParams, n_frames: int) -> int:
    """Peak bytes of decoding ``n_frames`` frames of every channel of ``params`` (no phase source).

    Examples
    --------
    >>> decode_need(SpectrogramParams(sr=22050), 100) // 2**20
    9
    """
    length = params.output_length(n_frames) * params.n_channels
    return decode_bytes(params.n_fft, n_frames, n_rows=params.n_bins, length=length)


def _check_memory(params: SpectrogramParams, n_frames: int, source: type[MagnitudeOnly]) -> None:
    """ResourceError if the decode with a phase source of type ``source`` is over the memory budget."""
    channels = f" × {params.n_channels} channels" if params.n_channels > 1 else ""
    check_memory(
        decode_need(params, n_frames) + source.extra_bytes(params, n_frames),
        f"{source.what} (n_fft={params.n_fft}, {n_frames} frames{channels})",
        source.fix,
    )


def plan(
    img: SpectrogramImage | PathLike,
    *,
    quality: Quality = "balanced",
    n_iter: int | None = None,
    momentum: float = 0.99,
    init: Init = "pghi",
    rng: np.random.Generator | int | None = 0,
    params: SpectrogramParams | None = None,
    like: SpectrogramImage | SpectrogramParams | PathLike | None = None,
    phase_from: np.ndarray | PathLike | None = None,
    stored_phase: bool = True,
    if_plane: np.ndarray | None = None,
    progress: bool = False,
) -> DecodePlan:
    """Check a decode and choose its phase source, reading a file's pixels only after its memory check.

    Parameters
    ----------
    img, quality, n_iter, momentum, init, rng, params, like, phase_from, stored_phase, progress
        As :func:`specimg.decode`.
    if_plane : np.ndarray [shape=(n_bins, n_frames)] or None
        A one-channel tile's IF plane as values in [-1, 1] (:class:`IFPlaneSource`).

    Returns
    -------
    DecodePlan

    Raises
    ------
    ParameterError, FormatError, MissingFileError, ResourceError
        As :func:`specimg.decode`, before any phase iteration.

    Examples
    --------
    >>> import numpy as np, specimg
    >>> img = specimg.encode(np.sin(np.arange(8000) / 3), 8000, n_fft=256, store_phase=True)
    >>> type(plan(img).source).__name__, type(plan(img, stored_phase=False).source).__name__
    ('StoredPhaseSource', 'MagnitudeOnly')
    """
    resolve_quality(quality, n_iter)  # before any expensive work
    if img is None or isinstance(img, (bytes, int, float)):
        raise ParameterError(f"img={shorten(img)} must be a SpectrogramImage or the path of an image file")
    if not (rng is None or isinstance(rng, np.random.Generator)) and (
        isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0
    ):
        raise ParameterError(f"rng={shorten(rng)} must be a np.random.Generator, a seed int >= 0, or None")
    if isinstance(img, np.ndarray):
        raise ParameterError(
            "decode() takes a SpectrogramImage or a file path; wrap pixels as SpectrogramImage(pixels, params) first"
        )
    if not isinstance(stored_phase, (bool, np.bool_)):
        raise ParameterError(f"stored_phase={shorten(stored_phase)} must be True or False")
    # the memory check needs only the parameters and the width: a file's header, before its pixels
    if isinstance(img, SpectrogramImage):
        _check_memory(img.params, img.n_frames, _kind(phase_from, if_plane, stored_phase and img.phase is not None))
    else:
        header = read_header(img, params=params, like=like)
        if header.params is not None:
            _check_memory(header.params, header.n_frames, _kind(phase_from, if_plane, stored_phase and header.has_phase))
        img = load(header)
    p = img.params
    if p.output_length(img.n_frames) < 1:
        raise FormatError(
            f"the image has too few frames ({img.n_frames}) to hold any audio and n_samples is "
            f"{p.n_samples!r}: it decodes to 0 samples; use an image of at least 2 frames"
        )
    source = _source(img, phase_from, if_plane, stored_phase)
    if isinstance(init, np.ndarray) and init.shape[-2:] != (p.n_fft // 2 + 1, img.n_frames):
        raise ParameterError(f"init phase of shape {init.shape} does not match the image's STFT")
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    return DecodePlan(img, source, quality, n_iter, momentum, init, gen, progress)


def _kind(phase_from: object, if_plane: object, stored: bool = False) -> type[MagnitudeOnly]:
    """The type of phase source :func:`_source` will choose, known before the pixels are read."""
    if phase_from is not None:
        return OriginalAudio
    if if_plane is not None:
        return IFPlaneSource
    return StoredPhaseSource if stored else MagnitudeOnly


def _source(
    img: SpectrogramImage, phase_from: np.ndarray | PathLike | None, if_plane: np.ndarray | None, stored_phase: bool
) -> PhaseSource:
    """The phase source: the original audio, an IF plane, the stored phase, or nothing, in that order."""
    if phase_from is not None:
        return OriginalAudio(_original_audio(phase_from, img))
    if if_plane is not None:
        return IFPlaneSource(if_plane)
    if stored_phase and img.phase is not None:
        return StoredPhaseSource(img.phase.held(img.pixels, img.params))
    return MagnitudeOnly()


def run(plan: DecodePlan) -> tuple[np.ndarray, int]:
    """Carry out a :func:`plan`: every channel through :func:`specimg.phase.rebuild`.

    Returns
    -------
    y : np.ndarray [shape=(n_samples,) for mono, (n_channels, n_samples) otherwise], float32
    sr : int, sample rate in Hz
    """
    img, p = plan.img, plan.img.params
    length = p.output_length(img.n_frames)
    # One channel at a time, in float32: a 10-minute 44.1 kHz stereo image decodes in
    # well under 4 GiB (the phase step also works in blocks, see griffin_lim).
    y = np.empty((p.n_channels, length), dtype=np.float32)
    for c in range(p.n_channels):
        S = img.channel_magnitude(c)  # calibrated, as phase.rebuild takes it with params
        known = plan.source.known(img, c, S, plan.rng)
        init = plan.init if not isinstance(plan.init, np.ndarray) or plan.init.ndim == 2 else plan.init[c]
        y[c] = rebuild(
            S, p, known=known, quality=plan.quality, n_iter=plan.n_iter, momentum=plan.momentum, init=init,
            rng=plan.rng, length=length, progress=plan.progress,
        )  # fmt: skip
        del S
    return (y[0] if p.n_channels == 1 else y), p.sr


# ---------------------------------------------------------------------------- the original audio
def _original_audio(phase_from: np.ndarray | PathLike, img: SpectrogramImage) -> np.ndarray:
    """The original audio as (n_channels, n_samples) float64, checked against the image."""
    p = img.params
    if isinstance(phase_from, (str, os.PathLike)):
        y, _ = read_audio(phase_from, sr=p.sr)
    else:
        y = check_audio(phase_from, p.n_fft)
    y = y.reshape(-1, y.shape[-1])
    if y.shape[0] != p.n_channels:
        raise ParameterError(f"phase_from audio has {y.shape[0]} channel(s) but the image has {p.n_channels}")
    if p.frames_for(y.shape[-1]) != img.n_frames:
        raise ParameterError(
            f"phase_from audio has {y.shape[-1]} samples, which make {p.frames_for(y.shape[-1])} frames, but the "
            f"image has {img.n_frames}; pass the audio the image was encoded from"
        )
    return y


def _step_fraction(bit_depth: object) -> float:
    """One quantisation step of ``bit_depth`` as a fraction of the pixel range (0 if unknown)."""
    if isinstance(bit_depth, int) and bit_depth in (8, 16):
        return 1.0 / pixel_max(bit_depth)
    return _FLOAT_STEP_FRACTION if bit_depth == 32 else 0.0


def _unchanged(y: np.ndarray, img: SpectrogramImage, channel: int) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated STFT of original audio ``y`` (complex64) and the mask of linear bins
    whose pixels ``img`` left unchanged (within one quantisation step)."""
    p = img.params
    X0 = stft(y, p, dtype=np.float32)
    one = p.replace(n_channels=1, edits=())
    before = SpectrogramImage.from_magnitude(magnitude(y, one, dtype=np.float32), one).channel_pixels[0]
    after = img.channel_pixels[channel]
    # one step of the coarsest depth the pixels went through: an 8-bit export loaded with
    # load(like=) is rounded or truncated to 8 bits everywhere, edited or not
    depths = [p.bit_depth] + [e.get("bit_depth") for e in p.edits if e.get("op") == "external"]
    fraction = max(_step_fraction(d) for d in depths)  # of the full pixel range
    step = fraction * pixel_max(p.bit_depth)
    changed = np.abs(before.astype(np.float64) - after.astype(np.float64)) > step
    if p.scale == "mel":  # a linear bin changed if any mel band over it changed
        changed = linear_bins_of(changed, p)
    return X0, ~changed
