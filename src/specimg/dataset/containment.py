"""A dataset folder is untrusted input: names read from it stay inside it, and nothing is
written or deleted through a symbolic link in it.

Datasets are downloaded, copied and shared, so their manifests, ``.build/`` records and
``specimg.json`` are data, and their folders may hold links. Every reader and writer of a
dataset goes through this module:

* **Names read from a file** (a manifest's ``file_name``, a class of ``specimg.json``, a
  tile of a record) pass :func:`check_name`: a relative path of plain parts, no absolute
  path or drive, no ``..``, ``.`` or empty part, no NUL. :func:`inside` also resolves the
  links on the way and refuses a name that then lies outside the dataset folder. Both
  raise :class:`~specimg.errors.FormatError`: the file that held the name is bad.
* **Writes and deletes** happen only where :func:`no_link` finds no symbolic link between
  the dataset folder and the target: the split folder, a class folder, ``.build/``, the
  file itself. It raises :class:`~specimg.errors.OutputError` naming the link.
  :func:`make_dirs` creates folders that way, :func:`walk` lists a tree that way (and
  stops at the first link in it).

The dataset folder itself may be a link (datasets live on other disks); a link inside it
may be read through when it leads to a place inside it (``validation`` → ``train``). This
defends against a crafted folder, not against someone changing the folder while specimg
works in it: a check and the write it guards are separate system calls.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from ..errors import FormatError, OutputError
from ..typing import PathLike

__all__ = ["Inside", "check_name", "first_link", "inside", "make_dirs", "no_link", "walk"]

#: Longest part of a refused name quoted in a message.
_QUOTE = 300


def check_name(name: object, *, what: str = "name") -> tuple[str, ...]:
    """The parts of ``name``, a relative ``/``-separated path read from a dataset file.

    Parameters
    ----------
    name : object
        The value read (a manifest's ``file_name``, a class name, ...).
    what : str
        What it is and where it was read, for the message (``"line 3 of 'x': file_name"``).

    Returns
    -------
    tuple of str
        Its parts, none empty, ``.`` or ``..``.

    Raises
    ------
    FormatError
        If ``name`` is not a non-empty string, holds a NUL, is absolute (``/``, ``\\``, a
        drive) or has an empty, ``.`` or ``..`` part (also between the separators of the
        running system).

    Examples
    --------
    >>> check_name("dog/bark__c0__f0000000.png")
    ('dog', 'bark__c0__f0000000.png')
    >>> check_name("../../outside/secret.png", what="file_name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    specimg.errors.FormatError: file_name '../../outside/secret.png' is not a path inside the dataset ...
    """
    if not isinstance(name, str) or not name:
        raise FormatError(f"{what} {_quote(name)} is not a file name (a non-empty string)")
    if "\0" in name:
        raise FormatError(f"{what} {_quote(name)} holds a NUL character; it cannot be a file name")
    parts = name.split("/")
    for sep in [s for s in (os.sep, os.altsep) if s and s != "/"]:  # Windows: '\' separates too
        parts = [q for p in parts for q in p.split(sep)]
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or any(p in ("", ".", "..") for p in parts):
        raise FormatError(
            f"{what} {_quote(name)} is not a path inside the dataset (a relative path without '..', '.' or empty parts)"
        )
    return tuple(parts)


class Inside:
    """Names checked against one dataset folder (:func:`inside`), each folder resolved once.

    Parameters
    ----------
    root : str or path-like
        The dataset folder (it may itself be a link).

    Examples
    --------
    >>> check = Inside("tiles")                                  # doctest: +SKIP
    >>> check("train/dog/bark__c0__f0000000.png", what="file_name")  # doctest: +SKIP
    PosixPath('tiles/train/dog/bark__c0__f0000000.png')
    """

    def __init__(self, root: PathLike) -> None:
        self.root = Path(root)
        self.real = _resolve(self.root, self.root, "the dataset folder")
        self._folders: dict[tuple[str, ...], Path] = {(): self.real}

    def __call__(self, name: object, *, what: str = "name") -> Path:
        """``root / name``, checked: see :func:`inside`."""
        parts = check_name(name, what=what)
        path = self.root.joinpath(*parts)
        folder = self._folders.get(parts[:-1])
        if folder is None:
            folder = self._folders[parts[:-1]] = _resolve(self.root.joinpath(*parts[:-1]), self.root, what)
        real = folder / parts[-1]
        if os.path.islink(real):
            real = _resolve(real, self.root, what)
        if not real.is_relative_to(self.real):
            link = first_link(self.root, path)
            through = f" through the link {str(link)!r} (to {_target(link)!r})" if link is not None else ""
            raise FormatError(
                f"{what} {_quote(name)} leads outside the dataset {str(self.root)!r}{through}; specimg reads "
                "nothing outside a dataset folder"
            )
        return path


def inside(root: PathLike, name: object, *, what: str = "name") -> Path:
    """``root / name`` for a ``name`` read from a dataset file, once it is known to lie inside ``root``.

    Parameters
    ----------
    root : str or path-like
        The dataset folder (it may itself be a link).
    name : object
        A relative ``/``-separated path (:func:`check_name`).
    what : str
        What ``name`` is and where it was read, for the message.

    Returns
    -------
    Path
        ``root`` joined with the parts of ``name`` (links not resolved).

    Raises
    ------
    FormatError
        If :func:`check_name` refuses ``name``, or it lies outside ``root`` once the links
        on the way (and the file itself, if a link) are resolved; the message names the link.
    """
    return Inside(root)(name, what=what)


def first_link(root: PathLike, path: PathLike) -> Path | None:
    """The first symbolic link on the way from ``root`` (left out) down to ``path`` (included).

    ``path`` must be ``root`` joined with further parts; the search stops at the first part
    that does not exist. None when there is no link.
    """
    current = Path(root)
    for part in _parts_below(current, Path(path)):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return None
        except OSError:  # not a folder on the way, no permission: the write itself will say
            return None
        if stat.S_ISLNK(mode):
            return current
    return None


def no_link(root: PathLike, path: PathLike) -> Path:
    """``path``, once no part of it below ``root`` is a symbolic link: call before writing or deleting it.

    Raises
    ------
    OutputError
        Naming the first link (:func:`first_link`) and where it leads.
    """
    link = first_link(root, path)
    if link is not None:
        raise OutputError(_link_message(link))
    return Path(path)


def make_dirs(root: PathLike, path: PathLike) -> Path:
    """Create the folder ``path`` and those missing between ``root`` (which exists) and it,
    as ``Path.mkdir(parents=True, exist_ok=True)`` does, refusing links on the way.

    Raises
    ------
    OutputError
        If a part of ``path`` below ``root`` is a symbolic link, naming it.
    FileExistsError
        If a part of it is a file.
    """
    current = Path(root)
    for part in _parts_below(current, Path(path)):
        current = current / part
        try:
            os.mkdir(current)
        except FileExistsError:
            pass
        mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            raise OutputError(_link_message(current))
        if not stat.S_ISDIR(mode):
            raise FileExistsError(f"{str(current)!r} is a file, not a folder")
    return Path(path)


def walk(root: PathLike, top: PathLike, *, topdown: bool = True) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top)`` for a folder ``top`` of the dataset ``root``, names sorted, that raises
    :class:`~specimg.errors.OutputError` at the first symbolic link: ``top`` or a folder
    above it (below ``root``), or an entry of the tree. A missing ``top`` gives nothing;
    with ``topdown``, pruning the yielded folder names is honoured as by ``os.walk``.
    """
    no_link(root, top)
    if os.path.isdir(top):
        yield from _walk(str(top), topdown)


def _walk(top: str, topdown: bool) -> Iterator[tuple[str, list[str], list[str]]]:
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError:  # vanished or unreadable, as os.walk ignores it
        return
    folders: list[str] = []
    files: list[str] = []
    for entry in entries:
        if entry.is_symlink():
            raise OutputError(_link_message(Path(entry.path)))
        (folders if entry.is_dir(follow_symlinks=False) else files).append(entry.name)
    if topdown:
        yield top, folders, files
    for name in folders:
        yield from _walk(os.path.join(top, name), topdown)
    if not topdown:
        yield top, folders, files


def _parts_below(root: Path, path: Path) -> tuple[str, ...]:
    """The parts of ``path`` after ``root`` (``root / ...`` as written, not resolved)."""
    parts = path.relative_to(root).parts
    if ".." in parts:
        raise OutputError(f"{str(path)!r} leaves the dataset folder {str(root)!r}; specimg writes only inside it")
    return parts


def _resolve(path: Path, root: Path, what: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a link loop
        raise FormatError(f"{what}: {str(path)!r} cannot be resolved ({exc}); a link loop in {str(root)!r}?") from None


def _target(link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "?"


def _link_message(link: Path) -> str:
    kind = "folder" if os.path.isdir(link) else "file"
    return (
        f"{str(link)!r} is a symbolic link (to {_target(link)!r}); specimg does not write or delete through links "
        f"in a dataset: replace it with a real {kind}"
    )


def _quote(name: object) -> str:
    return repr(name[:_QUOTE] if isinstance(name, str) else name)[: _QUOTE + 10]
