"""The one door to picture files: open, check the size, convert to gray.

Every module that reads a picture (``formats``, ``ops`` masks, ``legacy`` readers,
``dataset`` decode) reads it here, so the same file gives the same pixels whichever entry
point opens it:

* **Size first.** The pixel count is read from the header and refused above
  :data:`MAX_PIXELS` *before* any pixel is decoded (a 500-byte PNG can claim 10¹⁰ pixels).
* **One alpha rule.** Transparency is composited over black: a transparent pixel holds
  nothing, which on a spectrogram is the floor, in a mask "not painted". Palette images
  are expanded first.
* **One gray rule.** A colour picture whose three channels are equal is gray saved as RGB
  and is taken exactly; any other colour goes through ITU-R BT.601 luma
  (0.299 R + 0.587 G + 0.114 B), as Pillow's ``convert("L")`` does.
* **Types kept.** Gray pixels come back in the file's own dtype: ``uint8``, ``uint16``
  (Pillow's 32-bit ``"I"`` mode for 16-bit PNGs is narrowed), or float32 (TIFF); the
  pixel range of each dtype is :func:`specimg.image.full_scale`.

TIFF files are read with tifffile (one 2-D page per channel, or one RGB page); everything
else with Pillow. Every tifffile call runs inside :func:`tiff_log_captured`: what tifffile
logs about a damaged file becomes one :class:`~specimg.errors.FormatError` (or, for the
stored phase's tag, the caller's ``PhaseWarning``) instead of lines on the terminal, and
the IFD chain is walked no further than :data:`MAX_TIFF_PAGES` + 1 pages.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from .errors import FormatError, MissingFileError, ParameterError
from .image import full_scale
from .params import MAX_CHANNELS
from .resources import check_memory, picture_bytes

__all__ = [
    "PNG_KEYWORD", "MAX_PIXELS", "Picture", "PictureSource", "read_picture", "read_gray", "to_gray", "unit_gray",
    "picture_size", "write_png", "read_png_chunk", "png_text_chunks", "BT601", "MAX_TIFF_PAGES", "tiff_log_captured",
    "read_tiff_tag",
]  # fmt: skip

#: Largest picture read, in pixels over all pages: 2³¹ (4 GiB of 16-bit pixels; a
#: 30-minute stereo recording at hop 512 is ~330 M pixels).
MAX_PIXELS = 1 << 31

#: Most pages of a TIFF :func:`read_picture` reads: a specimg TIFF holds one page per
#: channel. A TIFF with more is refused when page ``MAX_TIFF_PAGES + 1`` is found, without
#: walking the rest of its chain (a 38 MB file can chain 300 000 pages).
MAX_TIFF_PAGES = MAX_CHANNELS

#: ITU-R BT.601 luma weights of R, G and B.
BT601 = np.array([0.299, 0.587, 0.114])

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: Keyword of the PNG iTXt chunk that holds the metadata (FORMAT.md).
PNG_KEYWORD = "specimg"
_GRAY_MODES = ("L", "I;16", "I;16B", "I;16L", "I", "F")

#: What :func:`read_picture` accepts.
PictureSource = Union[str, "os.PathLike[str]", IO[bytes], np.ndarray, Any]


@dataclass(frozen=True)
class Picture:
    """A picture as read from a file, a Pillow image or an array.

    Attributes
    ----------
    pixels : np.ndarray or None
        ``[shape=(H, W)]`` gray in the file's dtype, or ``[shape=(H, W, 3)]`` colour (alpha
        already composited over black); several TIFF pages are stacked vertically. None
        when only the header was asked for.
    text : str or None
        The PNG ``iTXt``/``tEXt`` chunk with keyword ``specimg``, or the first TIFF page's
        ImageDescription (whoever wrote it; callers check that it is theirs).
    n_pages : int or None
        Number of TIFF pages, None for other formats.
    size : tuple (n_pages, height, width)
        From the header: pages (1 unless TIFF), rows and columns of one page.
    mode : str
        Pillow's mode of the source (``"L"``, ``"RGBA"``, ...), or ``"tiff"``/``"array"``.
    exif : dict
        EXIF tags by number (empty when there are none).
    """

    pixels: np.ndarray | None
    text: str | None
    n_pages: int | None
    size: tuple[int, int, int]
    mode: str
    exif: dict[int, Any] = field(default_factory=dict)


def _check_size(n_pages: int, height: int, width: int, name: str) -> None:
    n = int(n_pages) * int(height) * int(width)
    if n > MAX_PIXELS:
        raise FormatError(
            f"{name} claims {width}×{height} pixels"
            + (f" on {n_pages} pages" if n_pages > 1 else "")
            + f" ({n:,}), more than the {MAX_PIXELS:,} specimg reads; it is not a spectrogram specimg wrote"
        )


def _check_decode_memory(size: tuple[int, int, int], mode: str, name: str) -> None:
    """ResourceError if decoding the pixels of a picture of header ``size`` is over the memory budget."""
    n_pages, height, width = size
    check_memory(
        picture_bytes(n_pages * height * width, mode),
        f"reading the pixels of {name} ({width}×{height}" + (f"×{n_pages} pages" if n_pages > 1 else "") + f", {mode})",
        "check that the file is the image you meant",
    )


_PILLOW_LOCK = threading.Lock()


@contextlib.contextmanager
def _pillow() -> Iterator[Any]:
    """Pillow with its decompression-bomb check handed to :func:`_check_size`.

    Pillow's limit is a global; the lock keeps two threads of ours from restoring it in
    the wrong order (which could leave the caller's own check switched off).
    """
    from PIL import Image

    with _PILLOW_LOCK:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield Image
        finally:
            Image.MAX_IMAGE_PIXELS = old


class _TiffLog(logging.Handler):
    """Each record to the innermost capture of its thread; other threads' where propagation would send them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.captures: dict[int, list[list[logging.LogRecord]]] = {}
        self.saved: tuple[bool, int] = (True, logging.NOTSET)

    def emit(self, record: logging.LogRecord) -> None:
        stack = self.captures.get(threading.get_ident())
        if stack:
            stack[-1].append(record)
        else:
            logging.getLogger().handle(record)


_TIFF_LOG = _TiffLog()
_TIFF_LOG_LOCK = threading.Lock()


@contextlib.contextmanager
def tiff_log_captured() -> Iterator[list[logging.LogRecord]]:
    """What tifffile logs in the block, kept instead of shown: wrap every tifffile call in it.

    tifffile logs what it finds damaged (an IFD loop; a tag whose values lie past the end
    of the file, which it drops) and reads on. Here the ``"tifffile"`` logger does not
    propagate: the records of this thread are appended to the list yielded, for the caller
    to turn into one FormatError or warning. Captures nest and may run in several threads.

    Yields
    ------
    list of logging.LogRecord

    Examples
    --------
    >>> with tiff_log_captured() as records:
    ...     logging.getLogger("tifffile").error("<tifffile.TiffPages @8> invalid page offset")
    >>> [r.getMessage() for r in records]
    ['<tifffile.TiffPages @8> invalid page offset']
    """
    logger = logging.getLogger("tifffile")
    ident = threading.get_ident()
    records: list[logging.LogRecord] = []
    with _TIFF_LOG_LOCK:
        if not _TIFF_LOG.captures:
            _TIFF_LOG.saved = (logger.propagate, logger.level)
            logger.addHandler(_TIFF_LOG)
            logger.propagate = False
            if logger.getEffectiveLevel() > logging.WARNING:
                logger.setLevel(logging.WARNING)
        _TIFF_LOG.captures.setdefault(ident, []).append(records)
    try:
        yield records
    finally:
        with _TIFF_LOG_LOCK:
            _TIFF_LOG.captures[ident].pop()
            if not _TIFF_LOG.captures[ident]:
                del _TIFF_LOG.captures[ident]
            if not _TIFF_LOG.captures:
                logger.removeHandler(_TIFF_LOG)
                logger.propagate, level = _TIFF_LOG.saved
                logger.setLevel(level)


_LOGGED_TAG = re.compile(r"TiffTag (\d+) @")
#: ``<TiffTag.fromfile> raised TiffFileError('<tifffile.TiffTag 273 @82> invalid ...')``: the inner message.
_RAISED = re.compile(r"""^<[^>]*> raised \w+\(['"](.*)['"]\)$""")
#: Tags from here on are private (TIFF 6.0 §2): other programs' data, none of the picture's.
_PRIVATE_TAGS = 32768


def _logged(records: list[logging.LogRecord], level: int, tags: Any = None) -> list[str]:
    """The messages of ``records`` at ``level`` and up about one of ``tags`` (numbers), or
    with ``tags=None`` about the picture: any but those about a private tag."""
    found = []
    for record in (r for r in records if r.levelno >= level):
        message = _RAISED.sub(r"\1", " ".join(record.getMessage().split()))
        m = _LOGGED_TAG.search(message)
        tag = int(m.group(1)) if m else None
        if (tag in tags) if tags is not None else (tag is None or tag < _PRIVATE_TAGS):
            found.append(message[:300])
    return found


def _tifffile_said(messages: list[str]) -> str:
    more = f" (and {len(messages) - 1} more tifffile messages)" if len(messages) > 1 else ""
    return f"tifffile: {messages[0]}{more}"


def _tiff_pages(tif: Any, name: str) -> list[Any]:
    """The pages of an open TiffFile, refusing a chain longer than :data:`MAX_TIFF_PAGES`
    or one that loops, after reading at most ``MAX_TIFF_PAGES + 1`` of its IFDs."""
    pages: list[Any] = []
    offsets: dict[int, int] = {}
    while len(pages) <= MAX_TIFF_PAGES:
        try:
            page = tif.pages.get(len(pages))
        except IndexError:
            break
        if page.offset in offsets:
            raise FormatError(
                f"{name} is not a readable TIFF (corrupt): its page {len(pages) + 1} is page {offsets[page.offset] + 1} "
                "again (the chain of pages loops)"
            )
        offsets[page.offset] = len(pages)
        pages.append(page)
    if len(pages) > MAX_TIFF_PAGES:
        raise FormatError(
            f"{name} holds more than {MAX_TIFF_PAGES} pages; a specimg TIFF holds one page per channel: it is not a "
            "spectrogram specimg wrote"
        )
    if not pages:
        raise FormatError(f"{name} is a TIFF without pages")
    return pages


def _kind(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_PNG_MAGIC):
        return "png"
    return "tiff" if head[:4] in _TIFF_MAGICS else "other"


def _over_black(data: np.ndarray) -> np.ndarray:
    """(H, W, 4) RGBA → (H, W, 3) RGB composited over black, same dtype."""
    full = full_scale(data.dtype)
    rgb = data[..., :3].astype(np.float64) * (data[..., 3:].astype(np.float64) / full)
    return np.rint(rgb).astype(data.dtype) if data.dtype.kind in "ui" else rgb.astype(data.dtype)


def _normalise(data: np.ndarray, name: str, keep_alpha: bool = False) -> np.ndarray:
    """An array from any reader → gray (H, W) or RGB (H, W, 3), the alpha rule applied
    (``keep_alpha``: gray + alpha stays (H, W, 2))."""
    if data.dtype == np.int32:  # Pillow's mode "I" for 16-bit data
        top = int(full_scale(np.uint16))
        if data.size and (int(data.min()) < 0 or int(data.max()) > top):
            raise FormatError(
                f"{name} holds 32-bit integer pixels {int(data.min())}..{int(data.max())}; specimg reads 8- and "
                f"16-bit pictures (0..{top}) and float ones in [0, 1]"
            )
        data = data.astype(np.uint16)
    if data.ndim == 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 3 and data.shape[-1] == 2 and not keep_alpha:  # gray + alpha
        data = _over_black(np.concatenate([np.repeat(data[..., :1], 3, axis=-1), data[..., 1:]], axis=-1))[..., 0]
    if data.ndim == 3 and data.shape[-1] == 4:
        data = _over_black(data)
    if not (data.ndim == 2 or (data.ndim == 3 and data.shape[-1] in ((2, 3) if keep_alpha else (3,)))):
        raise FormatError(f"{name} of shape {data.shape} is not a 2-D gray or (H, W, 3) colour picture")
    full_scale(data.dtype)  # a dtype with no picture meaning raises FormatError here
    return data


def _from_pillow(im: Any) -> np.ndarray:
    mode = im.mode
    if mode in _GRAY_MODES:
        return np.asarray(im)
    if mode == "1":
        return np.asarray(im.convert("L"))
    if mode in ("LA", "La"):
        return np.asarray(im.convert("LA"))
    if mode in ("RGBA", "RGBa") or "A" in mode or "transparency" in im.info:
        return np.asarray(im.convert("RGBA"))
    return np.asarray(im.convert("RGB"))


def _pillow_text(im: Any, kind: str) -> str | None:
    chunk = im.info.get(PNG_KEYWORD) if kind == "png" else None
    return chunk if isinstance(chunk, str) else None


def _read_tiff(path: Path, name: str, pixels: bool) -> Picture:
    import tifffile

    unreadable = f"{name} is not a readable TIFF (truncated or corrupt?)"
    with tiff_log_captured() as records:
        try:
            with tifffile.TiffFile(path) as tif:
                pages = _tiff_pages(tif, name)
                text = pages[0].description if isinstance(pages[0].description, str) else None
                height, width = (tuple(pages[0].shape) + (0, 0))[:2]
                size = (len(pages), int(height), int(width))
                if not (said := _logged(records, logging.ERROR)):  # else tifffile read past a damage
                    _check_size(*size, name)
                    if pixels:
                        _check_decode_memory(size, "tiff", name)
                    arrays = [p.asarray() for p in pages] if pixels else []
            if said := said or _logged(records, logging.ERROR):
                raise FormatError(f"{unreadable}: {_tifffile_said(said)}")
        except (FormatError, MemoryError):  # ResourceError is a MemoryError
            raise
        except Exception as exc:  # tifffile raises many kinds on corrupt input, having logged the cause
            said = _logged(records, logging.WARNING)
            raise FormatError(f"{unreadable}: {exc}" + (f" ({_tifffile_said(said)})" if said else "")) from None
    if not pixels:
        return Picture(None, text, len(pages), size, "tiff")
    if len(arrays) == 1 and arrays[0].ndim == 3 and arrays[0].shape[-1] in (3, 4):
        return Picture(_normalise(arrays[0], name), text, 1, size, "tiff")
    if any(a.ndim != 2 for a in arrays):
        raise FormatError(
            f"{name} holds pages of shape {[a.shape for a in arrays]}; specimg TIFFs hold one 2-D grayscale page "
            "per channel"
        )
    if len({a.shape for a in arrays}) != 1 or len({a.dtype for a in arrays}) != 1:
        raise FormatError(f"{name} holds pages of different sizes or types")
    data = np.concatenate(arrays, axis=0) if len(arrays) > 1 else arrays[0]
    return Picture(_normalise(data, name), text, len(arrays), size, "tiff")


def read_tiff_tag(path: str | os.PathLike[str], code: int, *, what: str) -> bytes | None:
    """The bytes of tag ``code`` (type BYTE or UNDEFINED) of the first page of a TIFF; None if it has none.

    Only the first page is read. tifffile drops a tag whose values lie past the end of the
    file (an absurd count), logging it; that log becomes the FormatError.

    ``what`` names the tag in messages (``"'a.tif': its phase tag"``).

    Raises
    ------
    FormatError
        If the file cannot be parsed, or the tag is there but cannot be read (its values
        past the end of the file) or holds numbers rather than bytes.
    """
    import tifffile  # on first use: reading a PNG does not load it

    with tiff_log_captured() as records:
        try:
            with tifffile.TiffFile(path) as tif:
                tag = tif.pages[0].tags.get(code)  # type: ignore[union-attr]
                value = None if tag is None else tag.value
        except Exception as exc:  # a TIFF tifffile cannot parse was refused by read_picture already
            said = _logged(records, logging.WARNING)
            raise FormatError(f"{what} cannot be read: {_tifffile_said(said) if said else exc}") from None
    if value is None and (said := _logged(records, logging.WARNING, (code,))):
        raise FormatError(f"{what} (tag {code}) cannot be read: {_tifffile_said(said)}")
    if value is not None and not isinstance(value, bytes):  # bytes(n) of a number n would allocate n bytes
        raise FormatError(f"{what} (tag {code}) holds {type(value).__name__} values, not bytes")
    return value


def read_picture(
    source: PictureSource, *, what: str = "image", pixels: bool = True, keep_alpha: bool = False
) -> Picture:
    """Open a picture and return its pixels (gray or RGB) and its specimg text.

    Parameters
    ----------
    source : str, path-like, binary file object, PIL.Image.Image or np.ndarray
        An array must be ``(H, W)``, ``(H, W, 1)``, ``(H, W, 2)`` (gray + alpha),
        ``(H, W, 3)`` or ``(H, W, 4)`` of a picture dtype (bool, uint8, uint16, float).
    what : str
        Name of the input, for messages (``"mask"``, ``"figure"``...).
    pixels : bool
        False reads the header only (size and text), never the pixel data.
    keep_alpha : bool
        True: a gray + alpha picture keeps its two planes, ``(H, W, 2)``, instead of gray
        composited over black. A gray + alpha PNG with specimg metadata (a dataset tile
        with an IF plane) gives its gray channel either way: its alpha is data, not opacity.

    Returns
    -------
    Picture

    Raises
    ------
    MissingFileError
        If a path does not exist.
    FormatError
        If the file is not a picture Pillow or tifffile can read, claims more than
        :data:`MAX_PIXELS` pixels (checked from the header, before decoding), or the array
        has no picture shape or dtype.
    ResourceError
        If decoding the pixels would need more memory than
        :func:`specimg.resources.memory_budget` (estimated from the header, before decoding).
    ParameterError
        If ``source`` is none of the accepted types.

    Examples
    --------
    >>> rgba = np.zeros((2, 2, 4), dtype=np.uint8); rgba[0] = 255   # top row opaque white
    >>> read_picture(rgba).pixels[..., 0]
    array([[255, 255],
           [  0,   0]], dtype=uint8)
    """
    if isinstance(source, np.ndarray):
        data = _normalise(np.asarray(source), what, keep_alpha)
        size = (1, int(data.shape[0]), int(data.shape[1]))
        return Picture(data if pixels else None, None, None, size, "array")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = repr(str(path)) if what == "image" else f"{what} {str(path)!r}"
        if not path.is_file():
            raise MissingFileError(f"no such file: {str(path)!r}" + ("" if what == "image" else f" (the {what})"))
        try:
            kind = _kind(path)
        except OSError as exc:
            raise FormatError(f"{name} cannot be read: {exc.strerror or exc}") from None
        if kind == "tiff":
            return _read_tiff(path, name, pixels)
        opened: Any = path
    elif hasattr(source, "read"):
        kind, name, opened = "stream", f"{what} {str(getattr(source, 'name', '<file>'))!r}", source
    elif type(source).__module__.startswith("PIL.") and hasattr(source, "mode"):
        kind, name, opened = "pillow", what, None
    else:
        raise ParameterError(f"{what}={source!r:.300} must be a file path, a binary file, a PIL image or a numpy array")
    try:
        with _pillow() as Image:
            with contextlib.ExitStack() as stack:
                im: Any = source if opened is None else stack.enter_context(Image.open(opened))
                if kind != "pillow" and im.format == "PNG":
                    kind = "png"
                width, height = im.size
                n_frames = int(getattr(im, "n_frames", 1) or 1) if im.format == "TIFF" else 1
                _check_size(n_frames, height, width, name)
                text = _pillow_text(im, kind)
                size = (1, int(height), int(width))
                if not pixels:  # getexif() would decode a PNG's pixels: header only means none
                    return Picture(None, text, None, size, im.mode)
                _check_decode_memory((n_frames, int(height), int(width)), im.mode, name)
                im.load()
                exif = dict(im.getexif()) if hasattr(im, "getexif") else {}
                data = _from_pillow(im)
    except (FormatError, MemoryError):  # ResourceError is a MemoryError
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        what_kind = "a readable PNG (truncated or corrupt?)" if kind == "png" else "an image Pillow can read"
        raise FormatError(f"{name} is not {what_kind}: {exc}") from None
    if text is not None and im.mode == "LA" and not keep_alpha:
        data = data[..., 0]  # a specimg gray + alpha PNG is a dataset tile: its alpha is the IF plane, not opacity
    return Picture(_normalise(data, name, keep_alpha), text, None, size, im.mode, exif)


def to_gray(pixels: np.ndarray, *, dtype: Any = None) -> np.ndarray:
    """Gray level of a picture, by the one gray rule of specimg.

    Parameters
    ----------
    pixels : np.ndarray [shape=(H, W) or (H, W, 3)]
        As :attr:`Picture.pixels`: alpha already composited.
    dtype : numpy dtype, optional
        Of the result. Default: the input's, rounding the luma of integer pictures;
        pass ``np.float64`` to keep its fraction. The scale stays the input's (0..255 for
        uint8, ...).

    Returns
    -------
    np.ndarray [shape=(H, W)]
        Equal-channel RGB gives channel 0 exactly; other colour the BT.601 luma.

    Examples
    --------
    >>> to_gray(np.array([[[255, 0, 0], [7, 7, 7]]], dtype=np.uint8))
    array([[76,  7]], dtype=uint8)
    """
    a = np.asarray(pixels)
    out_dtype = np.dtype(a.dtype if dtype is None else dtype)
    if a.ndim == 2:
        return a.astype(out_dtype, copy=False)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise FormatError(f"pixels of shape {a.shape} are not a gray or (H, W, 3) colour picture")
    if np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2]):
        return a[..., 0].astype(out_dtype)  # gray saved as RGB: exact
    gray = a.astype(np.float64) @ BT601
    if out_dtype.kind in "ui":
        gray = np.rint(gray)
    return gray.astype(out_dtype)


