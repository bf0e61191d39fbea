"""Build a GAN training set: a folder of audio → fixed-size spectrogram tiles on one scale.

The layout written here is version 1 of the specimg dataset layout (``specimg.json``,
``train/`` and ``validation/`` with Hugging Face ``metadata.jsonl`` manifests, optional
class folders, ``errors.jsonl``, and the private resume state ``.build/``); see
:func:`build` for the rules.

How a build stays consistent when it is interrupted (Ctrl-C, kill -9, power kept):

1. every tile is written to a temporary file that is renamed into place when complete;
2. after all tiles of a source file are written, a small record of that file (its tiles
   and their manifest rows) is written, atomically, to ``.build/<sha1 of its path>.json``;
3. the manifests and ``errors.jsonl`` are only ever regenerated from the records (every
   100 files or 30 s, and at the end), so every row they list names a complete tile;
4. a rerun skips the files that have a record, redoes the others (overwriting their stray
   tiles), and at the end deletes temporary files and tiles that no record lists.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import math
import os
import re
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Union

import numpy as np
from tqdm import tqdm

from ..codec import read_audio
from ..errors import AudioError, FormatError, LossyWarning, MissingFileError, ParameterError, SpecimgError
from ..formats import atomic_path, save
from ..image import SpectrogramImage, pixel_dtype, pixels_to_db
from ..params import SpectrogramParams
from ..spectral import magnitude, mel_basis

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

PathLike = Union[str, os.PathLike]

#: ``format`` and ``version`` of ``specimg.json``.
DATASET_FORMAT = "specimg-dataset"
DATASET_VERSION = 1

#: Audio files the build picks up (compared case-insensitively).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")

#: The two splits, as folder names.
SPLITS = ("train", "validation")

#: zlib level of the tiles. Measured on 256×256 corpus tiles: 8-bit, level 1 writes ~1.8×
#: faster than Pillow's default 6 for files ~13 % larger; 16-bit, whose low bits are noise,
#: shrink only ~11 % at any level and every level costs about the same (~5 ms, twice level 0).
PNG_COMPRESS_LEVEL = 1

#: Files with more STFT frames than this are analysed in blocks of whole tiles, which bounds
#: the working memory of a worker (about 150 MB at n_fft=2048) whatever the file's length.
_BLOCK_FRAMES = 8192

#: The manifests are regenerated after this many finished files or seconds, whichever comes
#: first (but never taking more than a tenth of the time), and at the end.
_MANIFEST_EVERY_FILES = 100
_MANIFEST_EVERY_SECONDS = 30.0

#: n_fft chosen by :func:`default_n_fft` lies in this range.
_MIN_AUTO_N_FFT = 1024
_MAX_AUTO_N_FFT = 32768

#: Keyword arguments of :func:`specimg.encode` that :func:`build` passes through.
_ENCODE_PARAMS = (
    "win_length", "window", "center", "scale", "fmin", "fmax", "htk", "norm", "power",
    "db_min", "db_max", "ref", "flip", "invert",
)  # fmt: skip

_TILE_RE = re.compile(r"__c\d+__f\d{7,}\.png$")
_TEMP_RE = re.compile(r"^\..+\.part$")  # the temporary files of formats.atomic_path
_STATE_DIR = ".build"
_LOCK_NAME = "lock"
_RECORD_RE = re.compile(r"^[0-9a-f]{40}\.json$")
#: Dataset-wide counts, for ``specimg dataset stats`` (``{"counts": {...}}``).
_SUMMARY_NAME = "summary.json"


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
        Files shorter than one tile (they give no tile).
    files_failed : int
        Files that could not be read; listed in ``errors.jsonl``.
    seconds : float
        Duration of the audio analysed (every readable file once, not per channel), in s.
    out_dir : Path
        The dataset folder.
    """

    files: int
    files_resumed: int
    tiles: int
    tiles_silent: int
    files_too_short: int
    files_failed: int
    seconds: float
    out_dir: Path

    def __str__(self) -> str:
        return (
            f"{self.out_dir}: {self.tiles} tiles from {self.files} files ({self.seconds / 3600:.2f} h of audio); "
            f"{self.tiles_silent} silent tiles skipped, {self.files_too_short} files too short, "
            f"{self.files_failed} failed"
            + (f" (see {self.out_dir / 'errors.jsonl'})" if self.files_failed else "")
            + (f"; {self.files_resumed} files done by an earlier run" if self.files_resumed else "")
        )


