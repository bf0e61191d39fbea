"""Blocks of frames kept for undo and redo: small ones in memory, large ones in a private
temporary folder (removed when the store is closed or dropped), written and read back a
few frames at a time so that neither costs a second copy of a whole-file block.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

__all__ = ["UndoStore", "Spilled", "Block", "SPILL_BYTES", "PIECE_FRAMES"]

#: Blocks of at least this many bytes go to the temporary folder.
SPILL_BYTES = 16 << 20
#: Frames written or read at a time.
PIECE_FRAMES = 2048


@dataclass(frozen=True)
class Spilled:
    """A block on disk: its file, shape and dtype (frames on the last axis, stored frame after frame)."""

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


Block = Union[np.ndarray, Spilled]  # noqa: UP007


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

    def paste(self, dest: np.ndarray, block: Block) -> None:
        """``dest[...] = block`` (``dest`` of the block's shape), reading a spilled block a piece at a time."""
        if not isinstance(block, Spilled):
            dest[...] = block
            return
        head, n = block.shape[:-1], block.shape[-1]
        per_frame = int(np.prod(head))
        with open(block.path, "rb") as f:
            for c in range(0, n, PIECE_FRAMES):
                k = min(PIECE_FRAMES, n - c)
                piece = np.fromfile(f, dtype=block.dtype, count=per_frame * k)
                dest[..., c : c + k] = piece.reshape((*head, k), order="F")

    def close(self) -> None:
        """Remove the temporary folder (the spilled blocks can no longer be read)."""
        if self._finalizer is not None:
            self._finalizer()