def unit_gray(pixels: np.ndarray) -> np.ndarray:
    """Gray level of a picture in [0, 1], keeping the fraction of the luma.

    Parameters
    ----------
    pixels : np.ndarray [shape=(H, W) or (H, W, 3)], as :attr:`Picture.pixels`

    Returns
    -------
    np.ndarray [shape=(H, W)], float64 in [0, 1]: :func:`to_gray` over the dtype's
    :func:`specimg.image.full_scale`.

    Examples
    --------
    >>> unit_gray(np.array([[[255, 0, 0]]], dtype=np.uint8))
    array([[0.299]])
    """
    a = np.asarray(pixels)
    return np.clip(to_gray(a, dtype=np.float64) / full_scale(a.dtype), 0.0, 1.0)


def read_gray(source: PictureSource, *, what: str = "image", dtype: Any = None) -> np.ndarray:
    """The gray pixels of a picture: :func:`to_gray` of :func:`read_picture`.

    Parameters
    ----------
    source : str, path-like, binary file object, PIL.Image.Image or np.ndarray
    what : str
        Name of the input, for messages.
    dtype : numpy dtype, optional
        As :func:`to_gray`.

    Returns
    -------
    np.ndarray [shape=(H, W)], the file's dtype (or ``dtype``); several TIFF pages stacked.

    Raises
    ------
    MissingFileError, FormatError, ParameterError
        As :func:`read_picture`.
    """
    picture = read_picture(source, what=what)
    assert picture.pixels is not None
    return to_gray(picture.pixels, dtype=dtype)


