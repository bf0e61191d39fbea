"""Arrays from librosa, torchaudio and scipy, and 8-bit min-max images, to calibrated images."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Literal

import numpy as np

from ..errors import AssumptionWarning, FormatError, LossyWarning, ParameterError
from ..image import SpectrogramImage, to_unit
from ..params import SpectrogramParams
from ..spectral import calibration, window_for
from ._common import ImageLike, image_from_db, positive, read_gray, resolve_peak_db

__all__ = ["from_array", "from_scipy_spectrogram", "from_minmax_image"]

Kind = Literal["magnitude", "power", "db", "psd"]
Convention = Literal["librosa", "torchaudio"]

# Defaults of the producing libraries: librosa.stft / feature.melspectrogram, and
# torchaudio.transforms.Spectrogram / MelSpectrogram.
_CONVENTIONS: dict[str, dict[str, Any]] = {
    "librosa": dict(sr=22050, n_fft=2048, htk=False, norm="slaney"),
    "torchaudio": dict(sr=16000, n_fft=400, htk=True, norm=None),
}


def _as_spectrogram(S: Any, name: str) -> np.ndarray:
    S = np.asarray(S)
    if np.iscomplexobj(S):
        S = np.abs(S)
    if S.dtype.kind not in "fiu":
        raise ParameterError(f"{name} of dtype {S.dtype} must be a real-valued numeric array")
    if S.ndim == 2:
        S = S[np.newaxis]
    if S.ndim != 3 or min(S.shape[1:]) < 1:
        raise ParameterError(
            f"{name} of shape {S.shape} must be (n_bins, n_frames) or (n_channels, n_bins, n_frames)"
        )
    return S.astype(np.float64, copy=False)


def _level_db(S: np.ndarray, kind: str) -> np.ndarray:
    """20·log10 of the amplitude that ``S`` holds (-inf where it is 0)."""
    with np.errstate(divide="ignore"):
        if kind == "magnitude":
            return 20.0 * np.log10(S)
        return 10.0 * np.log10(S)  # power and psd


def from_array(
    S: np.ndarray,
    kind: Kind = "magnitude",
    *,
    sr: int | None = None,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str | tuple = "hann",
    center: bool = True,
    scale: Literal["linear", "mel"] | None = None,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool | None = None,
    norm: Literal["slaney"] | None | str = "default",
    power: float | None = None,
    ref: float | Callable[..., Any] = 1.0,
    peak_db: float | None = None,
    n_samples: int | None = None,
    convention: Convention = "librosa",
) -> SpectrogramImage:
    """A calibrated image from a spectrogram array made by librosa, torchaudio or by hand.

    The array is taken in the producing library's units — the unscaled STFT of
    :func:`librosa.stft` and ``torchaudio.transforms.Spectrogram(normalized=False)`` —
    and rescaled to specimg's calibration, where a full-scale sine reads 0 dBFS.

    Parameters
    ----------
    S : np.ndarray [shape=(n_bins, n_frames) or (n_channels, n_bins, n_frames)], real or complex
        A linear STFT spectrogram (``n_bins = n_fft // 2 + 1``) or a mel spectrogram
        (``n_bins = n_mels``). Complex input is reduced to its magnitude.
    kind : {"magnitude", "power", "db", "psd"}
        What ``S`` holds:

        - ``"magnitude"``: ``np.abs(librosa.stft(y))``, or for a mel array
          ``librosa.feature.melspectrogram(..., power=1)``;
        - ``"power"``: ``np.abs(librosa.stft(y)) ** 2``, ``librosa.feature.melspectrogram(y=y)``,
          ``torchaudio.transforms.MelSpectrogram()(y)``;
        - ``"db"``: ``librosa.amplitude_to_db(magnitude, ref=ref)`` or
          ``librosa.power_to_db(power, ref=ref ** 2)`` (the same numbers);
        - ``"psd"``: a one-sided power spectral density,
          ``|X|² / (sr · Σw²)`` with every bin but DC and Nyquist doubled, as
          :func:`scipy.signal.spectrogram` returns with ``scaling="density"`` (see
          :func:`from_scipy_spectrogram` for scipy's frame layout).
    sr : int > 0 [scalar] or None
        Sample rate in Hz. None → the convention's default (librosa 22050, torchaudio 16000).
    n_fft : int > 0 [scalar] or None
        FFT size. None → ``2 * (n_bins - 1)`` when ``n_bins - 1`` is a power of two ≥ 32
        (a linear spectrogram), else the convention's default (librosa 2048, torchaudio 400).
    hop_length : int > 0 [scalar] or None
        Hop in samples. None → ``win_length // 4`` (librosa) or ``win_length // 2``
        (torchaudio).
    win_length : int > 0 [scalar] or None
        Window length. None → ``n_fft``.
    window : str or tuple
        Window specification for :func:`scipy.signal.get_window`. Default ``"hann"``, as
        both libraries (``torch.hann_window`` is the periodic Hann window).
    center : bool
        Frames centred on ``t * hop_length`` (True for librosa and torchaudio).
    scale : {"linear", "mel"} or None
        None → ``"linear"`` if ``n_bins == n_fft // 2 + 1``, else ``"mel"`` with
        ``n_mels = n_bins``.
    fmin, fmax : float >= 0 [scalar]
        Mel band limits in Hz. ``fmax=None`` → ``sr / 2``.
    htk : bool or None
        HTK mel formula. None → False (librosa) or True (torchaudio's ``mel_scale="htk"``).
    norm : {"slaney", None}
        Mel filter normalisation. The default follows the convention: ``"slaney"``
        (librosa) or None (torchaudio).
    power : float > 0 or None
        Exponent of the magnitude the mel filterbank summed. None → 1 for
        ``kind="magnitude"``, else 2 (``melspectrogram``'s default). Linear arrays ignore it.
    ref : float > 0 or callable
        For ``kind="db"``: the *amplitude* reference, the ``ref`` given to
        ``amplitude_to_db`` (librosa's default 1.0). For ``power_to_db(S, ref=r)`` pass
        ``ref=np.sqrt(r)``. ``ref=np.max`` (any callable) means the values are relative to
        the loudest bin, whose absolute level is then ``peak_db``.
    peak_db : float or None
        Level in dBFS of the loudest bin, for ``ref=np.max``. None →
        :func:`default_peak_db` (the level specimg's sample audio reads) with an :class:`~specimg.AssumptionWarning`.
    n_samples : int >= 0 or None
        Length of the audio, if known; else the decoder returns ``(n_frames - 1) *
        hop_length`` samples (one hop of the true length at most, for ``center=True``).
    convention : {"librosa", "torchaudio"}
        Which library's defaults fill the parameters left as None.

    Returns
    -------
    SpectrogramImage
        16-bit, its dB range set to hold every value of ``S``.

    Raises
    ------
    ParameterError
        If ``S`` is not a 2-D or 3-D real array, holds negative magnitudes, NaN or inf,
        or its number of rows contradicts ``n_fft`` / ``scale``.

    Warns
    -----
    AssumptionWarning
        When the absolute level is unknown (``ref=np.max``), or when ``kind="db"`` with
        ``ref=1.0`` but the array's maximum is exactly 0 dB, as after ``ref=np.max``.

    Examples
    --------
    >>> import librosa, numpy as np, specimg
    >>> y, sr = librosa.load(librosa.ex("trumpet"))                     # doctest: +SKIP
    >>> M = librosa.feature.melspectrogram(y=y, sr=sr)                    # doctest: +SKIP
    >>> img = specimg.legacy.from_array(M, "power", sr=sr)                # doctest: +SKIP
    >>> y_hat, sr = specimg.decode(img)                                   # doctest: +SKIP
    """
    if kind not in ("magnitude", "power", "db", "psd"):
        raise ParameterError(f"kind={kind!r} must be one of 'magnitude', 'power', 'db', 'psd'")
    if convention not in _CONVENTIONS:
        raise ParameterError(f"convention={convention!r} must be 'librosa' or 'torchaudio'")
    defaults = _CONVENTIONS[convention]
    S = _as_spectrogram(S, "S")
    if not np.all(np.isfinite(S) | ((kind == "db") & (S == -np.inf))):
        raise ParameterError("S holds NaN or infinite values; replace them (np.nan_to_num) first")
    if kind != "db" and np.any(S < 0):
        raise ParameterError(
            f"S holds negative values (min {S.min():.3g}), which a {kind} spectrogram cannot; "
            "for decibels pass kind='db'"
        )
    n_channels, n_rows, _ = S.shape
    params = _geometry(
        n_rows, sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
        center=center, scale=scale, fmin=fmin, fmax=fmax, htk=htk, norm=norm,
        power=power if power is not None else (1.0 if kind == "magnitude" else 2.0),
        n_samples=n_samples, n_channels=n_channels, defaults=defaults, convention=convention,
    )
    cal_db = 20.0 * np.log10(calibration(params))
    if kind == "db":
        if callable(ref):
            peak = resolve_peak_db(peak_db, params, source="ref=np.max", stacklevel=3)
            S_db = S - S.max() + peak
        else:
            ref = float(ref)
            if not ref > 0:
                raise ParameterError(f"ref={ref!r} must be a positive amplitude, or np.max")
            if ref == 1.0 and S.max() == 0.0:
                warnings.warn(
                    "S peaks at exactly 0 dB, as after amplitude_to_db(..., ref=np.max); it is read "
                    "with ref=1.0 (librosa's default), which makes it very quiet. If it was made "
                    "with ref=np.max, pass ref=np.max (and peak_db=<level in dBFS>).",
                    AssumptionWarning,
                    stacklevel=2,
                )
            if peak_db is not None:
                raise ParameterError("peak_db only applies to ref=np.max; with a numeric ref the level is known")
            S_db = S + 20.0 * np.log10(ref) + cal_db
    else:
        if peak_db is not None:
            raise ParameterError(f"peak_db only applies to kind='db' with ref=np.max; kind={kind!r} carries its level")
        if kind == "psd":
            if params.scale == "mel":
                raise ParameterError("kind='psd' is a linear-frequency density; a mel array is 'power' or 'magnitude'")
            S = _psd_to_power(S, params)
        S_db = _level_db(S, "magnitude" if kind == "magnitude" else "power")
        if params.scale == "mel" and kind != "magnitude":
            # a mel array summed |X|**power: its stored amplitude is S ** (1 / power)
            S_db = S_db * 2.0 / params.power
        S_db = S_db + cal_db
    return image_from_db(S_db, params)


def _geometry(
    n_rows: int,
    *,
    sr: int | None,
    n_fft: int | None,
    hop_length: int | None,
    win_length: int | None,
    window: str | tuple,
    center: bool,
    scale: str | None,
    fmin: float,
    fmax: float | None,
    htk: bool | None,
    norm: str | None,
    power: float,
    n_samples: int | None,
    n_channels: int,
    defaults: dict[str, Any],
    convention: str,
) -> SpectrogramParams:
    """Parameters for an array of ``n_rows`` rows, filling what the user left out."""
    guessed = scale is None and n_fft is None
    if n_fft is None:
        k = n_rows - 1
        linear_like = scale != "mel" and k >= 32 and (k & (k - 1)) == 0
        n_fft = 2 * k if linear_like else int(defaults["n_fft"])
    if scale is None:
        scale = "linear" if n_rows == n_fft // 2 + 1 else "mel"
    if guessed and n_rows not in (int(defaults["n_fft"]) // 2 + 1, 128):
        what = f"a linear STFT with n_fft={n_fft}" if scale == "linear" else f"{n_rows} mel bands of n_fft={n_fft}"
        warnings.warn(
            f"S has {n_rows} rows, read as {what}; pass scale= and n_fft= to say what it is",
            AssumptionWarning,
            stacklevel=4,
        )
    if scale == "linear" and n_rows != n_fft // 2 + 1:
        raise ParameterError(
            f"a linear spectrogram with n_fft={n_fft} has {n_fft // 2 + 1} rows, but this one has {n_rows}; "
            f"pass n_fft={2 * (n_rows - 1)} (or scale='mel' if its rows are mel bands)"
        )
    if scale == "mel" and n_rows > n_fft // 2 + 1:
        raise ParameterError(
            f"{n_rows} mel bands cannot come from n_fft={n_fft} ({n_fft // 2 + 1} bins); pass the n_fft it was made with"
        )
    win = n_fft if win_length is None else win_length
    if hop_length is None and convention == "torchaudio":
        hop_length = win // 2
    return SpectrogramParams(
        sr=int(defaults["sr"]) if sr is None else sr,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        scale=scale,  # type: ignore[arg-type]
        n_mels=n_rows if scale == "mel" else 128,
        fmin=fmin,
        fmax=fmax,
        htk=bool(defaults["htk"]) if htk is None else htk,
        norm=defaults["norm"] if norm == "default" else norm,  # type: ignore[arg-type]
        power=power if scale == "mel" else 2.0,
        n_samples=n_samples,
        n_channels=n_channels,
    )


def _psd_to_power(S: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """One-sided density ``2|X|²/(sr·Σw²)`` back to the raw power ``|X|²``."""
    w = window_for(params)
    P = S * (params.sr * float(np.sum(w**2)))
    P[..., 1 : (None if params.n_fft % 2 else -1), :] /= 2.0
    return P


def from_scipy_spectrogram(
    f: np.ndarray,
    t: np.ndarray,
    Sxx: np.ndarray,
    *,
    fs: float,
    window: str | tuple = ("tukey", 0.25),
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    scaling: Literal["density", "spectrum"] = "density",
    mode: Literal["psd", "magnitude", "complex"] = "psd",
    n_samples: int | None = None,
) -> SpectrogramImage:
    """A calibrated image from the output of :func:`scipy.signal.spectrogram`.

    Pass the three arrays scipy returned and the arguments given to it; the defaults are
    scipy's. ``nperseg`` and ``noverlap`` may be left out: ``f`` gives the segment length
    and ``t`` the step between segments, and both are checked against ``fs``.

    Parameters
    ----------
    f : np.ndarray [shape=(n_freqs,)], Hz
        Sample frequencies, ``np.fft.rfftfreq(nfft, 1 / fs)``.
    t : np.ndarray [shape=(n_segments,)], seconds
        Segment centres, ``(nperseg / 2 + k * (nperseg - noverlap)) / fs``.
    Sxx : np.ndarray [shape=(..., n_freqs, n_segments)]
        The spectrogram; a leading axis is taken as audio channels.
    fs : float > 0 [scalar]
        Sample rate in Hz (an integer rate is required to decode).
    window : str or tuple
        Window given to scipy (default ``("tukey", 0.25)``, scipy's). Window arrays are not
        accepted: name the window.
    nperseg, noverlap, nfft : int or None
        As given to scipy. None → inferred from ``f`` and ``t`` (scipy's own defaults are
        ``nperseg=256``, ``noverlap=nperseg // 8``, ``nfft=nperseg``).
    scaling : {"density", "spectrum"}
        scipy's ``scaling``.
    mode : {"psd", "magnitude", "complex"}
        scipy's ``mode``; ``"angle"`` and ``"phase"`` carry no magnitude.
    n_samples : int >= 0 or None
        Length of the audio, if known. Else the decoder returns ``(n_segments - 1) * hop +
        nperseg`` samples: scipy drops the last partial segment, so this is short of the
        original by less than one hop.

    Returns
    -------
    SpectrogramImage
        Linear scale, ``center=False`` (scipy does not pad), 16-bit, at the absolute level.

    Raises
    ------
    ParameterError
        If the arrays' shapes disagree, ``f`` or ``t`` contradict ``fs`` / ``nperseg`` /
        ``noverlap``, ``mode`` is not a magnitude mode, the spectrogram is two-sided, or
        ``nfft != nperseg`` (zero-padded segments are not supported).

    Warns
    -----
    LossyWarning
        If the overlap leaves less than 2× redundancy (scipy's default ``noverlap =
        nperseg // 8`` does): phase reconstruction then cannot rebuild the audio well.

    References
    ----------
    SciPy, ``scipy.signal.spectrogram`` and ``scipy.signal.welch`` (scaling conventions).
    """
    f = np.asarray(f, dtype=np.float64).ravel()
    t = np.asarray(t, dtype=np.float64).ravel()
    Sxx = np.asarray(Sxx)
    if mode in ("angle", "phase"):
        raise ParameterError(f"mode={mode!r} holds phase only; recompute with mode='psd' or 'magnitude'")
    if mode not in ("psd", "magnitude", "complex"):
        raise ParameterError(f"mode={mode!r} must be 'psd', 'magnitude' or 'complex'")
    if scaling not in ("density", "spectrum"):
        raise ParameterError(f"scaling={scaling!r} must be 'density' or 'spectrum'")
    if Sxx.ndim < 2 or Sxx.shape[-2:] != (len(f), len(t)):
        raise ParameterError(
            f"Sxx of shape {Sxx.shape} does not match len(f)={len(f)} frequencies × len(t)={len(t)} segments"
        )
    if positive("fs", fs, " (the sample rate in Hz)") != int(fs):
        raise ParameterError(f"fs={fs!r} must be a whole sample rate in Hz")
    sr = int(fs)
    if len(f) < 2 or np.any(f < 0):
        raise ParameterError("f must be the one-sided frequencies scipy returned (return_onesided=True)")
    df = float(np.median(np.diff(f)))
    if nfft is None:
        nfft = nperseg if nperseg is not None else 2 * (len(f) - 1)
    if nperseg is None:
        nperseg = nfft
    if nfft != nperseg:
        raise ParameterError(
            f"nfft={nfft} differs from nperseg={nperseg}: zero-padded segments are not supported; "
            "recompute with nfft=None"
        )
    if len(f) != nfft // 2 + 1:
        raise ParameterError(
            f"f has {len(f)} frequencies, which is nperseg={2 * (len(f) - 1)}, not nperseg={nperseg}; "
            "pass the nperseg given to scipy"
        )
    if not np.allclose(f, np.arange(len(f)) * sr / nfft, rtol=1e-6, atol=1e-9 * sr):
        raise ParameterError(
            f"f steps by {df:.6g} Hz, which is fs={df * nfft:.6g} for nperseg={nfft}, not fs={sr}; "
            "pass the fs given to scipy, and nperseg if it was odd (an odd nperseg cannot be told from f)"
        )
    if noverlap is None:
        if len(t) > 1:
            noverlap = nperseg - round(float(np.median(np.diff(t))) * sr)
        else:
            noverlap = nperseg // 8
    hop = nperseg - noverlap
    if not 0 < hop <= nperseg:
        raise ParameterError(f"noverlap={noverlap} must be in [0, nperseg={nperseg})")
    expected_t = (nperseg / 2 + hop * np.arange(len(t))) / sr
    if not np.allclose(t, expected_t, rtol=0, atol=0.5 / sr):
        step = float(np.median(np.diff(t))) * sr if len(t) > 1 else float("nan")
        raise ParameterError(
            f"t does not match nperseg={nperseg}, noverlap={noverlap} at fs={sr}: its first segment is centred "
            f"at {t[0]:.6g} s (expected {expected_t[0]:.6g}) and its step is {step:.6g} samples (expected {hop}); "
            "pass the noverlap and fs given to scipy"
        )
    if nperseg / hop < 2:
        warnings.warn(
            f"noverlap={noverlap} of nperseg={nperseg} leaves a redundancy of only {nperseg / hop:.2f} "
            "(scipy's default noverlap is nperseg // 8): no phase reconstruction rebuilds such audio "
            "well, expect a rough sound. Use noverlap >= 3 * nperseg // 4 for spectrograms you mean to invert.",
            LossyWarning,
            stacklevel=2,
        )
    if isinstance(window, np.ndarray):
        raise ParameterError("window arrays are not supported: pass the window's name, e.g. 'hann' or ('tukey', 0.25)")
    S = _as_spectrogram(Sxx, "Sxx")
    if np.any(S < 0) or not np.all(np.isfinite(S)):
        raise ParameterError("Sxx holds negative, NaN or infinite values; pass scipy's output unchanged")
    params = SpectrogramParams(
        sr=sr, n_fft=nfft, hop_length=hop, window=window, center=False, scale="linear",
        n_samples=n_samples, n_channels=S.shape[0],
    )
    w = window_for(params)
    scale = 1.0 / (sr * float(np.sum(w**2))) if scaling == "density" else 1.0 / float(np.sum(w)) ** 2
    if mode == "psd":
        P = S / scale
        P[..., 1 : (None if nfft % 2 else -1), :] /= 2.0
        S_db = _level_db(P, "power")
    else:
        S_db = _level_db(S / np.sqrt(scale), "magnitude")
    return image_from_db(S_db + 20.0 * np.log10(calibration(params)), params)


def from_minmax_image(
    image: ImageLike,
    *,
    sr: int = 22050,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str | tuple = "hann",
    top_db: float = 80.0,
    peak_db: float | None = None,
    flip: bool = True,
    invert: bool = False,
    scale: Literal["linear", "mel"] = "linear",
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: Literal["slaney"] | None = "slaney",
    n_samples: int | None = None,
) -> SpectrogramImage:
    """A calibrated image from a min-max scaled dB spectrogram picture.

    The picture was made as
    ``Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)`` (which clips at
    ``top_db=80`` below the peak), scaled ``(Xdb - Xdb.min()) / (Xdb.max() - Xdb.min())``
    to 0..255 (or 0..65535), usually flipped so that low frequencies are at the bottom,
    sometimes inverted (black = loud), and saved as a PNG — possibly filtered since, for
    instance by ``cv2.fastNlMeansDenoising``. Each row is one STFT bin and each column one
    frame, so the picture is taken as it is, with no resampling.

    Parameters
    ----------
    image : path, PIL.Image.Image or np.ndarray [shape=(n_bins, n_frames)]
        Gray 8- or 16-bit picture (an RGB picture with equal channels is accepted), or a
        float array in [0, 1].
    sr : int > 0 [scalar]
        Sample rate in Hz (default 22050, librosa's).
    n_fft : int > 0 or None
        None → ``2 * (rows - 1)`` for a linear picture; for ``scale="mel"`` 2048.
    hop_length : int > 0 or None
        None → ``win_length // 4`` (librosa's default; 512 for n_fft=2048).
    win_length : int or None
        None → ``n_fft``.
    window : str or tuple
        Default ``"hann"``, librosa's.
    top_db : float > 0 [scalar]
        dB range between black and white: the ``top_db`` of ``amplitude_to_db`` (80), or
        the data's own range if it was smaller.
    peak_db : float or None
        Level in dBFS of the brightest pixel. The picture cannot carry it (``ref=np.max``);
        None → :func:`default_peak_db` (the level specimg's sample audio reads) with an :class:`~specimg.AssumptionWarning`.
    flip : bool
        Low frequencies at the bottom (True, as ``np.flipud`` before saving or ``origin
        ="lower"``). False: row 0 is the lowest frequency.
    invert : bool
        Black is loud (``255 - pixels``).
    scale : {"linear", "mel"}
        ``"mel"`` for a picture of a mel spectrogram (``n_mels`` = rows).
    fmin, fmax, htk, norm :
        Mel filterbank of a mel picture, as :func:`librosa.filters.mel` (defaults are
        librosa's).
    n_samples : int >= 0 or None
        Length of the audio, if known; else ``(n_frames - 1) * hop_length``.

    Returns
    -------
    SpectrogramImage
        16-bit. Black (the floor, ``top_db`` below the peak) decodes to silence.

    Raises
    ------
    ParameterError
        If the number of rows contradicts ``n_fft``, or ``top_db`` is not positive.
    FormatError
        If the picture is in colour (a colormap figure: use :func:`from_figure`).

    Warns
    -----
    AssumptionWarning
        For the unknown absolute level, and when the loudest rows lie in the top tenth of
        the frequency range — usually a sign of a wrong ``flip``.
    """
    pixels = read_gray(
        image, what="picture",
        hint="a min-max picture is gray. For a matplotlib/specshow figure with a colormap use specimg.legacy.from_figure",
    )
    top_db = positive("top_db", top_db, " of dB (amplitude_to_db's default is 80)")
    if pixels.dtype.kind == "f" and pixels.size and (pixels.min() < 0 or pixels.max() > 1):
        raise ParameterError(
            f"a float picture must be scaled to [0, 1]; this one spans {pixels.min():.3g}..{pixels.max():.3g}"
        )
    if pixels.dtype.kind not in "uf" or pixels.dtype.itemsize > (2 if pixels.dtype.kind == "u" else 8):
        raise FormatError(f"pixels of dtype {pixels.dtype} are not 8-bit, 16-bit or float")
    v = to_unit(pixels)
    if invert:
        v = 1.0 - v
    n_rows = v.shape[0]
    if scale == "linear":
        if n_fft is None:
            n_fft = 2 * (n_rows - 1)
        elif n_rows != n_fft // 2 + 1:
            raise ParameterError(
                f"the picture has {n_rows} rows, which is n_fft={2 * (n_rows - 1)}, not n_fft={n_fft}: "
                f"{n_fft // 2 + 1} rows were expected. Pass the n_fft it was made with (or crop nothing off it)"
            )
    elif n_fft is None:
        n_fft = 2048
    params = SpectrogramParams(
        sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window, center=True,
        scale=scale, n_mels=n_rows if scale == "mel" else 128, fmin=fmin, fmax=fmax, htk=htk, norm=norm,
        n_samples=n_samples,
    )
    rows = v[::-1] if flip else v
    if scale == "linear" and n_rows >= 20:
        profile = rows.mean(axis=1)
        if int(np.argmax(profile)) >= 0.9 * n_rows:
            warnings.warn(
                f"the loudest rows are at the top {100 * (1 - np.argmax(profile) / n_rows):.0f} % of the "
                f"frequency range, which is rare for real sound; is flip={flip} right? (a picture saved without "
                "np.flipud has its low frequencies on top: flip=False)",
                AssumptionWarning,
                stacklevel=2,
            )
    peak = resolve_peak_db(peak_db, params, source="min-max scaling", stacklevel=3)
    S_db = peak - top_db + rows * top_db
    S_db = np.where(rows <= 0.0, -np.inf, S_db)
    return image_from_db(S_db, params)
