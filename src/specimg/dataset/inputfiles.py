"""The input files of dataset decode, read only once their sizes are checked from their headers.

A generated tile file is small on disk but may ask for far more: a ``.npz`` member
inflates 1000-fold, a ``.pt`` tensor saved as a stride-0 view (``torch.zeros(1).expand(32,
10**7)``) stores 4 bytes for 3.2 · 10⁸ elements, a blank PNG's header claims 32 × 2 · 10⁷
pixels. Before any of it is inflated, copied or decoded, :func:`check_input` estimates the
memory of reading the file and turning it into tiles, from headers only:

* ``.npy``: the array header (``np.lib.format``: no data is read);
* ``.npz``: the zip directory and the ``.npy`` header of every member to be read; a member
  that is no ``.npy`` array is refused (``np.load`` would read it whole as bytes);
* ``.pt``/``.pth``: ``torch.load(weights_only=True, mmap=True)`` maps the storages without
  reading them (files of the legacy format, which cannot be mapped, are read: their
  storages are no larger than the file); every tensor must be a dense CPU tensor (not
  sparse, nested, meta or quantized) and counts ``numel × itemsize`` of the copy made of
  it, so a stride-0 view counts every element; lists, tuples and dicts may nest at most
  :data:`MAX_NESTING` deep, and a list referenced many times counts every time;
* pictures: the size and mode of their header.

:func:`specimg.resources.check_file_memory` then refuses the file, naming it, when the
estimate is over the memory budget, or over 1 GiB while the file's data expands more than
64-fold from the file's bytes. :func:`read_arrays` reads ``.npy``/``.npz``/``.pt`` files
after that check. The tile geometry (a height of ``n_bins``, or a grid of them) is
checked from the same headers by :func:`specimg.dataset.folders.tiles_in`.
"""

from __future__ import annotations

import math
import pickle
import tokenize
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ParameterError, SpecimgError
from ..pictures import read_picture
from ..resources import check_file_memory, picture_bytes

__all__ = ["MAX_NESTING", "InputSize", "check_input", "input_size", "read_arrays", "torch_load"]

#: How deep lists, tuples and dicts may nest in a ``.pt`` file (a DataLoader batch is 2).
MAX_NESTING = 8

# Peak bytes (see InputSize.need): the tiles as pixels of the decoding depth (2 B at 16
# bits, 4 for float32) are kept for the whole file; the float64 copies made while one image
# is converted (to_pixels, check_saturation, to_gray) are 8-24 B per element; a view and its
# list entry per 2-D image. Measured read + conversion of 33M-value files: .npz float32 188
# MiB (estimate 252), .npy uint8 94 (159), .pt float16 316 (377), one 64 × 500000 16-bit
# PNG 553 (1282: the single-image term is the worst case, a float tile).
_KEPT_BYTES_PER_PIXEL = 4
_IMAGE_BYTES_PER_ELEMENT = 32
_BYTES_PER_IMAGE = 1024
# Bytes per pixel of a picture's data by Pillow mode ("tiff": tifffile, at most 4).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2, "RGB": 3}


@dataclass
class InputSize:
    """What reading a file's arrays will hold: elements, data bytes, the largest image, images."""

    elements: int = 0
    data_bytes: int = 0
    largest: int = 0
    images: int = 0

    def add(self, shape: tuple[int, ...], itemsize: int, times: int = 1) -> None:
        """Count ``times`` arrays of ``shape`` with ``itemsize`` bytes per element as read."""
        n = math.prod(shape)
        channel_last = len(shape) >= 3 and 0 < shape[-1] <= 4
        per_image = math.prod(shape[-3:] if channel_last else shape[-2:])
        images = max(math.prod(shape[:-2]), 1)  # at least the views split_tiles makes
        self.elements += times * n
        # a view of nothing is still an object: (10**9, 32, 0) is no small array
        self.data_bytes += times * (n * itemsize + images * _BYTES_PER_IMAGE)
        self.largest = max(self.largest, per_image)
        self.images += times * images

    def merge(self, other: InputSize, times: int = 1) -> None:
        self.elements += times * other.elements
        self.data_bytes += times * other.data_bytes
        self.largest = max(self.largest, other.largest)
        self.images += times * other.images

    def need(self, read_bytes: int | None = None) -> int:
        """Peak bytes of reading the data (``read_bytes``, default its size) and making tiles of it."""
        read = self.data_bytes if read_bytes is None else read_bytes + _BYTES_PER_IMAGE * self.images
        return read + _KEPT_BYTES_PER_PIXEL * self.elements + _IMAGE_BYTES_PER_ELEMENT * self.largest


