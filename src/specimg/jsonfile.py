"""The one reader of every JSON document specimg reads, bounded, failing with a :class:`FormatError`.

Image metadata, sidecars, ``--params`` files, and a dataset's ``specimg.json``, manifests,
``errors.jsonl``, ``.build/`` records and summary come from elsewhere (downloaded, copied,
edited): they are data. :func:`read_json` and :func:`read_json_lines` parse them with the
standard :mod:`json` module within limits checked *before* the parser runs, and turn every
failure into one :class:`~specimg.errors.FormatError` line that names the document (and
the line of a JSON Lines file) and the problem:

* **size**: at most ``max_bytes`` (:data:`MAX_BYTES`; a file is read no further than one
  byte past it, so ``/dev/zero`` is refused at once);
* **nesting**: at most ``max_depth`` (:data:`MAX_DEPTH`) levels of arrays and objects,
  counted by a scan of the brackets outside strings; CPython's parser recurses once per
  level and ends in a ``RecursionError`` near 1000 (10⁵ ``[`` in a 100 KB file);
* **numbers**: ``NaN``, ``Infinity`` and ``-Infinity`` (which :mod:`json` accepts), floats
  that overflow to infinity (``1e400``) and integers of more than :data:`MAX_INT_DIGITS`
  digits are refused. A finite but absurd value (a tile ``1e300`` frames wide) is legal
  JSON: the code that uses a value checks its range (:func:`out_of_range` words the reason);
* **keys**: an object that names a key twice is refused (readers would disagree on which
  value holds);
* **text**: a file is UTF-8 (UTF-16 and UTF-32 are recognised, as :func:`json.loads` does).

An ``OSError`` from opening or reading a file is not a format problem and is raised as it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import FormatError
from .messages import MESSAGE_LIMIT, shorten
from .resources import format_size

__all__ = [
    "MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "MAX_LINE_BYTES", "MAX_SIDECAR_BYTES", "out_of_range", "read_json",
    "read_json_lines",
]  # fmt: skip

#: Default bound of a JSON document, in bytes (characters for a ``str``): specimg's own
#: metadata, records and descriptions are a few KB.
MAX_BYTES = 64 << 20
#: Bound of a document that may hold the stored phase in base64 (a sidecar, FORMAT.md §7.4,
#: or such a file given as ``--params``): 3 GiB of phase, 16 bits a bin of 1.6·10⁹ bins.
MAX_SIDECAR_BYTES = 4 << 30
#: Default bound of one line of a JSON Lines file (a manifest row is about 250 bytes).
MAX_LINE_BYTES = 1 << 20
#: Default bound of the nesting of arrays and objects (specimg's own files nest a few levels).
MAX_DEPTH = 64
#: Most digits of an integer (2**64 has 20; Python refuses more than 4300 itself).
MAX_INT_DIGITS = 40

_NOT_MARK = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_CHUNK = 1 << 20


class _Refused(Exception):
    """A document over a limit: size, nesting, a number, a repeated key (raised through the decoder)."""


class _NotJSON(Exception):
    """The text is no JSON (a syntax error, or bytes that are no text)."""


def _depth(text: str) -> int:
    """Deepest nesting of arrays and objects in ``text``, brackets in strings left out.

    The escapes that matter go first (``\\\\`` then ``\\"``, so that no escaped quote
    ends a string), then everything but quotes and brackets; a bracket after an odd number
    of quotes is in a string (or in an unterminated one). Linear passes over the UTF-8
    bytes, then running sums in numpy, by chunks. For text that is not JSON the count may
    be off, but not on the part before the first syntax error, the only part the parser
    descends into.
    """
    import numpy as np

    data = text.encode("utf-8", "surrogatepass")  # no byte of a multi-byte character is ASCII
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    codes = np.frombuffer(data.translate(None, _NOT_MARK), dtype=np.uint8)
    step = np.full(256, -1, dtype=np.int8)
    step[[ord("["), ord("{")]] = 1
    step[ord('"')] = 0
    deepest = level = quotes = 0
    for start in range(0, codes.size, _CHUNK):
        chunk = codes[start : start + _CHUNK]
        in_string = (np.cumsum(chunk == ord('"'), dtype=np.int64) + quotes) % 2 == 1
        levels = np.cumsum(np.where(in_string, 0, step[chunk]), dtype=np.int64) + level
        deepest, level = max(deepest, int(levels.max())), int(levels[-1])
        quotes += int(np.count_nonzero(chunk == ord('"')))
    return deepest


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a finite number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {shorten(text)[1:-1]} is out of range for a float (it overflows to infinity)")
    return value


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {digits} digits, more than {MAX_INT_DIGITS}")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"the key {shorten(key)} appears twice in one object")
            seen.add(key)
    return out


#: The decoder of every document (``json.loads`` with hooks would make one per call).
_DECODER = json.JSONDecoder(parse_float=_float, parse_int=_int, parse_constant=_constant, object_pairs_hook=_object)


def _parse(data: bytes | str, max_bytes: int, max_depth: int, *, lines: bool = False) -> Any:
    """``data`` parsed; :class:`_Refused` for a limit, :class:`_NotJSON` for a syntax error."""
    if len(data) > max_bytes:
        unit = "characters" if isinstance(data, str) else "bytes"
        raise _Refused(f"larger than {format_size(max_bytes)} (more than {max_bytes:,} {unit})")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8" if lines else json.detect_encoding(data))
        except UnicodeDecodeError as exc:
            raise _NotJSON(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = data
    if text.count("[") + text.count("{") > max_depth and _depth(text) > max_depth:
        raise _Refused(f"nested deeper than {max_depth} levels")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise _NotJSON(f"{exc.msg} at column {exc.colno}" if lines else str(exc)) from None
    except RecursionError:  # not reached within max_depth; kept as the last guard
        raise _Refused("nested too deeply") from None


def _message(where: str, exc: Exception) -> str:
    return f"{where} is not valid JSON: {exc}" if isinstance(exc, _NotJSON) else f"{where}: {exc}"


def read_json(
    source: bytes | str | Path, *, what: str | None = None, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
    line: int | None = None,
) -> Any:  # fmt: skip
    """Parse one JSON document within limits (see the module's docstring).

    Parameters
    ----------
    source : bytes, str or Path
        The document (``bytes``: UTF-8, or UTF-16/32 as :func:`json.loads` detects; ``str``:
        the text), or a ``Path`` to read it from (at most ``max_bytes + 1`` bytes are read).
    what : str or None
        How messages name the document, e.g. ``"sidecar 'a.png.json'"``; by default the
        quoted path of a ``Path`` and ``"JSON text"`` otherwise.
    max_bytes : int
        Largest document accepted, in bytes (in characters for a ``str``).
    max_depth : int
        Deepest nesting of arrays and objects accepted.
    line : int or None
        The line of a file ``source`` was read from, for messages (``'x.jsonl' line 3: ...``).

    Returns
    -------
    object
        What :func:`json.loads` gives: dict, list, str, int, float, bool or None. Every
        float is finite and no object repeats a key.

    Raises
    ------
    FormatError
        ``"<what>[ line N] is not valid JSON: <why>"`` for a syntax error or bytes that are
        not text; ``"<what>[ line N]: <why>"`` for a limit (size, nesting, a number, a
        repeated key).
    OSError
        If the file cannot be read (``FileNotFoundError`` if it does not exist).

    Examples
    --------
    >>> read_json('{"sr": 22050, "window": ["tukey", 0.5]}')
    {'sr': 22050, 'window': ['tukey', 0.5]}
    >>> read_json("[" * 100_000 + "]" * 100_000, what="'deep.json'")
    Traceback (most recent call last):
    ...
    specimg.errors.FormatError: 'deep.json': nested deeper than 64 levels
    >>> len(read_json('{"name": "' + "[" * 100 + '"}')["name"])  # brackets in a string are text
    100
    >>> read_json('{"frames": 1e400}', what="'specimg.json'")
    Traceback (most recent call last):
    ...
    specimg.errors.FormatError: 'specimg.json': the number 1e400 is out of range for a float (it overflows to infinity)
    >>> read_json('{"peak_db": NaN}', what="'metadata.jsonl'", line=3)
    Traceback (most recent call last):
    ...
    specimg.errors.FormatError: 'metadata.jsonl' line 3: NaN is not a finite number
    >>> read_json('{"sr": 22050,', what="sidecar 'a.png.json'")
    Traceback (most recent call last):
    ...
    specimg.errors.FormatError: sidecar 'a.png.json' is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 14 (char 13)
    """
    if isinstance(source, Path):
        what = repr(str(source)) if what is None else what
        with open(source, "rb") as fh:
            source = _read_at_most(fh, max_bytes + 1)
    where = ("JSON text" if what is None else what) + ("" if line is None else f" line {line}")
    try:
        return _parse(source, max_bytes, max_depth)
    except (_Refused, _NotJSON) as exc:
        raise FormatError(_message(where, exc)) from None


def _read_at_most(fh: Any, n: int) -> bytes:
    """Up to ``n`` bytes of ``fh``, read in 1 MiB pieces: ``fh.read(n)`` sets ``n`` bytes
    aside before it reads, a raw MemoryError for a 4 GiB limit under ``ulimit -v``."""
    parts, total = [], 0
    while total < n:
        part = fh.read(min(1 << 20, n - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def read_json_lines(
    path: Path, *, what: str | None = None, max_bytes: int = 1 << 32, max_line_bytes: int = MAX_LINE_BYTES,
    max_depth: int = MAX_DEPTH, on_invalid: Callable[[FormatError], None] | None = None,
) -> Iterator[tuple[int, Any]]:  # fmt: skip
    """The values of a JSON Lines file (one JSON document per line, UTF-8), with their line numbers.

    Lines are split at ``\\n`` (a ``\\r`` before it is dropped) and numbered from 1; blank
    lines are skipped. The file is read line by line, no line further than
    ``max_line_bytes + 1`` bytes.

    Parameters
    ----------
    path : Path
        The file.
    what : str or None
        How messages name the file; by default its quoted path.
    max_bytes : int
        Largest file accepted, in bytes (4 GiB by default: 16 million manifest rows).
    max_line_bytes : int
        Longest line accepted, in bytes, its newline left out.
    max_depth : int
        Deepest nesting accepted in a line.
    on_invalid : callable or None
        If given, a line that is not JSON (a syntax error, or not UTF-8: what a write cut
        short leaves) is passed to it as a FormatError and skipped, instead of raised.
        Lines over a limit (size, nesting, numbers, repeated keys) are always raised.

    Yields
    ------
    (int, object)
        The line number and the value of each non-blank line.

    Raises
    ------
    FormatError
        ``"<what> line N is not valid JSON: <why>"`` or ``"<what> line N: <why>"``, as
        :func:`read_json`; ``"<what>: larger than ..."`` for the file.
    OSError
        If the file cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "metadata.jsonl"
    >>> _ = path.write_text('{"frame": 0}\\n\\n{"frame": 32}\\n' + "[" * 100 + "\\n")
    >>> list(read_json_lines(path, what="'metadata.jsonl'"))
    Traceback (most recent call last):
    ...
    specimg.errors.FormatError: 'metadata.jsonl' line 4: nested deeper than 64 levels
    >>> _ = path.write_text('{"frame": 0}\\n\\n{"frame": 32}\\n{"frame": 6')
    >>> list(read_json_lines(path, what="'metadata.jsonl'", on_invalid=print))
    'metadata.jsonl' line 4 is not valid JSON: Expecting ',' delimiter at column 12
    [(1, {'frame': 0}), (3, {'frame': 32})]
    """
    name = repr(str(path)) if what is None else what
    total = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(iter(lambda: fh.readline(max_line_bytes + 2), b""), 1):
            total += len(raw)
            if total > max_bytes:
                raise FormatError(f"{name}: larger than {format_size(max_bytes)} (at most {max_bytes:,} bytes)")
            data = raw.rstrip(b"\n").rstrip(b"\r") if raw.endswith(b"\n") else raw
            if not data.strip():
                continue
            try:
                value = _parse(data, max_line_bytes, max_depth, lines=True)
            except _Refused as exc:
                raise FormatError(_message(f"{name} line {number}", exc)) from None
            except _NotJSON as exc:
                error = FormatError(_message(f"{name} line {number}", exc))
                if on_invalid is None:
                    raise error from None
                on_invalid(error)
                continue
            yield number, value


def out_of_range(name: str, value: object, lo: float, hi: float, *, integer: bool = False) -> str | None:
    """Why ``value``, read from JSON as ``name``, is not a number in ``[lo, hi]``; None if it is.

    For the code that uses a value read by :func:`read_json`: JSON bounds no number, so a
    count, a duration or a level is checked against what it can mean before it is used.

    Parameters
    ----------
    name : str
        The value's name in the message.
    value : object
        The value read.
    lo, hi : int or float
        The range, both ends included.
    integer : bool
        Whether ``value`` must be an int (else an int or a float; never a bool).

    Returns
    -------
    str or None
        ``"<name>=<value> is not an integer"`` (or ``a number``), ``"<name>=<value> is out
        of range [lo, hi]"``, or None.

    Examples
    --------
    >>> out_of_range("n_frames", 1e300, 1, 2**31, integer=True)
    'n_frames=1e+300 is not an integer'
    >>> out_of_range("peak_db", 1.5e308, -1000, 1000)
    'peak_db=1.5e+308 is out of range [-1000, 1000]'
    >>> out_of_range("frame", 32, 0, 2**40, integer=True) is None
    True
    """
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        return f"{name}={shorten(value, MESSAGE_LIMIT // 3)} is not {'an integer' if integer else 'a number'}"
    if not lo <= value <= hi:
        return f"{name}={shorten(value, MESSAGE_LIMIT // 3)} is out of range [{_number(lo)}, {_number(hi)}]"
    return None


def _number(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"
