"""Reading and writing spectrogram images: PNG, TIFF, and sidecar JSON.

* PNG: 8- or 16-bit grayscale; the metadata JSON is an ``iTXt`` chunk with keyword
  ``specimg``. Channels are stacked vertically.
* TIFF: 8-, 16-bit or float32 grayscale, one page per channel; the metadata JSON is the
  ImageDescription of the first page.
* Sidecar: ``<image file name>.json`` holding the same JSON, for tools that strip metadata.
* Stored phase (:mod:`specimg.stored_phase`, FORMAT.md §7): a PNG chunk ``spHS`` after the
  image data, TIFF tag 65111 of the first page, and the ``"phase"`` member of the sidecar.

A sidecar lends its stored phase only to the image it describes (FORMAT.md §7.4): when
the image has no metadata of its own, or when the sidecar's parameters are those embedded
in the image. The block's bytes themselves are :mod:`specimg.stored_phase`'s.

Every write is atomic (:mod:`specimg.atomic`): a failure never leaves a partial file behind.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .atomic import atomic_path, atomic_paths
from .errors import FormatError, ParameterError, PhaseWarning
from .image import SpectrogramImage, from_unit, pixel_dtype, pixel_max
from .jsonfile import MAX_SIDECAR_BYTES, read_json
from .messages import shorten
from .params import FORMAT_NAME, SpectrogramParams
from .pictures import (
    PNG_KEYWORD, png_text_chunks, read_picture, read_png_chunk, read_tiff_tag, tiff_log_captured, unit_gray, write_png,
)  # fmt: skip
from .stored_phase import StoredPhase, column_crcs

__all__ = [
    "save", "load", "read_metadata", "metadata_source", "read_phase", "atomic_path", "atomic_paths", "sidecar_path",
    "image_format", "PNG_KEYWORD", "PHASE_CHUNK", "PHASE_TIFF_TAG", "SIDECAR_PHASE", "read_header", "ImageHeader",
    "phase_block", "read_sidecar",
]  # fmt: skip

ImageFormat = Literal["png", "tiff"]
MetadataSource = Literal["embedded", "sidecar"]

#: The format version :func:`save` writes for an image without stored phase (FORMAT.md §8):
#: version 2 only added the phase block, and version-1 readers (specimg 0.1) read these files.
NO_PHASE_VERSION = 1


# ---------------------------------------------------------------------------- where the stored phase is
#: PNG chunk type of the stored phase: ancillary (s), private (p), reserved bit clear (H),
#: unsafe to copy (S): an editor that changes the pixels must drop it.
PHASE_CHUNK = b"spHS"
#: TIFF tag of the stored phase (private range), type UNDEFINED, on the first page.
PHASE_TIFF_TAG = 65111
#: Member of the sidecar JSON object that holds the stored phase (base64).
SIDECAR_PHASE = "phase"

def sidecar_path(path: str | os.PathLike) -> Path:
    """Path of the sidecar metadata file of image ``path``: ``<path>.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def read_sidecar(side: Path) -> dict:
    """The JSON object of a sidecar file (``{}`` if it holds another JSON value).

    Raises
    ------
    FormatError
        If the file is not JSON within the bounds of :func:`specimg.jsonfile.read_json`.
    """
    data = read_json(side, what=f"sidecar {str(side)!r}", max_bytes=MAX_SIDECAR_BYTES)
    return dict(data) if isinstance(data, dict) else {}


