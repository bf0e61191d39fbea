"""The STFT phase stored next to the pixels of a spectrogram image (FORMAT.md §7).

A magnitude picture cannot bring back the phase; with the phase stored beside it, the
audio comes back from the file alone, nearly bit-exact. :class:`StoredPhase` is that
phase, quantised to ``bits`` bits, for the **linear** STFT bins of every channel (also for
mel images), with three things that say where it still belongs to the picture:

* ``present``: bins whose phase is stored (the encoder leaves out bins whose linear
  magnitude is at or below ``db_min``: they decode to silence);
* ``valid``: bins whose pixels still are the ones the phase was measured with (an edit by
  :mod:`specimg.ops`, or ``load(like=)`` of an externally edited copy, clears the bins it
  changed);
* ``crc``: the CRC-32 of every pixel column of every channel (:func:`column_crcs`), so a
  column changed by any other means (a tool that kept the PNG chunk, ``img.replace``) is
  found: its bins are not held.

:func:`specimg.decode` holds the bins that are present, valid and in an unchanged column
at the stored phase and reconstructs only the others, starting from the stored phase (the
arithmetic is :func:`specimg.phase.rebuild`'s). This module holds the data and its byte
layout only; where the bytes sit in a file (PNG chunk, TIFF tag, sidecar) is
:mod:`specimg.formats`'.

The block travels as bytes (:meth:`StoredPhase.to_bytes`, :meth:`StoredPhase.from_bytes`):
a 16-byte header, then one zlib stream holding the two bit masks, the column CRCs and the
phase codes of the present bins.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import FormatError, ParameterError
from .params import SpectrogramParams, unstack_channels
from .spectral import linear_bins_of

__all__ = [
    "StoredPhase", "PHASE_BITS", "BLOCK_MAGIC", "column_crcs", "phase_block_bytes", "pack_codes", "unpack_codes",
    "check_phase_options",
]  # fmt: skip

#: Phase precisions :func:`specimg.encode` accepts (``phase_bits``), in bits per bin.
PHASE_BITS = range(8, 17)

#: First four bytes of every phase block (FORMAT.md §7).
BLOCK_MAGIC = b"SIph"
_BLOCK_VERSION = 1
_HEADER = struct.Struct(">4sBBHII")  # magic, block version, bits, n_channels, n_bins, n_frames
_ZLIB_LEVEL = 6  # the phase itself does not compress; the masks and CRCs do at any level


_PACK_CHUNK = 1 << 20  # codes packed at a time (a multiple of 8: every chunk ends on a byte)


def _n_lin(params: SpectrogramParams) -> int:
    return params.n_fft // 2 + 1


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """``bits``-bit unsigned codes as one MSB-first bit stream, padded with 0 bits to a whole byte.

    Examples
    --------
    >>> pack_codes(np.array([1, 2], dtype=np.uint16), 10).hex()
    '004020'
    """
    if bits in (8, 16):  # whole bytes: MSB first is big-endian
        return np.asarray(codes).astype(">u2" if bits == 16 else np.uint8).tobytes()
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint16)
    parts = []
    for start in range(0, codes.size, _PACK_CHUNK):
        chunk = codes[start : start + _PACK_CHUNK].astype(np.uint16)
        parts.append(np.packbits(((chunk[:, np.newaxis] >> shifts) & 1).astype(np.uint8), axis=None).tobytes())
    return b"".join(parts)


def unpack_codes(data: bytes | np.ndarray, n: int, bits: int) -> np.ndarray:
    """The ``n`` codes of :func:`pack_codes`, uint16 (``data``, bytes or a uint8 array, must hold ``ceil(n * bits / 8)`` bytes).

    Examples
    --------
    >>> unpack_codes(bytes.fromhex("004020"), 2, 10)
    array([1, 2], dtype=uint16)
    """
    if bits in (8, 16):  # whole bytes: MSB first is big-endian
        return np.frombuffer(data, ">u2" if bits == 16 else np.uint8, n).astype(np.uint16)
    weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint32)
    out = np.empty(n, dtype=np.uint16)
    raw = np.frombuffer(data, np.uint8)
    step = _PACK_CHUNK * bits // 8
    for k, start in enumerate(range(0, n, _PACK_CHUNK)):
        count = min(_PACK_CHUNK, n - start)
        chunk_bits = np.unpackbits(raw[k * step : k * step + (count * bits + 7) // 8], count=count * bits)
        out[start : start + count] = chunk_bits.reshape(count, bits).astype(np.uint32) @ weights
    return out


def check_phase_options(store_phase: object, phase_bits: object) -> None:
    """ParameterError unless ``store_phase`` is a bool and ``phase_bits`` an integer from 8 to 16.

    Examples
    --------
    >>> check_phase_options(True, 12)
    """
    from .messages import shorten

    if not isinstance(store_phase, (bool, np.bool_)):
        raise ParameterError(f"store_phase={shorten(store_phase)} must be True or False")
    if not _is_bits(phase_bits):
        raise ParameterError(f"phase_bits={shorten(phase_bits)} must be an integer from 8 to 16 (16 keeps the audio exact)")


def _is_bits(bits: object) -> bool:
    return not isinstance(bits, bool) and isinstance(bits, (int, np.integer)) and int(bits) in PHASE_BITS


def _packed_size(n: int, bits: int) -> int:
    return (n * bits + 7) // 8


_INFLATE_IN = 1 << 22  # compressed bytes fed to zlib at a time
_INFLATE_OUT = 1 << 24  # inflated bytes asked of zlib at a time: no piece larger than this is ever made


def _inflate(data: memoryview, limit: int, source: str) -> np.ndarray:
    """The one zlib stream of ``data``, inflated piece by piece into a buffer of ``limit`` bytes.

    Nothing beyond ``limit`` is produced: a stream longer than that, cut short, or followed
    by other bytes is a FormatError (FORMAT.md §7.2). Returns the inflated bytes (a view).
    """
    out = np.empty(limit, dtype=np.uint8)  # pages are touched only as they are filled
    inflater = zlib.decompressobj()
    filled = pos = 0
    try:
        while not inflater.eof:
            chunk: bytes | memoryview = inflater.unconsumed_tail
            if not chunk and pos < len(data):
                chunk = data[pos : pos + _INFLATE_IN]
                pos += len(chunk)
            room = limit - filled
            piece = inflater.decompress(chunk, min(room + 1, _INFLATE_OUT))
            if len(piece) > room:
                raise FormatError(f"{source} inflates to more than the {limit:,} bytes its shape allows: corrupt")
            out[filled : filled + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
            filled += len(piece)
            if not piece and not inflater.unconsumed_tail and pos >= len(data):
                break  # no input left and no more output: cut short
    except zlib.error as exc:
        raise FormatError(f"{source} does not decompress (corrupt or truncated): {exc}") from None
    if not inflater.eof:
        raise FormatError(f"{source} is truncated or longer than its shape allows ({filled} bytes of data)")
    extra = len(inflater.unused_data) + len(data) - pos
    if extra:  # FORMAT.md §7.2: bytes after the zlib stream make the block damaged
        raise FormatError(f"{source} has {extra} bytes after its compressed data: damaged")
    return out[:filled]


def column_crcs(pixels: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """CRC-32 of every pixel column of every channel, as the phase block stores them.

    The bytes of channel ``c``, column ``m`` are the pixels of rows
    ``c * n_bins … (c + 1) * n_bins - 1`` of that column, top to bottom, each big-endian
    (1 byte for 8-bit, 2 for 16-bit, 4 for float32).

    Parameters
    ----------
    pixels : np.ndarray [shape=(n_channels * n_bins, n_frames)], the image rows
    params : SpectrogramParams

    Returns
    -------
    np.ndarray [shape=(n_channels, n_frames)], uint32

    Examples
    --------
    >>> p = SpectrogramParams(sr=8000, n_fft=8, n_samples=8)
    >>> bool(column_crcs(np.zeros((5, 3), dtype=np.uint16), p)[0, 0] == zlib.crc32(bytes(10)))
    True
    """
    rows, n_frames = pixels.shape
    n_channels = rows // params.n_bins
    big = pixels.astype(pixels.dtype.newbyteorder(">"), copy=False)
    out = np.empty((n_channels, n_frames), dtype=np.uint32)
    for c in range(n_channels):
        cols = np.ascontiguousarray(big[c * params.n_bins : (c + 1) * params.n_bins].T)
        out[c] = [zlib.crc32(col.tobytes()) for col in cols]
    return out


def phase_block_bytes(n_fft: int, n_frames: int, *, n_channels: int = 1, bits: int = 16) -> int:
    """Upper bound of a phase block's size in bytes (all bins present; the phase does not compress).

    Examples
    --------
    >>> phase_block_bytes(2048, 100)
    231042
    >>> phase_block_bytes(2048, 100, bits=10)
    154167
    """
    n = (n_fft // 2 + 1) * n_frames * n_channels
    return _HEADER.size + _packed_size(n, bits) + 2 * ((n + 7) // 8) + 4 * n_frames * n_channels


@dataclass(frozen=True, eq=False)
class StoredPhase:
    """STFT phase quantised to ``bits`` bits, with the masks that say where it applies.

    Attributes
    ----------
    codes : np.ndarray [shape=(n_channels, n_fft // 2 + 1, n_frames)], uint16
        Phase codes ``q``: the phase is ``2π · q / 2**bits`` (radians, librosa's
        convention: referred to the start of each frame). 0 where not ``present``.
    present : np.ndarray, bool, same shape: the phase of the bin is stored.
    valid : np.ndarray, bool, same shape: the bin's pixels are those the phase goes with.
    crc : np.ndarray [shape=(n_channels, n_frames)], uint32: :func:`column_crcs` of the
        pixels the phase goes with.
    bits : int, 8 … 16

    Raises
    ------
    ParameterError
        If the arrays do not agree in shape or ``bits`` is out of range.

    See Also
    --------
    specimg.encode : ``store_phase=True`` makes one; FORMAT.md §7 gives the stored block.
    specimg.phase.rebuild : the decode of the bins it holds (``KnownPhase``).

    Examples
    --------
    >>> import numpy as np, specimg
    >>> y = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    >>> img = specimg.encode(y, 8000, n_fft=256, store_phase=True)
    >>> ph = img.phase
    >>> ph.bits, ph.shape, bool(ph.held(img.pixels, img.params).any())
    (16, (1, 129, 126), True)
    >>> back = StoredPhase.from_bytes(ph.to_bytes(), img.params, img.n_frames)
    >>> bool(np.array_equal(back.codes, ph.codes))
    True
    >>> float(np.abs(np.angle(np.exp(1j * (back.angle(0) - ph.angle(0))))).max())
    0.0
    """

    codes: np.ndarray
    present: np.ndarray
    valid: np.ndarray
    crc: np.ndarray
    bits: int = 16

    def __post_init__(self) -> None:
        if not _is_bits(self.bits):
            raise ParameterError(f"phase bits={self.bits!r} must be an integer from 8 to 16")
        shape = np.shape(self.codes)
        if len(shape) != 3 or np.shape(self.present) != shape or np.shape(self.valid) != shape:
            raise ParameterError("codes, present and valid must share one shape (n_channels, n_bins, n_frames)")
        if np.shape(self.crc) != (shape[0], shape[2]):
            want = (shape[0], shape[2])
            raise ParameterError(f"crc of shape {np.shape(self.crc)} must be (n_channels, n_frames) = {want}")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_stft(
        cls, X: np.ndarray, pixels: np.ndarray, params: SpectrogramParams, *, bits: int = 16
    ) -> StoredPhase:
        """Quantise the phase of calibrated STFT ``X`` for the image ``pixels``.

        Parameters
        ----------
        X : np.ndarray [shape=(n_channels, n_fft // 2 + 1, n_frames)], complex
            :func:`specimg.spectral.stft` of every channel.
        pixels : np.ndarray, the image rows made from ``X`` (for the column CRCs)
        params : SpectrogramParams, of the image
        bits : int, 8 … 16

        Returns
        -------
        StoredPhase
            Bins whose linear magnitude is at or below ``db_min`` are not present.

        Raises
        ------
        ParameterError
            If ``bits`` is out of range or ``X`` has the wrong shape.
        """
        if not _is_bits(bits):
            raise ParameterError(f"phase_bits={bits!r} must be an integer from 8 to 16 (16 keeps the audio exact)")
        if X.ndim != 3 or X.shape[1] != _n_lin(params):
            raise ParameterError(f"STFT of shape {X.shape} does not match n_fft={params.n_fft}")
        scale = 1 << bits
        # float32 for complex64 (error ~1e-7 turn, far below 2**-16; integers to 2**24 are exact)
        q = np.angle(X)
        q *= q.dtype.type(scale / (2 * np.pi))
        np.mod(np.rint(q, out=q), scale, out=q)
        codes = q.astype(np.uint16)
        del q
        floor = params.ref * 10.0 ** (params.db_min / 20.0)
        present = np.abs(X) > floor
        codes[~present] = 0
        return cls(codes, present, present.copy(), column_crcs(pixels, params), bits)

    # ------------------------------------------------------------------ views
    @property
    def shape(self) -> tuple[int, int, int]:
        """(n_channels, n_fft // 2 + 1, n_frames)."""
        return tuple(self.codes.shape)  # type: ignore[return-value]

    def angle(self, channel: int) -> np.ndarray:
        """Phase of ``channel`` in radians, (n_bins, n_frames), float32; 0 where not present."""
        return (self.codes[channel].astype(np.float32) * np.float32(2 * np.pi / (1 << self.bits))).astype(np.float32)

    def held(self, pixels: np.ndarray, params: SpectrogramParams) -> np.ndarray:
        """Bins whose stored phase goes with ``pixels``: present, valid, in a column whose CRC matches.

        Returns
        -------
        np.ndarray [shape=(n_channels, n_fft // 2 + 1, n_frames)], bool
        """
        same = column_crcs(pixels, params) == self.crc
        return self.present & self.valid & same[:, np.newaxis, :]

    # ------------------------------------------------------------------ edits
    def rebase(
        self, before: np.ndarray, after: np.ndarray, params: SpectrogramParams, *, tolerance: float = 0.0
    ) -> StoredPhase:
        """The phase for ``after``, an edit of the pixels ``before``: bins whose pixels changed are no longer valid.

        Parameters
        ----------
        before, after : np.ndarray [shape=(n_channels * n_bins, n_frames)], the image rows
        params : SpectrogramParams, of both
        tolerance : float >= 0
            Pixel difference (in ``after``'s units) still counted unchanged (one step of an
            8-bit export read back at 16 bits, say).

        Returns
        -------
        StoredPhase
            ``valid`` cleared where a pixel changed (for mel images: every linear bin under
            a changed band) or the column no longer matched its CRC; CRCs of ``after``.
        """
        diff = np.abs(before.astype(np.float64) - after.astype(np.float64)) > tolerance
        changed = unstack_channels(diff, params)
        if params.scale == "mel":  # a linear bin changed if any mel band over it changed
            changed = np.stack([linear_bins_of(ch, params) for ch in changed])
        stale = (column_crcs(before, params) != self.crc)[:, np.newaxis, :]
        valid = self.valid & ~changed & ~stale
        return StoredPhase(self.codes, self.present, valid, column_crcs(after, params), self.bits)

    # ------------------------------------------------------------------ bytes
    def to_bytes(self) -> bytes:
        """The phase block of FORMAT.md §7: header, then one zlib stream.

        Examples
        --------
        >>> p = SpectrogramParams(sr=8000, n_fft=8, n_samples=16)
        >>> X = np.exp(1j * np.linspace(0, 3, 5 * 3)).reshape(1, 5, 3)
        >>> ph = StoredPhase.from_stft(X, np.zeros((5, 3), np.uint16), p)
        >>> StoredPhase.from_bytes(ph.to_bytes(), p, 3).codes.tolist() == ph.codes.tolist()
        True
        """
        return b"".join(self.pieces())

    def pieces(self) -> Iterator[bytes]:
        """The bytes of :meth:`to_bytes`, a piece at a time (compressed as they are asked for)."""
        n_channels, n_bins, n_frames = self.shape
        yield _HEADER.pack(BLOCK_MAGIC, _BLOCK_VERSION, self.bits, n_channels, n_bins, n_frames)
        comp = zlib.compressobj(_ZLIB_LEVEL)
        for part in (np.packbits(self.present, axis=None), np.packbits(self.valid, axis=None), self.crc.astype(">u4")):
            yield comp.compress(part.tobytes())
        if self.bits in (8, 16):  # whole bytes per code: the codes go in pieces of rows (no whole-image copy)
            rows_codes, rows_present = self.codes.reshape(-1, n_frames), self.present.reshape(-1, n_frames)
            step = max(1, _PACK_CHUNK // max(n_frames, 1))
            for r in range(0, rows_codes.shape[0], step):
                yield comp.compress(pack_codes(rows_codes[r : r + step][rows_present[r : r + step]], self.bits))
        else:
            yield comp.compress(pack_codes(self.codes[self.present], self.bits))
        yield comp.flush()

    def append_to_png(self, path: str | os.PathLike[str], chunk_type: bytes) -> None:
        """Write the block as a chunk ``chunk_type`` just before the ``IEND`` that ends the PNG
        file ``path`` (where Pillow writes its chunks after the image data), compressed as it
        is written: no copy of the whole block is held.

        Raises
        ------
        FormatError
            If ``path`` does not end with an ``IEND`` chunk.

        Examples
        --------
        >>> import tempfile, specimg
        >>> from pathlib import Path
        >>> from specimg.pictures import write_png
        >>> img = specimg.encode(np.sin(np.arange(4000) / 3), 8000, n_fft=256, store_phase=True)
        >>> a, b = (Path(tempfile.mkdtemp()) / n for n in ("a.png", "b.png"))
        >>> write_png(a, img.pixels, chunks={b"spHS": img.phase.to_bytes()})  # Pillow writes the chunk
        >>> write_png(b, img.pixels); img.phase.append_to_png(b, b"spHS")
        >>> a.read_bytes() == b.read_bytes()
        True
        """
        end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
        with open(path, "r+b") as f:
            f.seek(-len(end), os.SEEK_END)
            if f.read() != end:
                raise FormatError(f"{os.fspath(path)!r} does not end with a PNG IEND chunk")
            start = f.seek(-len(end), os.SEEK_END)
            f.write(bytes(4) + chunk_type)
            crc, size = zlib.crc32(chunk_type), 0
            for piece in self.pieces():
                f.write(piece)
                crc, size = zlib.crc32(piece, crc), size + len(piece)
            f.write(struct.pack(">I", crc) + end)
            f.seek(start)
            f.write(struct.pack(">I", size))

    @classmethod
    def from_bytes(
        cls, block: bytes, params: SpectrogramParams, n_frames: int, *, source: str = "phase block"
    ) -> StoredPhase:
        """Parse a phase block written by :meth:`to_bytes`, checked against the image.

        Parameters
        ----------
        block : bytes
        params : SpectrogramParams, of the image the block came with
        n_frames : int, columns of that image
        source : str, what the block is, for messages

        The block is bounded before anything is inflated. Its header must give the image's
        STFT shape, which fixes the largest payload it may hold (every bin present); the
        stream is inflated in pieces into a buffer of exactly that size, so nothing beyond it
        is ever produced. Reading takes about 9 bytes per bin, and the shape's bins are
        ``n_fft // 2 + 1`` per frame whatever the picture's height: a mel image of one row
        with n_fft = 131072 makes 65537 bins per pixel. So the phase is refused
        (FORMAT.md §7.2) when reading it would need more than the memory budget, or more than
        :data:`~specimg.resources.FILE_MEMORY_CAP` (1 GiB) while its payload expands more than
        :data:`~specimg.resources.FILE_EXPANSION_LIMIT` (64)-fold from the stored block:
        phase codes do not compress, so such a block has its bins all but absent and
        is damaged or crafted (:func:`specimg.resources.check_file_memory`; a budget set
        explicitly lifts that second rule).

        Raises
        ------
        FormatError
            If the block is truncated, not a phase block, of a version or shape that does
            not match the image, or its stream does not decompress to the size it must.
        ResourceError
            If its phase would need more memory than the budget, or than a block of its
            stored size can justify (see above); the message names the file and the fix.
        """
        if len(block) < _HEADER.size:
            raise FormatError(
                f"{source} is truncated ({len(block)} bytes, shorter than its {_HEADER.size}-byte header)"
            )
        magic, version, bits, n_channels, n_bins, frames = _HEADER.unpack_from(block)
        if magic != BLOCK_MAGIC or version != _BLOCK_VERSION:
            raise FormatError(
                f"{source} is not a version-{_BLOCK_VERSION} specimg phase block (magic {magic!r}, version {version})"
            )
        if bits not in PHASE_BITS:
            raise FormatError(f"{source} claims {bits}-bit phase; the format allows 8 to 16")
        expected = (params.n_channels, _n_lin(params), n_frames)
        if (n_channels, n_bins, frames) != expected:
            raise FormatError(
                f"{source} has shape {(n_channels, n_bins, frames)} but the image's STFT is {expected} "
                "(n_channels, n_fft // 2 + 1, n_frames); it belongs to another image"
            )
        n = n_channels * n_bins * frames
        mask_bytes, crc_bytes = (n + 7) // 8, 4 * n_channels * frames
        head = 2 * mask_bytes + crc_bytes
        limit = head + _packed_size(n, bits)  # the inflated size with every bin present: nothing may exceed it
        from .resources import check_file_memory

        # payload (<= 2.3 B), codes (2 + 2 while placed), masks as bools (2) per bin
        rows = params.n_channels * params.n_bins
        check_file_memory(
            9 * n, limit, len(block) - _HEADER.size,
            f"reading {source} ({n:,} bins: n_fft={params.n_fft} gives {n_bins} per frame of a {rows}-row image)",
            "check that the file is the image you meant",
        )  # fmt: skip
        payload = _inflate(memoryview(block)[_HEADER.size :], limit, source)
        if len(payload) < head:
            raise FormatError(f"{source} is truncated or longer than its shape allows ({len(payload)} bytes of data)")

        def mask(offset: int) -> np.ndarray:
            return np.unpackbits(payload[offset : offset + mask_bytes], count=n).view(bool).reshape(expected)

        present, valid = mask(0), mask(mask_bytes)
        crc = payload[2 * mask_bytes : head].view(">u4").astype(np.uint32).reshape(n_channels, frames)
        n_present = int(np.count_nonzero(present))
        if len(payload) != head + _packed_size(n_present, bits):
            raise FormatError(
                f"{source} holds {len(payload) - head} bytes of phase for {n_present} stored bins "
                f"({_packed_size(n_present, bits)} expected): corrupt"
            )
        if n_present == n:  # every bin stored: the codes in order, no scatter
            codes = unpack_codes(payload[head:], n, bits).reshape(expected)
        else:
            codes = np.zeros(expected, dtype=np.uint16)
            codes[present] = unpack_codes(payload[head:], n_present, bits)
        return cls(codes, present, np.logical_and(valid, present, out=valid), crc, int(bits))

    def __repr__(self) -> str:
        n = self.present.size
        return (
            f"StoredPhase(shape={self.shape}, bits={self.bits}, present={np.count_nonzero(self.present) / n:.1%}, "
            f"valid={np.count_nonzero(self.valid) / n:.1%})"
        )

