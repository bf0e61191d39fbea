"""What a dataset holds: tile counts, hours of audio, levels, skipped and failed files.

:func:`stats` reads only the dataset description (``specimg.json``), the manifests
(``<split>/metadata.jsonl``), ``errors.jsonl`` and whatever counts the build recorded; it
opens tiles only to draw the optional contact sheet. :func:`format_stats` renders the
result as the text ``specimg dataset stats`` prints.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError
from ..formats import atomic_path, image_format
from ..image import pixel_dtype, requantize
from ..jsonfile import out_of_range, read_json, read_json_lines
from ..params import MAX_DB
from ..pictures import read_picture, to_gray, write_png
from ..typing import PathLike
from .containment import Inside, check_name, inside
from .layout import (
    DATASET_JSON,
    ERRORS_NAME,
    MANIFEST_NAME,
    MAX_COUNT,
    MAX_SECONDS,
    SPLITS,
    STATE_DIR,
    SUMMARY_NAME,
    description_params,
    read_description,
    row_numbers_error,
    tile_geometry,
)

__all__ = ["format_stats", "stats"]

#: Width in dB of the bins of the level histogram.
HIST_STEP_DB = 10.0

# Characters of the longest bar of the text histogram.
_BAR = 40


def _read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Objects of a JSON-lines file, and how many lines were not JSON objects (a build in
    progress may be writing the last one).

    A line over a limit of :func:`~specimg.jsonfile.read_json_lines` (nesting, size, a
    number JSON does not bound) or a row with a number out of its range
    (:func:`~specimg.dataset.layout.row_numbers_error`) is no interrupted write: FormatError
    naming the file and the line."""
    if not path.is_file():
        return [], 0
    rows: list[dict[str, Any]] = []
    cut: list[FormatError] = []  # lines that are not JSON
    bad = 0
    for number, row in read_json_lines(path, what=repr(str(path)), on_invalid=cut.append):
        if not isinstance(row, dict):
            bad += 1
            continue
        why = row_numbers_error(row)
        if why is not None:
            raise FormatError(f"{str(path)!r} line {number}: {why}")
        rows.append(row)
    return rows, bad + len(cut)


def _histogram(values: list[object], step: float = HIST_STEP_DB) -> dict[str, Any]:
    """Summary and fixed-width histogram (bins aligned to multiples of ``step``) of the dB values
    among ``values`` (manifest cells: anything not a finite number is left out)."""
    finite = np.asarray([v for v in values if isinstance(v, (int, float)) and math.isfinite(v)], dtype=np.float64)
    if finite.size == 0:
        return {"n": 0, "min": None, "median": None, "max": None, "edges": [], "counts": []}
    lo = math.floor(finite.min() / step) * step
    hi = max(math.ceil(finite.max() / step) * step, lo + step)
    if hi == finite.max():
        hi += step  # the top edge is exclusive: keep the maximum inside
    edges = np.arange(lo, hi + step / 2, step)
    counts, _ = np.histogram(finite, bins=edges)
    return {
        "n": int(finite.size),
        "min": float(finite.min()),
        "median": float(np.median(finite)),
        "max": float(finite.max()),
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
    }


def _histogram_text(hist: dict[str, Any], title: str) -> str:
    if not hist["n"]:
        return f"{title}: no tiles"
    lines = [f"{title} ({hist['n']} tiles; min {hist['min']:.1f}, median {hist['median']:.1f}, max {hist['max']:.1f} dB)"]
    top = max(hist["counts"]) or 1
    edges = hist["edges"]
    for lo, hi, count in zip(edges[:-1], edges[1:], hist["counts"]):
        bar = "█" * round(_BAR * count / top) if count else ""
        lines.append(f"  {lo:6.0f} … {hi:4.0f} dB  {bar:<{_BAR}}  {count}")
    return "\n".join(lines)