def picture_size(source: str | os.PathLike[str], *, what: str = "image") -> tuple[int, int, int]:
    """(n_pages, height, width) of a picture file, from its header only.

    Parameters
    ----------
    source : str or path-like
    what : str
        Name of the input, for messages.

    Returns
    -------
    tuple of int (n_pages, height, width)

    Raises
    ------
    MissingFileError, FormatError
        As :func:`read_picture`.
    """
    return read_picture(source, what=what, pixels=False).size


def write_png(
    target: str | os.PathLike[str] | IO[bytes], pixels: np.ndarray, *, text: str | None = None,
    compress_level: int | None = None, chunks: dict[bytes, bytes] | None = None,
) -> None:
    """Write a gray uint8/uint16 (or 8-bit gray + alpha) picture as PNG, with ``text`` in an ``iTXt`` chunk ``specimg``.

    Not atomic by itself: :func:`specimg.formats.atomic_path` gives the temporary path.

    Parameters
    ----------
    target : path or binary file object
    pixels : np.ndarray [shape=(H, W)], uint8 or uint16, or [shape=(H, W, 2)], uint8 (mode ``LA``)
    text : str, optional
    compress_level : int in [0, 9], optional (Pillow's default 6)
    chunks : dict of bytes to bytes, optional
        More chunks, by 4-letter type, written after the image data (before ``IEND``).

    Raises
    ------
    ParameterError
        If ``pixels`` is not 2-D uint8 or uint16, nor (H, W, 2) uint8.
    """
    from PIL import Image, PngImagePlugin

    a = np.asarray(pixels)
    two = a.ndim == 3 and a.shape[-1] == 2 and a.dtype == np.uint8
    if not two and (a.ndim != 2 or a.dtype not in (np.uint8, np.uint16)):
        raise ParameterError(
            f"a PNG holds 2-D uint8 or uint16 gray pixels (or (H, W, 2) uint8 gray + alpha), not {a.dtype} of shape "
            f"{a.shape}"
        )
    info = PngImagePlugin.PngInfo()
    if text is not None:
        info.add_itxt(PNG_KEYWORD, text)
    for chunk_type, data in (chunks or {}).items():
        info.add(chunk_type, data, after_idat=True)
    options = {} if compress_level is None else {"compress_level": compress_level}
    Image.fromarray(a).save(target, format="PNG", pnginfo=info, optimize=False, **options)


