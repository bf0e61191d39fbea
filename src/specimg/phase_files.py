"""Where a file's stored phase is (FORMAT.md §7.4), and which one may be trusted.

The phase block of an image is the data of its PNG chunk ``spHS`` or of its TIFF tag
65111; a sidecar ``<image>.json`` may hold the same block as its member ``"phase"``. A
sidecar lends its phase only to the image it describes: when the image carries no
metadata of its own (the sidecar is its metadata), or when the sidecar's parameters are
those embedded in the image. A sidecar left beside another picture (an old encode saved
over, a copy from an image editor) lends nothing, and an unreadable one next to an image
with its own metadata is ignored without a warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import tifffile

from .errors import FormatError, PhaseWarning
from .params import SpectrogramParams
from .pictures import read_png_chunk
from .stored_phase import StoredPhase, column_crcs

__all__ = ["PHASE_CHUNK", "PHASE_TIFF_TAG", "SIDECAR_PHASE", "sidecar_path", "read_sidecar", "phase_block", "read_phase"]

#: PNG chunk type of the stored phase: ancillary (s), private (p), reserved bit clear (H),
#: unsafe to copy (S): an editor that changes the pixels must drop it.
PHASE_CHUNK = b"spHS"
#: TIFF tag of the stored phase (private range), type UNDEFINED, on the first page.
PHASE_TIFF_TAG = 65111
#: Member of the sidecar JSON object that holds the stored phase (base64).
SIDECAR_PHASE = "phase"

MetadataSource = Literal["embedded", "sidecar"]


def sidecar_path(path: str | os.PathLike) -> Path:
    """Path of the sidecar metadata file of image ``path``: ``<path>.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def read_sidecar(side: Path) -> dict:
    """The JSON object of a sidecar file (``{}`` if it holds another JSON value).

    Raises
    ------
    FormatError
        If the file is not JSON.
    """
    try:
        data = json.loads(side.read_bytes())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"sidecar {str(side)!r} is not valid JSON: {exc}") from None
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
    if tiff:
        try:
            with tifffile.TiffFile(path) as tif:
                tag = tif.pages[0].tags.get(PHASE_TIFF_TAG)  # type: ignore[union-attr]
                value = None if tag is None else tag.value
        except Exception as exc:  # a TIFF tifffile cannot parse was refused by read_picture already
            raise FormatError(f"{name}: its phase tag cannot be read: {exc}") from None
        if value is not None:
            return bytes(value), f"the phase tag of {name}"
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
        block, source = phase_block(path, params, metadata=metadata)
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
