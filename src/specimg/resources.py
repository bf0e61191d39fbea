"""Memory estimates made before work starts, and the budget they are checked against.

A 2 MB PNG can claim a billion pixels and a 500 KB image can hold metadata whose STFT
takes 12 GB to invert: every expensive step first estimates the memory it will need from
header sizes and parameters, and :func:`check_memory` refuses it with a
:class:`~specimg.errors.ResourceError` (one line: the estimate, the budget, the fix) when
it is over the budget.

The budget is, in order of precedence:

1. the value set with :func:`memory_limit` (the CLI's global ``--max-memory`` option);
2. the environment variable ``SPECIMG_MAX_MEMORY`` (``"2G"``, ``"512M"``, ``"1.5GiB"`` or a
   number of bytes; suffixes K, M, G, T are powers of 1024);
3. :data:`DEFAULT_FRACTION` of the memory available now (``MemAvailable`` of
   ``/proc/meminfo``, capped by a cgroup limit; ``os.sysconf`` elsewhere).

The estimates are deliberately simple, bytes per element × array sizes, with the
coefficients measured (peak RSS) on this code and written next to each function. They
are meant to be right within a factor of about 1.5, which is all a refusal needs.

Memory that a file asks for without holding the data itself (a zlib stream that inflates
1000-fold, a tensor view with stride 0, a picture header claiming 10⁹ blank pixels) has a
stricter rule on top, :func:`check_file_memory`: above :data:`FILE_MEMORY_CAP` the file's
data must not expand more than :data:`FILE_EXPANSION_LIMIT`-fold from the bytes stored,
unless the budget was set explicitly (then the budget alone applies).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator

from .errors import ParameterError, ResourceError

#: Set by the ``specimg`` command's Ctrl-C handler (:func:`specimg.cli.main`). The
#: ``KeyboardInterrupt`` it raises is lost where Python cannot raise it (in a ctypes callback
#: of numba's compiler it is printed as "Exception ignored" and the program goes on); the
#: process pools of :mod:`specimg.dataset` look at this too, so such a Ctrl-C still stops
#: the command before its workers run.
SIGINT_SEEN = threading.Event()

__all__ = [
    "DEFAULT_FRACTION",
    "ENV_VAR",
    "parse_size",
    "format_size",
    "available_memory",
    "memory_budget",
    "memory_limit",
    "check_memory",
    "FILE_MEMORY_CAP",
    "FILE_EXPANSION_LIMIT",
    "budget_is_explicit",
    "check_file_memory",
    "picture_bytes",
    "stft_bytes",
    "decode_bytes",
    "stored_phase_bytes",
    "locked_decode_bytes",
]

#: Share of the available memory one job may use when no budget is set.
DEFAULT_FRACTION = 0.5
#: Environment variable that sets the budget (read at each check).
ENV_VAR = "SPECIMG_MAX_MEMORY"
#: Memory a file may make specimg use whatever its data expands from (:func:`check_file_memory`).
FILE_MEMORY_CAP = 1 << 30
#: Above :data:`FILE_MEMORY_CAP`, the most a file's data may expand from the bytes it stores
#: (zlib reaches 1032:1 on blank data; spectrogram pixels, phase codes and generated tiles
#: stay under 10:1, a phase block of bins 1/50 present under 60:1).
FILE_EXPANSION_LIMIT = 64

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_FALLBACK_AVAILABLE = 4 << 30  # when the system does not say

_override: int | None = None

# Measured peak bytes per element (see the functions using them).
_STFT_BYTES_PER_BIN = 32
_DECODE_BYTES_PER_BLOCK_BIN = 88
_DECODE_BYTES_PER_BIN = 8
_DECODE_BLOCK_FRAMES = 2048


def parse_size(value: str | int | float, *, name: str = ENV_VAR) -> int:
    """Bytes from a size such as ``"2G"``, ``"512M"``, ``"1.5GiB"`` or ``1000000``.

    Parameters
    ----------
    value : str or number
        A number with an optional suffix K, M, G or T (powers of 1024, case-insensitive,
        optionally followed by ``B`` or ``iB``).
    name : str
        Where the value came from, for the message.

    Returns
    -------
    int > 0, bytes

    Raises
    ------
    ParameterError
        If the value is not such a size or is not positive.

    Examples
    --------
    >>> parse_size("2G"), parse_size("512m"), parse_size(1000)
    (2147483648, 536870912, 1000)
    """
    if isinstance(value, bool):
        raise ParameterError(f"{name}={value!r} must be a size such as 2G, 512M or a number of bytes")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        match = _SIZE.match(str(value))
        if match is None:
            raise ParameterError(f"{name}={str(value)[:300]!r} must be a size such as 2G, 512M or a number of bytes")
        number, unit = float(match.group(1)), match.group(2).upper()
    size = number * _UNITS[unit]
    if not 1 <= size < 1 << 62:
        raise ParameterError(f"{name}={str(value)[:300]!r} must be a positive size such as 2G or 512M")
    return int(size)


def format_size(n_bytes: float) -> str:
    """A byte count for messages: ``"11.8 GiB"``, ``"512 MiB"``, ``"3 KiB"``.

    Examples
    --------
    >>> format_size(12.6 * 2**30), format_size(512 * 2**20), format_size(10)
    ('12.6 GiB', '512 MiB', '10 B')
    """
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:.1f} {unit}" if value < 100 and unit in ("TiB", "GiB") else f"{value:.0f} {unit}"
    return f"{int(n_bytes)} B"


def _cgroup_room() -> int | None:
    """Bytes left under a cgroup v2 memory limit, or None if there is none."""
    try:
        limit = open("/sys/fs/cgroup/memory.max", encoding="ascii").read().strip()
        if limit == "max":
            return None
        used = int(open("/sys/fs/cgroup/memory.current", encoding="ascii").read().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


def available_memory() -> int:
    """Bytes of memory available to a new job now.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the free physical pages of
    :func:`os.sysconf`, else 4 GiB; capped by the room left under a cgroup v2 limit.
    """
    available: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        available = None
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            available = _FALLBACK_AVAILABLE
    room = _cgroup_room()
    return available if room is None else min(available, room)


def memory_budget() -> int:
    """Bytes one job may use: the :func:`memory_limit` value, else ``SPECIMG_MAX_MEMORY``,
    else :data:`DEFAULT_FRACTION` of :func:`available_memory`.

    Raises
    ------
    ParameterError
        If ``SPECIMG_MAX_MEMORY`` is set but is not a size.
    """
    if _override is not None:
        return _override
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return parse_size(env)
    return int(DEFAULT_FRACTION * available_memory())


def _budget_source() -> str:
    if _override is not None:
        return "set by --max-memory"
    if os.environ.get(ENV_VAR, "").strip():
        return f"{ENV_VAR}"
    return f"{DEFAULT_FRACTION:.0%} of the available memory"


@contextlib.contextmanager
def memory_limit(size: str | int | float | None) -> Iterator[int]:
    """Set the memory budget inside a ``with`` block (None: leave it as it is).

    The environment variable ``SPECIMG_MAX_MEMORY`` is set too for the block, so worker
    processes started inside it (dataset builds) inherit the budget. Both are restored
    on exit.

    Parameters
    ----------
    size : str, number or None
        As :func:`parse_size`.

    Yields
    ------
    int, the budget in bytes

    Examples
    --------
    >>> with memory_limit("1G") as budget:
    ...     budget == memory_budget() == 2**30
    True
    """
    global _override
    if size is None:
        yield memory_budget()
        return
    n_bytes = parse_size(size, name="max_memory")
    old_override, old_env = _override, os.environ.get(ENV_VAR)
    _override = n_bytes
    os.environ[ENV_VAR] = str(n_bytes)
    try:
        yield n_bytes
    finally:
        _override = old_override
        if old_env is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = old_env


def check_memory(need_bytes: float, what: str, fix: str | None = None) -> None:
    """Refuse a job whose estimated memory ``need_bytes`` is over :func:`memory_budget`.

    Parameters
    ----------
    need_bytes : float
        The estimate.
    what : str
        The job and the sizes that drive the estimate, e.g.
        ``"decode (n_fft=131072, 3000 frames)"``.
    fix : str, optional
        How to make the job smaller, e.g. ``"use a smaller n_fft"``.

    Raises
    ------
    ResourceError
        ``"decode (n_fft=131072, 3000 frames) needs ~13.4 GiB but the memory budget is
        6.0 GiB (50% of the available memory); use a smaller n_fft, or raise the budget with
        --max-memory or SPECIMG_MAX_MEMORY (e.g. 16G)"``.

    Examples
    --------
    >>> with memory_limit("1G"):
    ...     check_memory(2**20, "a small job")  # passes
    """
    budget = memory_budget()
    if need_bytes <= budget:
        return
    suggestion = format_size(need_bytes * 1.25).replace(" ", "").replace("iB", "")
    raise ResourceError(
        f"{what} needs ~{format_size(need_bytes)} but the memory budget is {format_size(budget)} "
        f"({_budget_source()}); " + (f"{fix}, or " if fix else "")
        + f"raise the budget with --max-memory or {ENV_VAR} (e.g. {suggestion})"
    )


def budget_is_explicit() -> bool:
    """Whether the budget was set (:func:`memory_limit`, ``--max-memory``, ``SPECIMG_MAX_MEMORY``), not the default share."""
    return _override is not None or bool(os.environ.get(ENV_VAR, "").strip())


def check_file_memory(
    need_bytes: float, data_bytes: float, stored_bytes: float, what: str, fix: str | None = None
) -> None:
    """Refuse reading a file that asks for far more memory than it holds, or more than the budget.

    A file's data that expands more than :data:`FILE_EXPANSION_LIMIT`-fold from the bytes
    it stores (a blank zlib stream, a tensor view with stride 0, a header claiming blank
    pixels) is read only while the job needs at most :data:`FILE_MEMORY_CAP`: spectrogram
    pixels, phase codes and generated tiles do not compress that well, so such a file is
    damaged or hostile, and a 500 KB file cannot take gigabytes. A budget set explicitly
    (:func:`budget_is_explicit`) lifts this rule. Then :func:`check_memory`.

    Parameters
    ----------
    need_bytes : float
        The estimated peak of the job.
    data_bytes : float
        The size of the file's data as the job expands it (inflated, all elements of a view).
    stored_bytes : float
        The bytes that data takes in the file (compressed, the tensor's storage, the file).
    what : str
        The job and the file, e.g. ``"reading the phase chunk of 'a.png' (262,148,000 bins)"``.
    fix : str, optional
        What else the user can do.

    Raises
    ------
    ResourceError
        One line: the sizes, the ratio, the rule and the fix.

    Examples
    --------
    >>> check_file_memory(2**20, 2**20, 10, "a small job")  # under the cap: passes
    >>> with memory_limit("4G"):
    ...     check_file_memory(2**31, 2**31, 10, "a job the user vouched for")  # explicit budget: passes
    """
    stored = max(float(stored_bytes), 1.0)
    if need_bytes > FILE_MEMORY_CAP and data_bytes > FILE_EXPANSION_LIMIT * stored and not budget_is_explicit():
        raise ResourceError(
            f"{what} needs ~{format_size(need_bytes)} for {format_size(data_bytes)} of data stored in "
            f"{format_size(stored)} ({data_bytes / stored:,.0f}:1); specimg reads more than "
            f"{format_size(FILE_MEMORY_CAP)} from a file only when its data expands at most {FILE_EXPANSION_LIMIT}:1 "
            "(real spectrograms, phase and tiles expand far less: the file is damaged or crafted); "
            + (f"{fix}, or, " if fix else "")
            + f"if you trust the file, set a memory budget with --max-memory or {ENV_VAR}, which lifts this limit"
        )
    check_memory(need_bytes, what, fix)


def picture_bytes(n_pixels: int, mode: str) -> int:
    """Peak bytes of decoding a picture of ``n_pixels`` pixels in Pillow ``mode`` to numpy.

    The decoder's own buffer plus the numpy copy and the conversions of
    :mod:`specimg.pictures`: 1-byte gray 2 B/pixel, 16-bit gray 6 B, 32-bit integer 10 B,
    float 8 B; colour modes 64 B (RGBA conversion and float64 alpha compositing);
    ``"tiff"`` (tifffile) 2 × the 4-byte worst case.

    Examples
    --------
    >>> picture_bytes(1000, "L"), picture_bytes(1000, "I;16")
    (2000, 6000)
    """
    per_pixel = {"1": 3, "L": 2, "P": 3, "I;16": 6, "I;16B": 6, "I;16L": 6, "I": 10, "F": 8, "tiff": 8}
    return int(n_pixels) * per_pixel.get(mode, 64)


def stft_bytes(n_samples: int, *, n_fft: int, hop_length: int, n_channels: int = 1) -> int:
    """Peak bytes of :func:`specimg.encode`: the STFT of ``n_samples`` samples.

    About 32 bytes per time-frequency bin (complex64 STFT 8, its float32 magnitude 4 and
    the stacked copy 4, dB and pixel chunks; measured 27–31 B), over all channels, plus
    the float64 audio.

    Examples
    --------
    >>> stft_bytes(22050, n_fft=2048, hop_length=512) // 2**20
    1
    """
    n_frames = 1 + int(n_samples) // int(hop_length)
    n_bins = int(n_fft) // 2 + 1
    return int(n_channels) * (n_bins * n_frames * _STFT_BYTES_PER_BIN + int(n_samples) * 8)


def decode_bytes(n_fft: int, n_frames: int, *, n_rows: int | None = None, length: int = 0) -> int:
    """Peak bytes of :func:`specimg.decode` for one channel (channels are decoded in turn).

    Phase reconstruction works in blocks of at most 2048 frames (see
    :func:`specimg.phase.griffin_lim`) over the ``n_fft // 2 + 1`` linear bins: about
    88 bytes per bin of a block (float32 magnitude, complex64 estimate, previous estimate
    and rebuilt STFT, the float32 frames of both transforms, PGHI's float64 phase;
    measured 88–105 B). Over the whole image: 8 bytes per bin (float32 magnitude and its
    conversion), plus the float32 output of ``length`` samples.

    Parameters
    ----------
    n_fft : int, FFT size
    n_frames : int, image columns
    n_rows : int, optional, image rows of one channel (mel bands); default the linear bins
    length : int, output samples

    Examples
    --------
    >>> decode_bytes(2048, 100) // 2**20
    9
    """
    n_bins = int(n_fft) // 2 + 1
    block = min(int(n_frames), _DECODE_BLOCK_FRAMES)
    rows = n_bins if n_rows is None else max(int(n_rows), n_bins)
    return (
        n_bins * block * _DECODE_BYTES_PER_BLOCK_BIN
        + rows * int(n_frames) * _DECODE_BYTES_PER_BIN
        + int(length) * 8
    )


def stored_phase_bytes(n_fft: int, n_frames: int, n_channels: int = 1) -> int:
    """Extra peak bytes of a stored phase (``encode(..., store_phase=True)``, or decoding a file that carries it).

    20 bytes per linear bin of every channel: the complex64 STFT the phase is taken from
    (8), its angle and its magnitude as float32 (8), the uint16 codes (2), the two masks
    (2); the block written to the file is at most 2 bytes per bin
    (:func:`specimg.stored_phase.phase_block_bytes`).

    Examples
    --------
    >>> stored_phase_bytes(2048, 100)
    2050000
    """
    return 20 * (int(n_fft) // 2 + 1) * int(n_frames) * int(n_channels)


def locked_decode_bytes(n_fft: int, n_frames: int) -> int:
    """Peak bytes of the phase-locked decode of one channel with stored phase, whole image at once.

    About 64 bytes per linear bin (measured 58): magnitude, phasors, the consistent STFT
    and its magnitude, the pixel cells, the ISTFT/STFT frames. :func:`specimg.decode`
    uses it when it fits the budget, and otherwise holds the stored phase in the
    block-wise reconstruction (:func:`decode_bytes`).

    Examples
    --------
    >>> locked_decode_bytes(2048, 100)
    6560000
    """
    return 64 * (int(n_fft) // 2 + 1) * int(n_frames)
