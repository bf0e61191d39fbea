"""How a build stays consistent across interruptions: records, manifests, lock, sweep.

1. every tile is written to a temporary file that is renamed into place when complete;
2. after all tiles of a source file are written, a small record of that file (its tiles
   and their manifest rows) is written, atomically, to ``.build/<sha1 of its path>.json``
   (:func:`write_json`);
3. the manifests, ``errors.jsonl``, ``.build/summary.json``, the dataset card and the
   classes and splits of ``specimg.json`` are only ever regenerated from the records
   (:func:`collect`, then :func:`write_outputs`), so every row they list names a complete tile;
4. a rerun skips the files that have a record (:func:`load_records`), redoes the others
   (overwriting their stray tiles), and at the end deletes temporary files and tiles that no
   manifest lists, then empty split folders (:func:`sweep`).

A second build into the same folder is refused while one runs (:func:`locked`), and a
rebuild with other settings is refused (:func:`check_compatible`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FormatError, ParameterError, SpecimgWarning
from ..formats import atomic_path
from ..jsonfile import out_of_range, read_json
from .containment import make_dirs, no_link, walk
from .layout import (
    CARD_NAME,
    DATASET_FORMAT,
    DATASET_JSON,
    ERRORS_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    MAX_AUDIO_CHANNELS,
    MAX_COUNT,
    MAX_SECONDS,
    RECORD_RE,
    SETTINGS,
    SPLITS,
    STATE_DIR,
    SUMMARY_NAME,
    TEMP_RE,
    TILE_RE,
    dataset_card,
    record_name,
    row_numbers_error,
    tile_name,
)

__all__ = [
    "Outputs",
    "check_compatible",
    "check_links",
    "check_record",
    "collect",
    "counts",
    "load_records",
    "locked",
    "remove_temporaries",
    "sweep",
    "write_json",
    "write_outputs",
]


def write_json(path: Path, obj: Mapping[str, Any]) -> None:
    """Write ``obj`` as one line of JSON (no NaN), atomically."""
    with atomic_path(path, clean_stale=False) as tmp:  # a build sweeps its temporaries itself
        tmp.write_text(json.dumps(obj, allow_nan=False) + "\n", encoding="utf-8")


def check_links(out: Path) -> None:
    """Refuse a dataset folder with a symbolic link where a build writes or deletes, before
    it touches anything: ``specimg.json``, the dataset card, ``errors.jsonl``, and
    ``.build/`` and the split folders with everything in them
    (:mod:`~specimg.dataset.containment`; ``out`` itself may be a link).

    Raises
    ------
    OutputError
        Naming the first link found and where it leads.
    """
    for name in (DATASET_JSON, CARD_NAME, ERRORS_NAME):
        no_link(out, out / name)
    for folder in (STATE_DIR, *SPLITS):
        for _ in walk(out, out / folder):
            pass


def check_compatible(path: Path, old: Any, new: dict[str, Any]) -> None:
    """Refuse to build into a dataset whose ``specimg.json`` (``old``, read from ``path``) has other settings.

    Raises
    ------
    FormatError
        If ``old`` is not a specimg dataset description.
    ParameterError
        Naming every setting (:data:`~specimg.dataset.layout.SETTINGS`, class folders) that differs.
    """
    if not isinstance(old, dict) or old.get("format") != DATASET_FORMAT:
        raise FormatError(f"{str(path)!r} is not a specimg dataset description; use an empty OUT_DIR")
    differ = []
    for key in SETTINGS:
        a, b = old.get(key), new.get(key)  # "phase" is absent without a phase plane
        if isinstance(a, dict) and isinstance(b, dict):
            differ += [f"{key}.{k} ({a.get(k)!r} → {b.get(k)!r})" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            differ.append(f"{key} ({a!r} → {b!r})")
    if "class_folders" not in old and bool(old.get("classes")) != bool(new["class_folders"]):  # older specimg.json
        differ.append("class folders (" + ("with → without" if old.get("classes") else "without → with") + ")")
    if differ:
        raise ParameterError(
            f"{str(path.parent)!r} holds a dataset built with other settings: {'; '.join(differ)}; "
            "build into a new OUT_DIR (or delete this one)"
        )


@contextlib.contextmanager
def locked(state: Path) -> Iterator[None]:
    """Refuse a second build into the same folder. A POSIX record lock: it belongs to this
    process only (not to forked workers) and dies with it, even on kill -9.

    Raises
    ------
    ParameterError
        If another build holds the lock.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with open(no_link(state.parent, state / LOCK_NAME), "a+b") as fh:
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


