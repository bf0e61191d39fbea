"""Images made by diffusion tools: audio-diffusion (diffusers' ``Mel``) and riffusion."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import AssumptionWarning, FormatError, ParameterError
from ..image import SpectrogramImage, pixel_max
from ..messages import shorten
from ..params import SpectrogramParams
from ..spectral import calibration
from ._arrays import from_minmax_image
from ._common import ImageLike, image_from_db, read_gray, read_pixels, resolve_peak_db

__all__ = ["from_audio_diffusion", "from_riffusion", "RIFFUSION_EXIF_TAGS"]


def from_audio_diffusion(
    image: ImageLike,
    *,
    mel: Any = None,
    sr: int = 22050,
    n_fft: int = 2048,
    hop_length: int = 512,
    top_db: float = 80.0,
    peak_db: float | None = None,
    n_samples: int | None = None,
) -> SpectrogramImage:
    """A calibrated image from an audio-diffusion spectrogram (diffusers' ``Mel`` class).

    ``Mel.audio_slice_to_image`` computes ``librosa.feature.melspectrogram(y=slice, sr=sr,
    n_fft=n_fft, hop_length=hop_length, n_mels=y_res)``, takes ``librosa.power_to_db(S,
    ref=np.max, top_db=top_db)``, maps ``[-top_db, 0]`` dB to 0..255 and saves the rows
    as they are: the lowest mel band is row 0, at the top. The image is ``x_res`` frames
    wide and ``y_res`` mel bands high, and each slice is ``x_res * hop_length - 1``
    samples long.

    Parameters
    ----------
    image : path, PIL.Image.Image or np.ndarray [shape=(y_res, x_res)], uint8
        The gray image, as saved or as produced by an ``AudioDiffusionPipeline``.
    mel : object, optional
        The pipeline's ``Mel`` instance (or anything with ``sr``/``get_sample_rate()``,
        ``n_fft``, ``hop_length`` and ``top_db`` attributes); its values override the
        keyword defaults below.
    sr, n_fft, hop_length, top_db :
        ``Mel``'s defaults: 22050 Hz, 2048, 512, 80 dB.
    peak_db : float or None
        Level in dBFS of the loudest mel band (lost by ``ref=np.max``). None →
        :func:`default_peak_db` (the level specimg's sample audio reads) with an :class:`~specimg.AssumptionWarning`.
    n_samples : int or None
        Audio length. None → ``x_res * hop_length - 1``, the length of a ``Mel`` slice.

    Returns
    -------
    SpectrogramImage
        Mel scale (``n_mels = y_res``, Slaney, power 2, fmin 0, fmax sr/2), 16-bit.

    Raises
    ------
    FormatError
        If the image is in colour.

    References
    ----------
    R. Smith (teticio), audio-diffusion; Hugging Face diffusers,
    ``diffusers.pipelines.deprecated.audio_diffusion.mel.Mel``.
    """
    if mel is not None:
        try:
            sr = int(mel.get_sample_rate() if hasattr(mel, "get_sample_rate") else mel.sr)
            n_fft, hop_length, top_db = int(mel.n_fft), int(mel.hop_length), float(mel.top_db)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ParameterError(
                f"mel={mel!r} must be diffusers' Mel (or have sr, n_fft, hop_length and top_db): {exc}"
            ) from None
    pixels = read_gray(image, what="audio-diffusion image", hint="audio-diffusion images are gray")
    if n_samples is None:
        n_samples = pixels.shape[1] * hop_length - 1
    return from_minmax_image(
        pixels, sr=sr, n_fft=n_fft, hop_length=hop_length, top_db=top_db,
        peak_db=_peak(peak_db, SpectrogramParams(sr=sr, n_fft=n_fft, hop_length=hop_length, scale="mel",
                                                 n_mels=pixels.shape[0])),
        flip=False, invert=False, scale="mel", n_samples=n_samples,
    )


def _peak(peak_db: float | None, params: SpectrogramParams) -> float:
    # Resolved here so the warning points at the caller of from_audio_diffusion.
    return resolve_peak_db(peak_db, params, source="audio-diffusion's power_to_db(ref=np.max)", stacklevel=4)


#: EXIF tags riffusion writes into its PNGs (``riffusion.spectrogram_params.SpectrogramParams.ExifTags``).
RIFFUSION_EXIF_TAGS: dict[str, int] = {
    "sample_rate": 11000,
    "stereo": 11005,
    "step_size_ms": 11010,
    "window_duration_ms": 11020,
    "padded_duration_ms": 11030,
    "num_frequencies": 11040,
    "min_frequency": 11050,
    "max_frequency": 11060,
    "power_for_image": 11070,
    "max_value": 11080,
}

# Largest value a riffusion tag may hold: far above any real one (44100 Hz, 400 ms, 1e4 Hz),
# small enough that products of two tags stay finite.
_RIFFUSION_MAX_VALUE = 1e12

# riffusion's SpectrogramParams defaults, used for tags an image lacks.
_RIFFUSION_DEFAULTS: dict[str, Any] = {
    "sample_rate": 44100,
    "stereo": False,
    "step_size_ms": 10,
    "window_duration_ms": 100,
    "padded_duration_ms": 400,
    "num_frequencies": 512,
    "min_frequency": 0,
    "max_frequency": 10000,
    "power_for_image": 0.25,
}


def from_riffusion(
    image: ImageLike,
    *,
    peak_db: float | None = None,
    mel_scale_type: str = "htk",
    mel_scale_norm: str | None = None,
    n_samples: int | None = None,
    **overrides: Any,
) -> SpectrogramImage:
    """A calibrated image from a riffusion spectrogram PNG.

    riffusion computes a mel spectrogram of *magnitudes* with torchaudio (periodic Hann
    window of ``window_duration_ms``, zero-padded to ``padded_duration_ms``, hop
    ``step_size_ms``, HTK mel bands without normalisation, ``num_frequencies`` bands
    between ``min_frequency`` and ``max_frequency``), divides by its maximum, raises it
    to ``power_for_image`` (0.25), maps it to 0..255, inverts it (black is loud), flips it
    (low frequencies at the bottom) and saves an RGB PNG: mono in all three channels,
    stereo in green and blue. Its parameters, and the maximum, are in EXIF tags
    (:data:`RIFFUSION_EXIF_TAGS`).

    Parameters
    ----------
    image : path, PIL.Image.Image or np.ndarray [shape=(n_mels, n_frames, 3)], uint8
    peak_db : float or None
        Level in dBFS of the loudest band, used when the image has no ``max_value`` tag
        (images a riffusion model generated have none; riffusion then assumes an
        arbitrary 30e6). None → :func:`default_peak_db` (the level specimg's sample audio reads) with an
        :class:`~specimg.AssumptionWarning`. Ignored when the tag is present.
    mel_scale_type, mel_scale_norm :
        riffusion's defaults (``"htk"``, None); not stored in the EXIF tags.
    n_samples : int or None
        Audio length; None → ``(n_frames - 1) * hop``.
    **overrides :
        Values for riffusion parameters by their field name (``sample_rate=44100``,
        ``max_frequency=10000`` ...), used when the image lacks the tag.

    Returns
    -------
    SpectrogramImage
        Mel scale, ``power=1`` (a mel spectrogram of magnitudes), 16-bit.

    Raises
    ------
    FormatError
        If the picture's height contradicts ``num_frequencies``.
    ParameterError
        For an unknown override name.

    Warns
    -----
    AssumptionWarning
        For every parameter the image does not carry.

    References
    ----------
    S. Forsgren and H. Martiros, "Riffusion - Stable diffusion for real-time music
    generation", 2022 (``riffusion.util.image_util``, ``riffusion.spectrogram_params``).
    """
    unknown = set(overrides) - set(_RIFFUSION_DEFAULTS) - {"max_value"}
    if unknown:
        raise ParameterError(f"unknown riffusion parameter(s) {sorted(unknown)}; known: {sorted(_RIFFUSION_DEFAULTS)}")
    pixels, exif = read_pixels(image, what="riffusion image")
    values: dict[str, Any] = {}
    missing = []
    for name, tag in RIFFUSION_EXIF_TAGS.items():
        if tag in exif:
            values[name] = exif[tag]
        elif name in overrides:
            values[name] = overrides[name]
        elif name != "max_value":
            values[name] = _RIFFUSION_DEFAULTS[name]
            missing.append(name)
    if missing:
        warnings.warn(
            f"the image has no riffusion EXIF tag for {', '.join(missing)}; riffusion's defaults are used "
            f"({', '.join(f'{k}={_RIFFUSION_DEFAULTS[k]!r}' for k in missing)}). Pass them as keywords to override.",
            AssumptionWarning,
            stacklevel=2,
        )
    for name, value in values.items():
        if name == "stereo":
            continue
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            number = float("nan")
        lowest_ok = 0.0 if name == "min_frequency" else np.nextafter(0.0, 1.0)
        # 1e300 is finite but overflows once multiplied by the sample rate
        if not (np.isfinite(number) and lowest_ok <= number <= _RIFFUSION_MAX_VALUE):
            raise FormatError(
                f"riffusion parameter {name} (EXIF tag {RIFFUSION_EXIF_TAGS[name]}) is {shorten(value)}; it must be a "
                f"{'non-negative' if name == 'min_frequency' else 'positive'} number up to {_RIFFUSION_MAX_VALUE:g}. "
                f"Pass {name}=<value> to override"
            )
        values[name] = number
    sr = int(values["sample_rate"])
    stereo = bool(values["stereo"])
    params = SpectrogramParams(
        sr=sr,
        n_fft=int(float(values["padded_duration_ms"]) / 1000.0 * sr),
        win_length=int(float(values["window_duration_ms"]) / 1000.0 * sr),
        hop_length=int(float(values["step_size_ms"]) / 1000.0 * sr),
        window="hann",
        center=True,
        scale="mel",
        n_mels=int(values["num_frequencies"]),
        fmin=float(values["min_frequency"]),
        fmax=float(values["max_frequency"]),
        htk=mel_scale_type == "htk",
        norm=mel_scale_norm,  # type: ignore[arg-type]
        power=1.0,
        n_channels=2 if stereo else 1,
        n_samples=n_samples,
    )
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., np.newaxis], 3, axis=-1)
    if pixels.dtype != np.uint8:
        raise FormatError(f"riffusion images are 8-bit RGB; this one has dtype {pixels.dtype}")
    if pixels.shape[0] != params.n_mels:
        raise FormatError(
            f"the image has {pixels.shape[0]} rows but num_frequencies={params.n_mels}; pass "
            f"num_frequencies={pixels.shape[0]} if it was made with that many mel bands"
        )
    channels = pixels[::-1, :, 1:3] if stereo else pixels[::-1, :, 0:1]  # flip: row 0 = lowest band
    full = pixel_max(8)
    u = full - channels.transpose(2, 0, 1).astype(np.float64)
    # riffusion stores uint8(255 - 255 * x**power): truncation puts 255 * x**power in
    # (u - 1, u], whose middle is u - 0.5; u = 255 is the maximum itself, u = 0 silence.
    v = np.where(u >= full, 1.0, np.maximum(u - 0.5, 0.0) / full)
    with np.errstate(divide="ignore"):
        rel_db = 20.0 / float(values["power_for_image"]) * np.log10(v)
    if "max_value" in values:
        max_value = float(values["max_value"])
        if not (np.isfinite(max_value) and max_value > 0):
            raise FormatError(f"the image's max_value tag {max_value!r} is not a positive amplitude")
        peak = 20.0 * np.log10(max_value * calibration(params))
    else:
        peak = resolve_peak_db(
            peak_db, params, source="a riffusion image without its max_value EXIF tag", stacklevel=3
        )
    return image_from_db(rel_db + peak, params)
