"""GAN datasets of calibrated spectrogram tiles: build them from audio, decode what a GAN makes.

* :func:`build` — a folder of audio → fixed-size mel tiles on one absolute dB scale, with
  Hugging Face ``imagefolder`` manifests, class folders and a train/validation split by
  source file; resumable, on a local process pool or a Dask cluster.
* :func:`decode_dir`, :func:`decode_batch` — bare generated images or arrays (no
  metadata) → audio, with the dataset's calibration (:func:`params_of`).
* :func:`stats` — tile count, hours of audio, level histogram, skipped and failed files.

The on-disk layout (version 1) is described in :func:`build` and :mod:`specimg.dataset.layout`.
"""

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
]