# ---------------------------------------------------------------------------- parameters
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
    """
    import librosa

    top = sr / 2 if fmax is None else fmax
    edges = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=top, htk=htk)
    gap = float(np.min(np.diff(edges)))
    n_fft = _MIN_AUTO_N_FFT
    while sr / n_fft > gap and n_fft < _MAX_AUTO_N_FFT:
        n_fft *= 2
    return n_fft


def dataset_params(
    *,
    size: tuple[int, int] = (256, 256),
    sr: int = 22050,
    hop_length: int | None = None,
    n_fft: int | None = None,
    n_mels: int | None = None,
    bit_depth: Literal[8, 16] = 16,
    **encode_params: Any,
) -> SpectrogramParams:
    """The parameters of every tile of a dataset (``n_samples=None``, one channel, no edits).

    Arguments as for :func:`build`. A tile of the dataset holds the columns of
    ``specimg.encode(y, sr, **p)`` with ``p`` these parameters (``scale="mel"``).

    Raises
    ------
    ParameterError
        For an invalid or contradictory value.
    """
    rows, _ = _check_size(size)
    unknown = sorted(set(encode_params) - set(_ENCODE_PARAMS))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)}; build() passes on only {', '.join(_ENCODE_PARAMS)}"
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
            sr=sr, n_fft=_MAX_AUTO_N_FFT, scale="mel", n_mels=n_mels,
            **{k: v for k, v in encode_params.items() if k in ("fmin", "fmax", "htk")},
        )  # fmt: skip
        n_fft = default_n_fft(probe.sr, probe.n_mels, fmin=probe.fmin, fmax=probe.fmax, htk=probe.htk)
    if hop_length is None and isinstance(n_fft, int) and not isinstance(n_fft, bool):
        hop_length = max(n_fft // 4, 1)
    kwargs = {k: v for k, v in encode_params.items() if k not in ("scale", "center")}
    return SpectrogramParams(
        sr=sr, n_fft=n_fft, hop_length=hop_length, scale="mel", n_mels=n_mels, bit_depth=bit_depth, **kwargs
    )


def _check_size(size: Any) -> tuple[int, int]:
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in size)
    ):
        raise ParameterError(f"size={size!r} must be (rows, frames), two positive integers, e.g. (256, 256)")
    return int(size[0]), int(size[1])


_MAX_STEM_BYTES = 200


def tile_name(source: str, channel: int, frame: int) -> str:
    """File name of a tile: ``<source without extension, '/' → '__'>__c<channel>__f<frame, 7 digits>.png``.

    A stem longer than 200 bytes (deeply nested folders) becomes ``<10 hex digits of the
    SHA-1 of source>--<its last 188 bytes>``, so names stay unique and within the 255-byte
    limit of file systems.

    Parameters
    ----------
    source : str, the audio file's path relative to ``audio_dir``, with '/' separators
    channel : int >= 0
    frame : int >= 0, the tile's first STFT frame
    """
    stem = str(PurePosixPath(source).with_suffix("")).replace("/", "__")
    if len(stem.encode("utf-8", "surrogateescape")) > _MAX_STEM_BYTES:
        # file systems allow 255 bytes per name: keep the end of the path and make it unique
        digest = hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest()[:10]
        tail = stem.encode("utf-8", "surrogateescape")[-(_MAX_STEM_BYTES - 12) :].decode("utf-8", "ignore")
        stem = f"{digest}--{tail}"
    return f"{stem}__c{channel}__f{frame:07d}.png"


def _split_of(source: str, seed: int, fraction: float) -> str:
    """"validation" for a stable pseudo-random ``fraction`` of the source paths, else "train"."""
    digest = hashlib.sha256(f"{seed}\0{source}".encode("utf-8", "surrogateescape")).digest()
    return "validation" if int.from_bytes(digest[:8], "big") / 2.0**64 < fraction else "train"


def _record_name(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest() + ".json"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, SpecimgError) else f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------------------- one source file
@dataclass(frozen=True)
class _Job:
    """Everything a worker needs for one source file (pickled to processes or Dask)."""

    path: str  # absolute
    source: str  # relative to audio_dir, '/' separators
    stat: tuple[int, int]  # size, mtime_ns when scanned
    out_dir: str  # absolute
    split: str
    label: str | None
    params: SpectrogramParams  # of a tile, without edits
    n_frames: int
    step: int
    min_level_db: float


_PREPARE_LOCK = threading.Lock()
_SINGLE_THREADED = False  # BLAS limited to one thread for the rest of this (worker) process
_BLAS_LIMITS: Any = None


def _limit_blas() -> None:
    """One BLAS thread in this process, for good: a worker runs one file per CPU, and the
    mel projection must round the same way in every worker (pool, Dask, or in-process)."""
    global _SINGLE_THREADED, _BLAS_LIMITS
    with _PREPARE_LOCK:
        if _SINGLE_THREADED:
            return
        with contextlib.suppress(ImportError):
            from threadpoolctl import threadpool_limits

            _BLAS_LIMITS = threadpool_limits(limits=1)
        _SINGLE_THREADED = True


def _warm(params: SpectrogramParams) -> None:
    """Build the cached mel filterbank quietly (librosa warns about empty bands; build() did)."""
    with _PREPARE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mel_basis(params)


def _tile_blocks(y: np.ndarray, p: SpectrogramParams, n_frames: int, step: int, n_tiles: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """Pixels (flipped as stored, one channel) of tiles ``k0 .. k1-1``, whose column 0 is frame ``k0 * step``.

    A file of up to ``_BLOCK_FRAMES`` frames is analysed in one go, exactly as
    :func:`specimg.encode` does; a longer one in blocks of whole tiles, each from the
    zero-padded stretch of audio its frames see (the same frames, computed separately).
    """
    hop, n_fft = int(p.hop_length), p.n_fft  # type: ignore[arg-type]
    total = p.frames_for(y.shape[-1])
    if total <= _BLOCK_FRAMES:
        S = magnitude(y, p, dtype=np.float32)
        needed = (n_tiles - 1) * step + n_frames
        yield 0, n_tiles, SpectrogramImage.from_magnitude(S[:, :needed], p).pixels
        return
    framed = p.replace(center=False)
    per_block = max(1, (_BLOCK_FRAMES - n_frames) // step + 1)
    for k0 in range(0, n_tiles, per_block):
        k1 = min(n_tiles, k0 + per_block)
        a, b = k0 * step, (k1 - 1) * step + n_frames
        start = a * hop - n_fft // 2  # centred frames see n_fft // 2 zeros before the signal
        seg = np.zeros((b - 1 - a) * hop + n_fft, dtype=y.dtype)
        lo, hi = max(start, 0), min(start + len(seg), y.shape[-1])
        if hi > lo:
            seg[lo - start : hi - start] = y[lo:hi]
        S = magnitude(seg, framed, dtype=np.float32)
        yield k0, k1, SpectrogramImage.from_magnitude(S, p).pixels


_POWER_LUTS: dict[tuple[float, float, bool, int], np.ndarray] = {}


def _levels(tile: np.ndarray, p: SpectrogramParams) -> tuple[float, float]:
    """(peak_db, rms_db) of a tile, from its pixels: the loudest bin in dB, and the mean power of its bins in dB."""
    key = (p.db_min, p.db_max, p.invert, p.bit_depth)
    lut = _POWER_LUTS.get(key)
    if lut is None:
        values = np.arange(int(np.iinfo(pixel_dtype(p.bit_depth)).max) + 1)
        lut = 10.0 ** (pixels_to_db(values, p) / 10.0)
        _POWER_LUTS[key] = lut
    loudest = tile.min() if p.invert else tile.max()
    peak_db = float(pixels_to_db(np.asarray(loudest), p))
    rms_db = float(10.0 * np.log10(np.mean(lut[tile])))
    return peak_db, rms_db


def _write_json(path: Path, obj: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, allow_nan=False) + "\n", encoding="utf-8")


def _build_file(job: _Job) -> dict[str, Any]:
    """Write the tiles of one source file, then its record; return the record."""
    _warm(job.params)
    out = Path(job.out_dir)
    record_path = out / _STATE_DIR / _record_name(job.source)
    base: dict[str, Any] = {"source": job.source, "stat": list(job.stat)}
    try:
        y, sr = read_audio(job.path, sr=job.params.sr)
        y = np.atleast_2d(y)  # (n_channels, n_samples), also for an empty file
        if not np.all(np.isfinite(y)):
            raise AudioError(f"{job.path!r} holds NaN or infinite samples")
    except Exception as exc:  # any unreadable file is reported, and the build goes on
        record = {**base, "status": "failed", "error": _one_line(exc)}
        _write_json(record_path, record)
        return record
    p, n_frames, step = job.params, job.n_frames, job.step
    n_samples = int(y.shape[-1])
    n_total = p.frames_for(n_samples)
    n_tiles = 0 if n_samples < p.n_fft or n_total < n_frames else 1 + (n_total - n_frames) // step
    folder = out / job.split / (job.label or "")
    if n_tiles:
        folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    silent = 0
    try:
        silent = _write_tiles(job, y, folder, n_tiles, rows)
    except Exception as exc:  # e.g. a full disk or a name the file system refuses: report, go on
        for row in rows:
            (out / job.split / row["file_name"]).unlink(missing_ok=True)
        record = {**base, "status": "failed", "error": _one_line(exc)}
        _write_json(record_path, record)
        return record
    record = {
        **base, "status": "done", "split": job.split, "label": job.label, "sr": sr, "n_samples": n_samples,
        "n_channels": int(y.shape[0]), "seconds": n_samples / sr, "too_short": n_tiles == 0, "silent": silent,
        "rows": rows,
    }  # fmt: skip
    _write_json(record_path, record)
    return record


def _write_tiles(job: _Job, y: np.ndarray, folder: Path, n_tiles: int, rows: list[dict[str, Any]]) -> int:
    """Write the tiles of every channel of ``y``, appending manifest rows; return the silent count."""
    p, n_frames, step = job.params, job.n_frames, job.step
    hop = int(p.hop_length)  # type: ignore[arg-type]
    silent = 0
    for c in range(y.shape[0] if n_tiles else 0):
        for k0, k1, pixels in _tile_blocks(y[c], p, n_frames, step, n_tiles):
            for k in range(k0, k1):
                frame = k * step
                j = frame - k0 * step
                tile = np.ascontiguousarray(pixels[:, j : j + n_frames])
                peak_db, rms_db = _levels(tile, p)
                if peak_db < job.min_level_db:
                    silent += 1
                    continue
                name = tile_name(job.source, c, frame)
                edit = {"op": "tile", "source": job.source, "channel": c, "offset": frame * hop, "frame": frame}
                save(SpectrogramImage(tile, p.replace(edits=(edit,))), folder / name, compress_level=PNG_COMPRESS_LEVEL)
                row: dict[str, Any] = {
                    "file_name": f"{job.label}/{name}" if job.label else name,
                    "source": job.source, "channel": c, "offset": frame * hop, "frame": frame,
                }  # fmt: skip
                if job.label:
                    row["label"] = job.label
                row["peak_db"] = round(peak_db, 3)
                row["rms_db"] = round(rms_db, 3)
                rows.append(row)
    return silent


def _run_on_dask_worker(job: _Job) -> dict[str, Any]:
    _limit_blas()
    return _build_file(job)


_BUSY = threading.Event()  # set while a pool worker runs a job


def _run_in_pool_worker(job: _Job) -> dict[str, Any]:
    _BUSY.set()
    try:
        return _build_file(job)
    finally:
        _BUSY.clear()


def _init_pool_worker() -> None:
    """Process pool initializer: one BLAS thread, Ctrl-C left to the parent, and exit once
    the parent is gone (killed with -9, say) and the file in hand is finished: an orphaned
    worker would otherwise wait for work forever."""
    _limit_blas()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        while _BUSY.is_set():
            time.sleep(0.05)
        os._exit(1)

    threading.Thread(target=watch, name="specimg-parent-watch", daemon=True).start()


# ---------------------------------------------------------------------------- the build
def _scan(audio_dir: Path, out_dir: Path) -> list[tuple[str, Path]]:
    """(relative posix path, path) of every audio file under ``audio_dir``, sorted; hidden
    files and folders, and ``out_dir`` if it lies inside, are left out."""
    skip = out_dir.resolve()
    found = []
    for root, dirs, files in os.walk(audio_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root, d).resolve() != skip)
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                path = Path(root, name)
                found.append((path.relative_to(audio_dir).as_posix(), path))
    found.sort()
    return found


def _describe(params: SpectrogramParams, n_frames: int, step: int, min_level_db: float, validation: float,
              seed: int, classes: list[str], audio_dir: PathLike) -> dict[str, Any]:  # fmt: skip
    return {
        "format": DATASET_FORMAT,
        "version": DATASET_VERSION,
        "params": params.to_dict(),
        "tile": {"n_bins": params.n_bins, "n_frames": n_frames, "step_frames": step},
        "min_level_db": min_level_db,
        "validation_fraction": validation,
        "seed": seed,
        "classes": classes,
        "audio_dir": str(audio_dir),
    }


_SETTINGS = ("format", "version", "params", "tile", "min_level_db", "validation_fraction", "seed")


def _check_compatible(path: Path, old: Any, new: dict[str, Any]) -> None:
    if not isinstance(old, dict) or old.get("format") != DATASET_FORMAT:
        raise FormatError(f"{str(path)!r} is not a specimg dataset description; use an empty OUT_DIR")
    differ = []
    for key in _SETTINGS:
        a, b = old.get(key), new[key]
        if isinstance(a, dict) and isinstance(b, dict):
            differ += [f"{key}.{k} ({a.get(k)!r} → {b.get(k)!r})" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            differ.append(f"{key} ({a!r} → {b!r})")
    if bool(old.get("classes")) != bool(new["classes"]):
        differ.append("class folders (" + ("with → without" if old.get("classes") else "without → with") + ")")
    if differ:
        raise ParameterError(
            f"{str(path.parent)!r} holds a dataset built with other settings: {'; '.join(differ)}; "
            "build into a new OUT_DIR (or delete this one)"
        )


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    """Refuse a second build into the same folder. A POSIX record lock: it belongs to this
    process only (not to forked workers) and dies with it, even on kill -9."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with open(state / _LOCK_NAME, "a+b") as fh:
        try:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ParameterError(
                f"another specimg dataset build is writing to {str(state.parent)!r}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.lockf(fh, fcntl.LOCK_UN)


def _remove_temporaries(out: Path) -> None:
    for top in (out, out / _STATE_DIR, *(out / s for s in SPLITS)):
        if not top.is_dir():
            continue
        walker = os.walk(top) if top != out else [(str(out), [], os.listdir(out))]
        for root, _, names in walker:
            for name in names:
                if _TEMP_RE.match(name):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(root, name))


