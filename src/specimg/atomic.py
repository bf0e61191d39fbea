"""Atomic writes: a failure never leaves a partial file behind or clobbers an existing one.

Every write goes to a temporary file in the destination folder that is renamed into place
only once it is complete; several files (an image and its sidecar) are replaced together or
not at all, and leftovers of a killed writer are removed at the next write of the same file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from .errors import MissingFileError, ParameterError

__all__ = ["atomic_path", "atomic_paths"]

#: The temporary name :func:`atomic_path` gives a file while it is written:
#: ``.<name>.<8 random characters>.part`` (as :func:`tempfile.mkstemp` makes it).
_PART_RE = r"\.[a-z0-9_]{8}\.part"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, clean_stale: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    Temporary files of the same target left by an earlier, killed, writer
    (``.<name>.xxxxxxxx.part``) are removed first, unless ``clean_stale`` is False (for
    folders of many files whose writer sweeps them itself, such as a dataset build). An
    ``OSError`` while writing names ``path``, not the temporary file.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    clean_stale : bool
        Remove the leftover temporary files of ``path`` first.

    Raises
    ------
    ParameterError
        If ``path`` is a folder.
    MissingFileError
        If the folder of ``path`` does not exist.
    OSError
        If the file cannot be written (read-only folder, full disk), naming ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    with atomic_paths(path, clean_stale=clean_stale) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike, clean_stale: bool = True) -> Iterator[tuple[Path, ...]]:
    """Yield one temporary path beside each of ``paths``; rename them all into place on success.

    Every target is checked and every temporary file created before the body runs; after
    it, the files are renamed one by one, and if a rename fails, the targets already
    replaced get their earlier content back. So either all of ``paths`` are replaced or
    none is (an image and its sidecar, say); a crash between two renames (SIGKILL) may
    still leave the first new and the second old.

    Parameters
    ----------
    *paths : str or path-like
        The files to write, distinct.
    clean_stale : bool
        Remove leftover temporary files of the same targets first (see :func:`atomic_path`).

    Raises
    ------
    ParameterError, MissingFileError, OSError
        As :func:`atomic_path`, before any target is touched.
    """
    targets = [Path(p) for p in paths]
    for target in targets:
        if target.is_dir():
            raise ParameterError(f"{str(target)!r} is a folder; give a file name to write")
        if not target.parent.exists():
            raise MissingFileError(f"output folder {str(target.parent)!r} does not exist; create it first")
    temps: list[str] = []
    try:
        for target in targets:
            if clean_stale:
                _remove_stale(target)
            try:
                fd, tmp = _writable(target, functools.partial(tempfile.mkstemp, prefix=f".{target.name}.",
                                                              suffix=".part", dir=target.parent))  # fmt: skip
                temps.append(tmp)
            except BaseException:  # a Ctrl-C, or a stopped pool worker, between the file's creation and here
                _remove_stale(target)
                raise
            os.close(fd)
        try:
            yield tuple(Path(t) for t in temps)
        except OSError as exc:
            if exc.errno is not None and (exc.filename is None or str(exc.filename) in temps):
                failed = targets[temps.index(str(exc.filename))] if exc.filename is not None else targets[0]
                raise _naming(exc, failed) from None
            raise
        mode = 0o666 & ~_umask()  # mkstemp makes 0600; give what open() would
        for tmp in temps:
            os.chmod(tmp, mode)
        _replace_all(temps, targets)
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _replace_all(temps: list[str], targets: list[Path]) -> None:
    """Rename every temporary file onto its target; on a failure, put back the targets already replaced."""
    backups: list[tuple[Path, str | None]] = []  # (target, link to its earlier content or None if there was none)
    try:
        for i, (tmp, target) in enumerate(zip(temps, targets)):
            backup = None
            if i < len(targets) - 1 and os.path.lexists(target):  # the last one needs no way back
                backup = _writable(target, functools.partial(_link_aside, target))
            backups.append((target, backup))
            _writable(target, functools.partial(os.replace, tmp, target))
    except BaseException:
        for target, backup in backups[:-1]:  # the last one failed: it was not replaced
            with contextlib.suppress(OSError):
                if backup is None:
                    os.unlink(target)
                else:
                    os.replace(backup, target)
        raise
    finally:
        for _, backup in backups:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)


def _link_aside(target: Path) -> str:
    """A second name for ``target`` (a hard link, a copy of a symlink, or a copy), beside it."""
    fd, aside = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.unlink(aside)
    if target.is_symlink():
        os.symlink(os.readlink(target), aside)
    else:
        try:
            os.link(target, aside)
        except OSError:
            shutil.copy2(target, aside)
    return aside


_T = TypeVar("_T")


def _writable(target: Path, action: Callable[[], _T]) -> _T:
    """``action()``, with an ``OSError`` it raises naming ``target`` rather than a temporary file."""
    try:
        return action()
    except OSError as exc:
        raise _naming(exc, target) from None


def _naming(exc: OSError, target: Path) -> OSError:
    """An ``OSError`` of the same type and errno as ``exc``, whose message names ``target``."""
    message = f"cannot write {str(target)!r}: {exc.strerror or exc}"
    try:
        return type(exc)(exc.errno, message)
    except Exception:  # a subclass with another constructor
        return OSError(exc.errno, message)


def _remove_stale(target: Path) -> None:
    """Delete the temporary files of ``target`` that an interrupted writer left."""
    pattern = re.compile(re.escape(f".{target.name}") + _PART_RE + "$")
    try:
        names = [name for name in os.listdir(target.parent) if pattern.match(name)]
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(target.parent / name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