def phase_block(
    path: str | os.PathLike, params: SpectrogramParams, *, metadata: MetadataSource | None = None
) -> tuple[bytes | None, str]:
    """The phase block of an image file as stored (not parsed), and where it was.

    Parameters
    ----------
    path : str or path-like, a PNG or TIFF
    params : SpectrogramParams, the parameters the image is read with
    metadata : {"embedded", "sidecar"} or None
        Where ``params`` came from (:func:`specimg.formats.metadata_source`); None when
        they were given by the caller.

    Returns
    -------
    block : bytes or None
        The chunk or tag of the image; else the sidecar's ``"phase"`` member when the
        sidecar describes this image (``metadata == "sidecar"``, or its parameters equal
        ``params``); else None.
    source : str
        What the block is, for messages ("" when None).

    Raises
    ------
    FormatError
        If the image's chunk or tag cannot be read, or the sidecar that holds this
        image's metadata is not JSON or its phase is not base64.

    Examples
    --------
    >>> import tempfile, numpy as np, specimg
    >>> img = specimg.encode(np.sin(np.arange(4000) / 3), 8000, n_fft=256, store_phase=True)
    >>> path = specimg.save(img, Path(tempfile.mkdtemp()) / "a.png")
    >>> block, source = phase_block(path, img.params, metadata="embedded")
    >>> block == img.phase.to_bytes(), source.startswith("the phase chunk")
    (True, True)
    """
    path = Path(path)
    name = repr(str(path))
    with open(path, "rb") as fh:
        tiff = fh.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    if tiff:  # what tifffile logs about the tag (an absurd count: it drops the tag) is the FormatError
        value = read_tiff_tag(path, PHASE_TIFF_TAG, what=f"{name}: its phase tag")
        if value is not None:
            return value, f"the phase tag of {name}"
    else:
        block = read_png_chunk(path, PHASE_CHUNK)
        if block is not None:
            return block, f"the phase chunk of {name}"
    side = sidecar_path(path)
    if not side.is_file():
        return None, ""
    what = f"the phase in sidecar {str(side)!r}"
    if metadata == "sidecar":  # the sidecar is this image's metadata: its phase goes with it
        member = read_sidecar(side).get(SIDECAR_PHASE)
    else:  # a sidecar beside an image read with other metadata: only if it describes the same image
        member = _matching_member(side, params)
    if member is None:
        return None, ""
    try:
        return base64.b64decode(str(member), validate=True), what
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not base64") from None


def _matching_member(side: Path, params: SpectrogramParams) -> object:
    """The sidecar's phase member if its parameters are ``params``, else None (also for an unreadable sidecar)."""
    try:
        data = read_sidecar(side)
        member = data.get(SIDECAR_PHASE)
        if member is None or SpectrogramParams.from_dict(data) != params:
            return None
    except FormatError:
        return None
    return member


def read_phase(
    path: str | os.PathLike,
    params: SpectrogramParams,
    n_frames: int,
    *,
    metadata: MetadataSource | None = None,
    pixels: np.ndarray | None = None,
    stored: tuple[bytes | None, str] | None = None,
) -> StoredPhase | None:
    """The stored phase of an image file, or None if it carries none or it is damaged (then with a warning).

    Parameters
    ----------
    path : str or path-like, an image written by :func:`specimg.save`
    params : SpectrogramParams, of the image
    n_frames : int, its columns
    metadata : {"embedded", "sidecar"} or None
        Where ``params`` came from (see :func:`phase_block`).
    pixels : np.ndarray, optional
        The image's pixels. A phase lent by a sidecar to an image with other metadata
        (see :func:`phase_block`) whose column CRCs match none of these pixels' columns
        belongs to another picture and is ignored.
    stored : tuple or None
        :func:`phase_block`'s answer when it was read already (:func:`read_header`).

    Returns
    -------
    StoredPhase or None

    Warns
    -----
    PhaseWarning
        If the block is damaged (bad CRC, truncated, not a phase block) or belongs to
        another image (wrong shape); the image then loads without phase.

    Examples
    --------
    >>> import tempfile, numpy as np, specimg
    >>> img = specimg.encode(np.sin(np.arange(4000) / 3), 8000, n_fft=256, store_phase=True)
    >>> path = specimg.save(img, Path(tempfile.mkdtemp()) / "a.png")
    >>> read_phase(path, img.params, img.n_frames).bits
    16
    """
    try:
        block, source = phase_block(path, params, metadata=metadata) if stored is None else stored
        if block is None:
            return None
        phase = StoredPhase.from_bytes(block, params, n_frames, source=source)
        if pixels is not None and metadata != "sidecar" and source.startswith("the phase in sidecar"):
            if not np.any((column_crcs(pixels, params) == phase.crc) & phase.present.any(axis=1)):
                return None  # the sidecar's parameters match, but it was written for another picture
        return phase
    except FormatError as exc:
        message = f"{exc}; the stored phase is ignored and the audio will be reconstructed"
        warnings.warn(message, PhaseWarning, stacklevel=3)
        return None