def check_input(path: Path, key: str | None = None) -> None:
    """ResourceError if reading the input file ``path`` (its ``key`` only) would take too much memory.

    From headers only (module notes); :func:`specimg.resources.check_file_memory` decides.

    Raises
    ------
    FormatError
        If a header cannot be read, a ``.npz`` member is no ``.npy`` array, or a ``.pt``
        file holds a tensor that is not dense on the CPU or nests too deep.
    ResourceError
        If the estimate is over the budget, or over 1 GiB for data expanding more than 64-fold.
    """
    ext = path.suffix.lower()
    if ext in (".pt", ".pth"):
        _check(path, input_size(torch_load(path), path), "tensors")
        return
    if ext not in (".npy", ".npz"):
        picture = read_picture(path, pixels=False)
        n_pages, height, width = picture.size
        size = InputSize()
        size.add((n_pages * height, width), _MODE_BYTES.get(picture.mode, 4))
        _check(path, size, f"{width}×{height}" + (f"×{n_pages} pages" if n_pages > 1 else "") + f" {picture.mode}",
               read=picture_bytes(size.elements, picture.mode))  # fmt: skip
        return
    size = InputSize()
    for _, shape, dtype in _array_headers(path, key):
        size.add(shape, dtype.itemsize)
    _check(path, size, "arrays")


def _check(path: Path, size: InputSize, what: str, read: int | None = None) -> None:
    check_file_memory(
        size.need(read), size.data_bytes, path.stat().st_size,
        f"reading {str(path)!r} ({what}: {size.elements:,} values)", "check that the file is the output you meant",
    )  # fmt: skip


def _array_headers(path: Path, key: str | None) -> list[tuple[str, tuple[int, ...], np.dtype]]:
    """(name, shape, dtype) of the ``.npy`` file, or of the members of the ``.npz`` file to be read."""
    try:
        if path.suffix.lower() == ".npy":
            with open(path, "rb") as fp:
                return [(path.name, *_npy_header(fp, path, path.name))]
        out = []
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename.removesuffix(".npy")  # np.load's key
                if key is not None and name != key:
                    continue
                with zf.open(info) as member:
                    out.append((name, *_npy_header(member, path, f"member {info.filename!r}")))
        return out
    except FormatError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError,
            TypeError, OverflowError) as exc:  # fmt: skip
        raise FormatError(f"{str(path)!r} is not a readable {path.suffix.lower()} array file: {exc}") from None


