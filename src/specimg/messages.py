"""Helpers for the text of error messages.

An error echoes the offending value so the user sees what was wrong, but a hostile or
accidental input can be huge (a 50 MB ``window`` string once gave a 150 MB error line):
:func:`shorten` caps the echo.
"""

from __future__ import annotations

__all__ = ["shorten", "MESSAGE_LIMIT"]

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
