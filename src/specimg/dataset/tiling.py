"""One source file → its tiles and its resume record (what a build worker runs).

:func:`build_file` reads a file, cuts every channel into tiles with :func:`tile_blocks`
(the columns of ``specimg.encode`` of the whole file, computed in blocks for long files;
with ``tail="pad"`` the last tile reaches past the end of the audio and its extra columns
are the floor), measures each tile with :func:`levels`, writes the tiles that are not
silent, and last writes the file's record to ``.build/`` (see :mod:`specimg.dataset.state`),
with the reason when the file gave no tile.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..codec import read_audio
from ..errors import AudioError, SpecimgError
from ..formats import atomic_path
from ..image import SpectrogramImage, db_to_pixels, pixel_max, pixels_to_db
from ..params import SpectrogramParams
from ..pictures import write_png
from ..spectral import frame_offset, magnitude, mel_basis, span_length, stft
from .containment import make_dirs, no_link
from .ifplane import if_plane
from .layout import STATE_DIR, record_name, tile_name
from .paths import redact
from .state import write_json

__all__ = ["Job", "PNG_COMPRESS_LEVEL", "build_file", "count_tiles", "levels", "one_line", "tile_blocks", "warm"]

#: zlib level of the tiles. Measured on 256×256 corpus tiles: 8-bit, level 1 writes ~1.8×
#: faster than Pillow's default 6 for files ~13 % larger; 16-bit, whose low bits are noise,
#: shrink only ~11 % at any level and every level costs about the same (~5 ms, twice level 0).
PNG_COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class Job:
    """Everything a worker needs for one source file (pickled to processes or Dask).

    Attributes
    ----------
    path : str, absolute
    source : str, relative to ``audio_dir``, '/' separators
    stat : (int, int), size and mtime_ns when scanned
    out_dir : str, absolute
    split : {"train", "validation"}
    label : str or None, the class
    params : SpectrogramParams, of a tile, without edits
    n_frames, step : int > 0, tile width and frames between tile starts
    min_level_db : float, dB: quieter tiles are skipped
    block_frames : int > 0, files with more frames are analysed in blocks of whole tiles
    tail : {"pad", "drop"}, the last partial tile of a channel padded at the floor, or left out
    phase : {"none", "if"}, "if": every tile gets an IF plane as its alpha channel (:mod:`~specimg.dataset.ifplane`)
    """

    path: str
    source: str
    stat: tuple[int, int]
    out_dir: str
    split: str
    label: str | None
    params: SpectrogramParams
    n_frames: int
    step: int
    min_level_db: float
    block_frames: int
    tail: str = "pad"
    phase: str = "none"


def one_line(exc: BaseException) -> str:
    """An exception as one line of text, prefixed by its type unless it is a SpecimgError."""
    text = " ".join(str(exc).split())
    return text if isinstance(exc, SpecimgError) else f"{type(exc).__name__}: {text}"


_WARM_LOCK = threading.Lock()


def warm(params: SpectrogramParams) -> None:
    """Build the cached mel filterbank quietly (librosa warns about empty bands; build() did)."""
    with _WARM_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mel_basis(params)


def count_tiles(n_real: int, n_frames: int, step: int, tail: str) -> int:
    """Tiles of a channel of ``n_real`` STFT frames.

    ``tail="drop"``: the whole tiles, ``0`` if ``n_real < n_frames``, else ``1 + (n_real -
    n_frames) // step``. ``tail="pad"``: enough for the last tile to reach the last frame,
    at least one (``1 + ceil(max(n_real - n_frames, 0) / step)``); none without frames.

    Examples
    --------
    >>> count_tiles(100, 32, 32, "drop"), count_tiles(100, 32, 32, "pad"), count_tiles(5, 32, 32, "pad")
    (3, 4, 1)
    """
    if n_real <= 0:
        return 0
    if tail == "drop":
        return 0 if n_real < n_frames else 1 + (n_real - n_frames) // step
    return 1 + max(0, -(-(n_real - n_frames) // step))


def tile_blocks(
    y: np.ndarray, p: SpectrogramParams, n_frames: int, step: int, n_tiles: int, *, block_frames: int,
    n_real: int | None = None, phase: bool = False,
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray | None]]:  # fmt: skip
    """Pixels of tiles ``k0 .. k1-1``, block by block.

    A file of up to ``block_frames`` frames is analysed in one go, exactly as
    :func:`specimg.encode` does; a longer one in blocks of whole tiles, each from the
    zero-padded stretch of audio its frames see (the same frames, computed separately).
    Columns at frame ``n_real`` and later (past the end of the audio: the padding of the
    last tile) hold the floor, the pixel of ``db_min``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)], one channel (zeros appended beyond the audio are allowed)
    p : SpectrogramParams, centred frames
    n_frames, step : int > 0
    n_tiles : int > 0
    block_frames : int > 0
    n_real : int > 0 or None
        Frames of the audio itself; None → ``p.frames_for(len(y))``.
    phase : bool
        Also compute the IF plane (:func:`specimg.dataset.ifplane.if_plane`), from the
        frame before each block on (0 for the file's first frame and past the end).

    Yields
    ------
    (k0, k1, pixels, if_pixels)
        ``pixels`` [shape=(n_bins, (k1 - 1 - k0) * step + n_frames)], flipped as stored,
        whose column 0 is frame ``k0 * step``; ``if_pixels`` the same shape, uint8, or None.
    """
    hop, n_fft = p.hop_length, p.n_fft
    total = p.frames_for(y.shape[-1])
    real = total if n_real is None else min(n_real, total)
    floor = db_to_pixels(np.array([p.db_min]), p)[0]
    if total <= block_frames:
        S = magnitude(y, p, dtype=np.float32)
        needed = (n_tiles - 1) * step + n_frames
        pixels = SpectrogramImage.from_magnitude(S[:, : min(needed, real)], p).pixels
        if pixels.shape[1] < needed:
            pad = np.full((pixels.shape[0], needed - pixels.shape[1]), floor, dtype=pixels.dtype)
            pixels = np.concatenate([pixels, pad], axis=1)
        planes = None
        if phase:
            planes = if_plane(stft(y, p, dtype=np.float32)[:, : min(needed, real)], p, None, needed)
        yield 0, n_tiles, pixels, planes
        return
    framed = p.replace(center=False)
    per_block = max(1, (block_frames - n_frames) // step + 1)
    for k0 in range(0, n_tiles, per_block):
        k1 = min(n_tiles, k0 + per_block)
        a, b = k0 * step, (k1 - 1) * step + n_frames
        start = a * hop - frame_offset(n_fft, p.center)  # centred frames see zeros before the signal
        seg = np.zeros(span_length(b - a, n_fft=n_fft, hop_length=hop, center=False), dtype=y.dtype)
        lo, hi = max(start, 0), min(start + len(seg), y.shape[-1])
        if hi > lo:
            seg[lo - start : hi - start] = y[lo:hi]
        S = magnitude(seg, framed, dtype=np.float32)
        pixels = SpectrogramImage.from_magnitude(S, p).pixels
        if b > real:
            pixels[:, max(real - a, 0) :] = floor
        planes = None
        if phase:  # from the frame before the block on (one hop more audio before the segment)
            before = hop if a > 0 else 0
            ext = np.zeros(len(seg) + before, dtype=y.dtype)
            s0 = start - before
            lo, hi = max(s0, 0), min(s0 + len(ext), y.shape[-1])
            if hi > lo:
                ext[lo - s0 : hi - s0] = y[lo:hi]
            X = stft(ext, framed, dtype=np.float32)
            previous = X[:, 0] if before else None
            X = X[:, 1:] if before else X
            planes = if_plane(X[:, : max(min(real - a, b - a), 0)], p, previous, b - a)
        yield k0, k1, pixels, planes


_POWER_LUTS: dict[tuple[float, float, bool, int], np.ndarray] = {}


def levels(tile: np.ndarray, p: SpectrogramParams) -> tuple[float, float]:
    """(peak_db, rms_db) of a tile, from its pixels.

    Parameters
    ----------
    tile : np.ndarray [shape=(n_bins, n_frames)], uint8 or uint16 pixels of ``p``
    p : SpectrogramParams

    Returns
    -------
    (float, float)
        The loudest bin in dB, and ``10·log10`` of the mean power of its bins, dB re ``p.ref``.
    """
    key = (p.db_min, p.db_max, p.invert, p.bit_depth)
    lut = _POWER_LUTS.get(key)
    if lut is None:
        values = np.arange(int(pixel_max(p.bit_depth)) + 1)
        lut = 10.0 ** (pixels_to_db(values, p) / 10.0)
        _POWER_LUTS[key] = lut
    loudest = tile.min() if p.invert else tile.max()
    peak_db = float(pixels_to_db(np.asarray(loudest), p))
    rms_db = float(10.0 * np.log10(np.mean(lut[tile])))
    return peak_db, rms_db


def build_file(job: Job) -> dict[str, Any]:
    """Write the tiles of one source file, then its record; return the record.

    A file that cannot be read, or whose tiles cannot be written, gives a record with
    ``"status": "failed"`` and the error in one line (its tiles are removed); the build goes on.
    """
    warm(job.params)
    out = Path(job.out_dir)
    record_path = out / STATE_DIR / record_name(job.source)
    base: dict[str, Any] = {"source": job.source, "stat": list(job.stat)}
    try:
        y, sr = read_audio(job.path, sr=job.params.sr)
        y = np.atleast_2d(y)  # (n_channels, n_samples), also for an empty file
        if not np.all(np.isfinite(y)):
            raise AudioError(f"{job.path!r} holds NaN or infinite samples")
    except Exception as exc:  # any unreadable file is reported, and the build goes on
        return _keep({**base, "status": "failed", "error": _error(exc, job)}, record_path, job)
    p, n_frames, step = job.params, job.n_frames, job.step
    n_samples = int(y.shape[-1])
    n_real = p.frames_for(n_samples) if n_samples else 0
    n_tiles = count_tiles(n_real, n_frames, step, job.tail)
    if 0 < n_samples < p.n_fft:  # zeros after the end change none of the frames, and let the STFT run
        y = np.pad(y, ((0, 0), (0, p.n_fft - n_samples)))
    folder = out / job.split / (job.label or "")
    if n_tiles:
        make_dirs(out, folder)  # OutputError at a symbolic link on the way (containment)
    rows: list[dict[str, Any]] = []
    silent = 0
    try:
        silent = _write_tiles(job, y, folder, n_tiles, n_real, rows)
    except Exception as exc:  # e.g. a full disk or a name the file system refuses: report, go on
        _remove_tiles(out / job.split, rows)
        return _keep({**base, "status": "failed", "error": _error(exc, job)}, record_path, job)
    reason = None
    if not n_samples:
        reason = "no audio samples (an empty file)"
    elif not n_tiles:
        reason = (
            f"too short: {n_samples / sr:.3f} s, less than one tile ({n_frames} frames, "
            f"{(n_frames - 1) * p.hop_length / sr:.3f} s) with tail='drop'"
        )
    elif not rows:
        reason = f"silent: no tile's loudest bin reaches min_level_db={job.min_level_db:g} dB"
    record = {
        **base, "status": "done", "split": job.split, "label": job.label, "sr": sr, "n_samples": n_samples,
        "n_channels": int(y.shape[0]), "seconds": n_samples / sr, "too_short": n_tiles == 0, "silent": silent,
        "reason": reason, "rows": rows,
    }  # fmt: skip
    return _keep(record, record_path, job)


def _error(exc: BaseException, job: Job) -> str:
    """:func:`one_line` of ``exc`` for the record, ``errors.jsonl`` and the summary, which are
    published with the dataset: the file's path becomes its source path, paths in the dataset
    folder become relative to it, the home folder ``~``."""
    return redact(one_line(exc), {job.path: job.source, os.path.join(job.out_dir, ""): "", job.out_dir: "."})


def _remove_tiles(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Delete the tiles ``rows`` in the split folder ``folder`` (of the dataset ``folder.parent``),
    none through a symbolic link."""
    for row in rows:
        with contextlib.suppress(OSError):  # OutputError (a link) too: the tile is left alone
            no_link(folder.parent, folder / row["file_name"]).unlink(missing_ok=True)


def _keep(record: dict[str, Any], record_path: Path, job: Job) -> dict[str, Any]:
    """Write ``record`` and return it; if it cannot be written (a full disk), the file failed:
    its tiles are removed and a failed record (kept in memory only) is returned."""
    try:
        write_json(no_link(Path(job.out_dir), record_path), record)  # a link in the way: OutputError, an OSError
    except OSError as exc:
        _remove_tiles(Path(job.out_dir) / job.split, record.get("rows", []))
        return {"source": record["source"], "stat": record["stat"], "status": "failed",
                "error": f"cannot write its build record: {_error(exc, job)}"}  # fmt: skip
    return record


def _write_tiles(job: Job, y: np.ndarray, folder: Path, n_tiles: int, n_real: int, rows: list[dict[str, Any]]) -> int:
    """Write the tiles of every channel of ``y``, appending manifest rows; return the silent count."""
    p, n_frames, step = job.params, job.n_frames, job.step
    hop = p.hop_length
    silent = 0
    for c in range(y.shape[0] if n_tiles else 0):
        blocks = tile_blocks(y[c], p, n_frames, step, n_tiles, block_frames=job.block_frames, n_real=n_real,
                             phase=job.phase == "if")  # fmt: skip
        for k0, k1, pixels, planes in blocks:
            for k in range(k0, k1):
                frame = k * step
                j = frame - k0 * step
                tile = np.ascontiguousarray(pixels[:, j : j + n_frames])
                peak_db, rms_db = levels(tile, p)
                if peak_db < job.min_level_db:
                    silent += 1
                    continue
                name = tile_name(job.source, c, frame)
                edit = {"op": "tile", "source": job.source, "channel": c, "offset": frame * hop, "frame": frame}
                # as specimg.save, without its search for stale temporaries in a folder of many
                # tiles: the build removes those itself (state.remove_temporaries, state.sweep)
                if planes is not None:  # the IF plane as the alpha channel of an 8-bit LA PNG
                    tile = np.stack([tile, planes[:, j : j + n_frames]], axis=-1)
                with atomic_path(no_link(Path(job.out_dir), folder / name), clean_stale=False) as tmp:
                    write_png(tmp, tile, text=p.replace(edits=(edit,)).to_json(), compress_level=PNG_COMPRESS_LEVEL)
                row: dict[str, Any] = {
                    "file_name": f"{job.label}/{name}" if job.label else name,
                    "source": job.source, "channel": c, "offset": frame * hop, "frame": frame,
                }  # fmt: skip
                if job.label:
                    row["label"] = job.label
                row["peak_db"] = round(peak_db, 3)
                row["rms_db"] = round(rms_db, 3)
                row["padded_frames"] = max(0, frame + n_frames - n_real)
                rows.append(row)
    return silent
