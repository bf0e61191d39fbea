"""Keep the building machine out of a dataset: the audio folder as a relative path, and
error messages without absolute paths.

A dataset folder is meant to be published (uploaded, copied to a cluster, shared), so
nothing :func:`specimg.dataset.build` writes into it may name the machine that built it:
no absolute path, no user name, no host name.

* :func:`audio_dir_entry` is the ``"audio_dir"`` of ``specimg.json`` (and of the dataset
  card): the audio folder relative to the dataset folder, such as ``"../sounds"``, or None
  when that path would itself name the machine (it would climb to the root, enter the home
  folder from outside, or pass a folder named after the user or the host).
* :func:`redact` rewrites the error messages kept in ``errors.jsonl`` and ``.build/``:
  the paths of the build's own files become relative, the home folder becomes ``~``.

A resume needs neither: the audio folder is given again on every run, and the records in
``.build/`` name source files relative to it.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path, PurePath

from ..typing import PathLike

__all__ = ["audio_dir_entry", "is_relative_entry", "redact"]

#: Shorter user or host names are matched as whole folder names only (a two-letter user
#: name would otherwise rule out most folders).
_MIN_SUBSTRING = 3

#: What may follow a whole path in a message: a separator, a quote, a space, punctuation, the end.
_PATH_END = r"(?=[\\/'\"\s:;,)\]]|$)"


def _home() -> Path | None:
    """The user's home folder, resolved, or None when it is unknown or the root."""
    try:
        home = Path.home().resolve()
    except (OSError, RuntimeError, KeyError):
        return None
    return None if home == Path(home.anchor) else home


def _machine_names() -> list[str]:
    """The user name, the home folder's name and the host name (whole and first label), lower-case."""
    names = []
    with contextlib.suppress(OSError, KeyError, ImportError):
        names.append(getpass.getuser())
    home = _home()
    if home is not None:
        names.append(home.name)
    with contextlib.suppress(OSError):
        host = socket.gethostname()
        names += [host, host.split(".", 1)[0]]
    return sorted({n.lower() for n in names if n})


def _names_machine(part: str, names: list[str]) -> bool:
    low = part.lower()
    return any(low == n or (len(n) >= _MIN_SUBSTRING and n in low) for n in names)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def audio_dir_entry(audio_dir: PathLike, out_dir: PathLike) -> str | None:
    """The audio folder as ``specimg.json`` records it: relative to the dataset folder.

    The relative path (``os.path.relpath`` of the resolved folders, ``'/'`` separators,
    such as ``"../sounds"``) names the folders between the two only, so it says nothing
    of where they lie, and stays right when both move together. When it would name the
    machine none is recorded: when the two folders share no folder but the root (the
    path would spell the audio folder's absolute path), lie on different drives, or when
    the way down to the audio folder enters the home folder from outside or passes a
    folder whose name holds the user name or the host name.

    Parameters
    ----------
    audio_dir : str or path-like
        The audio folder of the build.
    out_dir : str or path-like
        The dataset folder (it need not exist yet).

    Returns
    -------
    str or None
        The relative path, or None when it would name the machine.

    Examples
    --------
    >>> audio_dir_entry("/data/project/sounds", "/data/project/tiles")  # doctest: +SKIP
    '../sounds'
    >>> audio_dir_entry("/sounds", "/tiles") is None
    True
    """
    audio, out = Path(audio_dir).resolve(), Path(out_dir).resolve()
    try:
        rel = os.path.relpath(audio, out)
        common = Path(os.path.commonpath([audio, out]))
    except ValueError:  # different drives: there is no relative path
        return None
    if common == Path(common.anchor):
        return None
    home = _home()
    if home is not None and _inside(audio, home) and not _inside(common, home):
        return None
    names = _machine_names()
    if any(_names_machine(part, names) for part in audio.relative_to(common).parts):
        return None
    return PurePath(rel).as_posix()


def is_relative_entry(value: object) -> bool:
    """Whether an ``"audio_dir"`` read from a ``specimg.json`` is a relative path (one
    written before datasets recorded it relative may be absolute).

    Parameters
    ----------
    value : object
        The value read.

    Returns
    -------
    bool
        True for a non-empty string that is not absolute on POSIX or Windows (no leading
        ``/`` or ``\\``, no drive).

    Examples
    --------
    >>> is_relative_entry("../sounds"), is_relative_entry("/home/me/sounds"), is_relative_entry(None)
    (True, False, False)
    """
    if not isinstance(value, str) or not value:
        return False
    return not (value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value))


def redact(text: str, paths: Mapping[str, str]) -> str:
    """``text`` with the building machine's paths taken out, for a file of the dataset.

    Every key of ``paths`` (an absolute path, or the start of one) is replaced by its
    value, the longest first; then the home folder by ``~``.

    Parameters
    ----------
    text : str
        A message, such as the error of a file that could not be read.
    paths : mapping of str to str
        Path → what to write instead (a path relative to the audio or dataset folder).
        A key is replaced where it is a whole path or the start of one (followed by a
        separator, a quote, a space, punctuation or the end), or anywhere when it ends
        with a separator.

    Returns
    -------
    str

    Examples
    --------
    >>> redact("cannot read '/data/sounds/a.wav'", {"/data/sounds/a.wav": "a.wav"})
    "cannot read 'a.wav'"
    """
    for old in sorted((p for p in paths if p), key=len, reverse=True):
        text = _replace_path(text, old, paths[old])
    for form in _home_forms():
        text = _replace_path(text, form, "~")
    return text


def _replace_path(text: str, old: str, new: str) -> str:
    """Replace the path ``old`` where it is a whole path or the start of one: not
    ``/data/out`` in ``/data/output``, unless ``old`` ends with a separator."""
    end = "" if old.endswith(("/", "\\")) else _PATH_END
    return re.sub(re.escape(old) + end, lambda _: new, text)


def _home_forms() -> list[str]:
    """The home folder as given and resolved, longest first (none when unknown or the root)."""
    home = _home()
    if home is None:
        return []
    forms = {str(home)}
    with contextlib.suppress(OSError, RuntimeError, KeyError):
        given = Path.home()
        if given != Path(given.anchor):
            forms.add(str(given))
    return sorted(forms, key=len, reverse=True)
