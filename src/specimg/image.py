"""Pixels ↔ calibrated dB, and the image that carries its own parameters.

The one range contract of the format (FORMAT.md §2): with ``p_max`` = 255, 65535 or 1.0,

    x = (clip(dB, db_min, db_max) - db_min) / (db_max - db_min)
    p = round(x * p_max)            (x * p_max for float32)
    p = p_max - p                   if invert

and rows are frequency bins, reversed (low frequencies at the bottom) when ``flip``.
Channels are stacked vertically, channel 0 on top. The floor value (``x == 0``) means
"at or below ``db_min``" and decodes to silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import FormatError, ParameterError
from .params import SpectrogramParams, stack_channels, unstack_channels
from .spectral import from_db, to_db
from .stored_phase import StoredPhase

#: Columns converted at a time by :meth:`SpectrogramImage.channel_magnitude`.
_CHUNK_FRAMES = 4096

# The only place that knows a dtype's full scale (FORMAT.md §2).
_U8_MAX = 255.0
_U16_MAX = 65535.0
_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.float32}

__all__ = [
    "SpectrogramImage",
    "pixel_dtype",
    "pixel_max",
    "full_scale",
    "to_unit",
    "from_unit",
    "requantize",
    "db_step",
    "db_to_unit",
    "unit_to_db",
    "db_to_pixels",
    "pixels_to_db",
    "pixel_cells",
    "stack_channels",
    "unstack_channels",
]


def pixel_dtype(bit_depth: int) -> np.dtype:
    """numpy dtype of the pixels for ``bit_depth`` 8, 16 or 32 (float32).

    >>> pixel_dtype(16)
    dtype('uint16')
    """
    try:
        return np.dtype(_DTYPES[bit_depth])
    except (KeyError, TypeError):
        raise ParameterError(f"bit_depth={bit_depth!r} must be 8, 16 or 32") from None


def pixel_max(bit_depth: int) -> float:
    """Largest pixel value of ``bit_depth``: 255, 65535, or 1.0 for float32.

    >>> pixel_max(8)
    255.0
    """
    return full_scale(pixel_dtype(bit_depth))


def full_scale(dtype: npt.DTypeLike) -> float:
    """The pixel value that means "white" for pictures of ``dtype``.

    Parameters
    ----------
    dtype : numpy dtype
        ``bool`` → 1; ``uint8`` → 255; ``uint16``, and ``int32`` (Pillow's mode ``"I"`` for
        16-bit PNGs) → 65535; any float → 1.0.

    Raises
    ------
    FormatError
        For any other dtype (signed 8/16-bit, complex, ...).

    Returns
    -------
    float

    >>> full_scale(np.uint16), full_scale(np.float32)
    (65535.0, 1.0)
    """
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return 1.0
    if dt == np.uint8:
        return _U8_MAX
    if dt in (np.uint16, np.int32):
        return _U16_MAX
    if dt.kind == "f":
        return 1.0
    raise FormatError(f"pixels of dtype {dt} are not a picture format specimg knows (uint8, uint16 or float)")


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """Pixels of any picture dtype as a level in [0, 1] (0 = black, 1 = white).

    Parameters
    ----------
    pixels : np.ndarray, bool, uint8, uint16, int32 (16-bit data) or float

    Returns
    -------
    np.ndarray, float64, same shape, clipped to [0, 1]

    >>> to_unit(np.array([0, 255], dtype=np.uint8))
    array([0., 1.])
    """
    a = np.asarray(pixels)
    return np.clip(a.astype(np.float64) / full_scale(a.dtype), 0.0, 1.0)


def from_unit(x: np.ndarray, bit_depth: int) -> np.ndarray:
    """A level in [0, 1] as pixels of ``bit_depth`` (rounded to the nearest step; float32 as is).

    Parameters
    ----------
    x : np.ndarray, float, level in [0, 1] (clipped)
    bit_depth : int, 8, 16 or 32

    Returns
    -------
    np.ndarray, same shape, dtype ``pixel_dtype(bit_depth)``

    Raises
    ------
    ParameterError
        If ``bit_depth`` is not 8, 16 or 32.

    Examples
    --------
    >>> from_unit(np.array([0.0, 0.5, 1.0]), 8)
    array([  0, 128, 255], dtype=uint8)
    """
    p_max = pixel_max(bit_depth)
    p = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0) * p_max
    if bit_depth != 32:
        p = np.rint(p)
    return p.astype(pixel_dtype(bit_depth))


def requantize(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    """Pixels of any picture dtype re-expressed at ``bit_depth`` (same level, new steps).

    Parameters
    ----------
    pixels : np.ndarray, bool, uint8, uint16, int32 (16-bit data) or float in [0, 1]
    bit_depth : int, 8, 16 or 32

    Returns
    -------
    np.ndarray, same shape, dtype ``pixel_dtype(bit_depth)``

    Raises
    ------
    FormatError
        If ``pixels`` has no picture dtype.

    Examples
    --------
    >>> requantize(np.array([0, 255], dtype=np.uint8), 16)
    array([    0, 65535], dtype=uint16)
    """
    return from_unit(to_unit(pixels), bit_depth)


def db_step(params: SpectrogramParams) -> float:
    """dB between neighbouring pixel values: ``(db_max - db_min) / p_max``.

    For float32 pixels, the dB that float32's 24-bit mantissa resolves near full scale
    (about ``(db_max - db_min) * 6e-8``) is given.

    Parameters
    ----------
    params : SpectrogramParams

    Returns
    -------
    float, dB

    Examples
    --------
    >>> db_step(SpectrogramParams(sr=22050, bit_depth=8))
    0.49411764705882355
    """
    span = params.db_max - params.db_min
    if params.bit_depth == 32:
        return span * float(np.finfo(np.float32).eps)
    return span / pixel_max(params.bit_depth)


def db_to_unit(S_db: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """dB to the picture level in [0, 1] of the file's affine map (``invert`` applied).

    Parameters
    ----------
    S_db : np.ndarray, dB relative to ``params.ref``
    params : SpectrogramParams

    Returns
    -------
    np.ndarray, float64, same shape, in [0, 1]; values outside [db_min, db_max] are clipped.
    """
    x = (np.clip(S_db, params.db_min, params.db_max) - params.db_min) / (params.db_max - params.db_min)
    return 1.0 - x if params.invert else x


def unit_to_db(x: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """The picture level in [0, 1] to dB, the inverse of :func:`db_to_unit`.

    Parameters
    ----------
    x : np.ndarray, level in [0, 1] (clipped)
    params : SpectrogramParams

    Returns
    -------
    np.ndarray, float64, same shape, in [db_min, db_max]
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if params.invert:
        x = 1.0 - x
    return params.db_min + x * (params.db_max - params.db_min)


