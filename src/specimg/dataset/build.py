"""Build a GAN training set: a folder of audio → fixed-size spectrogram tiles on one scale.

The layout written here is version 1 of the specimg dataset layout
(:mod:`specimg.dataset.layout`); see :func:`build` for the rules. The pieces of a build
live next to this module: the parameter policy in :mod:`~specimg.dataset.settings`, the
tiles of one file in :mod:`~specimg.dataset.tiling`, the resume state (records, manifests,
lock) in :mod:`~specimg.dataset.state`, and the local pool and Dask executors in
:mod:`~specimg.dataset.executors`. This module scans the audio, plans the jobs and keeps the
manifests up to date while they run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from ..errors import FormatError, MissingFileError, ParameterError
from ..jsonfile import read_json
from ..messages import unopenable
from ..params import SpectrogramParams
from ..typing import PathLike
from .containment import make_dirs, no_link
from .executors import dask_executor, run
from .ifplane import check_phase
from .layout import (
    AUDIO_EXTENSIONS,
    DATASET_FORMAT,
    DATASET_JSON,
    DATASET_VERSION,
    SPLITS,
    STATE_DIR,
    balance_splits,
    describe,
    plan_splits,
    record_name,
    tile_name,
)
from .paths import audio_dir_entry, redact
from .settings import (
    BIT_DEPTH,
    Tail,
    check_options,
    check_size,
    dataset_params,
    default_n_fft,
    tile_step,
    warn_lossy,
)
from .state import (
    Outputs,
    check_compatible,
    check_links,
    collect,
    load_records,
    locked,
    remove_temporaries,
    sweep,
    write_json,
    write_outputs,
)
from .tiling import Job, one_line

__all__ = [
    "build",
    "BuildReport",
    "dataset_params",
    "default_n_fft",
    "tile_name",
    "AUDIO_EXTENSIONS",
    "DATASET_FORMAT",
    "DATASET_VERSION",
    "SPLITS",
]

#: Files with more STFT frames than this are analysed in blocks of whole tiles, which bounds
#: the working memory of a worker (about 150 MB at n_fft=2048) whatever the file's length.
_BLOCK_FRAMES = 8192

#: The manifests are regenerated after this many finished files or seconds, whichever comes
#: first (but never taking more than a tenth of the time), and at the end.
_MANIFEST_EVERY_FILES = 100
_MANIFEST_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class BuildReport:
    """What a dataset holds after :func:`build`, counted over every audio file found.

    Attributes
    ----------
    files : int
        Audio files found under ``audio_dir``.
    files_resumed : int
        Of those, files finished by an earlier, interrupted or completed, build and not redone.
    tiles : int
        Tiles in the dataset (both splits).
    tiles_silent : int
        Tiles skipped because their loudest bin is below ``min_level_db``.
    files_too_short : int
        Files that gave no tile for want of audio: empty files, and with ``tail="drop"``
        files shorter than one tile.
    files_failed : int
        Files that could not be read; listed in ``errors.jsonl``.
    seconds : float
        Duration of the audio analysed (every readable file once, not per channel), in s.
    out_dir : Path
        The dataset folder.
    tiled_seconds : float
        Of ``seconds``, the audio the tiles cover (padding and silent tiles left out,
        overlaps counted once, averaged over a file's channels), in s.
    tiles_padded : int
        Tiles that reach past the end of their file (``tail="pad"``; manifest column
        ``padded_frames`` > 0).
    skipped : tuple of (str, str)
        Every file that gave no tile, with the reason (failed, empty, too short, silent,
        class dropped), by source path; also in ``.build/summary.json``.
    classes : tuple of str
        The classes of ``specimg.json``, in label-index order (empty without class folders).
    classes_dropped : tuple of (str, str)
        Class folders without a tile in train, left out of ``classes``, and why.
    splits : tuple of str
        The split folders written (those with tiles).
    no_validation : str or None
        Why there is no validation split, or None.
    """

    files: int
    files_resumed: int
    tiles: int
    tiles_silent: int
    files_too_short: int
    files_failed: int
    seconds: float
    out_dir: Path
    tiled_seconds: float = 0.0
    tiles_padded: int = 0
    skipped: tuple[tuple[str, str], ...] = ()
    classes: tuple[str, ...] = ()
    classes_dropped: tuple[tuple[str, str], ...] = ()
    splits: tuple[str, ...] = ()
    no_validation: str | None = None

    @property
    def coverage(self) -> float:
        """``tiled_seconds / seconds`` (1.0 when there is no audio)."""
        return self.tiled_seconds / self.seconds if self.seconds > 0 else 1.0

    def __str__(self) -> str:
        lines = [
            f"{self.out_dir}: {self.tiles} tiles from {self.files} files ({self.seconds / 3600:.2f} h of audio); "
            f"{self.tiles_silent} silent tiles skipped, {self.files_too_short} files too short, "
            f"{self.files_failed} failed"
            + (f" (see {self.out_dir / 'errors.jsonl'})" if self.files_failed else "")
            + (f"; {self.files_resumed} files done by an earlier run" if self.files_resumed else ""),
            f"tiled {self.tiled_seconds:.1f} s of {self.seconds:.1f} s of input audio ({100 * self.coverage:.1f} %); "
            f"{self.tiles_padded} tiles padded at the end of a file",
            "splits: " + (", ".join(self.splits) or "none")
            + (f"; no validation split: {self.no_validation}" if self.no_validation else ""),
        ]
        if self.classes or self.classes_dropped:
            lines.append(f"classes ({len(self.classes)}): {', '.join(self.classes)}")
        lines += [f"class {name!r} left out: {why}" for name, why in self.classes_dropped]
        lines += [f"skipped {source}: {why}" for source, why in self.skipped]
        return "\n".join(lines)



def build(
    audio_dir: PathLike,
    out_dir: PathLike,
    *,
    size: tuple[int, int] = (256, 256),
    sr: int = 22050,
    hop_length: int | None = None,
    n_fft: int | None = None,
    n_mels: int | None = None,
    overlap: float = 0.0,
    step: int | None = None,
    tail: Tail = "pad",
    min_level_db: float = -80.0,
    bit_depth: Literal[8, 16] = BIT_DEPTH,
    validation: float = 0.1,
    seed: int = 0,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = False,
    phase: str = "none",
    **encode_params: Any,
) -> BuildReport:
    """Cut every audio file under ``audio_dir`` into spectrogram tiles of one size and scale.

    Walks ``audio_dir`` for ``.wav``, ``.flac``, ``.ogg`` and ``.mp3`` files (any case;
    hidden files and folders are left out), reads each one resampled to ``sr``, and cuts
    every channel separately into mel spectrogram tiles of exactly ``size`` = (mel bands,
    STFT frames), written as grayscale (one channel) specimg PNGs to ``out_dir``, 8-bit by
    default. Every tile shares one absolute dB scale (``ref``, ``db_min``, ``db_max``, by
    default −100 … 0 dB re full scale), stored once in ``out_dir/specimg.json``; each tile
    also carries its own metadata with an edit ``{"op": "tile", "source", "channel",
    "offset", "frame"}``.

    Layout (version 1, :mod:`specimg.dataset.layout`)::

        out_dir/specimg.json                       settings, classes, splits, tile geometry
        out_dir/README.md                          dataset card: features (ClassLabel), splits
        out_dir/{train,validation}/metadata.jsonl  Hugging Face imagefolder manifests
        out_dir/{train,validation}/[<class>/]<source>__c<channel>__f<frame>.png
        out_dir/errors.jsonl                       {"source", "error"} per unreadable file
        out_dir/.build/                            resume state; summary.json: counts, skipped files

    * **Pixels.** 8-bit grayscale by default, because that is what the stock loaders read
      right: torchvision ``ImageFolder`` + ``ToTensor()`` and ``read_image``, Hugging Face
      ``imagefolder``, StyleGAN2-ADA's ``dataset_tool`` (1 channel, 8 bits; give a square
      power-of-two ``size``), diffusers' ``convert("RGB")``. The default range, −100 … 0 dB,
      spans 100 dB in steps of 0.39 dB; it was measured (:data:`~specimg.dataset.settings.DB_MAX`):
      a full-scale sine reads about −12 dB in these Slaney-normalised mel bands and real
      recordings peak lower, so nothing clips at the top, and the floor lies 20 dB under the
      silence threshold. ``bit_depth=16`` keeps 0.002 dB steps, for loaders that read 16-bit
      PNGs right: :class:`specimg.dataset.TileDataset`, ``specimg.load``,
      ``numpy.asarray(PIL.Image.open(tile))`` (mode ``I;16``) and ``torchvision.io.read_image``
      (a ``torch.uint16`` tensor with the exact values, which many torch ops refuse: call
      ``.float()`` first). Not ``ToTensor()`` (int16, wrapped around), nor anything that
      converts to ``"L"`` or ``"RGB"`` (saturated).
    * **Tiles.** Tile ``k`` of a channel is the columns ``[k * step, k * step + frames)`` of
      ``specimg.encode(y_channel, sr, **params)`` (the centred STFT of the whole file),
      with ``step`` given or ``round(frames * (1 - overlap))``. ``tail="pad"`` (default):
      the last tile reaches the end of the audio, its columns past the end hold the floor
      (pixel 0, ``db_min``) and its manifest row counts them in ``padded_frames``; a file
      shorter than one tile gives one padded tile. ``tail="drop"``: the last partial tile is
      left out, and a file shorter than one tile gives none (counted as too short).
    * **Silence.** A tile is skipped, and counted, when its loudest bin is below
      ``min_level_db`` (in dB re ``ref``: dBFS by default), measured on its pixels. Its
      ``peak_db`` (that loudest bin) and ``rms_db`` (``10·log10`` of the mean power of its
      bins, padding included) are manifest columns.
    * **Skipped files.** Every file that gives no tile (unreadable, empty, too short, silent)
      is named with the reason in :attr:`BuildReport.skipped` (printed by the CLI) and in
      ``.build/summary.json``, which also holds ``tiled_seconds`` against ``seconds``.
    * **Classes.** When every file lies in a subfolder, the first folder level is the class
      (torchvision ``ImageFolder`` style): tiles go to ``<split>/<class>/`` and rows get a
      ``label``. Otherwise there are no classes. ``specimg.json``'s ``classes`` are the class
      folders with tiles in train, sorted: exactly what ``ImageFolder(out_dir / "train")``
      finds, in its index order, and the ``ClassLabel`` names of the dataset card. A class
      whose files gave no tile in train is left out and named (``classes_dropped``), since
      ``ImageFolder`` refuses an empty class folder; validation gets an empty folder for
      every class it lacks (``ImageFolder(..., allow_empty=True)`` then agrees too).
    * **Split.** By source file (:func:`~specimg.dataset.layout.plan_splits`): a hash of its
      relative path and ``seed`` puts a ``validation`` fraction of the files in validation;
      with ``0 < validation < 1`` every class keeps a file in train and, with two or more
      files, validation gets at least one. A split without tiles gets no folder, so
      ``datasets.load_dataset("imagefolder", data_dir=out_dir)`` works for every build;
      the report says why there is no validation split (``validation=0``, a single file).
    * **Phase.** ``phase="if"``: every tile also carries an instantaneous-frequency plane
      (GANSynth's IF on the mel rows, :func:`specimg.phase.phase_to_if`) as the alpha
      channel of an 8-bit gray + alpha PNG: ``read_image`` and :class:`TileDataset`
      (``planes=("magnitude", "if")``) see two channels, ``ImageFolder`` still the magnitude
      only, and :func:`decode_batch` integrates a generated IF plane back to phase
      (:mod:`specimg.dataset.ifplane`; recorded in ``specimg.json`` as ``"phase"``).
    * **Hugging Face.** ``datasets.load_dataset(out_dir)`` reads the dataset card and gives
      ``label`` as a ``ClassLabel`` with the indices of ``specimg.json``;
      ``load_dataset("imagefolder", data_dir=out_dir)`` gives the same names as strings.
    * **Resume.** Interrupting a build (Ctrl-C, kill -9) and running it again finishes the
      job: files already done are skipped (unless they changed size or time), the others
      redone; the manifests always list complete tiles only, and at the end exactly the
      tiles on disk. Files that failed are tried again. A rebuild into ``out_dir`` with
      other settings is refused. The resume state names files relative to ``audio_dir``,
      so a dataset moved or copied elsewhere resumes too.
    * **Paths.** Nothing the build writes names the machine it ran on (the dataset is made
      to be published): ``specimg.json``'s ``"audio_dir"`` is the audio folder relative to
      ``out_dir`` (such as ``"../sounds"``), or null when that path would itself name the
      machine (:func:`specimg.dataset.paths.audio_dir_entry`), and error messages name
      files by their path in ``audio_dir``. An absolute ``"audio_dir"`` of an older build
      is read as before and replaced by a resume.

    Parameters
    ----------
    audio_dir : str or path-like
        Folder of audio files, searched recursively.
    out_dir : str or path-like
        Dataset folder: new, empty, or a dataset built with the same settings.
    size : (int > 0, int > 0)
        Rows (mel bands) × columns (STFT frames) of every tile.
    sr : int > 0, Hz
        Every file is resampled to this rate.
    hop_length : int > 0 or None
        Samples between frames; None → ``n_fft // 4``.
    n_fft : int > 0 or None
        FFT size; None → :func:`default_n_fft`: the smallest power of two ≥ 1024 that
        leaves no mel band empty (2048 for 256 bands at 22.05 kHz, so a 256×256 tile
        spans 256 × 512 samples ≈ 5.9 s).
    n_mels : int > 0 or None
        Mel bands; must equal ``size[0]`` (None → ``size[0]``).
    overlap : float in [0, 1)
        Fraction of a tile's frames that the next tile repeats.
    step : int in [1, frames] or None
        Frames between the starts of consecutive tiles, instead of ``overlap``.
    tail : {"pad", "drop"}
        The last partial tile of every channel: padded at the floor (no audio left out) or
        left out.
    min_level_db : float, dB re ``ref``
        Tiles whose loudest bin is below this are skipped as silent.
    bit_depth : {8, 16}
        Pixel depth (see Pixels above).
    validation : float in [0, 1]
        Fraction of the source files put in the validation split.
    seed : int
        Seed of the split.
    workers : int > 0 or None
        Processes of the local pool (one source file per task); None → ``os.cpu_count()``;
        1 builds in this process. Ignored with ``scheduler``.
    scheduler : str, distributed.Client, distributed.LocalCluster or None
        Build on a Dask cluster instead (``"tcp://host:8786"``, a Client, or a cluster):
        one task per file through the Client's ``concurrent.futures`` executor. Needs the
        ``dask`` extra, and ``audio_dir`` and ``out_dir`` at the same paths on every worker
        (a shared file system).
    progress : bool
        Show a progress bar (files, tiles, ETA).
    phase : {"none", "if"}
        ``"if"``: store an IF plane with every tile (see Phase above); needs ``bit_depth=8``.
    **encode_params
        Further keyword arguments of :func:`specimg.encode`: ``fmin``, ``fmax``, ``htk``,
        ``norm``, ``power``, ``window``, ``win_length``, ``db_min``, ``db_max``, ``ref``
        (a number), ``flip``, ``invert``.

    Returns
    -------
    BuildReport
        Counts over every audio file found, including those done by an earlier run.

    Raises
    ------
    MissingFileError
        If ``audio_dir`` does not exist.
    ParameterError
        For invalid parameters (``phase="if"`` with ``bit_depth=16``), no audio under
        ``audio_dir``, an ``out_dir`` that is not empty and holds no dataset or one built
        with other settings, or a build already running into ``out_dir``.
    SpecimgError
        If ``scheduler`` is given but Dask is not installed or not reachable.

    Warns
    -----
    LossyWarning
        For ``bit_depth=8`` with a range wider than 102 dB (steps coarser than 0.4 dB), and
        when ``n_fft`` is too small for every mel band to hold an FFT bin (empty bands are
        black rows).

    Examples
    --------
    >>> report = specimg.dataset.build("sounds/", "gan-data/", size=(256, 256))  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    gan-data: 5210 tiles from 1300 files (8.52 h of audio); 31 silent tiles skipped, ...
    tiled 30652.3 s of 30672.0 s of input audio (99.9 %); 1296 tiles padded at the end of a file
    ...
    """
    _, n_frames = check_size(size)
    params = dataset_params(size=size, sr=sr, hop_length=hop_length, n_fft=n_fft, n_mels=n_mels,
                            bit_depth=bit_depth, **encode_params)  # fmt: skip
    step = tile_step(n_frames, overlap, step)
    check_options(min_level_db=min_level_db, validation=validation, seed=seed, workers=workers, tail=tail)
    phase = check_phase(phase, params.bit_depth)
    warn_lossy(params, stacklevel=2)

    audio = Path(audio_dir)
    out = Path(out_dir)
    if not audio.is_dir():
        raise MissingFileError(f"no such folder: {str(audio)!r} (the audio to build from)")
    if out.exists() and not out.is_dir():
        raise ParameterError(f"out_dir {str(out)!r} is a file; give a folder for the dataset")
    found = _scan(audio, out)
    if not found:
        raise ParameterError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) under {str(audio)!r}")
    with contextlib.ExitStack() as stack:
        dask = None if scheduler is None else dask_executor(scheduler, stack)  # fail before writing anything
        return _prepare_and_build(found, audio, out, params, n_frames, step, str(tail), float(min_level_db),
                                  float(validation), int(seed), workers, dask, progress, phase)  # fmt: skip


def _prepare_and_build(
    found: list[tuple[str, Path]], audio: Path, out: Path, params: SpectrogramParams,
    n_frames: int, step: int, tail: str, min_level_db: float, validation: float, seed: int, workers: int | None,
    dask: tuple[Any, int] | None, progress: bool, phase: str = "none",
) -> BuildReport:  # fmt: skip
    """Check or create ``out``, lock it, and build.

    ``specimg.json`` records the audio folder relative to ``out`` (or not at all:
    :func:`~specimg.dataset.paths.audio_dir_entry`), since the dataset is published; a
    resume does not read it back, so a dataset moved elsewhere, or one whose
    ``specimg.json`` holds an absolute path (from an older build), resumes as well, and
    its ``specimg.json`` is rewritten with the relative path.
    """
    classes = sorted({s.split("/", 1)[0] for s, _ in found}) if all("/" in s for s, _ in found) else []
    description = describe(params, n_frames=n_frames, step=step, min_level_db=min_level_db, validation=validation,
                           seed=seed, classes=classes, audio_dir=audio_dir_entry(audio, out), tail=tail,
                           phase=phase)  # fmt: skip

    out.mkdir(parents=True, exist_ok=True)
    check_links(out)  # a symbolic link where the build writes or deletes: refused before anything is touched
    meta = out / DATASET_JSON
    if meta.is_file():
        try:
            old = read_json(meta, what=repr(str(meta)))  # not JSON, too deep, 1e400: one line, not a traceback
        except FormatError as exc:
            raise FormatError(f"{exc}; use a new OUT_DIR") from None
        check_compatible(meta, old, description)
    elif any(name != STATE_DIR for name in os.listdir(out)):
        raise ParameterError(
            f"out_dir {str(out)!r} is not empty and holds no specimg dataset ({DATASET_JSON}); give a new or empty folder"
        )
    state = make_dirs(out, out / STATE_DIR)
    with locked(state):
        if not meta.is_file() or read_json(meta, what=repr(str(meta))) != description:
            write_json(meta, description)  # first, so the folder is recognisably a dataset
        remove_temporaries(out)
        return _build_locked(found, audio, out, description, params, n_frames, step, tail, min_level_db, validation,
                             seed, workers, dask, progress, phase)  # fmt: skip


def _build_locked(
    found: list[tuple[str, Path]], audio: Path, out: Path, description: dict[str, Any], params: SpectrogramParams,
    n_frames: int, step: int, tail: str, min_level_db: float, validation: float, seed: int, workers: int | None,
    dask: tuple[Any, int] | None, progress: bool, phase: str = "none",
) -> BuildReport:  # fmt: skip
    state = out / STATE_DIR
    classes = list(description["classes"])
    # the tile names of two sources must not collide (a.wav and a.flac, or a__b.wav and a/b.wav)
    scan_errors: dict[str, str] = {}
    owner: dict[str, str] = {}
    for source, _ in found:
        stem = tile_name(source, 0, 0)
        if stem in owner:
            scan_errors[source] = (
                f"its tiles would have the names of those of {owner[stem]!r} (tile names drop the extension and "
                "join folders with '__'); rename one of the two"
            )
        else:
            owner[stem] = source

    records = load_records(state)  # records that fail state.check_record are deleted: their files are redone
    opened: dict[str, tuple[os.stat_result, str]] = {}
    for source, path in found:  # a file that cannot be opened is named, and the build goes on
        if source in scan_errors:
            continue
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "not a regular file")
            opened[source] = (st, str(path.resolve(strict=True)))
        except (OSError, RuntimeError) as exc:  # a dangling link, a link loop, no permission to look
            scan_errors[source] = _scan_error(path, source, exc, audio)
    present = {s for s, _ in found if s not in scan_errors}
    for source in sorted(set(records) - present):  # removed from audio_dir: its tiles are swept at the end
        record = no_link(out, state / record_name(source))
        with contextlib.suppress(OSError):
            record.unlink()
        del records[source]
    out_abs = str(out.resolve())
    sources = [s for s, _ in found if s not in scan_errors]
    labels = [s.split("/", 1)[0] if classes else None for s in sources]
    splits, validation_note = plan_splits(sources, labels, seed, validation)
    jobs: list[Job] = []
    resumed = 0
    for source, path in found:
        if source in scan_errors:
            continue
        st, resolved = opened[source]
        job = Job(
            path=resolved, source=source, stat=(st.st_size, st.st_mtime_ns), out_dir=out_abs,
            split=splits[source], label=source.split("/", 1)[0] if classes else None, params=params,
            n_frames=n_frames, step=step, min_level_db=min_level_db, block_frames=_BLOCK_FRAMES, tail=tail,
            phase=phase,
        )  # fmt: skip
        rec = records.get(source)
        if (rec is not None and rec["status"] == "done" and rec.get("stat") == list(job.stat)
                and rec.get("plan", rec.get("split")) == job.split and rec.get("label") == job.label):  # fmt: skip
            resumed += 1
        else:
            jobs.append(job)

    def outputs() -> Outputs:
        return collect(records, scan_errors, description, class_folders=classes, validation_note=validation_note)

    bar = tqdm(total=len(jobs), desc="dataset build", unit="file", disable=not progress, dynamic_ncols=True)
    tiles_now = 0
    last_write = time.monotonic()
    since_write = 0
    write_cost = 0.0

    def finished(record: dict[str, Any]) -> None:
        nonlocal tiles_now, last_write, since_write, write_cost
        records[record["source"]] = record
        tiles_now += len(record.get("rows", ()))
        bar.update(1)
        bar.set_postfix(tiles=tiles_now, refresh=False)
        since_write += 1
        now = time.monotonic()
        due = since_write >= _MANIFEST_EVERY_FILES or now - last_write >= _MANIFEST_EVERY_SECONDS
        if due and now - last_write >= 10 * write_cost:
            write_outputs(out, outputs(), description)
            write_cost = time.monotonic() - now
            last_write, since_write = time.monotonic(), 0

    try:
        with bar:
            run(jobs, workers, dask, finished)
    except BaseException:
        with contextlib.suppress(Exception):  # leave manifests that match the finished files
            write_outputs(out, outputs(), description)
        raise
    validation_note = _rebalance(out, records, seed, validation) if validation_note is None else validation_note
    result = outputs()
    write_outputs(out, result, description)
    sweep(out, result)

    totals = result.counts
    return BuildReport(
        files=len(found),
        files_resumed=resumed,
        tiles=totals["tiles"],
        tiles_silent=totals["silent_tiles"],
        files_too_short=totals["too_short_files"],
        files_failed=totals["files_failed"],
        seconds=totals["seconds"],
        out_dir=out,
        tiled_seconds=totals["tiled_seconds"],
        tiles_padded=totals["padded_tiles"],
        skipped=tuple(result.skipped),
        classes=tuple(result.classes),
        classes_dropped=tuple(result.classes_dropped),
        splits=tuple(result.splits),
        no_validation=result.no_validation,
    )


def _rebalance(out: Path, records: dict[str, dict[str, Any]], seed: int, fraction: float) -> str | None:
    """Apply :func:`~specimg.dataset.layout.balance_splits` to the files that gave tiles,
    moving the tiles of a file whose split changes; return why validation is empty, or None.

    A file moves when the planned split left a class without a tile in train, or
    validation without a tile, because the files planned there were silent or unreadable.
    The tiles are linked (or copied) into the new split, the file's record is rewritten
    (keeping the planned split as ``"plan"``, so a rerun does not redo it), then the old
    tiles are removed: an interruption leaves either split consistent, and the sweep
    clears the rest.
    """
    current = {s: r["split"] for s, r in records.items() if r["status"] == "done" and r["rows"]}
    labels = {s: records[s].get("label") for s in current}
    wanted, note = balance_splits(current, labels, seed, fraction, what="source file with tiles")
    for source in sorted(wanted):
        if wanted[source] == current[source]:
            continue
        rec, old, new = records[source], current[source], wanted[source]
        for row in rec["rows"]:  # file_name checked by state.check_record; no link followed (OutputError)
            src, dst = no_link(out, out / old / row["file_name"]), no_link(out, out / new / row["file_name"])
            make_dirs(out, dst.parent)
            dst.unlink(missing_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        moved = {**rec, "split": new, "plan": rec.get("plan", old)}
        write_json(no_link(out, out / STATE_DIR / record_name(source)), moved)
        records[source] = moved
        for row in rec["rows"]:
            no_link(out, out / old / row["file_name"]).unlink(missing_ok=True)
    return note


def _scan_error(path: Path, source: str, exc: BaseException, audio: Path) -> str:
    """Why ``path`` (``source`` in ``audio``) cannot be opened, without this machine's paths:
    the message goes to ``errors.jsonl``, which is published with the dataset.

    The file's own path becomes ``source``, paths inside ``audio`` become relative to it,
    an absolute link target elsewhere is cut to ``…/<its name>`` and the home folder
    becomes ``~`` (:func:`~specimg.dataset.paths.redact`).
    """
    roots = {audio.absolute(), audio.resolve()}
    paths = {str(path.absolute()): source, **{os.path.join(root, ""): "" for root in roots}}
    with contextlib.suppress(OSError, ValueError):
        target = os.readlink(path)
        if os.path.isabs(target) and not any(Path(target).is_relative_to(root) for root in roots):
            paths[target] = f"…/{Path(target).name}"
    return redact(unopenable(path, exc), paths)


def _scan(audio_dir: Path, out_dir: Path) -> list[tuple[str, Path]]:
    """(relative posix path, path) of every audio file under ``audio_dir``, sorted; hidden
    files and folders, and ``out_dir`` if it lies inside, are left out.

    Entries that cannot be opened (dangling links, link loops) are listed too: the build
    names them as failed and goes on. Links to folders are not followed (so no loop)."""
    skip = out_dir.resolve()

    def kept(root: str, d: str) -> bool:
        if d.startswith("."):
            return False
        try:
            return Path(root, d).resolve() != skip
        except (OSError, RuntimeError):  # a link loop: os.walk does not follow links anyway
            return True

    found = []
    for root, dirs, files in os.walk(audio_dir):
        dirs[:] = sorted(d for d in dirs if kept(root, d))
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                path = Path(root, name)
                found.append((path.relative_to(audio_dir).as_posix(), path))
    found.sort()
    return found