def _frames_covered(spans: list[tuple[int, int]]) -> int:
    """Frames in the union of half-open [start, stop) spans."""
    total, end = 0, -1
    for start, stop in sorted(spans):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def _build_counts(out_dir: Path, desc: dict[str, Any]) -> dict[str, Any]:
    """Counts the build recorded beyond the manifests: the ``"counts"`` object of
    ``.build/summary.json`` (and of ``specimg.json``, should it carry one).

    A summary that cannot be opened counts as none; one that is not JSON within the
    limits of :func:`~specimg.jsonfile.read_json`, or a count used here out of its range,
    is a FormatError naming the file."""
    found: dict[str, Any] = {}
    found.update(_checked_counts(desc.get("counts"), out_dir / DATASET_JSON))
    summary = inside(out_dir, f"{STATE_DIR}/{SUMMARY_NAME}", what="the build summary")
    try:
        data = read_json(summary, what=repr(str(summary)))
    except OSError:
        data = None
    if isinstance(data, dict):
        found.update(_checked_counts(data.get("counts"), summary))
    return found


def _checked_counts(counts: Any, path: Path) -> dict[str, Any]:
    """``counts`` (``{}`` if it is no object), once the numbers :func:`stats` uses are in range."""
    if not isinstance(counts, dict):
        return {}
    for key, hi in (("seconds", MAX_SECONDS), ("silent_tiles", MAX_COUNT), ("too_short_files", MAX_COUNT)):
        value = counts.get(key)
        why = out_of_range(key, value, 0, hi) if isinstance(value, (int, float)) else None  # others: not recorded
        if why is not None:
            raise FormatError(f"{str(path)!r}: \"counts\": {why}")
    return counts


