"""The one door to picture files: size from the header, one alpha rule, one gray rule."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import specimg
from specimg import image as pixel_range
from specimg import legacy, ops
from specimg.errors import FormatError, MissingFileError
from specimg.pictures import MAX_PIXELS, picture_size, read_gray, read_picture, to_gray

SR = 22050


def _png_header_only(path: Path, width: int, height: int, bit_depth: int = 8) -> Path:
    """A PNG whose IHDR claims ``width`` × ``height`` gray pixels, with one empty IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def test_huge_header_is_refused_before_decoding(tmp_path: Path) -> None:
    path = _png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    assert path.stat().st_size < 100
    with pytest.raises(FormatError, match=r"claims 100000×100000 pixels"):
        read_picture(path)
    # every entry point that opens pictures goes through the door
    with pytest.raises(FormatError, match="claims"):
        specimg.load(path, params=specimg.SpectrogramParams(sr=SR))
    with pytest.raises(FormatError, match="claims"):
        legacy.from_minmax_image(path, sr=SR)
    assert 100_000 * 100_000 > MAX_PIXELS


def test_header_only_reads_size_and_text(tmp_path: Path) -> None:
    img = specimg.encode(np.sin(np.linspace(0, 400, SR)), SR, n_fft=256)
    path = specimg.save(img, tmp_path / "a.png")
    picture = read_picture(path, pixels=False)
    assert picture.pixels is None and picture.size == (1, 129, img.n_frames)
    assert picture.text is not None and '"format": "specimg"' in picture.text.replace('":"', '": "')
    assert picture_size(path) == (1, 129, img.n_frames)


def test_missing_file_and_bad_type(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="no such file"):
        read_picture(tmp_path / "nothing.png")
    with pytest.raises(specimg.ParameterError):
        read_picture(3.5)  # type: ignore[arg-type]
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(FormatError, match="not a"):
        read_picture(tmp_path / "text.png")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_alpha_over_black_every_dtype(dtype: type) -> None:
    full = pixel_range.full_scale(dtype)
    rgba = np.zeros((2, 3, 4), dtype=dtype)
    rgba[..., :3] = np.array(0.6 * full, dtype=dtype)
    rgba[0, :, 3] = np.array(full, dtype=dtype)
    rgba[1, :, 3] = np.array(full / 2, dtype=dtype) if dtype is np.float32 else full // 2
    rgb = read_picture(rgba).pixels
    assert rgb is not None and rgb.dtype == dtype and rgb.shape == (2, 3, 3)
    np.testing.assert_allclose(rgb[0].astype(float), float(np.array(0.6 * full, dtype=dtype)), rtol=1e-6)
    np.testing.assert_allclose(rgb[1].astype(float) / full, 0.3, atol=1.0 / 255)


def test_gray_rule_is_bt601_and_exact_for_equal_channels() -> None:
    rgb = np.array([[[200, 100, 50], [9, 9, 9]]], dtype=np.uint8)
    gray = to_gray(rgb)
    assert gray[0, 1] == 9
    assert gray[0, 0] == np.uint8(round(0.299 * 200 + 0.587 * 100 + 0.114 * 50))
    # Pillow's convert("L") agrees to within one level
    assert abs(int(np.asarray(Image.fromarray(rgb).convert("L"))[0, 0]) - int(gray[0, 0])) <= 1


def test_sixteen_bit_png_stays_uint16(tmp_path: Path) -> None:
    a = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    Image.fromarray(a).save(tmp_path / "g.png")
    out = read_gray(tmp_path / "g.png")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, a)


def test_one_alpha_and_gray_rule_for_edited_copy_mask_and_minmax(tmp_path: Path) -> None:
    """The same RGBA picture means the same gray level wherever it enters specimg."""
    y = np.sin(2 * np.pi * 440 * np.arange(SR) / SR) * 0.5
    with pytest.warns(specimg.LossyWarning):
        img = specimg.encode(y, SR, n_fft=256, hop_length=64, bit_depth=8)
    rows, cols = img.shape
    level = np.linspace(40, 220, cols).astype(np.uint8)
    rgba = np.zeros((rows, cols, 4), dtype=np.uint8)
    rgba[..., :3] = level[np.newaxis, :, np.newaxis]  # gray drawn in RGB
    rgba[..., 3] = 255
    rgba[: rows // 2, : cols // 3, 3] = 0  # a fully transparent block
    path = tmp_path / "edited_rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    expected = np.where(rgba[..., 3] == 0, 0, rgba[..., 0]).astype(np.uint8)

    # 1. like= edited copy: the pixels become the gray levels at the original's bit depth
    edited = specimg.load(path, like=img)
    np.testing.assert_array_equal(edited.pixels, expected)

    # 2. apply_mask with a continuous weight: gain = gray level × db
    db = -30.0
    masked = ops.apply_mask(img, path, db=db, threshold=None, fade=0.0)
    before = pixel_range.pixels_to_db(img.pixels, img.params)  # picture orientation
    after = pixel_range.pixels_to_db(masked.pixels, img.params)
    weight = pixel_range.to_unit(expected)
    live = (before > img.params.db_min) & (before + weight * db > img.params.db_min + 1.0)
    step = pixel_range.db_step(img.params)
    np.testing.assert_allclose((after - before)[live], (weight * db)[live], atol=step)
    np.testing.assert_array_equal(masked.pixels[weight == 0], img.pixels[weight == 0])

    # 3. from_minmax_image: the level read is the same gray (0 = floor, 1 = peak)
    mm = legacy.from_minmax_image(path, sr=SR, n_fft=2 * (rows - 1), hop_length=64, top_db=80.0, peak_db=0.0)
    unit = pixel_range.to_unit(expected)[::-1]  # flip=True: the bottom row is bin 0
    live = unit > 0
    np.testing.assert_allclose(mm.db[live], (unit[live] - 1.0) * 80.0, atol=pixel_range.db_step(mm.params) + 1e-9)
    assert np.all(mm.db[~live] == mm.params.db_min)


def test_header_only_never_decodes_pixels(tmp_path: Path) -> None:
    """read_metadata on a truncated PNG still finds the metadata: the pixels were not read."""
    img = specimg.encode(np.random.default_rng(0).standard_normal(SR), SR, n_fft=512)
    path = specimg.save(img, tmp_path / "a.png")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert specimg.read_metadata(path) == img.params
    assert picture_size(path) == (1, 257, img.n_frames)
    with pytest.raises(FormatError, match="a.png"):
        specimg.load(path)


def test_int32_pixels_outside_sixteen_bits_are_refused() -> None:
    ok = read_picture(np.full((4, 4), 65535, dtype=np.int32)).pixels
    assert ok is not None and ok.dtype == np.uint16
    with pytest.raises(FormatError, match="32-bit integer pixels"):
        read_picture(np.full((4, 4), 70000, dtype=np.int32))
    with pytest.raises(FormatError, match="32-bit integer pixels"):
        legacy.from_minmax_image(np.full((129, 10), -5, dtype=np.int32), sr=SR, peak_db=0.0)
