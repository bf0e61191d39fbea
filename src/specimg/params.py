"""The parameter set that makes a spectrogram image reversible.

:class:`SpectrogramParams` holds every number the round trip audio → image → audio needs.
It is frozen, validated on construction, and serialised as one JSON object whose keys are
specified in ``FORMAT.md`` (format version 2; version-1 metadata is read too).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import FormatError, ParameterError
from .jsonfile import MAX_SIDECAR_BYTES, read_json
from .messages import shorten
from .geometry import analysis_window, covers, frame_count, frame_offset, span_length, stft_lengths

__all__ = [
    "SpectrogramParams", "FORMAT_VERSION", "FORMAT_NAME", "check_float", "MAX_DB", "MAX_REF", "MAX_POWER", "stack_channels",
    "unstack_channels", "MAX_CHANNELS",
]

#: Version of the metadata schema and pixel mapping written by this release.
FORMAT_VERSION = 2
#: Versions :meth:`SpectrogramParams.from_dict` reads. Version 2 added the stored phase
#: (FORMAT.md §7), which lives beside the metadata: the keys are those of version 1.
READ_VERSIONS = (1, 2)
#: Value of the ``"format"`` key that identifies specimg metadata.
FORMAT_NAME = "specimg"
#: Members a metadata object may carry that are no parameters: the sidecar's stored
#: phase (FORMAT.md §5, §7.4). :meth:`SpectrogramParams.from_dict` skips them.
CONTAINER_KEYS = frozenset({"phase"})

_MAX_SR = 1_000_000
_MAX_N_FFT = 1 << 17
#: Most channels an image holds (a specimg TIFF holds one page per channel: no more pages).
MAX_CHANNELS = 64
#: Bound of ``|db_min|`` and ``|db_max|`` in dB: far beyond any real level, and small
#: enough that ``10 ** (db / 20)`` stays a finite float.
MAX_DB = 1000.0
#: ``ref`` must lie in ``[1 / MAX_REF, MAX_REF]`` (±600 dB around 1.0).
MAX_REF = 1e30
#: Bound of ``power``: the magnitude is raised to it and must stay finite.
MAX_POWER = 16.0
_MAX_WINDOW_TEXT = 100
_MAX_WINDOW_ITEMS = 16

#: Default of the fields resolved in ``__post_init__`` (typed by their resolved type).
_DERIVED: Any = None


def _check_int(name: str, value: Any, lo: int, hi: int, fix: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name}={shorten(value)} must be an integer; {fix}")
    if not lo <= value <= hi:
        raise ParameterError(f"{name}={shorten(value)} is out of range [{lo}, {hi}]; {fix}")


def check_float(name: str, value: Any) -> float:
    """``value`` as a float, if it is a finite real number (not a bool).

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        ``f"{name}={value!r} must be a real number"`` or ``"... must be finite"``.

    Examples
    --------
    >>> check_float("gain_db", 3)
    3.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}={shorten(value)} must be a real number")
    if not math.isfinite(value):
        raise ParameterError(f"{name}={shorten(value)} must be finite")
    return float(value)


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name}={shorten(value)} must be True or False")


def _check_window_size(window: str | tuple) -> None:
    """Refuse a window spec too long to be a scipy window (and to echo in full)."""
    if isinstance(window, str):
        too_long = len(window) > _MAX_WINDOW_TEXT
    else:
        too_long = len(window) > _MAX_WINDOW_ITEMS or any(
            isinstance(part, (str, bytes)) and len(part) > _MAX_WINDOW_TEXT for part in window
        )
    if too_long:
        raise ParameterError(
            f"window={shorten(window)} is not a window scipy.signal.get_window knows; "
            "use a name such as 'hann' or a (name, parameter) tuple such as ('kaiser', 8.0)"
        )


def _check_edits(edits: tuple | list) -> None:
    """The fields specimg itself reads from ``edits`` entries have the right type."""
    for k, entry in enumerate(edits):
        if entry["op"] == "external" and "bit_depth" in entry:
            depth = entry["bit_depth"]
            if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth not in (8, 16, 32):
                raise ParameterError(
                    f"edits[{k}] (op 'external') has bit_depth={shorten(depth)}; it must be the integer 8, 16 or 32"
                )