def db_to_pixels(S_db: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Quantise dB to pixel values, in bin order (no flip, no stacking).

    Parameters
    ----------
    S_db : np.ndarray [shape=(..., n_bins, n_frames)], dB relative to ``params.ref``
    params : SpectrogramParams

    Returns
    -------
    np.ndarray, same shape, dtype ``pixel_dtype(params.bit_depth)``
    """
    x = (np.clip(S_db, params.db_min, params.db_max) - params.db_min) / (params.db_max - params.db_min)
    p_max = pixel_max(params.bit_depth)
    p = x * p_max
    if params.bit_depth != 32:
        p = np.rint(p)
    if params.invert:
        p = p_max - p
    return p.astype(pixel_dtype(params.bit_depth))


def pixels_to_db(pixels: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Pixel values to dB, the inverse of :func:`db_to_pixels` up to quantisation.

    Returns
    -------
    np.ndarray, float64, same shape as ``pixels``, in ``[db_min, db_max]``
    """
    p_max = pixel_max(params.bit_depth)
    p = np.asarray(pixels, dtype=np.float64)
    if params.invert:
        p = p_max - p
    return params.db_min + np.clip(p / p_max, 0.0, 1.0) * (params.db_max - params.db_min)


def pixel_cells(pixels: np.ndarray, params: SpectrogramParams) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest calibrated magnitude each pixel stands for: its value ± half a step.

    The floor pixel stands for anything from 0; the top pixel for anything above its lower
    edge. The step is that of the coarsest depth the pixels went through: an 8-bit export
    read back with ``load(like=)`` (an ``"external"`` edit with ``bit_depth`` 8) is only
    known to 8 bits.

    Parameters
    ----------
    pixels : np.ndarray [shape=(n_bins, n_frames)], one channel's pixels in bin order
    params : SpectrogramParams

    Returns
    -------
    lo, hi : np.ndarray [shape=pixels.shape], float32, calibrated linear magnitude
        (``hi`` is ``inf`` at the top pixel).

    Examples
    --------
    >>> p = SpectrogramParams(sr=8000, bit_depth=8, db_min=-100.0, db_max=0.0)
    >>> lo, hi = pixel_cells(np.array([[0, 128, 255]], dtype=np.uint8), p)
    >>> lo[0, 0], bool(np.isinf(hi[0, 2])), bool(lo[0, 1] < hi[0, 1])
    (np.float32(0.0), True, True)
    """
    db = pixels_to_db(pixels, params)
    span = params.db_max - params.db_min
    depths = [e.get("bit_depth") for e in params.edits if e.get("op") == "external"]
    half = max([db_step(params)] + [span / pixel_max(d) for d in depths if d in (8, 16)]) / 2
    lo = np.where(db > params.db_min, from_db(db - half, params.ref), 0.0).astype(np.float32)
    hi = np.where(db < params.db_max, from_db(db + half, params.ref), np.inf).astype(np.float32)
    return lo, hi


@dataclass(frozen=True, eq=False)
class SpectrogramImage:
    """A spectrogram image and the parameters that calibrate it.

    Attributes
    ----------
    pixels : np.ndarray [shape=(n_channels * n_bins, n_frames)], uint8, uint16 or float32
        The image exactly as stored in a PNG (rows top to bottom). For several channels the
        channel images are stacked vertically, channel 0 on top.
    params : SpectrogramParams
    phase : StoredPhase or None
        The STFT phase stored with the picture (``encode(..., store_phase=True)``, or a
        file that carries it), with the bins where it still goes with the pixels; None
        when the image carries no phase. Operations of :mod:`specimg.ops` keep it and
        mark the bins they change; :func:`specimg.decode` holds it where it is valid.

    Raises
    ------
    FormatError
        If the pixel array does not have the shape or dtype its parameters call for, or
        ``phase`` does not match the image's STFT.
    """

    pixels: np.ndarray
    params: SpectrogramParams
    phase: StoredPhase | None = None

    def __post_init__(self) -> None:
        p, params = self.pixels, self.params
        if not isinstance(p, np.ndarray) or p.ndim != 2:
            shape = getattr(p, "shape", None)
            raise FormatError(
                f"pixels of shape {shape} must be a 2-D grayscale array; convert RGB images to gray first"
            )
        if p.dtype != pixel_dtype(params.bit_depth):
            raise FormatError(
                f"pixels of dtype {p.dtype} do not match bit_depth={params.bit_depth} "
                f"(expected {pixel_dtype(params.bit_depth)})"
            )
        rows = params.n_channels * params.n_bins
        if p.shape[0] != rows:
            raise FormatError(
                f"image has {p.shape[0]} rows but its parameters call for {rows} "
                f"({params.n_channels} channel(s) × {params.n_bins} {params.scale} bins)"
            )
        if params.n_frames is not None and p.shape[1] != params.n_frames:
            raise FormatError(
                f"image has {p.shape[1]} columns but n_samples={params.n_samples} with "
                f"hop_length={params.hop_length} calls for {params.n_frames} frames"
            )
        if p.shape[1] < 1:
            raise FormatError("image has no columns")
        if params.bit_depth == 32 and not np.all(np.isfinite(p)):
            raise FormatError("float image holds NaN or infinite pixels")
        if self.phase is not None:
            expected = (params.n_channels, params.n_fft // 2 + 1, p.shape[1])
            if not isinstance(self.phase, StoredPhase) or self.phase.shape != expected:
                raise FormatError(
                    f"phase {self.phase!r:.200} does not match the image's STFT {expected} "
                    "(n_channels, n_fft // 2 + 1, n_frames): it belongs to another image; pass phase=None to drop "
                    "it (decode then reconstructs the phase)"
                )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_db(cls, S_db: np.ndarray, params: SpectrogramParams) -> SpectrogramImage:
        """Quantise a dB spectrogram into an image.

        Parameters
        ----------
        S_db : np.ndarray [shape=(n_bins, n_frames) or (n_channels, n_bins, n_frames)]
            Level in dB relative to ``params.ref``, bins in ascending frequency.
        params : SpectrogramParams
        """
        S_db = np.asarray(S_db)
        if S_db.ndim == 2:
            S_db = S_db[np.newaxis]
        if S_db.ndim != 3 or S_db.shape[0] != params.n_channels:
            raise ParameterError(
                f"S_db of shape {S_db.shape} does not match n_channels={params.n_channels}"
            )
        return cls(stack_channels(db_to_pixels(S_db, params), params), params)

    @classmethod
    def from_magnitude(cls, S: np.ndarray, params: SpectrogramParams) -> "SpectrogramImage":
        """Quantise a calibrated amplitude into an image, in bounded memory.

        Equivalent to ``from_db(to_db(S, params.ref), params)``, computed in column chunks
        written straight into the final (flipped, stacked) pixel array, so a long input
        needs no full-size dB or float copy.

        Parameters
        ----------
        S : np.ndarray [shape=(n_bins, n_frames) or (n_channels, n_bins, n_frames)]
            Non-negative calibrated amplitude (linear or mel), bins in ascending frequency.
        params : SpectrogramParams
        """
        S = np.asarray(S)
        if S.ndim == 2:
            S = S[np.newaxis]
        if S.ndim != 3 or S.shape[:2] != (params.n_channels, params.n_bins):
            raise ParameterError(
                f"S of shape {S.shape} does not match n_channels={params.n_channels}, n_bins={params.n_bins}"
            )
        n_bins, n_frames = S.shape[1:]
        pixels = np.empty((params.n_channels * n_bins, n_frames), dtype=pixel_dtype(params.bit_depth))
        for c in range(params.n_channels):
            rows = pixels[c * n_bins : (c + 1) * n_bins]
            if params.flip:
                rows = rows[::-1]
            for j in range(0, n_frames, _CHUNK_FRAMES):
                rows[:, j : j + _CHUNK_FRAMES] = db_to_pixels(to_db(S[c, :, j : j + _CHUNK_FRAMES], params.ref), params)
        return cls(pixels, params)

    # ------------------------------------------------------------------ views
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the pixel array, (rows, columns)."""
        return tuple(self.pixels.shape)

    @property
    def n_frames(self) -> int:
        """Number of STFT frames (image columns)."""
        return int(self.pixels.shape[1])

    @property
    def channel_pixels(self) -> np.ndarray:
        """Pixels per channel in bin order, shape (n_channels, n_bins, n_frames)."""
        return unstack_channels(self.pixels, self.params)

    @property
    def db(self) -> np.ndarray:
        """Level in dB relative to ``params.ref``.

        Returns
        -------
        np.ndarray [shape=(n_bins, n_frames) for mono, (n_channels, n_bins, n_frames)
        otherwise], float64, bins in ascending frequency, values in [db_min, db_max]
        """
        out = pixels_to_db(self.channel_pixels, self.params)
        return out[0] if self.params.n_channels == 1 else out

    @property
    def magnitude(self) -> np.ndarray:
        """Calibrated amplitude (linear or mel), same shape as :attr:`db`, float64.

        Pixels at the floor (``db_min``) decode to exactly 0, so silence stays silent.
        """
        out = np.stack([self.channel_magnitude(c, dtype=np.float64) for c in range(self.params.n_channels)])
        return out[0] if self.params.n_channels == 1 else out

    def channel_magnitude(self, channel: int, *, dtype: type = np.float32) -> np.ndarray:
        """Calibrated amplitude of one channel, computed in column chunks to bound memory.

        Parameters
        ----------
        channel : int, 0 <= channel < n_channels
        dtype : np.float32 (default) or np.float64

        Returns
        -------
        np.ndarray [shape=(n_bins, n_frames)], ``dtype``, bins in ascending frequency;
        floor pixels give exactly 0.
        """
        if not 0 <= channel < self.params.n_channels:
            raise ParameterError(f"channel={channel} must be in [0, {self.params.n_channels})")
        pixels = self.channel_pixels[channel]
        out = np.empty(pixels.shape, dtype=dtype)
        for j in range(0, pixels.shape[1], _CHUNK_FRAMES):
            db = pixels_to_db(pixels[:, j : j + _CHUNK_FRAMES], self.params)
            out[:, j : j + _CHUNK_FRAMES] = np.where(db > self.params.db_min, from_db(db, self.params.ref), 0.0)
        return out

    @property
    def duration(self) -> float:
        """Seconds of audio the image decodes to: ``n_samples / sr``, or the frames' span."""
        return self.params.output_length(self.n_frames) / self.params.sr

    @property
    def times(self) -> np.ndarray:
        """Time in seconds of each column."""
        return self.params.times(self.n_frames)

    @property
    def frequencies(self) -> np.ndarray:
        """Frequency in Hz of each row of one channel, in bin order (lowest first)."""
        return self.params.frequencies

    def replace(self, **changes: Any) -> SpectrogramImage:
        """Copy with new ``pixels``, ``params`` and/or ``phase``.

        The stored phase is kept when only the pixels change: columns whose pixels changed
        no longer match its CRCs, so :func:`specimg.decode` reconstructs them. It is also
        kept when the new ``params`` differ only in fields that leave the meaning of the
        pixels alone (``edits``, ``n_samples``); any other change of ``params`` (``flip``,
        ``invert``, the dB range, the scale, the STFT geometry...) makes the pixels stand
        for another STFT, so the phase is dropped unless ``phase=`` is given. Pass
        ``phase=None`` to drop it in any case.

        Raises
        ------
        FormatError
            If the result does not hold together (see the class); a phase kept over a
            change of shape is refused, with the fix (``phase=None``) in the message.

        Examples
        --------
        >>> import numpy as np, specimg
        >>> img = specimg.encode(np.sin(np.arange(4000) / 3), 8000, n_fft=256, store_phase=True)
        >>> img.replace(params=img.params.replace(edits=({"op": "note"},))).phase is None
        False
        >>> img.replace(params=img.params.replace(flip=False)).phase is None
        True
        """
        pixels = changes.get("pixels", self.pixels)
        params = changes.get("params", self.params)
        if "phase" in changes:
            phase = changes["phase"]
        else:
            phase = self.phase if _same_pixel_meaning(self.params, params) else None
        return SpectrogramImage(pixels, params, phase)

    def __repr__(self) -> str:
        p = self.params
        return (
            f"SpectrogramImage(shape={self.shape}, dtype={self.pixels.dtype}, sr={p.sr}, "
            f"scale={p.scale!r}, n_channels={p.n_channels}, db=[{p.db_min}, {p.db_max}]"
            + ("" if self.phase is None else f", phase={self.phase.bits} bits") + ")"
        )


#: Parameters that may change without changing what the pixels stand for (the STFT they
#: calibrate): a stored phase stays with the pixels across them.
_PHASE_NEUTRAL = frozenset({"edits", "n_samples", "version"})


def _same_pixel_meaning(a: SpectrogramParams, b: SpectrogramParams) -> bool:
    """Whether ``a`` and ``b`` differ at most in :data:`_PHASE_NEUTRAL` fields."""
    if a is b:
        return True
    da, db = a.to_dict(), b.to_dict()
    return all(da[k] == db[k] for k in da.keys() | db.keys() if k not in _PHASE_NEUTRAL)