def _first_int(counts: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = counts.get(key)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return None


def stats(out_dir: PathLike, *, contact_sheet: PathLike | None = None, n: int = 16, seed: int = 0) -> dict[str, Any]:
    """Figures of a dataset made by :func:`specimg.dataset.build`.

    Parameters
    ----------
    out_dir : str or path-like
        The dataset folder (with ``specimg.json``).
    contact_sheet : str or path-like or None
        If given, write a PNG here (atomically) showing ``n`` tiles drawn at random, in a
        grid, as 8-bit grayscale for viewing (the stored pixels scaled to 0…255, as the
        dataset stores them: low frequencies at the bottom when ``flip``).
    n : int > 0
        Tiles on the contact sheet (all of them if the dataset has fewer).
    seed : int
        Seed of the random choice of tiles.

    Returns
    -------
    dict
        ``tiles``: count per split and ``total``; ``classes``: per class label, count per
        split and ``total`` (empty without classes); ``sources``: source files with tiles,
        per split; ``seconds_of_audio`` and ``hours_of_audio``: audio the tiles cover,
        overlapping tiles counted once, per channel (a stereo file counts twice);
        ``seconds_in_tiles``: tiles × tile duration; ``source_seconds``: the audio the build
        analysed, every readable file once (None if not recorded); ``peak_db`` and ``rms_db``: histogram
        (``edges``, ``counts``, bins of :data:`HIST_STEP_DB`) and ``min``/``median``/``max``
        of the manifests' levels; ``histogram``: the peak-level histogram as text;
        ``skipped``: ``silent_tiles`` and ``too_short_files`` as the build recorded them
        (None when it did not); ``failed``: ``files`` (lines of ``errors.jsonl``) and
        ``sources``; ``consistency``: ``missing_files`` (in a manifest, not on disk),
        ``unlisted_files`` (PNG on disk in no manifest), ``bad_manifest_lines``;
        ``params`` and ``tile``: the geometry; ``build``: the raw counts found in
        ``.build/summary.json``; ``contact_sheet``: the path written or None, and
        ``contact_sheet_tiles``: the tiles drawn, row by row, relative to ``out_dir``.

    Raises
    ------
    MissingFileError, FormatError
        If ``out_dir`` holds no readable version-1 ``specimg.json``; FormatError if a
        manifest's ``file_name`` is not a relative path inside the dataset, or a file or
        folder read leads out of it through a link (:mod:`~specimg.dataset.containment`).
    ParameterError
        If ``n`` is not positive or ``contact_sheet`` is not a ``.png`` path.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n={n!r} must be a positive integer")
    if contact_sheet is not None and image_format(Path(contact_sheet)) != "png":
        raise ParameterError(f"contact_sheet={str(contact_sheet)!r} must be a .png file name")
    root = Path(out_dir)
    desc, desc_path = read_description(root)
    root = desc_path.parent
    params = description_params(desc, desc_path)
    tile_frames, step = tile_geometry(desc, desc_path)
    if tile_frames is None:
        raise FormatError(f"{str(desc_path)!r} lacks \"tile\": {{\"n_frames\": ...}}; see the dataset layout")
    level = desc.get("min_level_db")  # reported: a finite 1e300 is no level either
    if isinstance(level, (int, float)) and (why := out_of_range("min_level_db", level, -MAX_DB, MAX_DB)):
        raise FormatError(f"{str(desc_path)!r}: {why}")
    hop = params.hop_length

    tiles: dict[str, int] = {}
    sources: dict[str, set[str]] = {}
    classes: dict[str, Counter[str]] = defaultdict(Counter)
    spans: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    peaks: list[object] = []
    rms: list[object] = []
    bad_lines = 0
    listed: list[Path] = []
    check = Inside(root)  # nothing is read outside the dataset, names and links checked (containment)
    for split in SPLITS:
        manifest = check(f"{split}/{MANIFEST_NAME}", what=f"the {split!r} manifest")
        rows, bad = _read_jsonl(manifest)
        bad_lines += bad
        tiles[split] = len(rows)
        sources[split] = set()
        for row in rows:
            source = str(row.get("source", ""))
            sources[split].add(source)
            if "label" in row:
                classes[str(row["label"])][split] += 1
            frame = row.get("frame")
            channel = row.get("channel")
            if isinstance(frame, int):
                spans[(source, channel if isinstance(channel, int) else 0)].append((frame, frame + tile_frames))
            peaks.append(row.get("peak_db"))
            rms.append(row.get("rms_db"))
            if isinstance(row.get("file_name"), str):  # FormatError for '../x', '/x', a link out, ...
                where = f"a row of {str(manifest)!r}: file_name"
                check_name(row["file_name"], what=where)
                listed.append(check(f"{split}/{row['file_name']}", what=where))
    n_tiles = sum(tiles.values())
    tile_seconds = tile_frames * hop / params.sr
    covered = sum(_frames_covered(s) for s in spans.values()) * hop / params.sr

    errors, _ = _read_jsonl(check(ERRORS_NAME, what="the error list"))
    counts = _build_counts(root, desc)
    listed_set = set(listed)
    folders = [check(split, what="the split folder") for split in SPLITS]
    on_disk = {p for folder in folders if folder.is_dir() for p in folder.rglob("*.png")
               if not p.name.startswith(".")}  # fmt: skip
    peak_hist = _histogram(peaks)
    result: dict[str, Any] = {
        "out_dir": str(root),
        "params": {
            "sr": params.sr,
            "scale": params.scale,
            "n_bins": params.n_bins,
            "n_fft": params.n_fft,
            "hop_length": hop,
            "bit_depth": params.bit_depth,
            "db_min": params.db_min,
            "db_max": params.db_max,
        },
        "tile": {"n_bins": params.n_bins, "n_frames": tile_frames, "step_frames": step, "seconds": tile_seconds},
        "tiles": {**tiles, "total": n_tiles},
        "classes": {
            label: {**{s: c[s] for s in SPLITS}, "total": sum(c.values())} for label, c in sorted(classes.items())
        },
        "sources": {**{s: len(v) for s, v in sources.items()}, "total": len(set().union(*sources.values()))},
        "seconds_of_audio": covered,
        "hours_of_audio": covered / 3600.0,
        "seconds_in_tiles": n_tiles * tile_seconds,
        "source_seconds": float(counts["seconds"]) if isinstance(counts.get("seconds"), (int, float)) else None,
        "peak_db": peak_hist,
        "rms_db": _histogram(rms),
        "histogram": _histogram_text(peak_hist, "tile peak level, dB re full scale"),
        "skipped": {
            "silent_tiles": _first_int(counts, "silent_tiles"),
            "too_short_files": _first_int(counts, "too_short_files"),
        },
        "failed": {"files": len(errors), "sources": [str(e.get("source")) for e in errors]},
        "consistency": {
            "missing_files": len(listed_set - on_disk),
            "unlisted_files": len(on_disk - listed_set),
            "bad_manifest_lines": bad_lines,
        },
        "build": counts,
        "min_level_db": desc.get("min_level_db"),
        "contact_sheet": None,
    }
    if contact_sheet is not None:
        chosen = _chosen(sorted(listed_set & on_disk), n, seed)
        result["contact_sheet"] = str(_contact_sheet(chosen, Path(contact_sheet)))
        result["contact_sheet_tiles"] = [path.relative_to(root).as_posix() for path in chosen]
    return result


def _chosen(paths: list[Path], n: int, seed: int) -> list[Path]:
    if not paths:
        return []
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(paths), size=min(n, len(paths)), replace=False))
    return [paths[i] for i in idx]


def _contact_sheet(chosen: list[Path], out: Path) -> Path:
    """The tiles ``chosen`` in a grid as an 8-bit PNG, 2-pixel white gaps, written atomically."""
    if not chosen:
        raise ParameterError("the dataset has no tiles on disk to draw a contact sheet from")
    images = [requantize(_magnitude_pixels(path), 8) for path in chosen]  # same level, 8 bits for viewing
    h = max(im.shape[0] for im in images)
    w = max(im.shape[1] for im in images)
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    gap = 2
    white = np.iinfo(pixel_dtype(8)).max
    sheet = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), white, dtype=pixel_dtype(8))
    for k, im in enumerate(images):
        r, c = divmod(k, cols)
        sheet[r * (h + gap) : r * (h + gap) + im.shape[0], c * (w + gap) : c * (w + gap) + im.shape[1]] = im
    with atomic_path(out) as tmp:
        write_png(tmp, sheet)
    return out


def format_stats(result: dict[str, Any]) -> str:
    """The text report of a :func:`stats` result (what ``specimg dataset stats`` prints)."""
    t, p = result["tile"], result["params"]
    skipped, failed, cons = result["skipped"], result["failed"], result["consistency"]

    def count(value: int | None) -> str:
        return "not recorded" if value is None else str(value)

    splits = ", ".join(f"{s} {result['tiles'].get(s, 0)}" for s in SPLITS)
    lines = [
        f"dataset {result['out_dir']}",
        f"  tiles: {p['n_bins']} × {t['n_frames']} ({p['scale']}, {p['bit_depth']}-bit, sr {p['sr']} Hz, hop "
        f"{p['hop_length']}, {t['seconds']:.2f} s each, step {t['step_frames']} frames)",
        f"  tiles per split: {splits}, total {result['tiles']['total']} (from {result['sources']['total']} source files)",
    ]
    for label, c in result["classes"].items():
        per_split = ", ".join(f"{s} {c[s]}" for s in SPLITS)
        lines.append(f"    {label}: {per_split}, total {c['total']}")
    audio = (
        f"  audio in tiles: {result['hours_of_audio']:.3f} h ({result['seconds_of_audio']:.1f} s, channels "
        f"separately, overlaps once; {result['seconds_in_tiles']:.1f} s counting overlaps)"
    )
    if result["source_seconds"] is not None:
        audio += f"; audio analysed: {result['source_seconds'] / 3600:.3f} h ({result['source_seconds']:.1f} s)"
    failed_line = f"  failed files: {failed['files']}"
    if failed["files"]:
        failed_line += f" ({', '.join(failed['sources'][:5])}{', ...' if failed['files'] > 5 else ''})"
    lines += [
        audio,
        f"  skipped: silent tiles {count(skipped['silent_tiles'])} (below min_level_db={result['min_level_db']}), "
        f"files too short {count(skipped['too_short_files'])}",
        failed_line,
    ]
    if any(cons.values()):
        lines.append(
            f"  inconsistent: {cons['missing_files']} listed tile(s) missing, {cons['unlisted_files']} unlisted PNG(s), "
            f"{cons['bad_manifest_lines']} unreadable manifest line(s) (a build in progress or interrupted?)"
        )
    lines.append("")
    lines.append(result["histogram"])
    if result.get("contact_sheet"):
        lines.append("")
        lines.append(f"contact sheet: {result['contact_sheet']}")
    return "\n".join(lines)


def _magnitude_pixels(path: Path) -> np.ndarray:
    """The magnitude pixels of a tile: its gray channel (the alpha of a tile with an IF plane is data)."""
    pixels = read_picture(path, what="tile", keep_alpha=True).pixels
    assert pixels is not None
    return pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 2 else to_gray(pixels)