@dataclass(frozen=True)
class SpectrogramParams:
    """Every parameter needed to turn a spectrogram image back into audio.

    Parameters
    ----------
    sr : int > 0 [scalar]
        Sample rate of the audio, in Hz.
    n_fft : int > 0 [scalar]
        FFT size in samples. Rows of a linear image: ``n_fft // 2 + 1``.
    hop_length : int > 0 [scalar] or None
        Samples between successive frames. ``None`` → ``win_length // 4``. Always an int
        on the constructed object (as are ``win_length`` and ``fmax``).
    win_length : int > 0 [scalar] or None
        Window length in samples, ``<= n_fft``. ``None`` → ``n_fft``.
    window : str or tuple
        Window specification accepted by :func:`scipy.signal.get_window` (periodic).
    center : bool
        If True, frame ``t`` is centred on sample ``t * hop_length`` (the signal is padded
        with ``n_fft // 2`` zeros on both sides), as in :func:`librosa.stft`.
    scale : {"linear", "mel"}
        Frequency axis of the image rows.
    n_mels : int > 0 [scalar]
        Number of mel bands (used when ``scale="mel"``), ``<= n_fft // 2 + 1``.
    fmin, fmax : float >= 0 [scalar]
        Lowest and highest mel frequency in Hz. ``fmax=None`` → ``sr / 2``.
    htk : bool
        Use the HTK mel formula instead of Slaney's (as :func:`librosa.mel_frequencies`).
    norm : {"slaney", None}
        Mel filter normalisation, as in :func:`librosa.filters.mel`.
    power : float > 0 [scalar]
        Exponent of the calibrated magnitude that the mel filterbank sums (2 = power).
        The stored level is always an amplitude: ``(mel @ |X|**power) ** (1 / power)``.
    db_min, db_max : float [scalar], ``db_min < db_max``
        Levels in dB of the darkest and brightest pixel value.
    ref : float > 0 [scalar]
        Amplitude that reads 0 dB. ``1.0`` is the absolute scale: a full-scale sine reads
        0 dBFS.
    flip : bool
        If True (default), low frequencies are at the bottom of the image.
    invert : bool
        If True, dark pixels are loud.
    bit_depth : {8, 16, 32}
        Pixel type: 8- or 16-bit unsigned integers, or 32-bit float in [0, 1] (TIFF only).
    n_samples : int >= 0 [scalar] or None
        Length of the original audio per channel, in samples. ``None`` when unknown (for
        instance an image made by a GAN): the decoder then returns
        :meth:`length_for` ``(n_frames)`` samples.
    n_channels : int > 0 [scalar]
        Number of audio channels; channel images are stacked vertically (see FORMAT.md).
    edits : tuple of dict
        History of image operations applied after encoding, oldest first.
    version : int
        Format version; only :data:`FORMAT_VERSION` is accepted.

    Raises
    ------
    ParameterError
        If any value is out of range or contradicts another (for instance
        ``hop_length > n_fft`` or ``fmax > sr / 2``).
    """

    # hop_length, win_length and fmax accept None in the constructor (see the __init__
    # signature below) and are resolved in __post_init__, so they are never None after.
    sr: int
    n_fft: int = 2048
    hop_length: int = _DERIVED
    win_length: int = _DERIVED
    window: str | tuple = "hann"
    center: bool = True
    scale: Literal["linear", "mel"] = "linear"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float = _DERIVED
    htk: bool = False
    norm: Literal["slaney"] | None = "slaney"
    power: float = 2.0
    db_min: float = -120.0
    db_max: float = 6.0
    ref: float = 1.0
    flip: bool = True
    invert: bool = False
    bit_depth: Literal[8, 16, 32] = 16
    n_samples: int | None = None
    n_channels: int = 1
    edits: tuple = field(default=())
    version: int = FORMAT_VERSION

    if TYPE_CHECKING:  # the constructor takes None for the fields it resolves

        def __init__(
            self,
            sr: int,
            n_fft: int = 2048,
            hop_length: int | None = None,
            win_length: int | None = None,
            window: str | tuple = "hann",
            center: bool = True,
            scale: Literal["linear", "mel"] = "linear",
            n_mels: int = 128,
            fmin: float = 0.0,
            fmax: float | None = None,
            htk: bool = False,
            norm: Literal["slaney"] | None = "slaney",
            power: float = 2.0,
            db_min: float = -120.0,
            db_max: float = 6.0,
            ref: float = 1.0,
            flip: bool = True,
            invert: bool = False,
            bit_depth: Literal[8, 16, 32] = 16,
            n_samples: int | None = None,
            n_channels: int = 1,
            edits: tuple = (),
            version: int = FORMAT_VERSION,
        ) -> None: ...

    def __post_init__(self) -> None:
        _check_int("sr", self.sr, 1, _MAX_SR, "pass the sample rate in Hz")
        _check_int("n_fft", self.n_fft, 2, _MAX_N_FFT, "typical values are 512 to 4096")
        win_length, hop_length = stft_lengths(self.n_fft, self.win_length, self.hop_length)
        window = tuple(self.window) if isinstance(self.window, list) else self.window
        if not (isinstance(window, str) or (isinstance(window, tuple) and window and isinstance(window[0], str))):
            raise ParameterError(
                f"window={shorten(self.window)} must be a window name or a (name, parameter, ...) tuple"
            )
        _check_window_size(window)
        if not covers(analysis_window(window, win_length, self.n_fft), hop_length):
            raise ParameterError(
                f"hop_length={hop_length} leaves gaps the {window!r} window (win_length={win_length}) does not "
                "cover, so the audio could not be rebuilt; use a smaller hop_length (e.g. win_length // 4)"
            )
        _check_bool("center", self.center)
        if self.scale not in ("linear", "mel"):
            raise ParameterError(f"scale={shorten(self.scale)} must be 'linear' or 'mel'")
        n_freqs = self.n_fft // 2 + 1
        # n_mels only constrains mel images; a linear image keeps the (unused) default.
        _check_int(
            "n_mels", self.n_mels, 1, n_freqs if self.scale == "mel" else _MAX_N_FFT,
            f"n_mels must be <= n_fft // 2 + 1 = {n_freqs}",
        )
        nyquist = self.sr / 2
        fmin = check_float("fmin", self.fmin)
        fmax = nyquist if self.fmax is None else check_float("fmax", self.fmax)
        if fmax > nyquist:
            raise ParameterError(f"fmax={fmax!r} Hz is above the Nyquist frequency sr/2={nyquist!r} Hz")
        if not 0 <= fmin < fmax:
            raise ParameterError(f"fmin={fmin!r} Hz must be >= 0 and below fmax={fmax!r} Hz")
        _check_bool("htk", self.htk)
        if self.norm not in ("slaney", None):
            raise ParameterError(f"norm={shorten(self.norm)} must be 'slaney' or None")
        power = check_float("power", self.power)
        if not 0 < power <= MAX_POWER:
            raise ParameterError(f"power={self.power!r} must be in (0, {MAX_POWER:g}] (1 = magnitude, 2 = power)")
        db_min = check_float("db_min", self.db_min)
        db_max = check_float("db_max", self.db_max)
        for name, db in (("db_min", db_min), ("db_max", db_max)):
            if abs(db) > MAX_DB:
                raise ParameterError(
                    f"{name}={db!r} dB is out of range [-{MAX_DB:g}, {MAX_DB:g}]; typical levels are -120 to +6 dB"
                )
        if db_min >= db_max:
            raise ParameterError(f"db_min={db_min!r} must be below db_max={db_max!r}")
        ref = check_float("ref", self.ref)
        if ref <= 0:
            raise ParameterError(f"ref={self.ref!r} must be a positive amplitude")
        if not 1 / MAX_REF <= ref <= MAX_REF:
            raise ParameterError(
                f"ref={self.ref!r} is out of range [{1 / MAX_REF:g}, {MAX_REF:g}]; 1.0 reads a full-scale sine as 0 dB"
            )
        _check_bool("flip", self.flip)
        _check_bool("invert", self.invert)
        if isinstance(self.bit_depth, bool) or not isinstance(self.bit_depth, (int, np.integer)) or (
            self.bit_depth not in (8, 16, 32)
        ):
            raise ParameterError(f"bit_depth={shorten(self.bit_depth)} must be the integer 8, 16 or 32 (float)")
        if self.n_samples is not None:
            _check_int("n_samples", self.n_samples, 0, 1 << 40, "pass the audio length in samples")
        _check_int("n_channels", self.n_channels, 1, MAX_CHANNELS, "pass the number of audio channels")
        if not isinstance(self.edits, (tuple, list)) or not all(
            isinstance(e, Mapping) and isinstance(e.get("op"), str) for e in self.edits
        ):
            raise ParameterError(f"edits={shorten(self.edits)} must be a sequence of dicts, each with an 'op' string")
        _check_edits(self.edits)
        if type(self.version) is not int or self.version != FORMAT_VERSION:
            raise ParameterError(
                f"version={shorten(self.version)} is not supported; this release reads version {FORMAT_VERSION}"
            )
        # Resolve the derived defaults so that equality and JSON are explicit.
        object.__setattr__(self, "win_length", int(win_length))
        object.__setattr__(self, "hop_length", int(hop_length))
        object.__setattr__(self, "window", window)
        object.__setattr__(self, "fmin", fmin)
        object.__setattr__(self, "fmax", float(fmax))
        object.__setattr__(self, "power", power)
        object.__setattr__(self, "db_min", db_min)
        object.__setattr__(self, "db_max", db_max)
        object.__setattr__(self, "ref", ref)
        object.__setattr__(self, "edits", tuple(dict(e) for e in self.edits))
        for name in ("sr", "n_fft", "n_mels", "n_channels", "bit_depth"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("center", "htk", "flip", "invert"):
            object.__setattr__(self, name, bool(getattr(self, name)))
        if self.n_samples is not None:
            object.__setattr__(self, "n_samples", int(self.n_samples))

    # ------------------------------------------------------------------ derived values
    @property
    def n_bins(self) -> int:
        """Rows per channel: ``n_mels`` for mel scale, ``n_fft // 2 + 1`` for linear."""
        return self.n_mels if self.scale == "mel" else self.n_fft // 2 + 1

    def frames_for(self, n_samples: int) -> int:
        """Number of STFT frames for a signal of ``n_samples`` samples (FORMAT.md §1.2).

        ``1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length`` if ``center`` (the
        signal is padded by ``n_fft // 2`` on both sides; for even ``n_fft`` this is
        ``1 + n_samples // hop_length``), else ``1 + (n_samples - n_fft) // hop_length``.
        """
        return frame_count(n_samples, n_fft=self.n_fft, hop_length=self.hop_length, center=self.center)

    def length_for(self, n_frames: int) -> int:
        """Samples a decoder returns for ``n_frames`` frames when ``n_samples`` is unknown.

        ``(n_frames - 1) * hop_length`` if ``center``, else ``(n_frames - 1) * hop_length
        + n_fft``: the span the frames cover (as :func:`librosa.istft` without ``length``).
        """
        return span_length(n_frames, n_fft=self.n_fft, hop_length=self.hop_length, center=self.center)

    def output_length(self, n_frames: int) -> int:
        """Samples a decoder returns for an image of ``n_frames`` frames.

        ``n_samples`` when it is known, else :meth:`length_for` ``(n_frames)``.
        """
        return self.n_samples if self.n_samples is not None else self.length_for(n_frames)

    @property
    def n_frames(self) -> int | None:
        """Number of frames (image columns) implied by ``n_samples``, or None."""
        return None if self.n_samples is None else self.frames_for(self.n_samples)

    @property
    def duration(self) -> float | None:
        """Length of the original audio in seconds, ``n_samples / sr``, or None if unknown.

        For an image whose ``n_samples`` is unknown, ``output_length(n_frames) / sr`` is the
        length a decoder returns; :attr:`SpectrogramImage.duration` gives that in both cases.
        """
        return None if self.n_samples is None else self.n_samples / self.sr

    @property
    def frequencies(self) -> np.ndarray:
        """Centre frequency in Hz of each row, in bin order (lowest first).

        Returns
        -------
        np.ndarray [shape=(n_bins,)], float64
        """
        import librosa

        if self.scale == "mel":
            return librosa.mel_frequencies(n_mels=self.n_mels + 2, fmin=self.fmin, fmax=self.fmax, htk=self.htk)[1:-1]
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)

    def times(self, n_frames: int) -> np.ndarray:
        """Time in seconds of the centre of each of ``n_frames`` frames."""
        offset = self.n_fft // 2 - frame_offset(self.n_fft, self.center)  # frame centre - frame position
        return (np.arange(n_frames) * self.hop_length + offset) / self.sr

    def replace(self, **changes: Any) -> SpectrogramParams:
        """Return a copy with ``changes`` applied (and validated).

        Derived values (``hop_length``, ``win_length``, ``fmax``) were resolved when this
        object was made and are kept: when changing ``n_fft`` or ``sr``, pass them too.
        """
        return dataclasses.replace(self, **changes)

    def __hash__(self) -> int:
        # edits holds dicts, which do not hash; the JSON text is the identity of the params
        return hash(self.to_json())

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The metadata object of FORMAT.md, as a JSON-compatible dict."""
        out: dict[str, Any] = {"format": FORMAT_NAME}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def to_json(self, **kwargs: Any) -> str:
        """Serialise to the JSON text embedded in files (see FORMAT.md)."""
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "metadata") -> SpectrogramParams:
        """Build params from a metadata dict, raising :class:`FormatError` if it is not valid.

        Raises
        ------
        FormatError
            If the dict is not specimg metadata, has an unsupported ``version``, lacks a
            key, has an unknown key, or holds an invalid value.

        Notes
        -----
        The member ``"phase"`` of a sidecar (the stored phase, FORMAT.md §7.4) is no
        parameter and is skipped, so a sidecar reads as the parameters it holds; the
        phase itself is read by :func:`specimg.load`.
        """
        if not isinstance(data, Mapping) or data.get("format") != FORMAT_NAME:
            raise FormatError(f"{source} is not specimg metadata (no \"format\": \"specimg\" key)")
        version = data.get("version")
        if type(version) is not int or version not in READ_VERSIONS:
            raise FormatError(
                f"{source} has format version {shorten(version)}; this release of specimg reads versions "
                f"{', '.join(map(str, READ_VERSIONS))} (upgrade specimg to read newer files)"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(names - set(data))
        if missing:
            raise FormatError(f"{source} lacks the key(s) {', '.join(missing)}; see FORMAT.md")
        unknown = sorted(set(data) - names - {"format"} - CONTAINER_KEYS)
        if unknown:
            raise FormatError(f"{source} has unknown key(s) {shorten(', '.join(unknown))} for version {shorten(version)}")
        nulls = sorted(k for k in ("hop_length", "win_length", "fmax", "window") if data[k] is None)
        if nulls:
            raise FormatError(f"{source} has null for {', '.join(nulls)}; version 1 stores resolved values")
        kwargs = {name: data[name] for name in names}
        kwargs["version"] = FORMAT_VERSION  # a version-1 object means the same in version 2
        if isinstance(kwargs["window"], list):
            kwargs["window"] = tuple(kwargs["window"])
        try:
            return cls(**kwargs)
        except ParameterError as exc:
            raise FormatError(f"{source} holds an invalid value: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "metadata") -> SpectrogramParams:
        """Parse the JSON text written by :meth:`to_json`, or the text of a sidecar (see :meth:`from_dict`).

        Raises
        ------
        FormatError
            If ``text`` is not JSON within the bounds of :func:`specimg.jsonfile.read_json`
            (nesting, numbers, size), or not valid specimg metadata.
        """
        return cls.from_dict(read_json(text, what=source, max_bytes=MAX_SIDECAR_BYTES), source=source)


# ---------------------------------------------------------------------------- row layout
def stack_channels(channels: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """(n_channels, n_bins, n_frames) in bin order → the 2-D image rows of the file.

    Channels are stacked vertically, channel 0 on top; each is flipped when ``params.flip``.

    Parameters
    ----------
    channels : np.ndarray [shape=(n_channels, n_bins, n_frames)], bins in ascending frequency
    params : SpectrogramParams

    Returns
    -------
    np.ndarray [shape=(n_channels * n_bins, n_frames)], C-contiguous, same dtype
    """
    if params.flip:
        channels = channels[:, ::-1, :]
    return np.ascontiguousarray(channels.reshape(-1, channels.shape[-1]))


def unstack_channels(pixels: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """2-D image rows → (n_channels, n_bins, n_frames) in bin order (a view, no copy).

    Parameters
    ----------
    pixels : np.ndarray [shape=(n_channels * n_bins, n_frames)], the rows of the file
    params : SpectrogramParams

    Returns
    -------
    np.ndarray [shape=(n_channels, n_bins, n_frames)], a view of ``pixels``
    """
    channels = pixels.reshape(params.n_channels, params.n_bins, pixels.shape[-1])
    return channels[:, ::-1, :] if params.flip else channels
