"""Hostile files: ``load`` and ``decode`` raise only :class:`specimg.SpecimgError`s, quickly.

Hypothesis mutates the bytes of small valid PNG and TIFF spectrograms and the metadata JSON
they carry. Whatever comes out, reading and decoding either succeed or raise a
``SpecimgError`` (never a raw ``ValueError``/``KeyError``/``OSError`` from a library), within
five seconds each and with the process below 1.5 GiB. The examples are derandomised, so CI sees the same cases every run.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import zlib
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specimg
from specimg.pictures import write_png

SR = 8000
LIMIT_KIB = 1.5 * 2**20  # 1.5 GiB
FUZZ = settings(
    max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip


def _image() -> specimg.SpectrogramImage:
    y = np.sin(2 * np.pi * 440 * np.arange(SR // 4) / SR) * 0.3
    return specimg.encode(y, SR, n_fft=64, hop_length=16)


IMG = _image()
PARAMS = json.loads(IMG.params.to_json())


def _png(text: str | None = None) -> bytes:
    buf = io.BytesIO()
    write_png(buf, IMG.pixels, text=IMG.params.to_json() if text is None else text)
    return buf.getvalue()


PNG = _png()


def _tiff() -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, IMG.pixels, photometric="minisblack", description=IMG.params.to_json(), metadata=None)
    return buf.getvalue()


TIFF = _tiff()


def _load_and_decode(path: Path) -> None:
    """Either works or raises a SpecimgError; bounded in time and memory."""
    start = time.perf_counter()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lossy/clipping warnings are legitimate here
        try:
            specimg.decode(specimg.load(path), n_iter=1)
        except specimg.SpecimgError:
            pass
    assert time.perf_counter() - start < 5.0, "a hostile file took too long"
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the peak is the process's over its life: a new peak above 1.5 GiB is this case's
    assert peak_kib <= max(peak_before, LIMIT_KIB), f"a hostile file took the process to {peak_kib / 2**20:.2f} GiB"


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, value in edits:
        b[pos % len(b)] = value
    return bytes(b[:cut] if cut is not None else b)


def _chunks(data: bytes) -> list[list[bytes]]:
    out, i = [], 8
    while i + 8 <= len(data):
        n = struct.unpack(">I", data[i : i + 4])[0]
        out.append([data[i + 4 : i + 8], data[i + 8 : i + 8 + n]])
        i += 12 + n
    return out


def _with_crcs(chunks: list[list[bytes]]) -> bytes:
    body = b"".join(
        struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF) for k, d in chunks
    )
    return PNG[:8] + body


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8)
CUT = st.none() | st.integers(0, len(PNG))


@FUZZ
@given(edits=EDITS, cut=CUT)
def test_mutated_png_bytes(tmp_path_factory: Any, edits: list[tuple[int, int]], cut: int | None) -> None:
    path = tmp_path_factory.mktemp("png") / "x.png"
    path.write_bytes(_mutate(PNG, edits, cut))
    _load_and_decode(path)


@FUZZ
@given(chunk=st.integers(0, 3), edits=EDITS, raw=st.booleans())
def test_mutated_png_chunks_with_valid_crcs(tmp_path_factory: Any, chunk: int, edits: list[tuple[int, int]], raw: bool) -> None:
    """Past the CRC check: a chunk's content (the header, the compressed or the inflated
    pixel rows, the metadata) is mutated and its CRC recomputed."""
    chunks = _chunks(PNG)
    k = chunk % len(chunks)
    data = chunks[k][1]
    if chunks[k][0] == b"IDAT" and not raw:
        chunks[k][1] = zlib.compress(_mutate(zlib.decompress(data), edits, None))
    elif data:
        chunks[k][1] = _mutate(data, edits, None)
    path = tmp_path_factory.mktemp("chunks") / "x.png"
    path.write_bytes(_with_crcs(chunks))
    _load_and_decode(path)


@FUZZ
@given(edits=EDITS, cut=st.none() | st.integers(0, 4096))
def test_mutated_tiff_bytes(tmp_path_factory: Any, edits: list[tuple[int, int]], cut: int | None) -> None:
    path = tmp_path_factory.mktemp("tiff") / "x.tiff"
    path.write_bytes(_mutate(TIFF, edits, cut))
    _load_and_decode(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(sorted(PARAMS) + ["extra"]), JSON, min_size=1, max_size=4),
       dropped=st.lists(st.sampled_from(sorted(PARAMS)), max_size=2))  # fmt: skip
def test_hostile_metadata(tmp_path_factory: Any, changes: dict[str, Any], dropped: list[str]) -> None:
    meta = {**PARAMS, **changes}
    for key in dropped:
        meta.pop(key, None)
    path = tmp_path_factory.mktemp("meta") / "x.png"
    path.write_bytes(_png(json.dumps(meta, allow_nan=True)))
    _load_and_decode(path)


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '"specimg"', json.dumps({"format": "specimg"}), "x" * 100_000])
def test_broken_metadata_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(_png(text))
    with pytest.raises(specimg.SpecimgError):
        specimg.load(path)