def remove_temporaries(out: Path) -> None:
    """Delete the temporary files an interrupted build left in ``out``, its state and its splits.

    Raises OutputError, deleting nothing more, at a symbolic link in ``.build/`` or a split
    (:func:`~specimg.dataset.containment.walk`) or named as a temporary file in ``out``."""
    for top in (out, out / STATE_DIR, *(out / s for s in SPLITS)):
        walker = walk(out, top) if top != out else [(str(out), [], os.listdir(out))]
        for root, _, names in walker:
            for name in names:
                if TEMP_RE.match(name):
                    path = no_link(out, Path(root, name))
                    with contextlib.suppress(OSError):
                        os.unlink(path)


def load_records(state: Path) -> dict[str, dict[str, Any]]:
    """The records of the files a previous run finished (or failed), by source path.

    A record is data, not trusted: one that is not valid JSON within the limits of
    :func:`~specimg.jsonfile.read_json` (nesting, size, ``1e400``, NaN) or that
    :func:`check_record` refuses (a split outside :data:`~specimg.dataset.layout.SPLITS`, a
    tile name that is not the tile's own, hence maybe outside OUT_DIR, a wrong type, a
    number out of range) is deleted, so that its file is built again: a bad record costs
    the work of one file, and the next run writes a good one, instead of failing (or
    hanging) every run that reads it.
    """
    records, damaged = {}, []
    for entry in os.scandir(no_link(state.parent, state)):
        if not RECORD_RE.match(entry.name):
            continue
        no_link(state.parent, Path(entry.path))  # read, maybe deleted: never through a link (OutputError)
        try:
            record = read_json(Path(entry.path))
        except (OSError, FormatError):
            record = None
        if check_record(record, entry.name) is not None:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)  # not written by a build: redo that file
            damaged.append(entry.name)
            continue
        records[record["source"]] = record
    if damaged:  # a build writes its records atomically: these came from elsewhere
        names = ", ".join(sorted(damaged)[:3]) + (f" and {len(damaged) - 3} more" if len(damaged) > 3 else "")
        warnings.warn(
            f"{len(damaged)} damaged record(s) in {str(state)!r} ({names}) were removed; their files are built again",
            SpecimgWarning,
            stacklevel=3,
        )
    return records


def _is_int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _source_error(source: Any) -> str | None:
    if not isinstance(source, str) or not source:
        return "source is not a file path"
    parts = source.split("/")
    if source.startswith("/") or "\0" in source or any(p in ("", ".", "..") for p in parts):
        return f"source {source[:300]!r} is not a relative path inside the audio folder"
    return None


def _row_error(row: Any, source: str, label: str | None) -> str | None:
    if not isinstance(row, dict):
        return "a manifest row is not an object"
    channel, frame = row.get("channel"), row.get("frame")
    if not (_is_int(channel) and _is_int(frame) and _is_int(row.get("offset"))):
        return "a manifest row has no integer channel, frame or offset"
    if "padded_frames" in row and not _is_int(row["padded_frames"]):  # optional: older builds
        return "a manifest row's padded_frames is not an integer"
    if any(key in row and not _is_number(row[key]) for key in ("peak_db", "rms_db")):
        return "a manifest row's peak_db or rms_db is not a finite number"
    why = row_numbers_error(row)  # 1e300 dB, frame 10**30: finite JSON numbers, out of range
    if why is not None:
        return f"a manifest row's {why}"
    if row.get("source") != source or row.get("label") != label:
        return "a manifest row names another source file or class"
    name = tile_name(source, int(channel), int(frame))  # type: ignore[arg-type]  # checked above
    expected = f"{label}/{name}" if label else name
    if row.get("file_name") != expected:
        return f"file_name {str(row.get('file_name'))[:300]!r} is not the tile's name {expected!r}"
    return None


