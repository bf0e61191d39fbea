"""Reading and writing spectrogram images: PNG, TIFF, and sidecar JSON.

* PNG: 8- or 16-bit grayscale; the metadata JSON is an ``iTXt`` chunk with keyword
  ``specimg``. Channels are stacked vertically.
* TIFF: 8-, 16-bit or float32 grayscale, one page per channel; the metadata JSON is the
  ImageDescription of the first page.
* Sidecar: ``<image file name>.json`` holding the same JSON, for tools that strip metadata.
* Stored phase (:mod:`specimg.stored_phase`, FORMAT.md §7): a PNG chunk ``spHS`` after the
  image data, TIFF tag 65111 of the first page, and the ``"phase"`` member of the sidecar.

Every write goes to a temporary file in the destination folder that is renamed into place
only once it is complete, so a failure never leaves a partial file behind.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import tifffile

from .errors import FormatError, MissingFileError, ParameterError
from .image import SpectrogramImage, from_unit, pixel_dtype, pixel_max
from .messages import shorten
from .params import FORMAT_NAME, SpectrogramParams
from .phase_files import PHASE_CHUNK, PHASE_TIFF_TAG, SIDECAR_PHASE, read_phase, read_sidecar, sidecar_path
from .pictures import PNG_KEYWORD, read_picture, unit_gray, write_png
from .stored_phase import StoredPhase

__all__ = [
    "save", "load", "read_metadata", "metadata_source", "read_phase", "atomic_path", "atomic_paths", "sidecar_path",
    "image_format", "PNG_KEYWORD", "PHASE_CHUNK", "PHASE_TIFF_TAG",
]  # fmt: skip

ImageFormat = Literal["png", "tiff"]

#: The format version :func:`save` writes for an image without stored phase (FORMAT.md §8):
#: version 2 only added the phase block, and version-1 readers (specimg 0.1) read these files.
NO_PHASE_VERSION = 1


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
            fd, tmp = _writable(target, functools.partial(tempfile.mkstemp, prefix=f".{target.name}.", suffix=".part",
                                                          dir=target.parent))  # fmt: skip
            os.close(fd)
            temps.append(tmp)
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


def image_format(path: Path) -> ImageFormat:
    """Container of an image path from its extension; ParameterError if unknown."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        return "png"
    if suffix in (".tif", ".tiff"):
        return "tiff"
    raise ParameterError(f"cannot write {str(path)!r}: use a .png, .tif or .tiff file name")


