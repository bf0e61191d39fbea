"""The parameter policy of a dataset: which spectrogram every tile is, and the checks of build()'s options.

* :func:`dataset_params` — the :class:`~specimg.SpectrogramParams` of every tile (mel,
  centred, one absolute scale), with the FFT size from :func:`default_n_fft`;
* :func:`check_size` and :func:`check_options` — the other arguments of
  :func:`specimg.dataset.build`, checked before anything is written;
* :func:`warn_lossy` — the warnings of legal but lossy choices.

The default scale, :data:`DB_MIN` … :data:`DB_MAX` (−100 … 0 dB re full scale, 8-bit
pixels), was chosen by measurement; see :data:`DB_MAX`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np

from ..errors import LossyWarning, ParameterError
from ..image import db_step
from ..params import SpectrogramParams
from ..spectral import mel_basis

__all__ = [
    "BIT_DEPTH",
    "DB_MAX",
    "DB_MIN",
    "ENCODE_PARAMS",
    "MAX_DB_STEP",
    "TAILS",
    "Tail",
    "check_options",
    "check_size",
    "dataset_params",
    "default_n_fft",
    "tile_step",
    "warn_lossy",
]

#: n_fft chosen by :func:`default_n_fft` lies in this range.
MIN_AUTO_N_FFT = 1024
MAX_AUTO_N_FFT = 32768

#: Pixel depth of dataset tiles by default: 8-bit grayscale PNG, the one every stock loader
#: reads right (torchvision ``ImageFolder`` + ``ToTensor()``, ``read_image``, Hugging Face
#: ``imagefolder``, StyleGAN2-ADA's ``dataset_tool``, diffusers' ``convert("RGB")``);
#: 16-bit PNGs arrive wrapped or saturated in most of them.
BIT_DEPTH: Literal[8] = 8

#: The one absolute scale of a dataset by default, in dB re ``ref`` (1.0: full scale).
#: Measured on mel tiles of the defaults (256 Slaney-normalised bands, sr 22 050 Hz, n_fft
#: 2048): a full-scale sine reads −11 to −21 dB (−12 dB at 100 Hz–1 kHz, a full-scale
#: 100 Hz square wave −10.1 dB), and the 479 232 bins of the project's corpus of real
#: recordings (../shared/corpus: orchestral music, speech, noise, bells; 35 s) peak at
#: −16.8 dB with a 99.9th percentile of −25.5 dB: a top of 0 dB clips none of them and
#: leaves 10 dB of headroom above a full-scale sine. 11.9 % of those bins lie below −100 dB
#: (the floor): 20 dB under the silence threshold ``min_level_db=-80``, so a tile skipped as
#: silent is one whose loudest bin is still 20 dB above the floor.
DB_MAX = 0.0
#: See :data:`DB_MAX`: a 100 dB span, 0.39 dB per step of an 8-bit pixel.
DB_MIN = -100.0

#: The coarsest level step, in dB per pixel value, that 8-bit tiles take without a warning
#: (``db_max - db_min <= 102`` dB at 8 bits).
MAX_DB_STEP = 0.4

#: What :func:`specimg.dataset.build` does with the last, partial tile of a file.
TAILS = ("pad", "drop")
Tail = Literal["pad", "drop"]

#: Keyword arguments of :func:`specimg.encode` that :func:`specimg.dataset.build` passes through.
ENCODE_PARAMS = (
    "win_length", "window", "center", "scale", "fmin", "fmax", "htk", "norm", "power",
    "db_min", "db_max", "ref", "flip", "invert",
)  # fmt: skip


def default_n_fft(sr: int, n_mels: int, *, fmin: float = 0.0, fmax: float | None = None, htk: bool = False) -> int:
    """The FFT size :func:`build` uses when ``n_fft`` is not given.

    The smallest power of two, at least 1024, whose bin spacing ``sr / n_fft`` is no wider
    than the narrowest gap between consecutive mel band edges, so that every mel band
    holds at least one FFT bin (no empty, always-black row); at most 32768.
    At 22.05 kHz (Slaney mel, 0 Hz to Nyquist): 1024 up to 153 bands, 2048 up to 308, 4096 up to 617.

    Parameters
    ----------
    sr : int > 0, Hz
    n_mels : int > 0
    fmin, fmax : float >= 0, Hz; ``fmax=None`` → ``sr / 2``
    htk : bool

    Returns
    -------
    int, a power of two in [1024, 32768]

    Examples
    --------
    >>> default_n_fft(22050, 256)
    2048
    """
    import librosa

    top = sr / 2 if fmax is None else fmax
    edges = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=top, htk=htk)
    gap = float(np.min(np.diff(edges)))
    n_fft = MIN_AUTO_N_FFT
    while sr / n_fft > gap and n_fft < MAX_AUTO_N_FFT:
        n_fft *= 2
    return n_fft


def dataset_params(
    *,
    size: tuple[int, int] = (256, 256),
    sr: int = 22050,
    hop_length: int | None = None,
    n_fft: int | None = None,
    n_mels: int | None = None,
    bit_depth: Literal[8, 16] = BIT_DEPTH,
    **encode_params: Any,
) -> SpectrogramParams:
    """The parameters of every tile of a dataset (``n_samples=None``, one channel, no edits).

    Arguments as for :func:`build`. A tile of the dataset holds the columns of
    ``specimg.encode(y, sr, **p)`` with ``p`` these parameters (``scale="mel"``). The
    scale is ``db_min=DB_MIN``, ``db_max=DB_MAX`` (−100 … 0 dB) unless given.

    Returns
    -------
    SpectrogramParams

    Raises
    ------
    ParameterError
        For an invalid or contradictory value.

    Examples
    --------
    >>> p = dataset_params(size=(128, 64), sr=16000)
    >>> p.n_mels, p.n_fft, p.hop_length, p.bit_depth, p.db_min, p.db_max
    (128, 1024, 256, 8, -100.0, 0.0)
    """
    rows, _ = check_size(size)
    unknown = sorted(set(encode_params) - set(ENCODE_PARAMS))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)}; build() passes on only {', '.join(ENCODE_PARAMS)}"
        )
    if encode_params.get("scale", "mel") != "mel":
        raise ParameterError(f"scale={encode_params['scale']!r}: dataset tiles are mel spectrograms (rows = n_mels)")
    if encode_params.get("center", True) is not True:
        raise ParameterError("center=False is not supported: tiles are columns of the centred STFT of specimg.encode")
    ref = encode_params.get("ref", 1.0)
    if isinstance(ref, str) or ref is None:
        raise ParameterError(f"ref={ref!r}: every tile of a dataset shares one absolute scale; pass a number (1.0 = dBFS)")
    if bit_depth not in (8, 16) or isinstance(bit_depth, bool):
        raise ParameterError(f"bit_depth={bit_depth!r} must be 8 or 16 (tiles are PNG)")
    if n_mels is None:
        n_mels = rows
    elif n_mels != rows:
        raise ParameterError(f"n_mels={n_mels!r} contradicts size={size!r}: a tile has n_mels rows; leave n_mels out")
    if n_fft is None:
        # validate sr, n_mels, fmin, fmax with a provisional FFT size first, for clean errors
        probe = SpectrogramParams(
            sr=sr, n_fft=MAX_AUTO_N_FFT, scale="mel", n_mels=n_mels,
            **{k: v for k, v in encode_params.items() if k in ("fmin", "fmax", "htk")},
        )  # fmt: skip
        n_fft = default_n_fft(probe.sr, probe.n_mels, fmin=probe.fmin, fmax=probe.fmax, htk=probe.htk)
    if hop_length is None and isinstance(n_fft, int) and not isinstance(n_fft, bool):
        hop_length = max(n_fft // 4, 1)
    kwargs: dict[str, Any] = {"db_min": DB_MIN, "db_max": DB_MAX}
    kwargs.update({k: v for k, v in encode_params.items() if k not in ("scale", "center")})
    return SpectrogramParams(
        sr=sr, n_fft=n_fft, hop_length=hop_length, scale="mel", n_mels=n_mels, bit_depth=bit_depth, **kwargs
    )


def check_size(size: Any) -> tuple[int, int]:
    """``size`` as (rows, frames), two positive ints.

    Raises
    ------
    ParameterError
        If it is not a pair of positive integers.
    """
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in size)
    ):
        raise ParameterError(f"size={size!r} must be (rows, frames), two positive integers, e.g. (256, 256)")
    return int(size[0]), int(size[1])


def tile_step(n_frames: int, overlap: Any, step: Any = None) -> int:
    """Frames between the starts of consecutive tiles.

    ``step`` when given, else ``max(1, round(n_frames * (1 - overlap)))``.

    Parameters
    ----------
    n_frames : int > 0, tile width
    overlap : float in [0, 1), fraction of a tile the next one repeats
    step : int in [1, n_frames] or None; given, ``overlap`` must be 0

    Returns
    -------
    int in [1, n_frames]

    Raises
    ------
    ParameterError
        If ``overlap`` is not a fraction in [0, 1), ``step`` not an integer in [1,
        n_frames] (a larger step would leave audio out), or both are given.

    Examples
    --------
    >>> tile_step(256, 0.5), tile_step(256, 0.0, step=64)
    (128, 64)
    """
    if isinstance(overlap, bool) or not isinstance(overlap, (int, float)) or not 0.0 <= overlap < 1.0:
        raise ParameterError(f"overlap={overlap!r} must be a fraction in [0, 1)")
    if step is None:
        return max(1, round(n_frames * (1.0 - overlap)))
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 1 <= step <= n_frames:
        raise ParameterError(
            f"step={step!r} must be an integer number of frames in [1, {n_frames}] (the tile width; a larger "
            "step would leave audio out)"
        )
    if overlap:
        raise ParameterError(f"overlap={overlap!r} and step={step!r} both set the tile step; give one of them")
    return int(step)


def check_options(*, min_level_db: Any, validation: Any, seed: Any, workers: Any, tail: Any = "pad") -> None:
    """Check the options of :func:`specimg.dataset.build` that are not spectrogram parameters.

    Raises
    ------
    ParameterError
        If ``min_level_db`` is not a finite number, ``validation`` not a fraction in [0, 1),
        ``seed`` not an integer, ``workers`` neither None nor a positive integer, or
        ``tail`` not one of :data:`TAILS`.
    """
    if tail not in TAILS:
        raise ParameterError(f"tail={tail!r} must be 'pad' (the last partial tile padded at the floor) or 'drop'")
    if isinstance(min_level_db, bool) or not isinstance(min_level_db, (int, float)) or not math.isfinite(min_level_db):
        raise ParameterError(f"min_level_db={min_level_db!r} must be a finite number of dB")
    if isinstance(validation, bool) or not isinstance(validation, (int, float)) or not 0.0 <= validation < 1.0:
        raise ParameterError(f"validation={validation!r} must be a fraction in [0, 1): train keeps a file of every class")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed={seed!r} must be an integer")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers={workers!r} must be a positive integer (or None for one per CPU)")


def warn_lossy(params: SpectrogramParams, *, stacklevel: int = 2) -> None:
    """Warn (:class:`~specimg.LossyWarning`) about coarse 8-bit steps and mel bands without an FFT bin.

    8-bit tiles warn only when their range makes a pixel step coarser than
    :data:`MAX_DB_STEP` (0.4 dB, i.e. ``db_max - db_min > 102``): the default range
    (100 dB, 0.39 dB steps) does not. ``stacklevel`` is that of the caller's caller (the
    user's call of ``build``).
    """
    step = db_step(params)
    if params.bit_depth == 8 and step > MAX_DB_STEP:
        warnings.warn(
            f"bit_depth=8 with db_min={params.db_min:g} … db_max={params.db_max:g} ({params.db_max - params.db_min:g} "
            f"dB) quantises the level in steps of {step:.2f} dB; narrow the range to at most "
            f"{MAX_DB_STEP * 255:g} dB (the default is {DB_MIN:g} … {DB_MAX:g}) or use bit_depth=16",
            LossyWarning,
            stacklevel=stacklevel + 1,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        empty = int(np.count_nonzero(mel_basis(params).max(axis=1) <= 0))
    if empty:
        best = default_n_fft(params.sr, params.n_mels, fmin=params.fmin, fmax=params.fmax, htk=params.htk)
        warnings.warn(
            f"n_fft={params.n_fft} leaves {empty} of the {params.n_mels} mel bands without an FFT bin: those rows "
            f"are always at the floor; use n_fft >= {best}",
            LossyWarning,
            stacklevel=stacklevel + 1,
        )