def check_record(record: Any, name: str) -> str | None:
    """Why ``record``, read from ``.build/<name>``, cannot be trusted, or None if it is valid.

    A valid record is an object with a ``source`` (a relative path without ``..``) whose
    :func:`~specimg.dataset.layout.record_name` is ``name``, a ``stat`` of two integers and a
    ``status``: ``"failed"`` with an ``error`` string, or ``"done"`` with a ``split`` of
    :data:`~specimg.dataset.layout.SPLITS`, the class of its source (or None), numbers of the
    right types and ranges (:data:`~specimg.dataset.layout.MAX_COUNT` and its kin), and
    manifest rows whose ``file_name`` is exactly the name of their tile
    (:func:`~specimg.dataset.layout.tile_name`, under the class folder), so inside OUT_DIR.

    Examples
    --------
    >>> check_record({"source": "a.wav", "stat": [1, 2], "status": "failed", "error": "x"}, record_name("a.wav"))
    >>> check_record({"source": "a.wav", "stat": [1, 2], "status": "done", "split": "../../evil"},
    ...              record_name("a.wav"))
    "split '../../evil' is not one of train, validation"
    """
    if not isinstance(record, dict):
        return "not a JSON object"
    why = _source_error(record.get("source"))
    if why is not None:
        return why
    source: str = record["source"]
    if name != record_name(source):
        return f"its name is not that of the record of {source!r}"
    stat = record.get("stat")
    if not (isinstance(stat, list) and len(stat) == 2 and all(_is_int(v) for v in stat)):
        return "stat is not two integers"
    status = record.get("status")
    if status == "failed":
        return None if isinstance(record.get("error"), str) else "a failed record without an error"
    if status != "done":
        return f"status {str(status)[:300]!r} is not 'done' or 'failed'"
    for key in ("split", "plan"):
        if (key == "split" or key in record) and record.get(key) not in SPLITS:
            return f"{key} {str(record.get(key))[:300]!r} is not one of {', '.join(SPLITS)}"
    label = record.get("label")
    if label is not None and ("/" not in source or label != source.split("/", 1)[0]):
        return f"label {str(label)[:300]!r} is not the class folder of {source!r}"
    if not (_is_int(record.get("sr"), 1) and _is_int(record.get("n_samples")) and _is_int(record.get("n_channels", 1), 1)
            and _is_int(record.get("silent")) and _is_number(record.get("seconds"))
            and isinstance(record.get("too_short"), bool)):  # fmt: skip
        return "sr, n_samples, n_channels, silent, seconds or too_short has the wrong type"
    for key, hi in (("sr", MAX_COUNT), ("n_samples", MAX_COUNT), ("n_channels", MAX_AUDIO_CHANNELS),
                    ("silent", MAX_COUNT), ("seconds", MAX_SECONDS)):  # fmt: skip
        why = out_of_range(key, record.get(key, 1), 0, hi)  # the sums of all records stay finite
        if why is not None:
            return why
    if not isinstance(record.get("reason"), (str, type(None))):
        return "reason is not a string"
    rows = record.get("rows")
    if not isinstance(rows, list):
        return "rows is not a list"
    for row in rows:
        why = _row_error(row, source, label)
        if why is not None:
            return why
    return None