def save(
    img: SpectrogramImage, path: str | os.PathLike, *, sidecar: bool = False, compress_level: int | None = None
) -> Path:
    """Write ``img`` with its metadata embedded, atomically.

    Parameters
    ----------
    img : SpectrogramImage
    path : str or path-like
        Destination; ``.png`` (8/16-bit) or ``.tif``/``.tiff`` (8/16-bit, float32).
    sidecar : bool
        Also write the metadata (and the stored phase, if any) to ``<path>.json``. The
        image and the sidecar are written to temporary files first and then both renamed
        into place: when either cannot be written (the sidecar name is a folder, the disk
        is full), neither replaces what was there. Without it, a sidecar of specimg
        metadata already at ``<path>.json`` (left by an earlier save) is deleted once the
        image is written, since it describes the picture that was replaced.
    compress_level : int in [0, 9] or None
        zlib level of a PNG (0 = none, 1 = fastest, 9 = smallest); ``None`` keeps
        Pillow's default (6). The pixels are the same at every level. For 8-bit images
        level 1 writes about 1.8× faster than 6 for files ~13 % larger; 16-bit spectrograms
        barely compress (their low bits are noise), so only 0 is much faster. Not used for
        TIFF.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ParameterError
        If the extension is unknown, float32 pixels are to be written as PNG, or
        ``compress_level`` is not an integer from 0 to 9.
    MissingFileError
        If the destination folder does not exist.
    OSError
        If the file cannot be written (read-only folder, full disk); the message names
        ``path``, not the temporary file.

    Notes
    -----
    The metadata says format version 2 when the image carries a stored phase and
    version 1 (:data:`NO_PHASE_VERSION`, the same keys) when it does not, so that earlier
    releases still read phase-less files (FORMAT.md §8).

    Temporary files of ``path`` left by a writer that was killed (``.<name>.xxxxxxxx.part``)
    are removed (see :func:`atomic_path`). The stored phase of an image with ``phase``
    (``encode(..., store_phase=True)``) follows the metadata (FORMAT.md §7.4): it is
    written in the image (a PNG chunk ``spHS``, a TIFF tag) and, with ``sidecar=True``,
    also in the sidecar, the same block in both.
    """
    if not isinstance(img, SpectrogramImage):
        raise ParameterError(f"img={shorten(img)} must be a SpectrogramImage (save(img, path))")
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path={shorten(path)} must be a str or path-like file name")
    path = Path(path)
    fmt = image_format(path)
    if compress_level is not None and (
        isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9
    ):
        raise ParameterError(f"compress_level={compress_level!r} must be an integer from 0 to 9 (or None)")
    block = None if img.phase is None else img.phase.to_bytes()
    meta = img.params.to_dict()
    if block is None:  # version 1 has the same keys and no phase: earlier releases read the file too
        meta["version"] = NO_PHASE_VERSION
    text = json.dumps(meta, sort_keys=True, allow_nan=False)
    if fmt == "png" and img.params.bit_depth == 32:
        raise ParameterError(
            f"bit_depth=32 (float) cannot be stored in PNG {str(path)!r}; write a .tiff or use bit_depth=16"
        )
    targets = (path, sidecar_path(path)) if sidecar else (path,)
    with atomic_paths(*targets) as temps:  # the image and its sidecar replace what was there together, or neither
        if fmt == "png":
            chunks = {} if block is None else {PHASE_CHUNK: block}
            write_png(temps[0], img.pixels, text=text, compress_level=compress_level, chunks=chunks)
        else:
            rows = img.params.n_bins
            with tifffile.TiffWriter(temps[0]) as tif:
                for c in range(img.params.n_channels):
                    tif.write(
                        img.pixels[c * rows : (c + 1) * rows],
                        photometric="minisblack",
                        description=text if c == 0 else None,
                        metadata=None,
                        compression="zlib",
                        extratags=[(PHASE_TIFF_TAG, 7, len(block), block, True)] if c == 0 and block else None,
                    )
        if sidecar:
            if block is not None:
                meta[SIDECAR_PHASE] = base64.b64encode(block).decode("ascii")
            temps[1].write_text(json.dumps(meta, sort_keys=True, allow_nan=False, indent=2) + "\n", encoding="utf-8")
    if not sidecar:
        _remove_old_sidecar(path)
    return path


def _remove_old_sidecar(path: Path) -> None:
    """Delete ``<path>.json`` if it is specimg metadata: it described the picture ``path`` replaced.

    Anything else under that name (not JSON, another program's JSON) is left alone.
    """
    side = sidecar_path(path)
    try:
        if side.is_file() and _ours(side.read_text(encoding="utf-8")) is not None:
            side.unlink()
    except (OSError, UnicodeDecodeError):
        pass  # a sidecar we cannot remove is still not trusted: load lends its phase only to the image it describes


def _ours(text: object) -> str | None:
    """``text`` if it is specimg metadata (a JSON object with "format": "specimg"), else None.

    A TIFF ImageDescription may hold another program's text (tifffile, ImageJ, GIMP);
    that is no metadata of ours and must not hide the sidecar or ``params=``.
    """
    if not isinstance(text, str):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return text if isinstance(data, dict) and data.get("format") == FORMAT_NAME else None


