"""The on-disk layout of a specimg dataset (version 1), written down once.

:func:`specimg.dataset.build` writes it, :func:`specimg.dataset.decode_batch`,
:func:`~specimg.dataset.decode_dir` and :func:`specimg.dataset.stats` read it::

    OUT_DIR/specimg.json                       the description (DATASET_JSON): format, version,
                                               params, tile geometry, split settings, classes
    OUT_DIR/{train,validation}/metadata.jsonl  Hugging Face imagefolder manifests (MANIFEST_NAME)
    OUT_DIR/{train,validation}/[<class>/]<tile_name(...)>
    OUT_DIR/errors.jsonl                       {"source", "error"} per unreadable file (ERRORS_NAME)
    OUT_DIR/.build/                            resume state (STATE_DIR): lock, one record per
                                               source file (record_name), summary.json

This module holds the names of those files, the rules that name tiles and pick the split of
a source file, and the reader (and writer) of ``specimg.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import FormatError, MissingFileError
from ..params import SpectrogramParams
from ..typing import PathLike

__all__ = [
    "AUDIO_EXTENSIONS",
    "DATASET_FORMAT",
    "DATASET_JSON",
    "DATASET_VERSION",
    "ERRORS_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "RECORD_RE",
    "SETTINGS",
    "SPLITS",
    "STATE_DIR",
    "SUMMARY_NAME",
    "TEMP_RE",
    "TILE_RE",
    "describe",
    "description_params",
    "read_description",
    "record_name",
    "split_of",
    "tile_geometry",
    "tile_name",
]

#: ``format`` and ``version`` of ``specimg.json``.
DATASET_FORMAT = "specimg-dataset"
DATASET_VERSION = 1

#: File name of the dataset description inside OUT_DIR.
DATASET_JSON = "specimg.json"

#: Audio files the build picks up (compared case-insensitively).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")

#: The two splits, as folder names.
SPLITS = ("train", "validation")

#: The manifest of a split, ``<split>/metadata.jsonl`` (one JSON object per tile).
MANIFEST_NAME = "metadata.jsonl"

#: ``{"source", "error"}`` per file that failed, in OUT_DIR.
ERRORS_NAME = "errors.jsonl"

#: The private resume state of a build, in OUT_DIR.
STATE_DIR = ".build"

#: The lock file of a running build, in STATE_DIR.
LOCK_NAME = "lock"

#: Dataset-wide counts, for ``specimg dataset stats`` (``{"counts": {...}}``), in STATE_DIR.
SUMMARY_NAME = "summary.json"

#: File names of tiles (see :func:`tile_name`).
TILE_RE = re.compile(r"__c\d+__f\d{7,}\.png$")

#: The temporary files of :func:`specimg.formats.atomic_path`.
TEMP_RE = re.compile(r"^\..+\.part$")

#: File names of the per-source records in STATE_DIR (see :func:`record_name`).
RECORD_RE = re.compile(r"^[0-9a-f]{40}\.json$")

#: The keys of ``specimg.json`` that two builds into one folder must share.
SETTINGS = ("format", "version", "params", "tile", "min_level_db", "validation_fraction", "seed")

# Longest tile stem, in bytes, before it is shortened (file systems allow 255 per name).
_MAX_STEM_BYTES = 200


# ---------------------------------------------------------------------------- names
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

    Returns
    -------
    str

    Examples
    --------
    >>> tile_name("dog/bark.wav", 1, 512)
    'dog__bark__c1__f0000512.png'
    """
    stem = str(PurePosixPath(source).with_suffix("")).replace("/", "__")
    if len(stem.encode("utf-8", "surrogateescape")) > _MAX_STEM_BYTES:
        # file systems allow 255 bytes per name: keep the end of the path and make it unique
        digest = hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest()[:10]
        tail = stem.encode("utf-8", "surrogateescape")[-(_MAX_STEM_BYTES - 12) :].decode("utf-8", "ignore")
        stem = f"{digest}--{tail}"
    return f"{stem}__c{channel}__f{frame:07d}.png"