def counts(
    records: Mapping[str, Mapping[str, Any]], scan_errors: Mapping[str, str],
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None, *, n_frames: int = 0, hop_length: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Dataset-wide counts from the records and the manifest rows.

    ``files_done``, ``files_failed``, ``tiles`` (rows listed; all rows of the records when
    ``rows`` is None), ``silent_tiles``, ``padded_tiles``, ``too_short_files``, ``seconds``
    (of audio analysed, every readable file once, not per channel) and ``tiled_seconds``:
    the audio the listed tiles cover, padding left out, overlaps counted once, averaged over
    a file's channels (so that it compares with ``seconds``); 0 without ``n_frames`` and
    ``hop_length``.
    """
    done = [records[s] for s in sorted(records) if records[s]["status"] == "done"]  # sums in one order
    if rows is None:
        listed = [row for r in done for row in r["rows"]]
    else:
        listed = [row for split_rows in rows.values() for row in split_rows]
    spans: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for row in listed:
        real = n_frames - int(row.get("padded_frames", 0))
        spans.setdefault((row["source"], int(row["channel"])), []).append((int(row["frame"]), int(row["frame"]) + real))
    tiled = 0.0
    if n_frames and hop_length:
        for r in done:
            covered = 0
            for c in range(int(r.get("n_channels", 1))):
                end = 0
                for a, b in sorted(spans.get((r["source"], c), ())):
                    a, b = max(a * hop_length, end), min(b * hop_length, int(r["n_samples"]))
                    if b > a:
                        covered += b - a
                        end = b
            tiled += covered / max(int(r.get("n_channels", 1)), 1) / float(r["sr"])
    return {
        "files_done": len(done),
        "files_failed": len(scan_errors) + sum(r["status"] == "failed" for r in records.values()),
        "tiles": len(listed),
        "silent_tiles": sum(int(r["silent"]) for r in done),
        "padded_tiles": sum(int(row.get("padded_frames", 0)) > 0 for row in listed),
        "too_short_files": sum(bool(r["too_short"]) for r in done),
        "seconds": float(sum(float(r["seconds"]) for r in done)),
        "tiled_seconds": tiled,
    }


@dataclass(frozen=True)
class Outputs:
    """What the records of a build amount to: the content of every file :func:`write_outputs` writes.

    Attributes
    ----------
    rows : dict, split → manifest rows (only splits with tiles)
    classes : list of str, the class folders with tiles in train (in validation when train is
        empty), sorted: torchvision ``ImageFolder``'s classes and indices
    classes_dropped : list of (str, str), class folders left out of ``classes`` and why
    skipped : list of (str, str), source files that gave no listed tile and why, by source
    no_validation : str or None, why there is no validation split
    errors : dict, source → error of the files that failed
    counts : dict, from :func:`counts`
    """

    rows: dict[str, list[dict[str, Any]]]
    classes: list[str]
    classes_dropped: list[tuple[str, str]]
    skipped: list[tuple[str, str]]
    no_validation: str | None
    errors: dict[str, str]
    counts: dict[str, Any]

    @property
    def splits(self) -> list[str]:
        """The splits with tiles, in :data:`~specimg.dataset.layout.SPLITS` order."""
        return [s for s in SPLITS if s in self.rows]


def collect(
    records: Mapping[str, Mapping[str, Any]], scan_errors: Mapping[str, str], description: Mapping[str, Any],
    *, class_folders: Sequence[str] = (), validation_note: str | None = None,
) -> Outputs:  # fmt: skip
    """Everything the outputs of a build hold, from its records (see :class:`Outputs`).

    With class folders, the classes are those with a tile in train (in validation when no
    tile is in train): torchvision ``ImageFolder`` refuses a class folder without images,
    so a class without tiles there is left out of ``specimg.json`` and named in
    ``classes_dropped`` (with its tiles in the other split, which no label index could name).

    Parameters
    ----------
    records : the records by source (:func:`load_records` and those just made)
    scan_errors : source → why the build refused the file before reading it
    description : the content of ``specimg.json`` (its ``tile`` and ``params``)
    class_folders : the class folders found under ``audio_dir`` (empty without classes)
    validation_note : why the split plan put no file in validation, or None
    """
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    errors = dict(scan_errors)
    reasons: dict[str, str] = {s: f"failed: {e}" for s, e in scan_errors.items()}
    for source in sorted(records):
        rec = records[source]
        if rec["status"] == "done":
            rows[rec["split"]].extend(rec["rows"])
            if not rec["rows"]:
                reasons[source] = rec.get("reason") or ("too short" if rec["too_short"] else "silent")
        else:
            errors[source] = rec["error"]
            reasons[source] = f"failed: {rec['error']}"
    classes: list[str] = []
    dropped: list[tuple[str, str]] = []
    if class_folders:
        first = "train" if rows["train"] else "validation"
        classes = sorted({str(row["label"]) for row in rows[first]})
        for name in sorted(set(class_folders) - set(classes)):
            n_other = sum(row.get("label") == name for split in SPLITS for row in rows[split])
            why = (f"no tile in {first}; its {n_other} other tile(s) are left out" if n_other
                   else "no tile: every file of it was skipped")  # fmt: skip
            dropped.append((name, why))
        kept = set(classes)
        for split in SPLITS:
            lost = {str(row["source"]) for row in rows[split] if row.get("label") not in kept}
            for source in lost:
                reasons[source] = f"its class {source.split('/', 1)[0]!r} has no tile in {first}"
            rows[split] = [row for row in rows[split] if row.get("label") in kept]
    rows = {s: r for s, r in rows.items() if r}
    no_validation = None
    if "validation" not in rows:
        no_validation = validation_note or "the files chosen for validation gave no tile (see the skipped files)"
    tile = description.get("tile", {})
    totals = counts(records, scan_errors, rows, n_frames=int(tile.get("n_frames", 0)),
                    hop_length=int(description["params"].get("hop_length") or 0))  # fmt: skip
    totals["files_skipped"] = len(reasons)
    return Outputs(rows=rows, classes=classes, classes_dropped=dropped, skipped=sorted(reasons.items()),
                   no_validation=no_validation, errors=errors, counts=totals)  # fmt: skip


def write_outputs(out: Path, outputs: Outputs, description: dict[str, Any]) -> dict[str, Any]:
    """Write the manifests, ``errors.jsonl``, ``.build/summary.json``, the dataset card and
    ``specimg.json`` (``description`` with the classes and splits of ``outputs``), atomically.

    A split without tiles gets no manifest (one left by an earlier run is removed; its
    folder goes in :func:`sweep`). Returns the description written.
    """
    desc = {**description, "classes": outputs.classes, "splits": outputs.splits}
    summary = {
        "counts": outputs.counts,
        "splits": outputs.splits,
        "no_validation": outputs.no_validation,
        "classes": outputs.classes,
        "classes_dropped": [{"class": c, "reason": r} for c, r in outputs.classes_dropped],
        "skipped": [{"source": s, "reason": r} for s, r in outputs.skipped],
    }
    # never through a symbolic link in the dataset (OutputError naming it: containment.no_link)
    write_json(no_link(out, out / STATE_DIR / SUMMARY_NAME), summary)
    for split in SPLITS:
        manifest = no_link(out, out / split / MANIFEST_NAME)
        if split in outputs.rows:
            make_dirs(out, out / split)
            with atomic_path(manifest, clean_stale=False) as tmp:  # sweep() cleans
                tmp.write_text("".join(json.dumps(row, allow_nan=False) + "\n" for row in outputs.rows[split]),
                               encoding="utf-8")  # fmt: skip
        else:
            with contextlib.suppress(OSError):
                manifest.unlink()
    errors = outputs.errors
    with atomic_path(no_link(out, out / ERRORS_NAME)) as tmp:
        tmp.write_text(
            "".join(json.dumps({"source": s, "error": errors[s]}) + "\n" for s in sorted(errors)), encoding="utf-8"
        )
    card, card_path = dataset_card(desc), no_link(out, out / CARD_NAME)
    if not card_path.is_file() or card_path.read_text(encoding="utf-8") != card:
        with atomic_path(card_path) as tmp:
            tmp.write_text(card, encoding="utf-8")
    meta = no_link(out, out / DATASET_JSON)
    if read_json(meta, what=repr(str(meta))) != desc:
        write_json(meta, desc)
    return desc


def sweep(out: Path, outputs: Outputs) -> None:
    """Delete tiles no manifest lists (left by an interrupted run, a removed source or a
    dropped class) and temporary files, then empty class folders and split folders
    without tiles; then give validation an (empty) folder for every class it lacks, so
    that ``ImageFolder(OUT_DIR / "validation", allow_empty=True)`` finds the classes of
    ``specimg.json`` in its order (and without ``allow_empty`` says which class is missing,
    rather than shifting the indices)."""
    keep = {f"{split}/{row['file_name']}" for split, rows in outputs.rows.items() for row in rows}
    for split in SPLITS:
        top = out / split
        for root, dirs, names in list(walk(out, top, topdown=False)):  # the whole tree checked for links first
            for name in names:
                path = Path(root, name)
                if TEMP_RE.match(name) or (
                    TILE_RE.search(name) and path.relative_to(out).as_posix() not in keep
                ):
                    with contextlib.suppress(OSError):
                        path.unlink()
            if Path(root) != top or split not in outputs.rows:
                with contextlib.suppress(OSError):
                    os.rmdir(root)  # only succeeds when empty
    if "validation" in outputs.rows:
        for name in outputs.classes:
            make_dirs(out, out / "validation" / name)