def _read_image(
    path: Path, *, pixels: bool, any_mode: bool = False
) -> tuple[np.ndarray | None, str | None, int | None]:
    """Pixels (if asked), embedded metadata text, and TIFF page count of an image file.

    Without ``pixels`` only the headers are read: PNG text chunks come before the image
    data and Pillow reads them on open; tifffile reads descriptions without the pages.
    With ``any_mode``, colour pictures are returned as (H, W, 3) RGB instead of being
    refused (for :func:`load` with ``like=``).
    """
    picture = read_picture(path, pixels=pixels)
    text = picture.text if picture.n_pages is None else _ours(picture.text)
    if picture.pixels is not None and picture.pixels.ndim == 3 and not any_mode:
        raise FormatError(
            f"{str(path)!r} is a {picture.mode} image; specimg images are grayscale: for a copy edited "
            "in an image editor pass like=<original image> (CLI: --like ORIGINAL.png)"
        )
    return picture.pixels, text, picture.n_pages


def _png_text_chunks(path: Path, keyword: str = PNG_KEYWORD) -> int:
    """How many tEXt/zTXt/iTXt chunks named ``keyword`` a PNG holds before its image data.

    Pillow keeps only the last of two chunks with one keyword; this walks the chunk
    headers (a seek per chunk, up to the first IDAT) to see them all. 0 for a non-PNG.
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


def _params_from(path: Path, text: str | None) -> tuple[SpectrogramParams | None, Literal["embedded", "sidecar"] | None]:
    if text is not None and _png_text_chunks(path) > 1:
        raise FormatError(
            f"{str(path)!r} holds {_png_text_chunks(path)} {PNG_KEYWORD!r} text chunks; a specimg PNG holds one "
            "(FORMAT.md): which one is right cannot be told, so the file is refused"
        )
    if text is not None:
        return SpectrogramParams.from_json(text, source=f"metadata embedded in {str(path)!r}"), "embedded"
    side = sidecar_path(path)
    if side.is_file():
        return SpectrogramParams.from_dict(read_sidecar(side), source=f"sidecar {str(side)!r}"), "sidecar"
    return None, None


def read_metadata(path: str | os.PathLike) -> SpectrogramParams | None:
    """The parameters embedded in ``path`` or in its sidecar, or None if there are none.

    Reads only the file's headers, not its pixels.

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    FormatError
        If metadata is present but invalid (unknown version, missing key, bad value).
    """
    path = Path(path)
    return _params_from(path, _read_image(path, pixels=False)[1])[0]


def metadata_source(path: str | os.PathLike) -> Literal["embedded", "sidecar"] | None:
    """Where :func:`load` finds the parameters of ``path``: ``"embedded"``, ``"sidecar"`` or None.

    Reads only the file's headers, not its pixels.
    """
    path = Path(path)
    return _params_from(path, _read_image(path, pixels=False)[1])[1]


def load(
    path: str | os.PathLike,
    *,
    params: SpectrogramParams | None = None,
    like: SpectrogramImage | SpectrogramParams | str | os.PathLike | None = None,
) -> SpectrogramImage:
    """Read a spectrogram image and its parameters.

    The parameters come from, in order: the metadata embedded in the file, the sidecar
    ``<path>.json``, the ``params`` argument, the image given as ``like``.

    Parameters
    ----------
    path : str or path-like
        PNG or TIFF written by :func:`save`, or any grayscale image Pillow reads when
        ``params`` or ``like`` is given.
    params : SpectrogramParams, optional
        Parameters to use for a file that carries none.
    like : SpectrogramImage, SpectrogramParams or path, optional
        The original of an image edited in an external editor (GIMP, Photoshop, Paint),
        which usually drops our metadata and may save 8-bit or RGB. Its parameters are
        borrowed, RGB(A) is converted to gray by :mod:`specimg.pictures`' rules
        (transparency composited over black, then ITU-R BT.601 luma, as Pillow's
        ``convert("L")``), and the pixel range of the file (0..255, 0..65535, or 0..1 for
        floats) is rescaled to the original's bit depth. An entry
        ``{"op": "external", "file": <name>, "bit_depth": <8, 16 or 32>}`` is appended to
        ``params.edits``. If the original carries a stored phase, the copy gets it,
        valid where its pixels are unchanged (within half a step of the coarser of the two
        depths: a pixel moved by one level counts as edited), so
        :func:`specimg.decode` keeps those bins exact.

    Returns
    -------
    SpectrogramImage
        With ``phase`` when the file (or its sidecar) carries a stored phase (FORMAT.md §7).

    Warns
    -----
    PhaseWarning
        If the stored phase is damaged or belongs to another image; it is ignored.

    Raises
    ------
    MissingFileError
        If ``path`` (or ``like`` given as a path) does not exist.
    FormatError
        If the file is not a readable image, its metadata is invalid, its size
        contradicts its metadata (or the size of ``like``: editors may add borders or
        resample), or it has no metadata and neither ``params`` nor ``like`` is given.
    ParameterError
        If an argument has the wrong type (``params`` not a SpectrogramParams, say).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path={shorten(path)} must be a str or path-like image file name")
    if params is not None and not isinstance(params, SpectrogramParams):
        raise ParameterError(
            f"params={shorten(params)} must be a SpectrogramParams (from a dict: SpectrogramParams(**d))"
        )
    if like is not None and not isinstance(like, (SpectrogramImage, SpectrogramParams, str, os.PathLike)):
        raise ParameterError(f"like={shorten(like)} must be a SpectrogramImage, SpectrogramParams or image path")
    path = Path(path)
    # the header first: its size must agree with the metadata before any pixel is decoded
    # (a 2 MB PNG can claim 32768×32768 pixels; read_picture bounds the decode's memory)
    header = read_picture(path, pixels=False)
    found, found_in = _params_from(path, header.text if header.n_pages is None else _ours(header.text))
    expected_params = found or params
    if like is not None:
        expected_params = found or params or _params_of(like)
    if isinstance(expected_params, SpectrogramParams):
        _check_header_size(path, header.size, expected_params, edited=like is not None)
    pixels, _, n_pages = _read_image(path, pixels=True, any_mode=like is not None)
    assert pixels is not None
    if like is not None:
        assert expected_params is not None
        template = expected_params
        # the source depth tells decode(phase_from=) how coarse "unchanged" pixels may be
        source_bits = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(pixels.dtype, 32)
        edits = template.edits + ({"op": "external", "file": path.name, "bit_depth": source_bits},)
        coerced = _coerce_pixels(pixels, template, path)
        out = SpectrogramImage(coerced, template.replace(edits=edits))
        own = read_phase(path, out.params, out.n_frames, metadata=found_in, pixels=out.pixels)
        return out.replace(phase=_like_phase(like, out, source_bits) or own)
    if found is None:
        if params is None:
            raise FormatError(
                f"{str(path)!r} carries no specimg metadata and has no sidecar "
                f"{sidecar_path(path).name!r}; pass params=SpectrogramParams(...) or like=<original image> "
                "(CLI: --params FILE.json or --like ORIGINAL.png)"
            )
        found = params
        expected = pixel_dtype(found.bit_depth)
        if pixels.dtype != expected:
            raise FormatError(
                f"{str(path)!r} has {pixels.dtype} pixels but params.bit_depth={found.bit_depth}; "
                f"pass params with bit_depth matching the file, or like=<original image> to convert"
            )
    if n_pages is not None and n_pages > 1 and n_pages != found.n_channels:
        raise FormatError(
            f"{str(path)!r} has {n_pages} pages but n_channels={found.n_channels}; a specimg TIFF holds one "
            "page per channel (FORMAT.md §3)"
        )
    if n_pages == 1 and found.n_channels > 1:
        raise FormatError(
            f"{str(path)!r} has 1 page but n_channels={found.n_channels}; a specimg TIFF holds one page per "
            "channel (FORMAT.md §3)"
        )
    return SpectrogramImage(pixels, found, read_phase(path, found, pixels.shape[1], metadata=found_in, pixels=pixels))


