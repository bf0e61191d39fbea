"""Spectrogram images and arrays made without specimg, turned into calibrated images.

Most spectrogram pictures in the world were made by scipy, librosa, matplotlib or a
diffusion model's own code. Each function here reads one such convention, together with
what the user knows of it (sample rate, FFT size, hop, dB range, axis, colormap), and
returns a :class:`~specimg.SpectrogramImage` with honest parameters, which
:func:`specimg.decode` turns back into audio. Parameters the input cannot carry default
to the producing library's own defaults; a level that was thrown away (``ref=np.max``)
gets :func:`default_peak_db` with an :class:`~specimg.AssumptionWarning`.

Files on disk: :func:`read_array` (``.npy``/``.npz``), :func:`read_scipy_npz` and
:func:`guess_scipy_fs` read what scripts saved; :func:`import_file` and
:func:`import_folder` (in parallel processes, one result per file) are what
``specimg import`` runs.
"""

from ._arrays import from_array, from_minmax_image, from_scipy_spectrogram
from ._common import DEFAULT_PEAK_DB, default_peak_db
from ._figure import from_figure
from ._inputs import (
    IMPORT_SUFFIXES,
    ImportKind,
    ImportResult,
    guess_scipy_fs,
    import_file,
    import_folder,
    read_array,
    read_scipy_npz,
)
from ._tools import RIFFUSION_EXIF_TAGS, from_audio_diffusion, from_riffusion

__all__ = [
    "from_array",
    "from_scipy_spectrogram",
    "from_minmax_image",
    "from_audio_diffusion",
    "from_riffusion",
    "RIFFUSION_EXIF_TAGS",
    "from_figure",
    "DEFAULT_PEAK_DB",
    "default_peak_db",
    "read_array",
    "read_scipy_npz",
    "guess_scipy_fs",
    "import_file",
    "import_folder",
    "ImportResult",
    "ImportKind",
    "IMPORT_SUFFIXES",
]
