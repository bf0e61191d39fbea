"""How a build stays consistent across interruptions: records, manifests, lock, sweep.

1. every tile is written to a temporary file that is renamed into place when complete;
2. after all tiles of a source file are written, a small record of that file (its tiles
   and their manifest rows) is written, atomically, to ``.build/<sha1 of its path>.json``
   (:func:`write_json`);
3. the manifests and ``errors.jsonl`` are only ever regenerated from the records
   (:func:`write_outputs`), so every row they list names a complete tile;
4. a rerun skips the files that have a record (:func:`load_records`), redoes the others
   (overwriting their stray tiles), and at the end deletes temporary files and tiles that no
   record lists (:func:`sweep`).

A second build into the same folder is refused while one runs (:func:`locked`), and a
rebuild with other settings is refused (:func:`check_compatible`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import FormatError, ParameterError
from ..formats import atomic_path
from .layout import (
    DATASET_FORMAT,
    ERRORS_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    RECORD_RE,
    SETTINGS,
    SPLITS,
    STATE_DIR,
    SUMMARY_NAME,
    TEMP_RE,
    TILE_RE,
    record_name,
)

__all__ = [
    "check_compatible",
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
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, allow_nan=False) + "\n", encoding="utf-8")


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
    with open(state / LOCK_NAME, "a+b") as fh:
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
    """Delete the temporary files an interrupted build left in ``out``, its state and its splits."""
    for top in (out, out / STATE_DIR, *(out / s for s in SPLITS)):
        if not top.is_dir():
            continue
        walker = os.walk(top) if top != out else [(str(out), [], os.listdir(out))]
        for root, _, names in walker:
            for name in names:
                if TEMP_RE.match(name):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(root, name))


def load_records(state: Path) -> dict[str, dict[str, Any]]:
    """The records of the files a previous run finished (or failed), by source path."""
    records = {}
    for entry in os.scandir(state):
        if not RECORD_RE.match(entry.name):
            continue
        try:
            record = json.loads(Path(entry.path).read_text(encoding="utf-8"))
            source = record["source"]
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)  # cannot happen with atomic writes; redo that file
            continue
        if entry.name == record_name(source):
            records[source] = record
    return records


def counts(records: Mapping[str, Mapping[str, Any]], scan_errors: Mapping[str, str]) -> dict[str, Any]:
    """Dataset-wide counts from the records: files done and failed, tiles, silent tiles,
    files too short, seconds of audio analysed."""
    done = [r for r in records.values() if r["status"] == "done"]
    return {
        "files_done": len(done),
        "files_failed": len(scan_errors) + sum(r["status"] == "failed" for r in records.values()),
        "tiles": sum(len(r["rows"]) for r in done),
        "silent_tiles": sum(int(r["silent"]) for r in done),
        "too_short_files": sum(bool(r["too_short"]) for r in done),
        "seconds": float(sum(float(r["seconds"]) for r in done)),
    }


def write_outputs(out: Path, records: Mapping[str, Mapping[str, Any]], scan_errors: Mapping[str, str]) -> None:
    """Regenerate both manifests, errors.jsonl and the counts from the records, atomically."""
    lines: dict[str, list[str]] = {s: [] for s in SPLITS}
    errors = dict(scan_errors)
    for source in sorted(records):
        rec = records[source]
        if rec["status"] == "done":
            lines[rec["split"]].extend(json.dumps(row, allow_nan=False) + "\n" for row in rec["rows"])
        else:
            errors[source] = rec["error"]
    write_json(out / STATE_DIR / SUMMARY_NAME, {"counts": counts(records, scan_errors)})
    for split in SPLITS:
        (out / split).mkdir(exist_ok=True)
        with atomic_path(out / split / MANIFEST_NAME) as tmp:
            tmp.write_text("".join(lines[split]), encoding="utf-8")
    with atomic_path(out / ERRORS_NAME) as tmp:
        tmp.write_text(
            "".join(json.dumps({"source": s, "error": errors[s]}) + "\n" for s in sorted(errors)), encoding="utf-8"
        )


def sweep(out: Path, records: Mapping[str, Mapping[str, Any]]) -> None:
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
                if TEMP_RE.match(name) or (
                    TILE_RE.search(name) and path.relative_to(out).as_posix() not in keep
                ):
                    with contextlib.suppress(OSError):
                        path.unlink()
            if Path(root) != top:
                with contextlib.suppress(OSError):
                    os.rmdir(root)  # only succeeds when empty