def _like_phase(
    like: SpectrogramImage | SpectrogramParams | str | os.PathLike, img: SpectrogramImage, source_bits: int
) -> StoredPhase | None:
    """The stored phase of the original ``like``, valid where ``img`` (its edited copy) left the pixels unchanged.

    Unchanged means within half a step of the coarsest depth the copy went through: an
    8-bit export of a 16-bit original differs from it by up to half a step everywhere,
    while a pixel moved by one level of that depth differs by more.
    """
    original = like if isinstance(like, SpectrogramImage) else None
    if isinstance(like, (str, os.PathLike)):
        original = load(like)
    if original is None or original.phase is None or original.pixels.shape != img.pixels.shape:
        return None
    p = img.params
    if (original.params.n_fft, original.params.n_channels, original.params.flip) != (p.n_fft, p.n_channels, p.flip):
        return None
    steps = [1.0 / pixel_max(b) if b in (8, 16) else 1e-6 for b in (p.bit_depth, source_bits)]
    tolerance = 0.5 * max(steps) * pixel_max(p.bit_depth)
    return original.phase.rebase(original.pixels, img.pixels, p, tolerance=tolerance)


def _check_header_size(path: Path, size: tuple[int, int, int], params: SpectrogramParams, *, edited: bool) -> None:
    """FormatError if a picture's header size (n_pages, height, width) contradicts ``params``.

    Pages are stacked vertically, as :func:`specimg.pictures.read_picture` returns them.
    """
    height, width = size[0] * size[1], size[2]
    rows = params.n_channels * params.n_bins
    cols = params.n_frames
    if height == rows and (cols is None or width == cols):
        return
    want = f"{width if cols is None else cols}×{rows}"
    if edited:
        raise FormatError(
            f"{str(path)!r} is {width}×{height} pixels but the original is {want} (width×height); crop or "
            "resize it back (editors may add borders or scale on export)"
        )
    if height != rows:
        raise FormatError(
            f"{str(path)!r} has {height} rows (from its header) but its parameters call for {rows} "
            f"({params.n_channels} channel(s) × {params.n_bins} {params.scale} bins); it is not the image its "
            "metadata describes"
        )
    raise FormatError(
        f"{str(path)!r} has {width} columns (from its header) but n_samples={params.n_samples} with "
        f"hop_length={params.hop_length} calls for {cols} frames; it is not the image its metadata describes"
    )


