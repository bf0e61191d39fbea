from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import specimg
from specimg import FormatError, ParameterError, SpectrogramImage, SpectrogramParams
from specimg.formats import sidecar_path


def _image(bit_depth=16, n_channels=1, scale="linear", rng=None):
    rng = rng or np.random.default_rng(0)
    p = SpectrogramParams(
        sr=16000, n_fft=64, hop_length=16, n_samples=400, n_channels=n_channels, bit_depth=bit_depth,
        scale=scale, n_mels=20, window=("kaiser", 6.0), invert=True, ref=0.37, edits=({"op": "gain", "db": -3.0},),
    )  # fmt: skip
    db = rng.uniform(p.db_min - 10, p.db_max + 5, size=(n_channels, p.n_bins, p.n_frames))
    return SpectrogramImage.from_db(db, p)


@pytest.mark.parametrize("suffix, bit_depth", [(".png", 8), (".png", 16), (".tif", 8), (".tiff", 16), (".tif", 32)])
@pytest.mark.parametrize("n_channels", [1, 2, 3])
@pytest.mark.parametrize("scale", ["linear", "mel"])
def test_metadata_and_pixels_round_trip(tmp_path, suffix, bit_depth, n_channels, scale):
    img = _image(bit_depth, n_channels, scale)
    path = specimg.save(img, tmp_path / f"x{suffix}")
    back = specimg.load(path)
    assert back.params == img.params
    assert back.pixels.dtype == img.pixels.dtype
    assert np.array_equal(back.pixels, img.pixels)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"x{suffix}"]


def test_tiff_has_one_page_per_channel(tmp_path):
    import tifffile

    img = _image(16, 3)
    specimg.save(img, tmp_path / "x.tif")
    with tifffile.TiffFile(tmp_path / "x.tif") as tif:
        assert len(tif.pages) == 3
        assert json.loads(tif.pages[0].description)["format"] == "specimg"


def test_png_chunk_and_sidecar(tmp_path):
    img = _image(16, 2)
    specimg.save(img, tmp_path / "x.png", sidecar=True)
    with Image.open(tmp_path / "x.png") as im:
        assert json.loads(im.info["specimg"]) == img.params.to_dict() | {"version": 1}  # no phase: version 1
    side = sidecar_path(tmp_path / "x.png")
    assert side.name == "x.png.json"
    assert SpectrogramParams.from_json(side.read_text()) == img.params


def test_sidecar_used_when_metadata_stripped(tmp_path):
    img = _image(16, 1)
    Image.fromarray(img.pixels).save(tmp_path / "bare.png")  # no iTXt chunk
    with pytest.raises(FormatError, match="no specimg metadata"):
        specimg.load(tmp_path / "bare.png")
    sidecar_path(tmp_path / "bare.png").write_text(img.params.to_json())
    back = specimg.load(tmp_path / "bare.png")
    assert back.params == img.params and np.array_equal(back.pixels, img.pixels)


def test_params_argument_used_last(tmp_path):
    img = _image(8, 1)
    Image.fromarray(img.pixels).save(tmp_path / "bare.png")
    back = specimg.load(tmp_path / "bare.png", params=img.params)
    assert back.params == img.params
    with pytest.raises(FormatError, match="bit_depth=16"):
        specimg.load(tmp_path / "bare.png", params=img.params.replace(bit_depth=16))
    # embedded metadata wins over params=
    specimg.save(img, tmp_path / "meta.png")
    assert specimg.load(tmp_path / "meta.png", params=img.params.replace(ref=2.0)).params == img.params


