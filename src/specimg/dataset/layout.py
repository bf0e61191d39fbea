"""The on-disk layout of a specimg dataset (version 1), written down once.

:func:`specimg.dataset.build` writes it, :func:`specimg.dataset.decode_batch`,
:func:`~specimg.dataset.decode_dir` and :func:`specimg.dataset.stats` read it::

    OUT_DIR/specimg.json                       the description (DATASET_JSON): format, version,
                                               params, tile geometry, split settings, classes,
                                               the splits written, the audio folder relative
                                               to OUT_DIR (nothing names the building machine)
    OUT_DIR/README.md                          dataset card (CARD_NAME) whose YAML declares the
                                               features (labels as ClassLabel) and the splits
    OUT_DIR/{train,validation}/metadata.jsonl  Hugging Face imagefolder manifests (MANIFEST_NAME)
    OUT_DIR/{train,validation}/[<class>/]<tile_name(...)>
    OUT_DIR/errors.jsonl                       {"source", "error"} per unreadable file (ERRORS_NAME)
    OUT_DIR/.build/                            resume state (STATE_DIR): lock, one record per
                                               source file (record_name), summary.json

A split folder exists only when it holds tiles (an empty split breaks Hugging Face's
loader). This module holds the names of those files, the rules that name tiles and pick the
split of a source file, the reader (and writer) of ``specimg.json`` and the dataset card.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import FormatError, MissingFileError
from ..image import pixel_max
from ..jsonfile import out_of_range, read_json
from ..params import MAX_DB, SpectrogramParams
from ..pictures import MAX_PIXELS
from ..typing import PathLike
from .containment import inside
from .paths import is_relative_entry

__all__ = [
    "AUDIO_EXTENSIONS",
    "CARD_NAME",
    "MANIFEST_COLUMNS",
    "DATASET_FORMAT",
    "DATASET_JSON",
    "DATASET_VERSION",
    "ERRORS_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "MAX_AUDIO_CHANNELS",
    "MAX_COUNT",
    "MAX_SECONDS",
    "RECORD_RE",
    "SETTINGS",
    "SPLITS",
    "STATE_DIR",
    "SUMMARY_NAME",
    "TEMP_RE",
    "TILE_RE",
    "dataset_card",
    "describe",
    "description_params",
    "balance_splits",
    "plan_splits",
    "read_description",
    "record_name",
    "row_numbers_error",
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

#: The columns of a manifest row after ``file_name``, in order, with their Hugging Face
#: dtypes (``"label"`` only with class folders; a ClassLabel in the dataset card).
#: ``padded_frames`` counts the tile's last columns that lie past the end of the audio
#: (``tail="pad"``), filled with the floor (``db_min``).
MANIFEST_COLUMNS = (
    ("source", "string"), ("channel", "int64"), ("offset", "int64"), ("frame", "int64"), ("label", "class_label"),
    ("peak_db", "float64"), ("rms_db", "float64"), ("padded_frames", "int64"),
)  # fmt: skip

#: Bounds of the numbers read back from a dataset (manifests, ``.build/`` records and
#: summary are data, and JSON bounds no number): a count of samples, frames or tiles, an
#: offset or a frame index is at most MAX_COUNT (``SpectrogramParams`` bounds ``n_samples``
#: at 2**40), seconds of audio at most MAX_SECONDS, a channel index below
#: MAX_AUDIO_CHANNELS, a level in dB within ±:data:`~specimg.params.MAX_DB`.
MAX_COUNT = 1 << 40
MAX_SECONDS = 1e15
MAX_AUDIO_CHANNELS = 1 << 16

#: The dataset card in OUT_DIR: what ``datasets.load_dataset(OUT_DIR)`` reads.
CARD_NAME = "README.md"

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
SETTINGS = (
    "format", "version", "params", "tile", "min_level_db", "validation_fraction", "seed", "class_folders", "phase",
)  # fmt: skip

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
    return "validation" if _score(source, seed) < fraction else "train"


def _score(source: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}\0{source}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def plan_splits(
    sources: Sequence[str], labels: Sequence[str | None], seed: int, fraction: float
) -> tuple[dict[str, str], str | None]:
    """The split of every source file of a build: :func:`split_of`'s, then :func:`balance_splits`'.

    Parameters
    ----------
    sources : sequence of str, the audio files' paths relative to ``audio_dir``
    labels : sequence of str or None, each file's class (None without classes)
    seed : int
    fraction : float in [0, 1]

    Returns
    -------
    splits : dict
        ``{source: "train" | "validation"}``.
    note : str or None
        Why no file is in validation, or None.

    Examples
    --------
    >>> plan_splits(["a/x.wav", "a/y.wav"], ["a", "a"], 0, 0.1)[0]
    {'a/x.wav': 'validation', 'a/y.wav': 'train'}
    >>> plan_splits(["x.wav"], [None], 0, 0.1)
    ({'x.wav': 'train'}, 'only one source file: it is in train')
    """
    return balance_splits({s: split_of(s, seed, fraction) for s in sources}, dict(zip(sources, labels)), seed, fraction)


def balance_splits(
    splits: Mapping[str, str], labels: Mapping[str, str | None], seed: int, fraction: float,
    *, what: str = "source file",
) -> tuple[dict[str, str], str | None]:  # fmt: skip
    """Move at most one file per class and one more so that no split is left empty by chance.

    When ``0 < fraction < 1``:

    1. every class (every label; all files when there are no classes) keeps a file in
       train: if all its files are in validation, the one with the highest draw (the hash
       of :func:`split_of`) moves to train, so torchvision ``ImageFolder`` on ``train/``
       finds every class;
    2. with two or more files and none in validation, the file with the lowest draw among
       those whose class keeps another file in train moves to validation.

    The moves depend on the files, their splits and ``seed`` only. The build applies this
    to the split of every file it finds (:func:`plan_splits`), and again, once all files
    are done, to the files that gave tiles, so that a silent or unreadable file cannot
    leave a class out of train or validation empty.

    Parameters
    ----------
    splits : mapping, source → "train" or "validation"
    labels : mapping, source → class or None
    seed : int
    fraction : float in [0, 1]
    what : str, how the note names a file

    Returns
    -------
    splits : dict, source → split
    note : str or None
        Why no file is in validation (``validation=0``, a single file, or a single file per
        class), or None when some file is.
    """
    out = dict(splits)
    if 0.0 < fraction < 1.0 and out:
        groups: dict[str | None, list[str]] = {}
        for source in sorted(out):
            groups.setdefault(labels.get(source), []).append(source)
        for members in groups.values():
            if all(out[s] == "validation" for s in members):
                out[max(members, key=lambda s: (_score(s, seed), s))] = "train"
        if len(out) >= 2 and "validation" not in out.values():
            movable = [s for members in groups.values() if len(members) >= 2 for s in members]
            if movable:
                out[min(movable, key=lambda s: (_score(s, seed), s))] = "validation"
    if "validation" in out.values():
        return out, None
    if fraction == 0.0:
        return out, "validation=0"
    if not out:
        return out, f"no {what}"
    if len(out) == 1:
        return out, f"only one {what}: it is in train"
    return out, f"every class has a single {what}, each kept in train"


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
    audio_dir: PathLike | None,
    tail: str = "pad",
    class_folders: bool | None = None,
    splits: Sequence[str] | None = None,
    phase: str = "none",
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
        The class folders with tiles in train (see :func:`specimg.dataset.build`): the
        classes of torchvision ``ImageFolder(OUT_DIR / "train")``, in its index order.
    audio_dir : str, path-like or None
        The audio folder, recorded as given (None: not recorded, JSON null). The dataset
        is published with its ``specimg.json``, so :func:`specimg.dataset.build` passes it
        relative to the dataset folder, or None when that path would name the building
        machine (:func:`specimg.dataset.paths.audio_dir_entry`); nothing reads it back.
    tail : {"pad", "drop"}, what became of the last partial tile of a file
    class_folders : bool or None, whether the audio sits in class folders (None → ``bool(classes)``)
    splits : sequence of str or None, the split folders written (None → both, not yet known)
    phase : {"none", "if"}
        ``"if"``: the tiles carry an IF plane, described by a ``"phase"`` object
        (:func:`specimg.dataset.ifplane.description`); without one the key is absent.

    Returns
    -------
    dict, JSON-serialisable
    """
    out = {
        "format": DATASET_FORMAT,
        "version": DATASET_VERSION,
        "params": params.to_dict(),
        "tile": {"n_bins": params.n_bins, "n_frames": n_frames, "step_frames": step, "tail": tail},
        "min_level_db": min_level_db,
        "validation_fraction": validation,
        "seed": seed,
        "class_folders": bool(classes) if class_folders is None else bool(class_folders),
        "classes": classes,
        "splits": list(SPLITS if splits is None else splits),
        "audio_dir": None if audio_dir is None else str(audio_dir),
    }
    if phase != "none":
        from .ifplane import description

        out["phase"] = description(params)
    return out


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
        lacks ``"params"``; or is a link to a file outside its folder
        (:func:`~specimg.dataset.containment.inside`).
    """
    path = Path(out_dir)
    if path.is_dir():
        path = path / DATASET_JSON
    inside(path.parent, path.name, what="the dataset description")  # not a link out of its folder
    if not path.is_file():
        raise MissingFileError(
            f"no dataset description {str(path)!r}; pass the OUT_DIR of `specimg dataset build` or its {DATASET_JSON}"
        )
    data = read_json(path, what=repr(str(path)))  # FormatError: not JSON, too deep, 1e400, ...
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
        If a recorded value is not a positive integer, or more than :data:`~specimg.pictures.MAX_PIXELS`
        (no tile that wide can be read); the message names ``path``.
    """
    tile = data.get("tile")
    if not isinstance(tile, dict):
        return None, None
    out = []
    for key in ("n_frames", "step_frames"):
        value = tile.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise FormatError(f"\"tile\": {{\"{key}\": {value!r}}} of {str(path)!r} must be a positive integer")
        if value is not None and value > MAX_PIXELS:
            raise FormatError(f"\"tile\": {{\"{key}\": {value}}} of {str(path)!r} is out of range [1, {MAX_PIXELS}]: "
                              "no tile that wide can be read")  # fmt: skip
        out.append(value)
    return out[0], out[1]