def _load_records(state: Path) -> dict[str, dict[str, Any]]:
    records = {}
    for entry in os.scandir(state):
        if not _RECORD_RE.match(entry.name):
            continue
        try:
            record = json.loads(Path(entry.path).read_text(encoding="utf-8"))
            source = record["source"]
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)  # cannot happen with atomic writes; redo that file
            continue
        if entry.name == _record_name(source):
            records[source] = record
    return records


def _counts(records: Mapping[str, Mapping[str, Any]], scan_errors: Mapping[str, str]) -> dict[str, Any]:
    done = [r for r in records.values() if r["status"] == "done"]
    return {
        "files_done": len(done),
        "files_failed": len(scan_errors) + sum(r["status"] == "failed" for r in records.values()),
        "tiles": sum(len(r["rows"]) for r in done),
        "silent_tiles": sum(int(r["silent"]) for r in done),
        "too_short_files": sum(bool(r["too_short"]) for r in done),
        "seconds": float(sum(float(r["seconds"]) for r in done)),
    }


def _write_outputs(out: Path, records: Mapping[str, Mapping[str, Any]], scan_errors: Mapping[str, str]) -> None:
    """Regenerate both manifests, errors.jsonl and the counts from the records, atomically."""
    lines: dict[str, list[str]] = {s: [] for s in SPLITS}
    errors = dict(scan_errors)
    for source in sorted(records):
        rec = records[source]
        if rec["status"] == "done":
            lines[rec["split"]].extend(json.dumps(row, allow_nan=False) + "\n" for row in rec["rows"])
        else:
            errors[source] = rec["error"]
    _write_json(out / _STATE_DIR / _SUMMARY_NAME, {"counts": _counts(records, scan_errors)})
    for split in SPLITS:
        (out / split).mkdir(exist_ok=True)
        with atomic_path(out / split / "metadata.jsonl") as tmp:
            tmp.write_text("".join(lines[split]), encoding="utf-8")
    with atomic_path(out / "errors.jsonl") as tmp:
        tmp.write_text(
            "".join(json.dumps({"source": s, "error": errors[s]}) + "\n" for s in sorted(errors)), encoding="utf-8"
        )


