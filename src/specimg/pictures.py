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
else with Pillow.
"""

from __future__ import annotations

import contextlib
import os
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from .errors import FormatError, MissingFileError, ParameterError
from .image import full_scale
from .resources import check_memory, picture_bytes

__all__ = [
    "PNG_KEYWORD", "MAX_PIXELS", "Picture", "PictureSource", "read_picture", "read_gray", "to_gray", "unit_gray",
    "picture_size", "write_png", "read_png_chunk", "png_text_chunks", "BT601",
]  # fmt: skip

#: Largest picture read, in pixels over all pages: 2³¹ (4 GiB of 16-bit pixels; a
#: 30-minute stereo recording at hop 512 is ~330 M pixels).
MAX_PIXELS = 1 << 31

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

    try:
        with tifffile.TiffFile(path) as tif:
            pages = list(tif.pages)
            first = pages[0]
            text = first.description if isinstance(first.description, str) else None  # type: ignore[union-attr]
            shapes = [tuple(p.shape) for p in pages]  # type: ignore[union-attr]
            height, width = (shapes[0] + (0, 0))[:2]
            size = (len(pages), int(height), int(width))
            _check_size(*size, name)
            if not pixels:
                return Picture(None, text, len(pages), size, "tiff")
            _check_decode_memory(size, "tiff", name)
            arrays = [p.asarray() for p in pages]  # type: ignore[union-attr]
    except (FormatError, MemoryError):  # ResourceError is a MemoryError
        raise
    except Exception as exc:  # tifffile raises many kinds on corrupt input
        raise FormatError(f"{name} is not a readable TIFF (truncated or corrupt?): {exc}") from None
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