def _params_of(like: SpectrogramImage | SpectrogramParams | str | os.PathLike) -> SpectrogramParams:
    if isinstance(like, SpectrogramImage):
        return like.params
    if isinstance(like, SpectrogramParams):
        return like
    if not isinstance(like, (str, os.PathLike)):
        raise ParameterError(f"like={like!r} must be a SpectrogramImage, SpectrogramParams or an image path")
    found = read_metadata(like)
    if found is None:
        raise FormatError(f"like={str(like)!r} carries no specimg metadata either; pass the original specimg image")
    return found


def _coerce_pixels(pixels: np.ndarray, params: SpectrogramParams, path: Path) -> np.ndarray:
    """An edited image as pixels of ``params``' bit depth and layout (see :func:`load`)."""
    gray = unit_gray(pixels)
    expected = (params.n_channels * params.n_bins, params.n_frames)
    if params.n_frames is None:
        expected = (params.n_channels * params.n_bins, gray.shape[1])
    if gray.shape != expected:
        raise FormatError(
            f"{str(path)!r} is {gray.shape[1]}×{gray.shape[0]} pixels but the original is "
            f"{expected[1]}×{expected[0]} (width×height); crop or resize it back (editors may add borders or "
            "scale on export)"
        )
    return from_unit(gray, params.bit_depth)