def _sweep(out: Path, records: Mapping[str, Mapping[str, Any]]) -> None:
    """Delete tiles no record lists (left by an interrupted run or a removed source) and
    temporary files, then empty class folders."""
    keep = {
        f"{rec['split']}/{row['file_name']}"
        for rec in records.values() if rec["status"] == "done" for row in rec["rows"]
    }  # fmt: skip
    for split in SPLITS:
        top = out / split
        for root, dirs, names in os.walk(top, topdown=False):
            for name in names:
                path = Path(root, name)
                if _TEMP_RE.match(name) or (
                    _TILE_RE.search(name) and path.relative_to(out).as_posix() not in keep
                ):
                    with contextlib.suppress(OSError):
                        path.unlink()
            if Path(root) != top:
                with contextlib.suppress(OSError):
                    os.rmdir(root)  # only succeeds when empty


def _dask_executor(scheduler: Any, stack: contextlib.ExitStack) -> tuple[Any, int]:
    """(executor, jobs to keep in flight) for a Dask scheduler address, Client or cluster;
    a Client made here is closed by ``stack``."""
    try:
        import distributed
    except ImportError:
        raise SpecimgError(
            f"scheduler={scheduler!r} needs Dask's distributed package: pip install 'specimg[dask]'"
        ) from None
    if isinstance(scheduler, distributed.Client):
        client = scheduler
    else:
        address = scheduler if isinstance(scheduler, str) else getattr(scheduler, "scheduler_address", scheduler)
        try:
            if isinstance(address, str):  # a malformed address makes Client hang for a minute
                from distributed.comm import get_address_host

                try:
                    get_address_host(address)
                except (ValueError, TypeError) as exc:
                    raise ParameterError(
                        f"scheduler={address!r} is not a scheduler address like tcp://host:8786 ({_one_line(exc)})"
                    ) from None
            client = distributed.Client(address, set_as_default=False, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise SpecimgError(f"cannot connect to the Dask scheduler {address!r}: {_one_line(exc)}") from None
        stack.callback(client.close)
    threads = sum(client.nthreads().values()) or 1
    return client.get_executor(pure=False), 2 * threads


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
    min_level_db: float = -80.0,
    bit_depth: Literal[8, 16] = 16,
    validation: float = 0.1,
    seed: int = 0,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = False,
    **encode_params: Any,
) -> BuildReport:
    """Cut every audio file under ``audio_dir`` into spectrogram tiles of one size and scale.

    Walks ``audio_dir`` for ``.wav``, ``.flac``, ``.ogg`` and ``.mp3`` files (any case;
    hidden files and folders are left out), reads each one resampled to ``sr``, and cuts
    every channel separately into mel spectrogram tiles of exactly ``size`` = (mel bands,
    STFT frames), written as 8- or 16-bit specimg PNGs to ``out_dir``. Every tile shares
    one absolute dB scale (``ref``, ``db_min``, ``db_max``, by default −120 … +6 dBFS),
    stored once in ``out_dir/specimg.json``; each tile also carries its own metadata with
    an edit ``{"op": "tile", "source", "channel", "offset", "frame"}``.

    Layout (version 1)::

        out_dir/specimg.json                       settings, classes, tile geometry
        out_dir/{train,validation}/metadata.jsonl  Hugging Face imagefolder manifests
        out_dir/{train,validation}/[<class>/]<source>__c<channel>__f<frame>.png
        out_dir/errors.jsonl                       {"source", "error"} per unreadable file
        out_dir/.build/                            resume state

    * **Tiles.** Tile ``k`` of a channel is the columns ``[k * step, k * step + frames)`` of
      ``specimg.encode(y_channel, sr, **params)`` (the centred STFT of the whole file),
      with ``step = round(frames * (1 - overlap))``; the last partial tile is dropped, and
      a file shorter than one tile gives none (counted as too short).
    * **Silence.** A tile is skipped, and counted, when its loudest bin is below
      ``min_level_db`` (in dB re ``ref``: dBFS by default), measured on its pixels. Its
      ``peak_db`` (that loudest bin) and ``rms_db`` (``10·log10`` of the mean power of its
      bins) are manifest columns.
    * **Classes.** When every file lies in a subfolder, the first folder level is the class
      (torchvision ``ImageFolder`` style): tiles go to ``<split>/<class>/`` and rows get a
      ``label``. Otherwise there are no classes.
    * **Split.** By source file, from a hash of its relative path and ``seed``: every tile
      of a file is in one split, and the choice never changes when files are added.
    * **Resume.** Interrupting a build (Ctrl-C, kill -9) and running it again finishes the
      job: files already done are skipped (unless they changed size or time), the others
      redone; the manifests always list complete tiles only, and at the end exactly the
      tiles on disk. Files that failed are tried again. A rebuild into ``out_dir`` with
      other settings is refused.

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
    min_level_db : float, dB re ``ref``
        Tiles whose loudest bin is below this are skipped as silent.
    bit_depth : {8, 16}
        Pixel depth; 8 bits warn (lossy, 0.5 dB steps with the default range).
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
        For invalid parameters, no audio under ``audio_dir``, an ``out_dir`` that is not
        empty and holds no dataset or one built with other settings, or a build already
        running into ``out_dir``.
    SpecimgError
        If ``scheduler`` is given but Dask is not installed or not reachable.

    Warns
    -----
    LossyWarning
        For ``bit_depth=8``, and when ``n_fft`` is too small for every mel band to hold
        an FFT bin (empty bands are black rows).

    Examples
    --------
    >>> report = specimg.dataset.build("sounds/", "gan-data/", size=(256, 256))  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    gan-data: 5210 tiles from 1300 files (8.52 h of audio); 31 silent tiles skipped, ...
    """
    rows, n_frames = _check_size(size)
    params = dataset_params(size=size, sr=sr, hop_length=hop_length, n_fft=n_fft, n_mels=n_mels,
                            bit_depth=bit_depth, **encode_params)  # fmt: skip
    if isinstance(overlap, bool) or not isinstance(overlap, (int, float)) or not 0.0 <= overlap < 1.0:
        raise ParameterError(f"overlap={overlap!r} must be a fraction in [0, 1)")
    step = max(1, round(n_frames * (1.0 - overlap)))
    if isinstance(min_level_db, bool) or not isinstance(min_level_db, (int, float)) or not math.isfinite(min_level_db):
        raise ParameterError(f"min_level_db={min_level_db!r} must be a finite number of dB")
    if isinstance(validation, bool) or not isinstance(validation, (int, float)) or not 0.0 <= validation <= 1.0:
        raise ParameterError(f"validation={validation!r} must be a fraction in [0, 1]")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed={seed!r} must be an integer")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers={workers!r} must be a positive integer (or None for one per CPU)")
    if params.bit_depth == 8:
        warnings.warn(
            f"bit_depth=8 quantises the level in steps of {(params.db_max - params.db_min) / 255:.2f} dB (lossy); "
            "use 16 to keep it exact",
            LossyWarning,
            stacklevel=2,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        empty = int(np.count_nonzero(mel_basis(params).max(axis=1) <= 0))
    if empty:
        warnings.warn(
            f"n_fft={params.n_fft} leaves {empty} of the {params.n_mels} mel bands without an FFT bin: those rows "
            f"are always at the floor; use n_fft >= {default_n_fft(params.sr, params.n_mels, fmin=params.fmin, fmax=params.fmax, htk=params.htk)}",
            LossyWarning,
            stacklevel=2,
        )

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
        dask = None if scheduler is None else _dask_executor(scheduler, stack)  # fail before writing anything
        return _prepare_and_build(found, audio_dir, out, params, n_frames, step, float(min_level_db),
                                  float(validation), int(seed), workers, dask, progress)  # fmt: skip


def _prepare_and_build(
    found: list[tuple[str, Path]], audio_dir: PathLike, out: Path, params: SpectrogramParams,
    n_frames: int, step: int, min_level_db: float, validation: float, seed: int, workers: int | None,
    dask: tuple[Any, int] | None, progress: bool,
) -> BuildReport:  # fmt: skip
    """Check or create ``out``, lock it, and build."""
    classes = sorted({s.split("/", 1)[0] for s, _ in found}) if all("/" in s for s, _ in found) else []
    description = _describe(params, n_frames, step, min_level_db, validation, seed, classes, audio_dir)

    out.mkdir(parents=True, exist_ok=True)
    meta = out / "specimg.json"
    if meta.is_file():
        try:
            old = json.loads(meta.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise FormatError(f"{str(meta)!r} is not valid JSON ({exc}); use a new OUT_DIR") from None
        _check_compatible(meta, old, description)
    elif any(name != _STATE_DIR for name in os.listdir(out)):
        raise ParameterError(
            f"out_dir {str(out)!r} is not empty and holds no specimg dataset (specimg.json); give a new or empty folder"
        )
    state = out / _STATE_DIR
    state.mkdir(exist_ok=True)
    with _locked(state):
        if not meta.is_file() or json.loads(meta.read_text(encoding="utf-8")) != description:
            _write_json(meta, description)  # first, so the folder is recognisably a dataset
        _remove_temporaries(out)
        return _build_locked(found, out, description, params, n_frames, step, min_level_db, validation, seed,
                             workers, dask, progress)  # fmt: skip


def _build_locked(
    found: list[tuple[str, Path]], out: Path, description: dict[str, Any], params: SpectrogramParams,
    n_frames: int, step: int, min_level_db: float, validation: float, seed: int, workers: int | None,
    dask: tuple[Any, int] | None, progress: bool,
) -> BuildReport:  # fmt: skip
    state = out / _STATE_DIR
    classes = description["classes"]
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

    records = _load_records(state)
    present = {s for s, _ in found if s not in scan_errors}
    for source in sorted(set(records) - present):  # removed from audio_dir: its tiles are swept at the end
        with contextlib.suppress(OSError):
            (state / _record_name(source)).unlink()
        del records[source]
    out_abs = str(out.resolve())
    jobs: list[_Job] = []
    resumed = 0
    for source, path in found:
        if source in scan_errors:
            continue
        st = path.stat()
        job = _Job(
            path=str(path.resolve()), source=source, stat=(st.st_size, st.st_mtime_ns), out_dir=out_abs,
            split=_split_of(source, seed, validation), label=source.split("/", 1)[0] if classes else None,
            params=params, n_frames=n_frames, step=step, min_level_db=min_level_db,
        )  # fmt: skip
        rec = records.get(source)
        if rec is not None and rec["status"] == "done" and rec.get("stat") == list(job.stat):
            resumed += 1
        else:
            jobs.append(job)

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
            _write_outputs(out, records, scan_errors)
            write_cost = time.monotonic() - now
            last_write, since_write = time.monotonic(), 0

    try:
        with bar:
            _run(jobs, workers, dask, finished)
    except BaseException:
        with contextlib.suppress(Exception):  # leave manifests that match the finished files
            _write_outputs(out, records, scan_errors)
        raise
    _write_outputs(out, records, scan_errors)
    _sweep(out, records)

    counts = _counts(records, scan_errors)
    return BuildReport(
        files=len(found),
        files_resumed=resumed,
        tiles=counts["tiles"],
        tiles_silent=counts["silent_tiles"],
        files_too_short=counts["too_short_files"],
        files_failed=counts["files_failed"],
        seconds=counts["seconds"],
        out_dir=out,
    )


def _preload(params: SpectrogramParams) -> None:
    """Run the analysis once on a few zeros, here: librosa imports its modules lazily on
    first use and compiles numba code then (about a CPU-second), which forked workers
    then inherit instead of each paying for it."""
    import librosa

    _warm(params)
    y = np.zeros(2 * params.n_fft)
    magnitude(y, params, dtype=np.float32)
    librosa.resample(y, orig_sr=2 * params.sr, target_sr=params.sr)


def _run(jobs: list[_Job], workers: int | None, dask: tuple[Any, int] | None,
         finished: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
    """Run ``_build_file`` on every job: on Dask (``(executor, window)``), in this process,
    or in a process pool."""
    if not jobs:
        return
    if dask is not None:
        executor, window = dask
        _drain(executor, _run_on_dask_worker, jobs, window, finished)
        return
    _preload(jobs[0].params)
    n = min(workers or os.cpu_count() or 1, len(jobs))
    if n == 1:
        limits: Any = contextlib.nullcontext()
        if not _SINGLE_THREADED:
            with contextlib.suppress(ImportError):
                from threadpoolctl import threadpool_limits

                limits = threadpool_limits(limits=1)  # restored afterwards: this is the caller's process
        with limits:
            for job in jobs:
                finished(_build_file(job))
        return
    with cf.ProcessPoolExecutor(max_workers=n, initializer=_init_pool_worker) as pool:
        _drain(pool, _run_in_pool_worker, jobs, 2 * n, finished)


def _drain(executor: Any, fn: Callable[[_Job], dict[str, Any]], jobs: Iterable[_Job], window: int,
           finished: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
    """Submit jobs keeping at most ``window`` in flight; hand each record to ``finished``."""
    todo = iter(jobs)
    pending: set[cf.Future] = set()

    def refill() -> None:
        while len(pending) < window:
            job = next(todo, None)
            if job is None:
                return
            pending.add(executor.submit(fn, job))

    try:
        refill()
        while pending:
            done, still = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            pending.clear()
            pending.update(still)
            for fut in done:
                finished(fut.result())
            refill()
    except BaseException:
        for fut in pending:
            fut.cancel()
        with contextlib.suppress(Exception):
            try:
                executor.shutdown(wait=False, cancel_futures=True)
            except TypeError:  # Dask's ClientExecutor has no cancel_futures
                executor.shutdown(wait=False)
        raise