def split_of(source: str, seed: int, fraction: float) -> str:
    """The split of a source file: ``"validation"`` for a stable pseudo-random ``fraction``
    of the source paths, else ``"train"``.

    The choice depends on ``source`` and ``seed`` only (the first 8 bytes of the SHA-256 of
    ``f"{seed}\\0{source}"`` read as a fraction of 2**64), so it never changes when files
    are added.

    Parameters
    ----------
    source : str, the audio file's path relative to ``audio_dir``, with '/' separators
    seed : int
    fraction : float in [0, 1]

    Returns
    -------
    {"train", "validation"}

    Examples
    --------
    >>> split_of("dog/bark.wav", 0, 0.0), split_of("dog/bark.wav", 0, 1.0)
    ('train', 'validation')
    """
    digest = hashlib.sha256(f"{seed}\0{source}".encode("utf-8", "surrogateescape")).digest()
    return "validation" if int.from_bytes(digest[:8], "big") / 2.0**64 < fraction else "train"


def record_name(source: str) -> str:
    """File name, in STATE_DIR, of the resume record of a source file (SHA-1 of its path + ``.json``)."""
    return hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest() + ".json"


# ---------------------------------------------------------------------------- specimg.json
def describe(
    params: SpectrogramParams,
    *,
    n_frames: int,
    step: int,
    min_level_db: float,
    validation: float,
    seed: int,
    classes: list[str],
    audio_dir: PathLike,
) -> dict[str, Any]:
    """The content of ``specimg.json`` for a build with these settings.

    Parameters
    ----------
    params : SpectrogramParams
        Of every tile (``n_samples=None``, one channel, no edits).
    n_frames, step : int > 0
        Tile width and the frames between the starts of consecutive tiles.
    min_level_db : float, dB
    validation : float in [0, 1]
    seed : int
    classes : list of str, sorted (empty without class folders)
    audio_dir : str or path-like, as the caller gave it

    Returns
    -------
    dict, JSON-serialisable
    """
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


def read_description(out_dir: PathLike) -> tuple[dict[str, Any], Path]:
    """The parsed ``specimg.json`` of a dataset folder (or the file itself), checked, and its path.

    Parameters
    ----------
    out_dir : str or path-like
        The dataset folder, or its ``specimg.json``.

    Returns
    -------
    (dict, Path)
        The description (a dict with ``"format": DATASET_FORMAT``, ``"version":
        DATASET_VERSION`` and a ``"params"`` object), and the path it was read from.

    Raises
    ------
    MissingFileError
        If there is no such file.
    FormatError
        If it is not valid JSON, not a specimg dataset description, of another version, or
        lacks ``"params"``.
    """
    path = Path(out_dir)
    if path.is_dir():
        path = path / DATASET_JSON
    if not path.is_file():
        raise MissingFileError(
            f"no dataset description {str(path)!r}; pass the OUT_DIR of `specimg dataset build` or its {DATASET_JSON}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"{str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != DATASET_FORMAT:
        raise FormatError(f"{str(path)!r} is not a specimg dataset description (no \"format\": {DATASET_FORMAT!r})")
    if data.get("version") != DATASET_VERSION:
        raise FormatError(
            f"{str(path)!r} has dataset layout version {data.get('version')!r}; this release reads version "
            f"{DATASET_VERSION}"
        )
    if not isinstance(data.get("params"), dict):
        raise FormatError(f"{str(path)!r} lacks the \"params\" object")
    return data, path


def description_params(data: dict[str, Any], path: Path) -> SpectrogramParams:
    """The tile parameters of a description read by :func:`read_description`.

    Raises
    ------
    FormatError
        If ``"params"`` is not a valid parameter set (the message names ``path``).
    """
    return SpectrogramParams.from_dict(data["params"], source=f"\"params\" of {str(path)!r}")


def tile_geometry(data: dict[str, Any], path: Path) -> tuple[int | None, int | None]:
    """(n_frames, step_frames) of the dataset's tiles, None where the description does not record it.

    Raises
    ------
    FormatError
        If a recorded value is not a positive integer (the message names ``path``).
    """
    tile = data.get("tile")
    if not isinstance(tile, dict):
        return None, None
    out = []
    for key in ("n_frames", "step_frames"):
        value = tile.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise FormatError(f"\"tile\": {{\"{key}\": {value!r}}} of {str(path)!r} must be a positive integer")
        out.append(value)
    return out[0], out[1]