# ---------------------------------------------------------------------------- images
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
    # a PNG's phase chunk is compressed as it is written (no whole block in memory)
    block = None if img.phase is None or (fmt == "png" and not sidecar) else img.phase.to_bytes()
    meta = img.params.to_dict()
    if img.phase is None:  # version 1 has the same keys and no phase: earlier releases read the file too
        meta["version"] = NO_PHASE_VERSION
    text = json.dumps(meta, sort_keys=True, allow_nan=False)
    if fmt == "png" and img.params.bit_depth == 32:
        raise ParameterError(
            f"bit_depth=32 (float) cannot be stored in PNG {str(path)!r}; write a .tiff or use bit_depth=16"
        )
    targets = (path, sidecar_path(path)) if sidecar else (path,)
    with atomic_paths(*targets) as temps:  # the image and its sidecar replace what was there together, or neither
        if fmt == "png":
            write_png(temps[0], img.pixels, text=text, compress_level=compress_level)
            if img.phase is not None:
                img.phase.append_to_png(temps[0], PHASE_CHUNK)
        else:
            import tifffile

            rows = img.params.n_bins
            with tiff_log_captured(), tifffile.TiffWriter(temps[0]) as tif:  # our own pixels: nothing to report
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
        if side.is_file() and read_sidecar(side).get("format") == FORMAT_NAME:
            side.unlink()
    except (OSError, FormatError):
        pass  # a sidecar we cannot remove is still not trusted: load lends its phase only to the image it describes


def _ours(text: object) -> str | None:
    """``text`` if it is specimg metadata (a JSON object with "format": "specimg"), else None.

    A TIFF ImageDescription may hold another program's text (tifffile, ImageJ, GIMP);
    that is no metadata of ours and must not hide the sidecar or ``params=``.
    """
    if not isinstance(text, str):
        return None
    try:
        data = read_json(text)
    except FormatError:
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


