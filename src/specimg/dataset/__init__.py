"""GAN datasets of calibrated spectrogram tiles: build them from audio, decode what a GAN makes.

* :func:`build` — a folder of audio → fixed-size mel tiles on one absolute dB scale, with
  Hugging Face ``imagefolder`` manifests, class folders and a train/validation split by
  source file; resumable, on a local process pool or a Dask cluster.
* :func:`decode_dir`, :func:`decode_batch` — bare generated images or arrays (no
  metadata) → audio, with the dataset's calibration (:func:`params_of`).
* :func:`stats` — tile count, hours of audio, level histogram, skipped and failed files.
* :class:`TileDataset` — a split's tiles as a ``torch.utils.data.Dataset`` (needs the
  ``torch`` extra; torch is imported on first use, not by ``import specimg.dataset``).
* ``build(..., phase="if")`` — tiles that also carry their instantaneous frequency as a
  second (alpha) channel, which :func:`decode_batch` integrates back to phase
  (:mod:`specimg.dataset.ifplane`).

The on-disk layout (version 1) is described in :func:`build` and :mod:`specimg.dataset.layout`.
"""

from typing import Any

from .build import BuildReport, build
from .layout import AUDIO_EXTENSIONS, DATASET_FORMAT, DATASET_VERSION, SPLITS, tile_name
from .settings import dataset_params, default_n_fft
from .decode import decode_batch, decode_dir, params_of
from .stats import format_stats, stats

__all__ = [
    "build",
    "BuildReport",
    "decode_dir",
    "decode_batch",
    "params_of",
    "stats",
    "format_stats",
    "dataset_params",
    "default_n_fft",
    "tile_name",
    "AUDIO_EXTENSIONS",
    "DATASET_FORMAT",
    "DATASET_VERSION",
    "SPLITS",
    "TileDataset",
]


def __getattr__(name: str) -> Any:
    """``TileDataset`` from :mod:`specimg.dataset.loaders`, which imports torch on first use."""
    if name == "TileDataset":
        from . import loaders

        return loaders.TileDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