def _npy_header(fp: Any, path: Path, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the header of the ``.npy`` data at ``fp`` (its data is not read)."""
    try:
        version = np.lib.format.read_magic(fp)
    except ValueError:
        raise FormatError(f"{str(path)!r}: {what} is not a .npy array") from None
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, _, dtype = read(fp)
    except (tokenize.TokenError, SyntaxError, MemoryError) as exc:  # numpy tokenizes the header's dict text
        raise FormatError(f"{str(path)!r}: {what} has a damaged .npy header ({type(exc).__name__})") from None
    return tuple(int(d) for d in shape), np.dtype(dtype)


def read_arrays(path: Path, key: str | None) -> list[Any]:
    """The arrays (or tensors) of a ``.npy``, ``.npz`` or ``.pt``/``.pth`` file: all, or ``key``'s.

    Checked first by :func:`check_input`; the values of a ``.npz`` or a saved dict in order.

    Raises
    ------
    FormatError, ResourceError
        As :func:`check_input`, or if the data cannot be read.
    ParameterError
        If ``key`` is not in the file.
    """
    ext = path.suffix.lower()
    if ext in (".pt", ".pth"):
        obj = torch_load(path)
        _check(path, input_size(obj, path), "tensors")
        try:
            return _pick({str(k): v for k, v in obj.items()}, key, path) if isinstance(obj, dict) else [obj]
        except RecursionError:
            raise FormatError(f"{str(path)!r} holds keys nested too deep to read") from None
    check_input(path, key)
    try:
        if ext == ".npy":
            return [np.load(path, allow_pickle=False)]
        with np.load(path, allow_pickle=False) as z:
            return [z[k] for k in _pick({k: k for k in z.files}, key, path)]  # only the members asked for
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise FormatError(f"{str(path)!r} is not a readable {ext} array file: {exc}") from None


def _pick(items: dict[str, Any], key: str | None, path: Path) -> list[Any]:
    """The values of a .npz / a saved dict: all of them in order, or ``key``'s."""
    if key is None:
        return list(items.values())
    if key not in items:
        raise ParameterError(f"{str(path)!r} has no array {key!r}; it holds {', '.join(map(repr, items)) or 'none'}")
    return [items[key]]


# ---------------------------------------------------------------------------- torch files
def torch_load(path: Path) -> Any:
    """``torch.load(path, weights_only=True)``, the storages mapped from the file where the format allows.

    Raises
    ------
    FormatError
        If torch cannot read the file, or ``weights_only`` refuses it.
    SpecimgError
        If torch is not installed.
    """
    try:
        import torch
    except ImportError:
        raise SpecimgError(f"{str(path)!r}: reading .pt/.pth files needs torch: pip install 'specimg[torch]'") from None
    try:
        with warnings.catch_warnings():  # torch's own notes on what it loads (sparse checks, TypedStorage)
            warnings.simplefilter("ignore")
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:
                if "mmap" not in str(exc):
                    raise
            return torch.load(path, map_location="cpu", weights_only=True)  # the legacy format: read, as stored
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError, TypeError,
            IndexError, KeyError, RecursionError, zipfile.BadZipFile, NotImplementedError) as exc:  # fmt: skip
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise FormatError(
            f"{str(path)!r} is not a tensor file torch.load(weights_only=True) reads ({first}); save a tensor or a "
            "list of tensors with torch.save"
        ) from None


def input_size(obj: Any, path: Path) -> InputSize:
    """What the arrays of a loaded ``.pt`` object will hold once read (module notes), without copying any.

    Raises
    ------
    FormatError
        For a tensor that is not dense on the CPU, or containers nested deeper than :data:`MAX_NESTING`.
    """
    seen: dict[int, InputSize] = {}

    def walk(x: Any, depth: int) -> InputSize:
        size = InputSize()
        if type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach"):
            _check_tensor(x, path)
            half = x.is_floating_point() and x.element_size() < 4  # float16, bfloat16: made float32 (twice, measured)
            size.add(tuple(int(d) for d in x.shape), 8 if half else int(x.element_size()))
            return size
        if isinstance(x, (bool, int, float, complex)):
            size.add((1,), 16)
            return size
        if not isinstance(x, (list, tuple, dict)):
            return size
        if depth >= MAX_NESTING:
            raise FormatError(
                f"{str(path)!r} holds lists or dicts nested more than {MAX_NESTING} deep; save a tensor, a list of "
                "tensors or a dict of tensors"
            )
        if id(x) in seen:  # the same container again: its arrays are copied again
            return seen[id(x)]
        numbers = 0
        for item in x.values() if isinstance(x, dict) else x:
            if isinstance(item, (bool, int, float, complex)):
                numbers += 1
            else:
                size.merge(walk(item, depth + 1))
        if numbers:
            size.add((numbers,), 16)
        seen[id(x)] = size
        return size

    return walk(obj, 0)


def _check_tensor(t: Any, path: Path) -> None:
    """FormatError unless ``t`` is a dense tensor with data on the CPU."""
    import torch

    what = None
    if t.layout != torch.strided:
        what = f"a {str(t.layout).replace('torch.', '')} tensor (save t.to_dense())"
    elif getattr(t, "is_nested", False):
        what = "a nested tensor (save its tensors as a list)"
    elif t.is_quantized:
        what = "a quantized tensor (save t.dequantize())"
    elif t.device.type != "cpu":
        what = f"a tensor on device {t.device.type!r}, which holds no data here"
    if what is not None:
        raise FormatError(f"{str(path)!r} holds {what}; specimg decodes dense tensors of pixel values")