def test_float_png_refused_and_nothing_written(tmp_path):
    with pytest.raises(ParameterError, match="bit_depth=32"):
        specimg.save(_image(32), tmp_path / "x.png")
    with pytest.raises(ParameterError, match=r"\.png, \.tif"):
        specimg.save(_image(16), tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "x.png"
    path.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        specimg.save(_image(16), path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_format_md_example_is_the_sample_metadata():
    import re

    from .conftest import ROOT, SAMPLE_DATA

    text = (ROOT / "FORMAT.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(.*?)```", text, re.DOTALL).group(1))
    assert SpectrogramParams.from_dict(example) == specimg.read_metadata(SAMPLE_DATA / "music.png")


def test_independent_reader_following_format_md(tmp_path):
    """A reader written from FORMAT.md alone (Pillow + json + numpy) gets specimg's levels."""
    from .conftest import SAMPLE_DATA

    y, sr = specimg.read_audio(SAMPLE_DATA / "music.wav")
    img = specimg.encode(y, sr, invert=True, ref=0.5)
    specimg.save(img, tmp_path / "m.png")
    with Image.open(tmp_path / "m.png") as im:
        meta = json.loads(im.info["specimg"])
        p = np.array(im).astype(np.float64)
    assert meta["format"] == "specimg" and meta["version"] == 1  # no stored phase: version 1 (FORMAT.md §8)
    x = p / 65535.0
    if meta["invert"]:
        x = 1.0 - x
    level_db = meta["db_min"] + np.clip(x, 0, 1) * (meta["db_max"] - meta["db_min"])
    n_bins = meta["n_fft"] // 2 + 1
    blocks = level_db.reshape(meta["n_channels"], n_bins, -1)
    if meta["flip"]:
        blocks = blocks[:, ::-1, :]
    assert blocks.shape[-1] == 1 + meta["n_samples"] // meta["hop_length"]
    np.testing.assert_allclose(blocks, img.db, atol=1e-9)
    # the calibration of §1.4, from scratch with numpy
    w = np.hanning(meta["win_length"] + 1)[:-1]  # periodic Hann
    frames = np.pad(y[0], meta["n_fft"] // 2)
    m = 40
    frame = frames[m * meta["hop_length"] : m * meta["hop_length"] + meta["n_fft"]]
    A = np.abs(np.fft.rfft(w * frame)) * 2 / w.sum()
    D = np.clip(20 * np.log10(np.maximum(A, 1e-30) / meta["ref"]), meta["db_min"], meta["db_max"])
    np.testing.assert_allclose(D, blocks[0, :, m], atol=(meta["db_max"] - meta["db_min"]) / 65535)


def test_images_past_pillows_bomb_limit_load(tmp_path):
    """A 30-minute stereo file at hop 512 has ~330 M pixels; Pillow refuses > 179 M by default."""
    import warnings as _w

    p = SpectrogramParams(sr=8000, n_fft=4, hop_length=1, n_channels=1, bit_depth=8)
    wide = np.zeros((3, 70_000_000), np.uint8)  # 210 M pixels, compresses to ~200 kB
    Image.fromarray(wide).save(tmp_path / "big.png")
    before = Image.MAX_IMAGE_PIXELS
    with _w.catch_warnings():
        _w.simplefilter("error")
        img = specimg.load(tmp_path / "big.png", params=p)
    assert img.shape == (3, 70_000_000)
    assert Image.MAX_IMAGE_PIXELS == before  # the global limit is restored


def test_foreign_tiff_description_does_not_hide_the_sidecar(tmp_path):
    import tifffile

    img = _image(16, 1)
    tifffile.imwrite(tmp_path / "e.tif", img.pixels)  # tifffile writes its own description
    assert specimg.read_metadata(tmp_path / "e.tif") is None
    assert specimg.load(tmp_path / "e.tif", params=img.params).params == img.params
    sidecar_path(tmp_path / "e.tif").write_text(img.params.to_json())
    assert specimg.load(tmp_path / "e.tif").params == img.params


def test_tiff_needs_one_page_per_channel(tmp_path):
    import tifffile

    img = _image(16, 2)
    tifffile.imwrite(tmp_path / "one.tif", img.pixels, description=img.params.to_json(), metadata=None)
    with pytest.raises(FormatError, match="1 page but n_channels=2"):
        specimg.load(tmp_path / "one.tif")
