"""Helpers for the text of error messages.

An error echoes the offending value so the user sees what was wrong, but a hostile or
accidental input can be huge (a 50 MB ``window`` string once gave a 150 MB error line):
:func:`shorten` caps the echo.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["shorten", "unopenable", "MESSAGE_LIMIT"]

#: Characters of an offending value an error message echoes at most.
MESSAGE_LIMIT = 300


def shorten(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """``repr(value)``, cut to about ``limit`` characters for an error message.

    Parameters
    ----------
    value : object
        The offending value; its ``repr`` is what a message shows (as ``{value!r}``).
    limit : int > 0
        Characters of the ``repr`` kept; a longer one is cut and ends in
        ``... (N characters)``.

    Returns
    -------
    str
        One line: newlines in a long ``repr`` are already escaped by ``repr`` for
        strings; for other objects they are replaced by spaces.

    Examples
    --------
    >>> shorten("hann")
    "'hann'"
    >>> shorten("x" * 1000, limit=10)
    "'xxxxxxxxx... (1002 characters)"
    """
    if isinstance(value, (str, bytes)) and len(value) > 4 * limit:
        text = repr(value[: 4 * limit])  # never build the repr of a huge string
        total = len(repr(value[:1])) + len(value) - 1 if value else len(text)
    else:
        text = repr(value)
        total = len(text)
    text = text.replace("\n", " ")
    if total <= limit:
        return text
    return f"{text[:limit]}... ({total} characters)"


def unopenable(path: Path, exc: BaseException) -> str:
    """Why the input file ``path`` cannot be opened, in one line (for a folder's report).

    Parameters
    ----------
    path : Path
        The file that failed to open.
    exc : BaseException
        What opening it raised.

    Returns
    -------
    str
        ``"a symbolic link loop"``, ``"a dangling symbolic link (to ...)"`` or
        ``"cannot open it: <reason>"``.
    """
    if path.is_symlink():
        if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
            return "a symbolic link loop"
        if isinstance(exc, FileNotFoundError):
            return f"a dangling symbolic link (to {os.readlink(path)[:MESSAGE_LIMIT]!r}, which does not exist)"
    reason = getattr(exc, "strerror", None) or str(exc)
    return f"cannot open it: {reason[:MESSAGE_LIMIT]}"
