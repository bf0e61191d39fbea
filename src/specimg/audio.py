"""Audio files in and out: soundfile reads and writes, checked and atomic.

soundfile is imported on first use (``import specimg`` stays fast).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import librosa  # lazy: submodules load on first attribute access
import numpy as np

from .atomic import atomic_path
from .errors import AudioError, ClippingWarning, MissingFileError, OutputError, ParameterError
from .messages import shorten
from .params import SpectrogramParams
from .resources import check_memory
from .typing import PathLike

__all__ = ["read_audio", "write_audio", "check_audio", "audio_format", "check_subtype"]


def read_audio(path: PathLike, *, sr: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file with soundfile, optionally resampling.

    Parameters
    ----------
    path : str or path-like
        Any format libsndfile reads (WAV, FLAC, OGG, MP3, ...).
    sr : int > 0 or None
        Resample to this rate (with :func:`librosa.resample`); None keeps the file's rate.

    Returns
    -------
    y : np.ndarray [shape=(n_samples,) for mono, (n_channels, n_samples) otherwise], float64
    sr : int, the sample rate of ``y``

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    AudioError
        If the file is not audio soundfile can read.
    ParameterError
        If ``sr`` is not a sample rate :class:`SpectrogramParams` accepts (checked before
        the file is read or resampled).
    ResourceError
        If reading (and resampling) the file would need more memory than the budget of
        :mod:`specimg.resources` (estimated from the file's header).
    """
    import soundfile as sf

    path = Path(path)
    if sr is not None:
        SpectrogramParams(sr=sr)  # the one range check of sr, before any expensive step
    if not path.is_file():
        raise MissingFileError(f"no such file: {str(path)!r}")
    try:
        _check_read_memory(path, sf.info(str(path)), sr)
        data, file_sr = sf.read(path, dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{str(path)!r} is not an audio file soundfile can read: {exc}") from None
    y = data.T[0] if data.shape[1] == 1 else data.T
    if sr is not None and sr != file_sr:
        if y.size:  # an empty file stays empty at any rate
            y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
        file_sr = sr
    return np.ascontiguousarray(y), int(file_sr)


def _check_read_memory(path: Path, info: object, sr: int | None) -> None:
    """ResourceError if reading (and resampling to ``sr``) the file of soundfile ``info`` is over budget.

    float64 samples read and made contiguous (16 B per sample), plus for a resampled file
    about 24 B per output sample (the resampler's float64 input, output and copy).
    """
    frames, channels = int(getattr(info, "frames")), int(getattr(info, "channels"))
    file_sr = int(getattr(info, "samplerate"))
    n = frames * channels
    need = 16 * n
    what = f"reading {str(path)!r} ({frames} samples × {channels} channel(s)"
    if sr is not None and sr != file_sr and file_sr > 0:
        need += 24 * int(n * sr / file_sr)
        what += f", resampled from {file_sr} to {sr} Hz"
    check_memory(need, what + ")", "use a shorter file" + ("" if sr is None else " or a lower sr"))


def write_audio(path: PathLike, y: np.ndarray, sr: int, *, subtype: str | None = None) -> Path:
    """Write audio atomically with soundfile; the format follows the file extension.

    Parameters
    ----------
    path : str or path-like, ending in an extension soundfile knows (.wav, .flac, .ogg, ...)
    y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
    sr : int > 0
    subtype : str or None
        soundfile subtype (``"PCM_16"``, ``"FLOAT"``, ...); None → the format's default.
        Integer subtypes clip samples outside [-1, 1], with a warning.

    Raises
    ------
    ParameterError
        If the extension is not an audio format soundfile writes.
    SpecimgError
        If libsndfile cannot write the file (a full disk, say): the message names
        ``path``, not the temporary file; nothing is left behind.
    OSError
        If the file cannot be created or written, naming ``path`` (see
        :func:`specimg.formats.atomic_path`).
    """
    import soundfile as sf

    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path={shorten(path)} must be a str or path-like audio file name")
    path = Path(path)
    fmt = audio_format(path)
    subtype = subtype or sf.default_subtype(fmt)
    check_subtype(fmt, subtype)
    data = np.asarray(y).T
    if not np.all(np.isfinite(data)):
        raise AudioError("audio holds NaN or infinite samples; clean it first (e.g. np.nan_to_num)")
    if subtype and not subtype.startswith(("FLOAT", "DOUBLE", "VORBIS", "OPUS")):
        peak = float(np.max(np.abs(data))) if data.size else 0.0
        if peak > 1.0:
            warnings.warn(
                f"decoded audio peaks at {20 * np.log10(peak):+.2f} dBFS; {subtype} clips it "
                "(write 32-bit float to keep it: subtype='FLOAT', on the command line --subtype FLOAT)",
                ClippingWarning,
                stacklevel=2,
            )
            data = np.clip(data, -1.0, 1.0)
    with atomic_path(path) as tmp:
        try:
            sf.write(tmp, data, sr, format=fmt, subtype=subtype)
        except sf.LibsndfileError as exc:
            # the temporary file's name means nothing to the user; name the output (an
            # OSError is left to atomic_path, which names the output too)
            raise OutputError(f"cannot write audio to {str(path)!r}: {exc.error_string} (is the disk full?)") from None
    return path


def audio_format(path: Path) -> str:
    """The soundfile format of an output file, from its extension (``"WAV"``, ``"FLAC"``, ...).

    Raises
    ------
    ParameterError
        If soundfile writes no format of that extension.

    Examples
    --------
    >>> audio_format(Path("out.flac"))
    'FLAC'
    """
    import soundfile as sf

    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise ParameterError(f"cannot write audio to {str(path)!r}: use an extension like .wav or .flac")
    return fmt


def check_subtype(fmt: str, subtype: str | None) -> None:
    """ParameterError unless soundfile can write ``subtype`` (None: the default) as ``fmt``.

    Examples
    --------
    >>> check_subtype("WAV", "PCM_16")
    """
    import soundfile as sf

    if subtype is not None and not sf.check_format(fmt, subtype):
        raise ParameterError(
            f"subtype={subtype!r} cannot be written as {fmt}; use one of {sorted(sf.available_subtypes(fmt))}"
        )


def check_audio(y: np.ndarray, n_fft: int) -> np.ndarray:
    """Audio as float64 in [-1, 1]: integer PCM scaled, shape and values checked.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)], float or integer PCM
    n_fft : int, the fewest samples accepted

    Returns
    -------
    np.ndarray, float64, same shape

    Raises
    ------
    AudioError
        If ``y`` is empty, not 1-D or 2-D, not finite, not numeric, or shorter than ``n_fft``.

    Examples
    --------
    >>> check_audio(np.array([0, 16384, -32768], dtype=np.int16), 2)
    array([ 0. ,  0.5, -1. ])
    """
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.integer):
        # PCM: signed full scale is 2**(bits-1); unsigned (8-bit WAV) is offset by that too
        half = float(2 ** (8 * y.dtype.itemsize - 1))
        y = (y.astype(np.float64) - (half if np.issubdtype(y.dtype, np.unsignedinteger) else 0.0)) / half
    if not np.issubdtype(y.dtype, np.floating):
        raise AudioError(f"audio of dtype {y.dtype} must be floating point in [-1, 1]")
    if y.ndim not in (1, 2):
        raise AudioError(f"audio of shape {y.shape} must be (n_samples,) or (n_channels, n_samples)")
    if y.size == 0 or y.shape[-1] == 0:
        raise AudioError("audio is empty (0 samples)")
    if not np.all(np.isfinite(y)):
        raise AudioError("audio holds NaN or infinite samples; clean it first (e.g. np.nan_to_num)")
    if y.shape[-1] < n_fft:
        hint = ""
        if y.ndim == 2 and y.shape[0] > y.shape[1]:
            hint = f"; shape {y.shape} looks like soundfile's (n_samples, n_channels): pass y.T"
        raise AudioError(
            f"audio has {y.shape[-1]} samples, fewer than n_fft={n_fft}; pass a smaller n_fft or longer audio{hint}"
        )
    return y.astype(np.float64, copy=False)