def _params_from(path: Path, text: str | None) -> tuple[SpectrogramParams | None, Literal["embedded", "sidecar"] | None]:
    if text is not None and png_text_chunks(path) > 1:
        raise FormatError(
            f"{str(path)!r} holds {png_text_chunks(path)} {PNG_KEYWORD!r} text chunks; a specimg PNG holds one "
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


@dataclass(frozen=True, eq=False)
class ImageHeader:
    """What an image file's headers say, read before any pixel (:func:`read_header`).

    Attributes
    ----------
    path : Path
    params : SpectrogramParams or None
        The parameters its pixels will be read with: embedded, from the sidecar, the
        ``params`` given, or those of ``like``; None when there are none.
    found, found_in : SpectrogramParams or None, {"embedded", "sidecar"} or None
        The parameters the file itself carries, and where they are.
    size : tuple of int
        (n_pages, height, width) from the picture's header.
    given, like : the ``params`` and ``like`` given to :func:`read_header`.
    stored : tuple (bytes or None, str) or None
        The phase block as stored and where it was (:func:`phase_block`), read with the
        header; None when it was not read (no parameters, or ``like`` given).
    """

    path: Path
    params: SpectrogramParams | None
    found: SpectrogramParams | None
    found_in: MetadataSource | None
    size: tuple[int, int, int]
    given: SpectrogramParams | None = None
    like: SpectrogramImage | SpectrogramParams | str | os.PathLike | None = None
    stored: tuple[bytes | None, str] | None = None

    @property
    def has_phase(self) -> bool:
        """Whether a stored phase may come: a block was found, or ``like`` may lend one."""
        return self.like is not None or (self.stored is not None and self.stored[0] is not None)

    @property
    def n_frames(self) -> int:
        """Columns of the picture: its STFT frames."""
        return int(self.size[2])


def read_header(
    path: str | os.PathLike,
    *,
    params: SpectrogramParams | None = None,
    like: SpectrogramImage | SpectrogramParams | str | os.PathLike | None = None,
) -> ImageHeader:
    """The headers and parameters of an image file, without its pixels; checked against each other.

    Parameters
    ----------
    path : str or path-like, a PNG or TIFF
    params, like : as :func:`load`

    Returns
    -------
    ImageHeader
        Pass it to :func:`load` to read the pixels (the header is then not read again).

    Raises
    ------
    MissingFileError, FormatError, ParameterError
        As :func:`load`, for what the headers show (a size that contradicts the
        metadata, invalid metadata, an argument of the wrong type).

    Examples
    --------
    >>> import tempfile, numpy as np, specimg
    >>> img = specimg.encode(np.sin(np.arange(4000) / 3), 8000, n_fft=256)
    >>> header = read_header(specimg.save(img, Path(tempfile.mkdtemp()) / "a.png"))
    >>> header.n_frames == img.n_frames, header.found_in
    (True, 'embedded')
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
    stored = None
    if isinstance(expected_params, SpectrogramParams):
        _check_header_size(path, header.size, expected_params, edited=like is not None)
        if like is None:
            stored = _stored_block(path, expected_params, found_in)
    return ImageHeader(path, expected_params, found, found_in, header.size, params, like, stored)


def _stored_block(path: Path, params: SpectrogramParams, found_in: MetadataSource | None) -> tuple[bytes | None, str]:
    """:func:`phase_block`, with a block that cannot be read warned about and taken as none."""
    try:
        return phase_block(path, params, metadata=found_in)
    except FormatError as exc:
        message = f"{exc}; the stored phase is ignored and the audio will be reconstructed"
        warnings.warn(message, PhaseWarning, stacklevel=4)
        return None, ""


def load(
    path: str | os.PathLike | ImageHeader,
    *,
    params: SpectrogramParams | None = None,
    like: SpectrogramImage | SpectrogramParams | str | os.PathLike | None = None,
) -> SpectrogramImage:
    """Read a spectrogram image and its parameters.

    The parameters come from, in order: the metadata embedded in the file, the sidecar
    ``<path>.json``, the ``params`` argument, the image given as ``like``.

    Parameters
    ----------
    path : str, path-like or ImageHeader
        PNG or TIFF written by :func:`save`, or any grayscale image Pillow reads when
        ``params`` or ``like`` is given; or its :func:`read_header` (then ``params`` and
        ``like`` are those given to it, and the header is not read again).
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
    header = path if isinstance(path, ImageHeader) else read_header(path, params=params, like=like)
    file, params, like = header.path, header.given, header.like
    found, found_in, expected_params = header.found, header.found_in, header.params
    pixels, _, n_pages = _read_image(file, pixels=True, any_mode=like is not None)
    assert pixels is not None
    if like is not None:
        assert expected_params is not None
        template = expected_params
        # the source depth tells decode(phase_from=) how coarse "unchanged" pixels may be
        source_bits = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(pixels.dtype, 32)
        edits = template.edits + ({"op": "external", "file": file.name, "bit_depth": source_bits},)
        coerced = _coerce_pixels(pixels, template, file)
        out = SpectrogramImage(coerced, template.replace(edits=edits))
        own = read_phase(file, out.params, out.n_frames, metadata=found_in, pixels=out.pixels)
        return out.replace(phase=_like_phase(like, out, source_bits) or own)
    if found is None:
        if params is None:
            raise FormatError(
                f"{str(file)!r} carries no specimg metadata and has no sidecar "
                f"{sidecar_path(file).name!r}; pass params=SpectrogramParams(...) or like=<original image> "
                "(CLI: --params FILE.json or --like ORIGINAL.png)"
            )
        found = params
        expected = pixel_dtype(found.bit_depth)
        if pixels.dtype != expected:
            raise FormatError(
                f"{str(file)!r} has {pixels.dtype} pixels but params.bit_depth={found.bit_depth}; "
                f"pass params with bit_depth matching the file, or like=<original image> to convert"
            )
    if n_pages is not None and n_pages > 1 and n_pages != found.n_channels:
        raise FormatError(
            f"{str(file)!r} has {n_pages} pages but n_channels={found.n_channels}; a specimg TIFF holds one "
            "page per channel (FORMAT.md §3)"
        )
    if n_pages == 1 and found.n_channels > 1:
        raise FormatError(
            f"{str(file)!r} has 1 page but n_channels={found.n_channels}; a specimg TIFF holds one page per "
            "channel (FORMAT.md §3)"
        )
    phase = read_phase(file, found, pixels.shape[1], metadata=found_in, pixels=pixels, stored=header.stored)
    return SpectrogramImage(pixels, found, phase)


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

