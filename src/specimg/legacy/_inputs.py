"""Legacy spectrograms on disk: numpy files, scipy's saved output, and whole folders of them.

The functions of :mod:`specimg.legacy` take arrays and pictures; the ones here take a path
(or a folder of paths), read it the way the producing script saved it, and call them.
``specimg import`` is a thin shell over :func:`import_file` and :func:`import_folder`.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import AssumptionWarning, FormatError, MissingFileError, ParameterError, SpecimgError, SpecimgWarning
from ..messages import unopenable
from ..image import SpectrogramImage
from ._arrays import from_array, from_minmax_image, from_scipy_spectrogram
from ._figure import from_figure
from ._tools import from_audio_diffusion, from_riffusion

__all__ = [
    "ImportKind",
    "IMPORT_SUFFIXES",
    "ImportResult",
    "read_array",
    "read_scipy_npz",
    "guess_scipy_fs",
    "import_file",
    "import_folder",
]

#: What made a legacy spectrogram file (the KIND of ``specimg import``).
ImportKind = Literal["array", "scipy", "minmax", "figure", "audio-diffusion", "riffusion"]

_PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")

#: For each kind, the file name endings :func:`import_folder` takes from a folder.
IMPORT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "array": (".npy", ".npz"),
    "scipy": (".npz",),
    "minmax": _PICTURE_SUFFIXES,
    "figure": _PICTURE_SUFFIXES,
    "audio-diffusion": _PICTURE_SUFFIXES,
    "riffusion": _PICTURE_SUFFIXES,
}


def _load(path: Path, *, what: str) -> np.ndarray | dict[str, np.ndarray]:
    """The array of a .npy file, or all arrays of an .npz file (never pickles)."""
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return data
        with data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as exc:
        if not path.exists():
            raise MissingFileError(f"no such file: {str(path)!r}") from None
        raise FormatError(f"{str(path)!r} is not a {what} numpy can read: {exc}") from None


def read_array(path: str | os.PathLike[str], *, key: str | None = None) -> np.ndarray:
    """The spectrogram array saved in a ``.npy`` file or an ``.npz`` file.

    Parameters
    ----------
    path : str or os.PathLike, a ``.npy`` file (``np.save``) or an ``.npz`` file (``np.savez``)
    key : str or None, name of the array in an ``.npz`` file; ``None`` takes its only array

    Returns
    -------
    np.ndarray, as saved (any shape and dtype; :func:`from_array` checks it)

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    FormatError
        numpy cannot read the file (pickled objects are refused).
    ParameterError
        ``key`` given for a ``.npy`` file, unknown in the ``.npz`` file, or missing while
        the ``.npz`` file holds several arrays.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from specimg.legacy import read_array
    >>> path = tempfile.mkdtemp() + "/two.npz"
    >>> np.savez(path, mel=np.ones((128, 10)), other=np.zeros(3))
    >>> read_array(path, key="mel").shape
    (128, 10)
    """
    p = Path(path)
    data = _load(p, what=".npy/.npz file")
    if isinstance(data, np.ndarray):
        if key is not None:
            raise ParameterError(f"key {key!r} (--key) only applies to an .npz file, and {str(p)!r} is a .npy")
        return data
    if key is None:
        if len(data) != 1:
            hint = "; or is it scipy's output? Then use KIND scipy" if {"f", "t", "Sxx"} <= set(data) else ""
            raise ParameterError(
                f"{str(p)!r} holds {len(data)} arrays ({', '.join(data)}); pick one with --key (key=){hint}"
            )
        return next(iter(data.values()))
    if key not in data:
        raise ParameterError(f"{str(p)!r} has no array {key!r}; it holds {', '.join(data) or 'none'}")
    return data[key]


def read_scipy_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """The output of :func:`scipy.signal.spectrogram` saved as ``np.savez(path, f=f, t=t, Sxx=Sxx)``.

    Parameters
    ----------
    path : str or os.PathLike, an ``.npz`` file with arrays ``f``, ``t`` and ``Sxx`` (and
        optionally a scalar ``fs``)

    Returns
    -------
    f : np.ndarray [shape=(n_freqs,)], Hz
    t : np.ndarray [shape=(n_segments,)], seconds
    Sxx : np.ndarray [shape=(..., n_freqs, n_segments)]
    fs : float or None, the sample rate if the file stores it as ``fs``

    Raises
    ------
    MissingFileError, FormatError
        The file does not exist, is not an ``.npz`` file, or lacks ``f``, ``t`` or ``Sxx``.
    """
    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise FormatError(f"{str(p)!r}: KIND scipy reads an .npz file saved as np.savez(path, f=f, t=t, Sxx=Sxx)")
    data = _load(p, what=".npz file")
    arrays: dict[str, np.ndarray] = {} if isinstance(data, np.ndarray) else data
    missing = [name for name in ("f", "t", "Sxx") if name not in arrays]
    if missing:
        raise FormatError(
            f"{str(p)!r} lacks the array(s) {', '.join(missing)} (it holds {', '.join(arrays) or 'none'}); "
            "save scipy's output as np.savez(path, f=f, t=t, Sxx=Sxx)"
        )
    fs = arrays.get("fs")
    stored = float(fs.reshape(-1)[0]) if fs is not None and fs.size == 1 else None
    return arrays["f"], arrays["t"], arrays["Sxx"], stored


def guess_scipy_fs(f: np.ndarray) -> float:
    """The sample rate of a scipy spectrogram read from its frequencies, with a warning.

    ``2 * f[-1]`` rounded to an integer: right when ``nperseg`` (or ``nfft``) was even, so
    that the last frequency is Nyquist; an odd one gives a rate slightly too low.

    Parameters
    ----------
    f : np.ndarray [shape=(n_freqs,)], the ``f`` returned by :func:`scipy.signal.spectrogram`, Hz

    Returns
    -------
    float, Hz (0.0 for an empty ``f``)

    Warns
    -----
    AssumptionWarning
        Always: the rate is a guess; pass the ``fs`` given to scipy instead.

    Examples
    --------
    >>> import warnings, numpy as np
    >>> from specimg.legacy import guess_scipy_fs
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     guess_scipy_fs(np.linspace(0, 11025, 513))
    22050.0
    """
    freqs = np.asarray(f, dtype=np.float64).ravel()
    fs = float(round(2.0 * freqs[-1])) if freqs.size else 0.0
    warnings.warn(
        f"the sample rate is not given; {fs:g} Hz is read from the highest frequency in f "
        "(right for an even nperseg). Pass --sr (fs=) <the fs given to scipy> to set it",
        AssumptionWarning,
        stacklevel=2,
    )
    return fs


def import_file(kind: ImportKind | str, path: str | os.PathLike[str], /, **options: Any) -> SpectrogramImage:
    """Read one legacy spectrogram file with the :mod:`specimg.legacy` function of its kind.

    Parameters
    ----------
    kind : {"array", "scipy", "minmax", "figure", "audio-diffusion", "riffusion"}
        What made the file: :func:`from_array` (on :func:`read_array`; ``options`` may hold
        its ``kind`` and ``key``), :func:`from_scipy_spectrogram` (on :func:`read_scipy_npz`;
        without ``fs`` the stored one or :func:`guess_scipy_fs`), :func:`from_minmax_image`,
        :func:`from_figure`, :func:`from_audio_diffusion` or :func:`from_riffusion`.
    path : str or os.PathLike, the file
    **options
        Keywords of that function.

    Returns
    -------
    SpectrogramImage

    Raises
    ------
    ParameterError
        Unknown ``kind``, or an option the function refuses.
    MissingFileError, FormatError
        The file is missing or unreadable for this kind.
    """
    if kind not in IMPORT_SUFFIXES:
        raise ParameterError(f"kind={kind!r} is not one of {', '.join(IMPORT_SUFFIXES)}")
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"no such file: {str(p)!r}")
    kw = dict(options)
    if kind == "array":
        if p.suffix.lower() not in (".npy", ".npz"):
            raise FormatError(f"{str(p)!r}: KIND array reads a .npy or .npz file")
        return from_array(read_array(p, key=kw.pop("key", None)), **kw)
    if kind == "scipy":
        f, t, Sxx, fs = read_scipy_npz(p)
        if "fs" not in kw:
            kw["fs"] = fs if fs is not None else guess_scipy_fs(f)
        return from_scipy_spectrogram(f, t, Sxx, **kw)
    readers: dict[str, Callable[..., SpectrogramImage]] = {
        "minmax": from_minmax_image, "figure": from_figure, "audio-diffusion": from_audio_diffusion,
        "riffusion": from_riffusion,
    }  # fmt: skip
    return readers[kind](p, **kw)


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_folder` did with one input file.

    Attributes
    ----------
    source : Path, the input file
    target : Path, the calibrated image written (or that would have been written)
    warnings : tuple of str, the messages of the warnings raised while importing it
    error : str or None, why it failed; ``None`` when ``target`` was written
    """

    source: Path
    target: Path
    warnings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file was imported and ``target`` written."""
        return self.error is None


def _import_task(kind: str, source: Path, target: Path, options: dict[str, Any]) -> ImportResult:
    """Import one file into ``target``; every exception becomes the result's error (so one
    bad file, or a bug, cannot stop a batch of 1300). Runs in a worker process."""
    from ..formats import save

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecimgWarning)
        try:
            save(import_file(kind, source, **options), target)
            error = None
        except Exception as exc:  # noqa: BLE001 - reported as the file's error
            error = str(exc) if isinstance(exc, (SpecimgError, OSError)) else f"{type(exc).__name__}: {exc}"
    return ImportResult(source, target, tuple(str(w.message) for w in caught), error)


def _import_indexed(item: tuple[int, str, Path, Path, dict[str, Any]]) -> tuple[int, ImportResult]:
    """:func:`_import_task` of ``(index, kind, source, target, options)``, with its index. Runs in a worker process."""
    index, kind, source, target, options = item
    return index, _import_task(kind, source, target, options)


def import_folder(
    kind: ImportKind | str,
    in_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    /,
    *,
    workers: int = 1,
    progress: bool = False,
    on_result: Callable[[ImportResult], None] | None = None,
    **options: Any,
) -> list[ImportResult]:
    """Import every legacy spectrogram file of a folder into calibrated images.

    The files of ``in_dir`` whose names end in ``IMPORT_SUFFIXES[kind]`` (not hidden, not in
    subfolders), sorted by name, each become ``out_dir/<stem>.png`` through
    :func:`import_file`. A file that fails (unreadable, not of this kind, a dangling
    symbolic link or a link loop, a full disk when writing its image) is reported in its
    result with the reason, and the others go on.

    Parameters
    ----------
    kind : str, see :func:`import_file`
    in_dir : str or os.PathLike, the folder of inputs
    out_dir : str or os.PathLike, the folder for the images (created if missing)
    workers : int >= 1, processes importing in parallel
    progress : bool, show a progress bar on stderr
    on_result : callable or None
        Called with each :class:`ImportResult` as soon as it is known: first files that
        cannot be opened and files whose output name is taken by an earlier file (they
        fail), then the others in name order.
    **options
        Keywords of the function of ``kind``, the same for every file.

    Returns
    -------
    list of ImportResult, in the order ``on_result`` saw them

    Raises
    ------
    MissingFileError
        ``in_dir`` is not a folder or holds no input file of this kind.
    ParameterError
        ``out_dir`` is a file or ``in_dir`` itself, or ``workers < 1``.
    """
    from tqdm import tqdm

    src, out = Path(in_dir), Path(out_dir)
    if kind not in IMPORT_SUFFIXES:
        raise ParameterError(f"kind={kind!r} is not one of {', '.join(IMPORT_SUFFIXES)}")
    if not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers={workers!r} must be an integer >= 1")
    if not src.is_dir():
        raise MissingFileError(f"no such folder: {str(src)!r}")
    if out.exists() and not out.is_dir():
        raise ParameterError(f"out_dir {str(out)!r} is a file; the calibrated images need a folder")
    if out.resolve() == src.resolve():
        raise ParameterError(f"out_dir {str(out)!r} is in_dir itself; write the calibrated images to another folder")
    suffixes = IMPORT_SUFFIXES[kind]
    files: list[Path] = []
    broken: dict[Path, str] = {}  # links that lead nowhere: named as failed, the others go on
    for p in sorted(src.iterdir(), key=lambda p: p.name):
        if p.name.startswith(".") or p.suffix.lower() not in suffixes:
            continue
        try:
            p.stat()
            if p.is_file():
                files.append(p)
        except (OSError, RuntimeError) as exc:
            files.append(p)
            broken[p] = unopenable(p, exc)
    if not files:
        raise MissingFileError(f"no {'/'.join(suffixes)} files in folder {str(src)!r} (KIND {kind})")
    out.mkdir(parents=True, exist_ok=True)

    results: list[ImportResult] = []
    bar = tqdm(total=len(files), desc="import", unit="file", delay=1.0, disable=not progress, file=sys.stderr)

    def report(result: ImportResult) -> None:
        bar.update()
        results.append(result)
        if on_result is not None:
            on_result(result)

    owner: dict[str, Path] = {}
    tasks = []
    for path in files:
        target = out / f"{path.stem}.png"
        if path in broken:
            report(ImportResult(path, target, (), broken[path]))
            continue
        if target.name in owner:
            taken = f"its output {target.name} is also that of {owner[target.name].name}; rename one"
            report(ImportResult(path, target, (), taken))
            continue
        owner[target.name] = path
        tasks.append((path, target))
    try:
        if workers > 1 and len(tasks) > 1:
            # the dataset's pool: workers ignore Ctrl-C, which stops them cleanly (no .part file left)
            from ..dataset.executors import process_pool, run_window

            ready: dict[int, ImportResult] = {}
            first = len(results)

            def finished(item: tuple[int, ImportResult]) -> None:  # reported in name order, as they finish
                ready[item[0]] = item[1]
                while len(results) - first in ready:
                    report(ready.pop(len(results) - first))

            items = [(i, kind, path, target, options) for i, (path, target) in enumerate(tasks)]
            with process_pool(min(workers, len(tasks))) as pool:
                run_window(pool, _import_indexed, items, 2 * workers, finished)
        else:
            for path, target in tasks:
                report(_import_task(kind, path, target, options))
    finally:
        bar.close()
    return results