def png_text_chunks(path: str | os.PathLike[str], keyword: str = PNG_KEYWORD) -> int:
    """How many tEXt/zTXt/iTXt chunks named ``keyword`` a PNG holds before its image data.

    Pillow keeps only the last of two chunks with one keyword; this walks the chunk
    headers (a seek per chunk, up to the first IDAT) to see them all. 0 for a non-PNG.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> path = tempfile.mkdtemp() + "/a.png"
    >>> Image.new("L", (2, 2)).save(path)
    >>> png_text_chunks(path)
    0
    """
    key = keyword.encode("latin-1") + b"\0"
    count = 0
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return 0
        while len(head := f.read(8)) == 8 and head[4:] not in (b"IDAT", b"IEND"):
            length = int.from_bytes(head[:4], "big")
            n = min(length, len(key)) if head[4:] in (b"tEXt", b"zTXt", b"iTXt") else 0
            count += n == len(key) and f.read(n) == key
            f.seek(length - n + 4, os.SEEK_CUR)  # the rest of the data, then the CRC
    return count


def read_png_chunk(path: str | os.PathLike[str], chunk_type: bytes) -> bytes | None:
    """The data of the first chunk of ``chunk_type`` in a PNG file, CRC checked; None if it has none.

    Pillow drops chunks it does not know; this walks the chunk headers (a seek per chunk)
    and reads only the one asked for.

    Parameters
    ----------
    path : str or path-like, a PNG file
    chunk_type : bytes, 4 ASCII letters (``b"spHS"``)

    Returns
    -------
    bytes or None
        None also for a file that is not a PNG.

    Raises
    ------
    FormatError
        If the chunk is truncated or its CRC does not match its data.

    Examples
    --------
    >>> import io, tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> write_png(f, np.zeros((2, 2), np.uint8), chunks={b"abCD": b"hello"})
    >>> read_png_chunk(f, b"abCD"), read_png_chunk(f, b"xyZW")
    (b'hello', None)
    """
    name = f"{str(path)!r}"
    with open(path, "rb") as f:
        if f.read(8) != _PNG_MAGIC:
            return None
        while len(head := f.read(8)) == 8:
            length, kind = int.from_bytes(head[:4], "big"), head[4:]
            if kind == chunk_type:
                data, crc = f.read(length), f.read(4)
                if len(data) != length or len(crc) != 4:
                    raise FormatError(f"{name}: its {chunk_type.decode('latin-1')} chunk is truncated")
                if zlib.crc32(head[4:] + data) != int.from_bytes(crc, "big"):
                    kind_name = chunk_type.decode("latin-1")
                    raise FormatError(f"{name}: the CRC of its {kind_name} chunk does not match (corrupt)")
                return data
            if kind == b"IEND":
                return None
            f.seek(length + 4, os.SEEK_CUR)
    return None