def row_numbers_error(row: Mapping[str, Any]) -> str | None:
    """Why a number of the manifest row ``row`` is out of its range, or None (absent columns pass).

    ``channel`` must be an integer below :data:`MAX_AUDIO_CHANNELS`; ``frame``, ``offset`` and
    ``padded_frames`` integers in [0, :data:`MAX_COUNT`]; ``peak_db`` and ``rms_db`` numbers
    within ±:data:`~specimg.params.MAX_DB`.

    Examples
    --------
    >>> row_numbers_error({"frame": 32, "peak_db": -23.5}) is None
    True
    >>> row_numbers_error({"frame": 32, "peak_db": 1e300})
    'peak_db=1e+300 is out of range [-1000, 1000]'
    """
    for key, hi in (("channel", MAX_AUDIO_CHANNELS - 1), ("frame", MAX_COUNT), ("offset", MAX_COUNT),
                    ("padded_frames", MAX_COUNT), ("peak_db", MAX_DB), ("rms_db", MAX_DB)):  # fmt: skip
        if key in row:
            why = out_of_range(key, row[key], -hi if key.endswith("_db") else 0, hi, integer=not key.endswith("_db"))
            if why is not None:
                return why
    return None


# ---------------------------------------------------------------------------- dataset card
def dataset_card(description: dict[str, Any]) -> str:
    """The text of ``OUT_DIR/README.md``: a dataset card whose YAML front matter declares the
    features and the splits for Hugging Face ``datasets``.

    ``datasets.load_dataset(OUT_DIR)`` reads it and gives the ``label`` column as a
    ``ClassLabel`` whose names are ``description["classes"]`` (so its indices are those of
    ``specimg.json`` and of torchvision ``ImageFolder``). ``load_dataset("imagefolder",
    data_dir=OUT_DIR)`` does not read the card: the manifests' ``label`` column then arrives
    as strings (the same names); ``.cast_column("label", ClassLabel(names=classes))``
    turns them into the same indices.

    The card names the audio folder only by a relative ``"audio_dir"``; an absolute one,
    as older builds stored, is left out (the card is published with the dataset).

    Parameters
    ----------
    description : dict, the content of ``specimg.json`` (:func:`describe`)

    Returns
    -------
    str, YAML front matter (``configs`` with the split folders and the features,
    ``dataset_info`` with the features) and a short Markdown body
    """
    classes = list(description.get("classes") or [])
    splits = list(description.get("splits") or [])
    p = description["params"]
    audio_dir = description.get("audio_dir")  # an older build's may be absolute: not repeated here
    origin = f"`{audio_dir}` (relative to this folder)" if is_relative_entry(audio_dir) else "a folder of audio files"
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    features = ["- name: image", "  dtype: image"]
    for name, dtype in MANIFEST_COLUMNS:
        if name == "label":
            if not classes:
                continue
            features += ["- name: label", "  dtype:", "    class_label:", "      names:"]
            features += [f"        {q(str(i))}: {q(c)}" for i, c in enumerate(classes)]
        else:
            features += [f"- name: {name}", f"  dtype: {dtype}"]
    lines = ["---"]
    if splits:
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for split in splits:
            lines += [f"  - split: {split}", f"    path: {q(split + '/**')}"]
        lines += ["  features:"] + [f"  {f}" for f in features]
    lines += ["dataset_info:", "  features:"] + [f"  {f}" for f in features]
    lines += ["---", ""]
    depth = int(p.get("bit_depth", 8))
    top = int(pixel_max(depth))
    lines += [
        "# specimg spectrogram tiles",
        "",
        f"Mel spectrogram tiles ({description['tile']['n_bins']} bands × {description['tile']['n_frames']} frames, "
        f"{depth}-bit grayscale PNG) made by `specimg dataset build` from {origin}. "
        f"Every tile is on one absolute scale: pixel value p is `{p['db_min']:g} + p / {top} × "
        f"({p['db_max']:g} − ({p['db_min']:g}))` dB re {p.get('ref', 1.0)!r} (full scale); low frequencies at the "
        "bottom. `specimg.json` holds every parameter needed to turn a tile back into audio "
        "(`specimg.dataset.decode_batch`).",
        "",
        f"Splits: {', '.join(splits) if splits else 'none (no tiles)'}. "
        + (f"Classes ({len(classes)}, in label-index order): {', '.join(classes)}." if classes else "No classes."),
        "",
        "```python",
        "import datasets",
        "ds = datasets.load_dataset(OUT_DIR)  # this card: labels as ClassLabel, indices as in specimg.json",
        "```",
        "",
        *(
            [
                "Phase: every tile is a gray + alpha PNG whose alpha channel is the instantaneous frequency (IF, "
                "GANSynth's IF on the mel rows, deviation from each band's centre) scaled to [-1, 1] as "
                "`v = 2 p / 255 - 1` (see `\"phase\"` in `specimg.json`). `torchvision.io.read_image` gives "
                "`[2, H, W]`, `specimg.dataset.TileDataset(OUT_DIR, planes=(\"magnitude\", \"if\"))` the two "
                "planes as floats, `ImageFolder` (converting to RGB) the magnitude only. Image viewers show the IF "
                "as transparency.",
                "",
            ]
            if description.get("phase")
            else []
        ),
        "`load_dataset(\"imagefolder\", data_dir=OUT_DIR)` ignores this card and gives the labels as strings "
        "(the manifests' `label` column). torchvision: `ImageFolder(OUT_DIR + \"/train\")` finds the same classes "
        "in the same order.",
        "",
    ]
    return "\n".join(lines)
