"""The encode and decode pipelines: audio ↔ calibrated spectrogram image.

soundfile and tqdm are imported on first use (``import specimg`` stays fast).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import librosa  # lazy: submodules load on first attribute access
import numpy as np

from .errors import AudioError, ClippingWarning, FormatError, LossyWarning, MissingFileError, OutputError, ParameterError, SpecimgError
from .formats import atomic_path, image_format, load, save
from .image import SpectrogramImage, db_step, pixel_max
from .messages import shorten
from .params import SpectrogramParams
from .phase import Init, Quality, mel_iterations, mel_refiner, mel_start, reconstruct, resolve_quality
from .pictures import picture_size
from .resources import check_memory, decode_bytes, locked_decode_bytes, memory_budget, stft_bytes, stored_phase_bytes
from .spectral import magnitude, mel_basis, stft, to_db
from .stored_phase import StoredPhase, check_phase_options
from .typing import PathLike

__all__ = ["encode", "encode_file", "decode", "decode_file", "read_audio", "write_audio"]

#: Fraction of bins above ``db_max`` beyond which :func:`encode` warns.
CLIP_WARN_FRACTION = 0.001


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
    fmt = _audio_format(path)
    subtype = subtype or sf.default_subtype(fmt)
    _check_subtype(fmt, subtype)
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


def _audio_format(path: Path) -> str:
    import soundfile as sf

    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise ParameterError(f"cannot write audio to {str(path)!r}: use an extension like .wav or .flac")
    return fmt


def _check_subtype(fmt: str, subtype: str | None) -> None:
    import soundfile as sf

    if subtype is not None and not sf.check_format(fmt, subtype):
        raise ParameterError(
            f"subtype={subtype!r} cannot be written as {fmt}; use one of {sorted(sf.available_subtypes(fmt))}"
        )


def _check_audio(y: np.ndarray, n_fft: int) -> np.ndarray:
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


def encode(
    y: np.ndarray,
    sr: int,
    *,
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
    ref: float | Literal["max"] = 1.0,
    flip: bool = True,
    invert: bool = False,
    bit_depth: Literal[8, 16, 32] = 16,
    store_phase: bool = False,
    phase_bits: int | None = None,
) -> SpectrogramImage:
    """Encode audio as a calibrated spectrogram image.

    Computes the STFT magnitude calibrated so that a full-scale sine reads 0 dBFS, applies
    the mel filterbank if ``scale="mel"``, converts to dB against ``ref``, clips to
    ``[db_min, db_max]`` and quantises to pixels (see FORMAT.md).

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)], float in [-1, 1]
        Audio. Integer PCM is converted to float first.
    sr : int > 0
        Sample rate in Hz.
    n_fft, hop_length, win_length, window, center :
        STFT geometry, as for :func:`librosa.stft` (``hop_length=None`` →
        ``win_length // 4``, ``win_length=None`` → ``n_fft``).
    scale : {"linear", "mel"}
        Frequency axis of the rows.
    n_mels, fmin, fmax, htk, norm, power :
        Mel filterbank (as :func:`librosa.filters.mel`) and the exponent of the magnitude
        it sums; used when ``scale="mel"``.
    db_min, db_max : float, dB
        Levels of the darkest and brightest pixel. Defaults cover −120 … +6 dBFS: the
        floor sits just above the per-bin noise of 16-bit PCM (about −126 dBFS with a
        2048-point Hann window), and at 16 bits the step is 0.002 dB.
    ref : float > 0 or "max"
        Amplitude that reads 0 dB. 1.0 (default) is the absolute scale shared by every
        file; ``"max"`` uses the loudest bin of ``y`` and stores it in ``params.ref``.
    flip : bool
        Low frequencies at the bottom of the image (default).
    invert : bool
        Dark pixels are loud.
    bit_depth : {8, 16, 32}
        16-bit (default, about −83 dB of quantisation error), 8-bit (lossy: about −36 dB, warns), or
        float32 (TIFF only).
    store_phase : bool
        Also keep the phase of the linear STFT (``n_fft // 2 + 1`` bins per frame and
        channel, for mel images too) in ``img.phase``; :func:`specimg.save` stores it in
        the file (FORMAT.md §7) and :func:`decode` then brings the audio back from the
        file alone, holding the stored phase wherever the pixels were not edited.
    phase_bits : int, 8 … 16, or None
        Precision of the stored phase: steps of ``2π / 2**phase_bits`` rad; the block
        takes ``phase_bits / 8`` bytes per stored bin. Decoded from the file, 16 bits
        (the default, None) give about −92 dB spectral convergence, 8 bits about −55 dB
        (corpus). Only with ``store_phase=True``.

    Returns
    -------
    SpectrogramImage
        ``pixels`` of shape ``(n_channels * n_bins, n_frames)``, the parameters and, with
        ``store_phase``, the phase.

    Raises
    ------
    AudioError
        If ``y`` is empty, not finite, not 1-D/2-D, or shorter than ``n_fft``.
    ParameterError
        If a parameter is invalid (``hop_length > n_fft``, ``fmax > sr / 2``, ...), or
        ``phase_bits`` is given without ``store_phase=True``.
    ResourceError
        If the STFT would need more memory than the budget of :mod:`specimg.resources`
        (about 32 bytes per time-frequency bin, 20 more with ``store_phase``; checked
        before it is computed).

    Warns
    -----
    LossyWarning
        For ``bit_depth=8``.
    ClippingWarning
        If more than 0.1 % of the bins are above ``db_max``.

    Examples
    --------
    >>> import numpy as np, specimg
    >>> y = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    >>> img = specimg.encode(y, 8000, n_fft=512, store_phase=True)
    >>> img.phase.bits, img.phase.shape
    (16, (1, 257, 63))
    """
    if ref != "max" and (isinstance(ref, str) or ref is None):
        raise ParameterError(f"ref={ref!r} must be a positive number or 'max'")
    params = SpectrogramParams(
        sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window, center=center,
        scale=scale, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, power=power,
        db_min=db_min, db_max=db_max, ref=1.0 if ref == "max" else ref, flip=flip, invert=invert,
        bit_depth=bit_depth,
    )  # fmt: skip
    if phase_bits is not None and isinstance(store_phase, (bool, np.bool_)) and not store_phase:
        raise ParameterError(f"phase_bits={shorten(phase_bits)} sets the precision of a stored phase; pass "
                             "store_phase=True with it (or drop phase_bits)")  # fmt: skip
    phase_bits = 16 if phase_bits is None else phase_bits
    check_phase_options(store_phase, phase_bits)
    y = _check_audio(y, params.n_fft)
    n_channels = 1 if y.ndim == 1 else y.shape[0]
    check_memory(
        stft_bytes(y.shape[-1], n_fft=params.n_fft, hop_length=params.hop_length, n_channels=n_channels)
        + (stored_phase_bytes(params.n_fft, params.frames_for(y.shape[-1]), n_channels) if store_phase else 0),
        f"encode (n_fft={params.n_fft}, hop_length={params.hop_length}: {params.frames_for(y.shape[-1])} frames"
        + (f" × {n_channels} channels" if n_channels > 1 else "") + f" of {params.n_fft // 2 + 1} bins)",
        "use a larger hop_length, a smaller n_fft or shorter audio",
    )
    # float32 per channel: a 10-minute stereo file needs ~1/3 of the memory of float64
    S = np.stack([magnitude(channel, params, dtype=np.float32) for channel in y.reshape(n_channels, -1)])
    if ref == "max":
        peak = float(S.max())
        params = params.replace(ref=peak if peak > 0 else 1.0)
    params = params.replace(n_samples=int(y.shape[-1]), n_channels=n_channels)
    img = SpectrogramImage.from_magnitude(S, params)
    if store_phase:
        X = np.stack([stft(channel, params, dtype=np.float32) for channel in y.reshape(n_channels, -1)])
        img = img.replace(phase=StoredPhase.from_stft(X, img.pixels, params, bits=phase_bits))
        del X
    top = pixel_max(params.bit_depth) if not params.invert else 0
    clipped = np.count_nonzero(img.pixels == top) / img.pixels.size  # at or above db_max
    if clipped > CLIP_WARN_FRACTION:
        warnings.warn(
            f"{100 * clipped:.2f} % of the bins are above db_max={params.db_max} dB and were clipped; "
            f"raise db_max (the loudest bin is {float(to_db(S.max(), params.ref)):.1f} dB)",
            ClippingWarning,
            stacklevel=2,
        )
    if params.bit_depth == 8:
        warnings.warn(
            "bit_depth=8 quantises the level in steps of "
            f"{db_step(params):.2f} dB (lossy); use 16 to keep it exact",
            LossyWarning,
            stacklevel=2,
        )
    return img


def encode_file(
    in_path: PathLike,
    out_path: PathLike,
    *,
    sr: int | None = None,
    sidecar: bool = False,
    progress: bool = False,
    **params: object,
) -> SpectrogramImage:
    """Encode an audio file to a PNG or TIFF spectrogram image, atomically.

    Parameters
    ----------
    in_path : str or path-like
        Audio file (WAV, FLAC, OGG, MP3, ...).
    out_path : str or path-like
        ``.png`` or ``.tif``/``.tiff``.
    sr : int or None
        Resample to this rate first; None keeps the file's rate.
    sidecar : bool
        Also write ``<out_path>.json``.
    progress : bool
        Show a progress bar over the stages (read, analyse, write) after one second.
    **params
        Keyword arguments of :func:`encode`.

    Returns
    -------
    SpectrogramImage, as written.

    Raises
    ------
    MissingFileError, AudioError, ParameterError
        As for :func:`read_audio` and :func:`encode`; no output file is written then.
    """
    from tqdm import tqdm

    for name, value in (("in_path", in_path), ("out_path", out_path)):
        if not isinstance(value, (str, os.PathLike)):
            raise ParameterError(f"{name}={shorten(value)} must be a str or path-like file name")
    image_format(Path(out_path))  # fail before the expensive part
    with tqdm(total=3, desc="encode", unit="stage", delay=1.0, leave=False, disable=not progress) as bar:
        bar.set_postfix_str("read")
        y, file_sr = read_audio(in_path, sr=sr)
        bar.update()
        bar.set_postfix_str("analyse")
        img = encode(y, file_sr, **params)  # type: ignore[arg-type]
        bar.update()
        bar.set_postfix_str("write")
        save(img, out_path, sidecar=sidecar)
        bar.update()
    return img


def decode(
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
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """Decode a spectrogram image back to audio.

    pixels → dB → calibrated magnitude → phase reconstruction (PGHI, then RAAR and
    accelerated Griffin-Lim; or the stored phase, see ``stored_phase``) → ISTFT, trimmed or padded to exactly ``params.n_samples`` samples at the
    original level. For a mel image the iterations estimate the linear magnitude jointly with
    the phase, fitting it to the stored mel bands every other iteration.

    Parameters
    ----------
    img : SpectrogramImage or path
        An image, or the path of a PNG/TIFF to :func:`load`.
    quality : {"fast", "balanced", "high"}
        Phase reconstruction preset (see :func:`specimg.phase.reconstruct`).
    n_iter : int >= 0 or None
        Number of phase iterations; overrides the preset's count
        (:data:`specimg.phase.QUALITY_PRESETS`; the preset's algorithm, RAAR then
        accelerated Griffin-Lim, is kept). A mel image runs fast Griffin-Lim with the mel
        fit, :data:`specimg.phase.MEL_ITERATIONS` by default.
    momentum : float >= 0
        Momentum of the Griffin-Lim steps (accelerated Griffin-Lim's α).
    init : {"pghi", "random", "zeros"} or np.ndarray
        Initial phase.
    rng : np.random.Generator, int or None
        Seed for the random parts (default 0: decoding is deterministic).
    params : SpectrogramParams, optional
        Parameters for an image file that carries none (see :func:`load`).
    like : SpectrogramImage, SpectrogramParams or path, optional
        The original of an image edited in an external editor (see :func:`load`).
    phase_from : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)] or path, optional
        The audio the image was made from, before it was edited. Wherever a pixel is
        unchanged (within one quantisation step) the original STFT coefficient, magnitude
        and phase, is kept as it is; only the edited region is reconstructed, starting
        from the original phase. Unedited parts then come back nearly bit-exact. For a
        mel image, a linear bin is kept when every mel band over it is unchanged. An array
        is taken at ``params.sr``; a file is resampled to it.

        Without it, an image that carries a stored phase (``encode(..., store_phase=True)``,
        a file saved from one, or ``load(copy, like=original)``) is decoded the same way
        from that phase alone: bins whose pixels still go with it keep it exactly while
        their magnitude is refined within what the pixels allow; the others are
        reconstructed starting from it (:meth:`specimg.stored_phase.StoredPhase.decode_channel`;
        ``init`` and ``momentum`` are then not used). The figures of ``encode``'s
        ``phase_bits`` hold when the whole image fits in the memory budget of
        :mod:`specimg.resources` (:func:`specimg.resources.locked_decode_bytes` on top of
        the decode itself); a longer image falls back to holding the stored phase block by
        block during the usual reconstruction, which gives less (on 4 s of 44.1 kHz stereo
        at hop 64: 8-bit magnitude −45 dB instead of −57 dB; a mel image nothing over
        decoding without phase).
    stored_phase : bool
        Use the phase stored with the image (default). False decodes the magnitude alone,
        as for an image without phase (CLI: ``--ignore-stored-phase``).
    progress : bool
        Show a progress bar on long reconstructions.

    Returns
    -------
    y : np.ndarray [shape=(n_samples,) for mono, (n_channels, n_samples) otherwise], float32
    sr : int, sample rate in Hz

    Raises
    ------
    MissingFileError, FormatError
        If ``img`` is a path that cannot be loaded; FormatError also if the image decodes
        to 0 samples (too few frames and no ``n_samples``).
    ParameterError
        If a reconstruction parameter is invalid, ``quality`` is not one of the three
        presets, or an argument has the wrong type (``rng="x"``).
    ResourceError
        If the reconstruction would need more memory than the budget of
        :mod:`specimg.resources` (see :func:`specimg.resources.decode_bytes`); for a file,
        checked from its header and metadata before its pixels are read.
    """
    iters = resolve_quality(quality, n_iter)  # before any expensive work
    if img is None or isinstance(img, (bytes, int, float)):
        raise ParameterError(f"img={shorten(img)} must be a SpectrogramImage or the path of an image file")
    if not (rng is None or isinstance(rng, np.random.Generator)) and (
        isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0
    ):
        raise ParameterError(f"rng={shorten(rng)} must be a np.random.Generator, a seed int >= 0, or None")
    if isinstance(img, np.ndarray):
        raise ParameterError(
            "decode() takes a SpectrogramImage or a file path; wrap pixels as "
            "SpectrogramImage(pixels, params) first"
        )
    if not isinstance(stored_phase, (bool, np.bool_)):
        raise ParameterError(f"stored_phase={shorten(stored_phase)} must be True or False")
    if not isinstance(img, SpectrogramImage):
        _check_decode_file(img, params, phase_from is not None)  # from the header, before the pixels
        img = load(img, params=params, like=like)
    if not stored_phase:
        img = img.replace(phase=None)
    p = img.params
    _check_decode_memory(p, img.n_frames, phase_from is not None or img.phase is not None)
    if p.output_length(img.n_frames) < 1:
        raise FormatError(
            f"the image has too few frames ({img.n_frames}) to hold any audio and n_samples is "
            f"{p.n_samples!r}: it decodes to 0 samples; use an image of at least 2 frames"
        )
    original = None if phase_from is None else _phase_source(phase_from, img)
    length = p.output_length(img.n_frames)
    if isinstance(init, np.ndarray) and init.shape[-2:] != (p.n_fft // 2 + 1, img.n_frames):
        raise ParameterError(f"init phase of shape {init.shape} does not match the image's STFT")
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    stored = None if original is not None or img.phase is None else img.phase.held(img.pixels, p)
    # the phase-locked decode works on the whole image at once; past the budget, hold in blocks
    locked = stored is not None and _decode_need(p, img.n_frames) + locked_decode_bytes(
        p.n_fft, img.n_frames
    ) <= memory_budget()
    # One channel at a time, in float32: a 10-minute 44.1 kHz stereo image decodes in
    # well under 4 GiB (the phase step also works in blocks, see griffin_lim).
    y = np.empty((p.n_channels, length), dtype=np.float32)
    for c in range(p.n_channels):
        S = img.channel_magnitude(c)  # calibrated, as phase.reconstruct takes it with params
        if locked and stored is not None and img.phase is not None:  # the held bins' phase is known: lock it
            y[c] = img.phase.decode_channel(S, img.channel_pixels[c], c, stored[c], p, n_iter=iters, length=length)
            continue
        refine, n_iter_c = None, n_iter
        if p.scale == "mel":
            # Joint estimation: the phase iterations also estimate the linear magnitude,
            # fitted to the stored mel bands at every other iteration (specimg.phase.mel_refiner).
            M, S = S, mel_start(S, p)
            refine, n_iter_c = mel_refiner(M, p, S), mel_iterations(quality, n_iter)
        init_c: Init = init if not isinstance(init, np.ndarray) or init.ndim == 2 else init[c]
        hold = None
        if original is not None:
            X0, unchanged = _unchanged(original[c], img, c)
            S = np.where(unchanged, np.abs(X0), S).astype(np.float32)
            init_c, hold = np.angle(X0), (unchanged, X0)
        elif stored is not None and img.phase is not None:  # too long to lock: start from it, hold it
            init_c = img.phase.angle(c)
            hold = None if p.scale == "mel" else (stored[c], (S * np.exp(1j * init_c)).astype(np.complex64))
        y[c] = reconstruct(
            S,
            p,
            quality=quality,
            n_iter=n_iter_c,
            length=length,
            momentum=momentum,
            init=init_c,
            rng=gen,
            refine=refine,
            hold=hold,
            progress=progress,
        )
        del S
    return (y[0] if p.n_channels == 1 else y), p.sr


def _decode_need(p: SpectrogramParams, n_frames: int) -> int:
    return decode_bytes(p.n_fft, n_frames, n_rows=p.n_bins, length=p.output_length(n_frames) * p.n_channels)


def _check_decode_memory(p: SpectrogramParams, n_frames: int, phase_from: bool) -> None:
    """ResourceError if decoding ``n_frames`` frames of parameters ``p`` is over the memory budget."""
    length = p.output_length(n_frames)
    need = _decode_need(p, n_frames)
    if phase_from:  # the original audio, its complex64 STFT and the pixel comparison
        need += (p.n_fft // 2 + 1) * n_frames * 24 + 8 * length * p.n_channels
    check_memory(
        need,
        f"decode (n_fft={p.n_fft}, {n_frames} frames" + (f" × {p.n_channels} channels" if p.n_channels > 1 else "") + ")",
        "decode a shorter excerpt (crop the image) or re-encode with a smaller n_fft",
    )


def _check_decode_file(path: object, params: object, phase_from: bool) -> None:
    """:func:`_check_decode_memory` of an image file from its header and metadata only.

    Files whose parameters come only from ``like`` are checked after :func:`load`.
    """
    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
        return  # load() gives the error
    from .formats import read_metadata

    p = read_metadata(path) or params
    if isinstance(p, SpectrogramParams):
        _check_decode_memory(p, picture_size(path)[2], phase_from)


def _phase_source(phase_from: np.ndarray | PathLike, img: SpectrogramImage) -> np.ndarray:
    """The original audio as (n_channels, n_samples) float64, checked against the image."""
    p = img.params
    if isinstance(phase_from, (str, os.PathLike)):
        y, _ = read_audio(phase_from, sr=p.sr)
    else:
        y = _check_audio(phase_from, p.n_fft)
    y = y.reshape(-1, y.shape[-1])
    if y.shape[0] != p.n_channels:
        raise ParameterError(f"phase_from audio has {y.shape[0]} channel(s) but the image has {p.n_channels}")
    if p.frames_for(y.shape[-1]) != img.n_frames:
        raise ParameterError(
            f"phase_from audio has {y.shape[-1]} samples, which make {p.frames_for(y.shape[-1])} frames, but the "
            f"image has {img.n_frames}; pass the audio the image was encoded from"
        )
    return y


# One quantisation step of float32 pixels, as a fraction of the pixel range (a tolerance
# for "unchanged", wider than float32's resolution near full scale).
_FLOAT_STEP_FRACTION = 1e-6


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
        changed = ((mel_basis(p) > 0).T.astype(np.float32) @ changed.astype(np.float32)) > 0
    return X0, ~changed


def decode_file(
    in_path: PathLike,
    out_path: PathLike,
    *,
    params: SpectrogramParams | None = None,
    subtype: str | None = None,
    **kwargs: object,
) -> tuple[np.ndarray, int]:
    """Decode a spectrogram image file to an audio file, atomically.

    Parameters
    ----------
    in_path : str or path-like, a PNG/TIFF written by specimg (or any with ``params``)
    out_path : str or path-like, audio file; the format follows the extension
    params : SpectrogramParams, optional, for an image without metadata
    subtype : str or None, soundfile subtype (None → the format's default, PCM_16 for WAV)
    **kwargs : keyword arguments of :func:`decode`

    Returns
    -------
    y, sr : as :func:`decode`

    Raises
    ------
    MissingFileError, FormatError, ParameterError
        As for :func:`decode` and :func:`write_audio`; no output file is written then.
    """
    out = Path(out_path)
    _check_subtype(_audio_format(out), subtype)  # fail before the expensive part
    y, sr = decode(in_path, params=params, **kwargs)  # type: ignore[arg-type]
    write_audio(out, y, sr, subtype=subtype)
    return y, sr
