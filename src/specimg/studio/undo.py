"""Blocks of frames kept for undo and redo: small ones in memory, large ones in a private
temporary folder (removed when the store is closed or dropped), written and read back a
few frames at a time so that neither costs a second copy of a whole-file block; and
read-only arrays kept in that folder and mapped into memory (the session's original).
"""

from __future__ import annotations

import mmap
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

__all__ = ["UndoStore", "Spilled", "SpillWriter", "Streamed", "Block", "SPILL_BYTES", "PIECE_FRAMES"]

#: Blocks of at least this many bytes go to the temporary folder.
SPILL_BYTES = 16 << 20
#: Frames written or read at a time.
PIECE_FRAMES = 2048


@dataclass(frozen=True)
class Spilled:
    """A block on disk: its file, shape and dtype (frames on the last axis, stored frame after
    frame), starting ``offset`` frames into the file."""

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    offset: int = 0

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


Block = Union[np.ndarray, Spilled]  # noqa: UP007


class SpillWriter:
    """A block written to disk a piece of frames at a time, of which a part is kept.

    Parameters
    ----------
    path : Path, the file (created)
    head : tuple of int, the block's shape without its last (frames) axis
    dtype : the block's dtype
    """

    def __init__(self, path: Path, head: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.path, self.head, self.dtype = path, head, np.dtype(dtype)
        self.frames = 0
        self.file: Any = open(path, "wb")  # noqa: SIM115 - closed by block()

    def write(self, piece: np.ndarray) -> None:
        """Append ``piece`` (``head`` + frames) after the frames written so far."""
        self.file.write(np.asarray(piece, dtype=self.dtype).tobytes(order="F"))
        self.frames += piece.shape[-1]

    def block(self, c0: int = 0, c1: int | None = None) -> Spilled:
        """The frames ``[c0, c1)`` written (None: up to the last), the file closed."""
        self.file.close()
        c1 = self.frames if c1 is None else c1
        return Spilled(self.path, (*self.head, c1 - c0), self.dtype, c0)


@dataclass
class Streamed:
    """A step an edit wrote into the pixels as it went: frames ``[a, b)`` and their blocks
    (pixels, then the stored phase's validity and column CRCs), before and after."""

    a: int
    b: int
    before: Block
    after: Block
    phase_before: tuple[Block, Block] | None
    phase_after: tuple[Block, Block] | None


class UndoStore:
    """Where a session keeps the blocks of its steps.

    Examples
    --------
    >>> store = UndoStore(spill_bytes=64)
    >>> block = store.keep(np.arange(40, dtype=np.uint16).reshape(4, 10))
    >>> isinstance(block, Spilled)
    True
    >>> out = np.zeros((4, 10), np.uint16)
    >>> store.paste(out, block)
    >>> int(out[3, 9]), store.spilled_bytes
    (39, 80)
    >>> store.close()
    """

    def __init__(self, spill_bytes: int = SPILL_BYTES) -> None:
        self.spill_bytes = spill_bytes
        self.folder: Path | None = None
        self.count = 0
        self.spilled_bytes = 0
        self._finalizer: weakref.finalize | None = None
        self.maps: list[mmap.mmap] = []

    def _file(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="specimg-studio-undo-"))
            self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.folder), True)
        self.count += 1
        return self.folder / f"{self.count}.bin"

    def keep(self, block: np.ndarray) -> Block:
        """A copy of ``block`` (frames on the last axis): in memory if small, else on disk."""
        if block.nbytes < self.spill_bytes:
            return np.array(block, copy=True)
        path = self._file()
        n = block.shape[-1]
        with open(path, "wb") as f:
            for c in range(0, n, PIECE_FRAMES):
                f.write(block[..., c : c + PIECE_FRAMES].tobytes(order="F"))
        self.spilled_bytes += block.nbytes
        return Spilled(path, tuple(block.shape), block.dtype)

    def writer(self, head: tuple[int, ...], dtype: np.dtype[Any]) -> SpillWriter:
        """A :class:`SpillWriter` for a block of frames with shape ``head + (frames,)``, in the folder."""
        return SpillWriter(self._file(), head, dtype)

    def mapped(self, array: np.ndarray) -> np.ndarray:
        """A read-only copy of ``array`` kept in the folder and mapped into memory.

        Its pages are read from the file (or the system's cache) when touched and stay
        resident until :meth:`release`; the map outlives :meth:`close`.

        >>> store = UndoStore()
        >>> m = store.mapped(np.arange(6, dtype=np.uint16).reshape(2, 3))
        >>> int(m[1, 2]), m.flags.writeable
        (5, False)
        >>> store.release(); int(m.sum())
        15
        >>> store.close()
        """
        path = self._file()
        np.ascontiguousarray(array).tofile(path)
        if array.nbytes == 0:
            return np.empty(array.shape, array.dtype)
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.maps.append(mm)
        return np.frombuffer(mm, dtype=array.dtype).reshape(array.shape)

    def release(self) -> None:
        """Drop the mapped arrays' pages from this process's memory (read again when touched)."""
        for mm in self.maps:
            if hasattr(mmap, "MADV_DONTNEED"):
                mm.madvise(mmap.MADV_DONTNEED)

    def paste(self, dest: np.ndarray, block: Block) -> None:
        """``dest[...] = block`` (``dest`` of the block's shape), reading a spilled block a piece at a time."""
        if not isinstance(block, Spilled):
            dest[...] = block
            return
        head, n = block.shape[:-1], block.shape[-1]
        per_frame = int(np.prod(head))
        with open(block.path, "rb") as f:
            f.seek(block.offset * per_frame * block.dtype.itemsize)
            for c in range(0, n, PIECE_FRAMES):
                k = min(PIECE_FRAMES, n - c)
                piece = np.fromfile(f, dtype=block.dtype, count=per_frame * k)
                dest[..., c : c + k] = piece.reshape((*head, k), order="F")

    def close(self) -> None:
        """Remove the temporary folder (the spilled blocks can no longer be read)."""
        if self._finalizer is not None:
            self._finalizer()
