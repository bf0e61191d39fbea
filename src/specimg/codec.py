"""The encode and decode pipelines: audio ↔ calibrated spectrogram image.

:func:`decode` is a plan (:mod:`specimg.decoding`): the picture, one phase source, one call
into :mod:`specimg.phase` per channel. Audio files are :mod:`specimg.audio`'s
(:func:`read_audio` and :func:`write_audio` are importable from here too).
tqdm is imported on first use (``import specimg`` stays fast).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from .audio import audio_format, check_audio, check_subtype, read_audio, write_audio
from .decoding import plan, run
from .errors import ClippingWarning, LossyWarning, ParameterError
from .formats import image_format, save
from .image import SpectrogramImage, db_step, pixel_max
from .messages import shorten
from .params import SpectrogramParams
from .phase import Init, Quality
from .resources import check_memory, stft_bytes, stored_phase_bytes
from .spectral import magnitude, stft, to_db
from .stored_phase import StoredPhase, check_phase_options
from .typing import PathLike

__all__ = ["encode", "encode_file", "decode", "decode_file", "read_audio", "write_audio"]

#: Fraction of bins above ``db_max`` beyond which :func:`encode` warns.
CLIP_WARN_FRACTION = 0.001


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
    y = check_audio(y, params.n_fft)
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
        reconstructed starting from it (:func:`specimg.phase.rebuild`;
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
    return run(
        plan(
            img, quality=quality, n_iter=n_iter, momentum=momentum, init=init, rng=rng, params=params, like=like,
            phase_from=phase_from, stored_phase=stored_phase, progress=progress,
        )
    )  # fmt: skip


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
    check_subtype(audio_format(out), subtype)  # fail before the expensive part
    y, sr = decode(in_path, params=params, **kwargs)  # type: ignore[arg-type]
    write_audio(out, y, sr, subtype=subtype)
    return y, sr
