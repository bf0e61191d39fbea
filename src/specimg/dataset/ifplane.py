"""The instantaneous-frequency (IF) plane of dataset tiles: stored as the alpha channel, decoded back to phase.

``specimg dataset build --phase if`` gives every tile a second plane, the IF of
:func:`specimg.phase.phase_to_if` on the tile's mel rows (GANSynth's "IF-Mel", in the
deviation form: 0 where a band's power-weighted frequency is its centre frequency), in the
same orientation as the magnitude (flipped when ``params.flip``).

Storage (:data:`STORAGE`): the tile is an 8-bit gray + alpha PNG (Pillow mode ``LA``), the
magnitude in the gray channel as before and the IF in the alpha channel, pixel
``p = round((v + 1) / 2 · 255)`` (so ``v = 2 p / 255 − 1``; 0 → 128). Loaders then see two
channels: ``torchvision.io.read_image`` gives ``[2, H, W]`` uint8, Hugging Face
``imagefolder`` an ``LA`` image, :class:`~specimg.dataset.TileDataset` ``[2, H, W]`` with
``planes=("magnitude", "if")``; torchvision ``ImageFolder``'s default loader converts to
RGB, which drops the alpha channel: it sees the magnitude only, as for a dataset without
IF. Image viewers show the IF as transparency. The dataset layout records the plane in
``specimg.json`` (:func:`description`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..params import SpectrogramParams

__all__ = [
    "IF_BIT_DEPTH",
    "PHASES",
    "STORAGE",
    "check_phase",
    "decode_tile",
    "description",
    "if_plane",
    "if_values",
    "prepare_planes",
    "stitch_planes",
]

#: The phase planes a dataset build writes: none, or the instantaneous frequency.
PHASES = ("none", "if")

#: How the IF plane is stored (see the module notes).
STORAGE = "png-alpha"

#: Bit depth of the IF plane (and of the magnitude of a dataset with one): 16-bit gray +
#: alpha PNGs are read at 8 bits by Pillow, so a dataset with an IF plane is 8-bit.
IF_BIT_DEPTH = 8

_TOP = 255.0


def check_phase(phase: Any, bit_depth: Any) -> str:
    """``phase`` checked against :data:`PHASES` and the tiles' bit depth.

    Raises
    ------
    ParameterError
        For another value, or ``"if"`` with 16-bit tiles.

    Examples
    --------
    >>> check_phase("if", 8)
    'if'
    """
    if phase not in PHASES:
        raise ParameterError(
            f"phase={phase!r} must be 'none' (magnitude only) or 'if' (an instantaneous-frequency plane)"
        )
    if phase == "if" and bit_depth != IF_BIT_DEPTH:
        raise ParameterError(
            f"phase='if' stores the IF plane as the alpha channel of 8-bit gray + alpha PNGs (Pillow reads 16-bit ones "
            f"at 8 bits); bit_depth={bit_depth!r} must be 8"
        )
    return str(phase)


def description(params: SpectrogramParams) -> dict[str, Any]:
    """The ``"phase"`` object of ``specimg.json`` for a dataset with an IF plane.

    Examples
    --------
    >>> from specimg.dataset import dataset_params
    >>> description(dataset_params())["storage"]
    'png-alpha'
    """
    return {
        "plane": "if",
        "storage": STORAGE,
        "channel": 1,
        "bit_depth": IF_BIT_DEPTH,
        "range": [-1.0, 1.0],
        "pixel": "v = 2 * p / 255 - 1",
        "definition": "specimg.phase.phase_to_if: (F_b - c_b) / if_scale(params)[b], F_b the power-weighted "
        "instantaneous frequency of the linear bins under row b, c_b its centre (bins)",
        "orientation": "as the magnitude (flipped when params.flip)",
    }


def if_plane(X: np.ndarray, params: SpectrogramParams, previous: np.ndarray | None, width: int) -> np.ndarray:
    """The stored IF pixels of STFT frames ``X``, padded with 0 (pixel 128) to ``width`` columns.

    Parameters
    ----------
    X : np.ndarray [shape=(n_fft // 2 + 1, n <= width)], complex
    params : SpectrogramParams
    previous : np.ndarray [shape=(n_fft // 2 + 1,)] or None, the frame before ``X[:, 0]``
    width : int >= n

    Returns
    -------
    np.ndarray [shape=(params.n_bins, width)], uint8, flipped as stored
    """
    from ..phase import phase_to_if

    out = np.full((params.n_bins, width), 128, dtype=np.uint8)
    if X.shape[1]:
        v = phase_to_if(X, params, previous=previous)
        out[:, : X.shape[1]] = np.rint((v.astype(np.float64) + 1.0) * (_TOP / 2.0)).astype(np.uint8)
    return out[::-1] if params.flip else out


def if_values(plane: np.ndarray, params: SpectrogramParams, *, name: str = "") -> np.ndarray:
    """A generated or stored IF plane as values in [-1, 1], in row order (unflipped).

    uint8 → ``2 p / 255 − 1``; uint16 → ``2 p / 65535 − 1``; floats are the values
    themselves (:class:`~specimg.dataset.TileDataset` gives them so, whatever its
    ``domain``), clipped when within 5 % of [-1, 1].

    Raises
    ------
    ParameterError
        For another dtype, NaN, or floats further outside [-1, 1].

    Examples
    --------
    >>> from specimg import SpectrogramParams
    >>> p = SpectrogramParams(sr=8000, n_fft=16, flip=False)
    >>> if_values(np.array([[0, 255]], dtype=np.uint8), p).tolist()
    [[-1.0, 1.0]]
    """
    a = np.asarray(plane)
    where = f"{name}: " if name else ""
    if a.dtype == np.uint8 or a.dtype == np.uint16:
        v = a.astype(np.float64) * (2.0 / float(np.iinfo(a.dtype).max)) - 1.0
    elif a.dtype.kind == "f":
        v = a.astype(np.float64)
        if not np.all(np.isfinite(v)):
            raise ParameterError(f"{where}the IF plane holds NaN or infinite values")
        if v.size and (float(v.min()) < -1.05 or float(v.max()) > 1.05):
            raise ParameterError(
                f"{where}IF plane values {float(v.min()):.3g}…{float(v.max()):.3g} must lie in [-1, 1] (floats), "
                "or be uint8/uint16 pixels; TileDataset(planes=('magnitude', 'if')) gives them so"
            )
        v = np.clip(v, -1.0, 1.0)
    else:
        raise ParameterError(f"{where}an IF plane of dtype {a.dtype} must be uint8, uint16 or float in [-1, 1]")
    return v[::-1] if params.flip else v


def stitch_planes(planes: Sequence[np.ndarray], step: int) -> np.ndarray:
    """Consecutive IF planes, ``step`` frames apart, as one: over an overlap the newer tile's
    columns are kept (IF values are not crossfaded: a mean of two frequencies is neither).

    Examples
    --------
    >>> stitch_planes([np.zeros((1, 3)), np.ones((1, 3))], 2).tolist()
    [[0.0, 0.0, 1.0, 1.0, 1.0]]
    """
    width = planes[0].shape[1]
    out = np.empty((planes[0].shape[0], (len(planes) - 1) * step + width), dtype=planes[0].dtype)
    for k, v in enumerate(planes):
        out[:, k * step : k * step + width] = v
    return out


def prepare_planes(
    planes: Sequence[np.ndarray] | None, tiles: Sequence[np.ndarray], params: SpectrogramParams, *,
    grid: Any = None, name: str = "",
) -> list[np.ndarray] | None:  # fmt: skip
    """Generated IF planes as values in [-1, 1] in row order, checked against their tiles.

    Raises
    ------
    ParameterError
        If the planes are given with ``grid`` (grids hold one plane), a plane's shape is not
        its tile's, or :func:`if_values` refuses one.
    """
    if planes is None:
        return None
    where = f"{name}: " if name else ""
    if grid is not None:
        raise ParameterError(f"{where}grid= cuts pictures of one plane; pass tiles with an IF plane as (N, 2, H, W)")
    if len(planes) != len(tiles):
        raise ParameterError(f"{where}{len(planes)} IF planes for {len(tiles)} tiles; give one per tile")
    for k, (v, t) in enumerate(zip(planes, tiles)):
        if np.shape(v) != np.shape(t):
            raise ParameterError(f"{where}the IF plane of tile {k} is {np.shape(v)}, its magnitude {np.shape(t)}")
    return [if_values(v, params, name=name) for v in planes]




def decode_tile(
    pixels: np.ndarray, plane: np.ndarray, params: SpectrogramParams, *, quality: Any, n_iter: int | None,
    rng: np.random.Generator | int | None,
) -> np.ndarray:  # fmt: skip
    """One tile and its IF plane (values in row order) → audio: the IF integrated to a phase
    (:func:`specimg.phase.if_to_phase` on the mel → linear magnitude), then polished by
    the joint mel decode from that phase (:class:`specimg.decoding.IFPlaneSource`, the
    same plan as :func:`specimg.decode`).

    The integrated phase is a start, not held: one IF value per mel band is close to the
    phase advance of the bins under narrow bands only (0.1–0.3 rad per frame off below
    1.4 kHz on music, about random above 2.8 kHz), and holding it
    (:func:`specimg.phase.phase_locked`, the magnitude fitted to the mel bands) is 6.6 dB
    worse than magnitude alone, where holding the true phase is 14 dB better. Measured
    (``benchmarks/dataset_if.py``, 16 corpus tiles, ``balanced``): median SC against the
    source −25.1 dB with the IF plane, −23.4 dB without (median per-tile gain +0.5 dB, also
    against the tile's own mel), at 1.4× the CPU time; even the true phase as the start gains
    only +3.5 dB.

    Parameters
    ----------
    pixels : np.ndarray [shape=(n_bins, W)], pixels of ``params`` (stored orientation)
    plane : np.ndarray [shape=(n_bins, W)], float in [-1, 1] (:func:`if_values`)
    params : SpectrogramParams, one channel
    quality, n_iter : the polish, as :func:`specimg.decode`
    rng : np.random.Generator, int or None

    Returns
    -------
    np.ndarray [shape=(params.length_for(W),)], float32

    Raises
    ------
    ResourceError
        If the integration and the decode need more than the memory budget.
    """
    from ..decoding import plan, run
    from ..image import SpectrogramImage

    img = SpectrogramImage(pixels, params)
    return run(plan(img, quality=quality, n_iter=n_iter, rng=rng, if_plane=plane))[0]
