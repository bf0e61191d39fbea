"""The input files of :func:`specimg.dataset.decode_dir`: which files, in which order, how many tiles each.

Every input's size is checked here (from headers where possible) before anything is decoded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, MissingFileError, ParameterError
from ..params import SpectrogramParams
from ..pictures import picture_size
from .arrays import read_input_planes, split_planes
from .grids import grid_geometry, guess_grid
from .inputfiles import check_input

__all__ = [
    "ARRAY_EXTS", "INPUT_EXTS", "PICTURE_EXTS", "grid_of", "list_inputs", "natural_key", "parse_grid", "probe",
    "tiles_in",
]  # fmt: skip

#: Extensions :func:`specimg.dataset.decode_dir` reads.
INPUT_EXTS = (".png", ".tif", ".tiff", ".npy", ".npz", ".pt", ".pth")

#: The picture files among them: only these are cut as grids (``grid=``).
PICTURE_EXTS = (".png", ".tif", ".tiff")

#: The array and tensor files among them (any other file is read as a picture).
ARRAY_EXTS = (".npy", ".npz", ".pt", ".pth")


def parse_grid(grid: Any) -> tuple[int, int]:
    """``grid`` as (rows, cols); ParameterError unless it is a pair."""
    try:
        rows, cols = grid
    except (TypeError, ValueError):
        raise ParameterError(f"grid={grid!r} must be a pair (rows, cols)") from None
    return rows, cols



def natural_key(rel: Path) -> list[Any]:
    """Sort key comparing digit runs by value: img_2 before img_10."""
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", rel.as_posix())]


def list_inputs(folder: Path) -> list[Path]:
    """The input files under ``folder`` (relative paths, hidden ones left out), in :func:`natural_key` order.

    Raises
    ------
    MissingFileError
        If ``folder`` does not exist or holds no input file.
    """
    if not folder.is_dir():
        raise MissingFileError(f"no such folder: {str(folder)!r}")
    found = [
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.suffix.lower() in INPUT_EXTS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    if not found:
        raise MissingFileError(f"{str(folder)!r} holds no {', '.join(INPUT_EXTS)} files to decode")
    return sorted(found, key=natural_key)


def probe(path: Path, key: str | None) -> list[tuple[int, int]]:
    """(H, W) of every image of an input file; from the header for pictures and ``.npy``.

    The memory of reading the file is checked from its headers first
    (:func:`specimg.dataset.inputfiles.check_input`: ResourceError), for ``.npz`` and
    ``.pt`` by :func:`~specimg.dataset.arrays.read_input_planes` before it inflates anything.
    """
    ext = path.suffix.lower()
    if ext not in (".npz", ".pt", ".pth"):
        check_input(path, key)
    if ext == ".npy":
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise FormatError(f"{str(path)!r} is not a readable .npy array: {exc}") from None
        return [t.shape for t in split_planes(a)[0]]  # views of the memory map: the pixels are not read
    if ext in (".npz", ".pt", ".pth"):
        return [t.shape for t in read_input_planes(path, key=key)[0]]
    n, h, w = picture_size(path)  # from the header: FormatError if it is not a picture
    return [(h, w)] * n


def tiles_in(shapes: list[tuple[int, int]], path: Path, work: SpectrogramParams, grid: tuple[int, int] | None,
             grid_padding: int | None, tile_frames: int | None) -> int:  # fmt: skip
    """Tiles in a file of images ``shapes``, checked against the dataset before anything is decoded."""
    if grid is not None:
        rows, cols = parse_grid(grid)
        for h, w in shapes:
            try:
                grid_geometry(h, w, rows, cols, n_bins=work.n_bins, padding=grid_padding)
            except ParameterError as exc:
                raise ParameterError(f"{str(path)!r}: {exc}") from None
        return len(shapes) * rows * cols
    for h, w in shapes:
        if h != work.n_bins:
            hint = guess_grid(h, w, work.n_bins, tile_frames) if h > work.n_bins else None
            raise ParameterError(
                f"{str(path)!r} is {h} pixels high but the dataset's tiles have n_bins={work.n_bins} rows"
                + (f"; it looks like a torchvision save_image grid: pass {hint}" if hint else "")
            )
    return len(shapes)


def grid_of(rel: Path, grid: tuple[int, int] | None) -> tuple[int, int] | None:
    """``grid`` for a picture file; arrays and tensors hold tiles."""
    return grid if rel.suffix.lower() in PICTURE_EXTS else None
