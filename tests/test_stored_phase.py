"""The phase stored in the picture: files, checks, edits, ``like=``, the command line."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from PIL import Image
from PIL.PngImagePlugin import PngInfo

import specimg
from specimg import FormatError, ParameterError, PhaseWarning, ops
from specimg.cli import cli
from specimg.formats import PHASE_CHUNK, sidecar_path
from specimg.metrics import magnitude_convergence, spectral_convergence
from specimg.pictures import read_png_chunk, write_png
from specimg.spectral import stft_magnitude
from specimg.stored_phase import StoredPhase

SR = 8000
GEOMETRY = {"n_fft": 256}  # hop 64: 129 bins × 126 frames for 1 s


def _audio(n_channels: int = 1, seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(SR * seconds)) / SR
    chans = [
        0.3 * np.sin(2 * np.pi * (300 + 200 * c) * t + 40 * t**2) * np.exp(-t) + 0.02 * rng.standard_normal(t.size)
        for c in range(n_channels)
    ]
    return chans[0] if n_channels == 1 else np.stack(chans)


def _sc(y_hat: np.ndarray, y: np.ndarray, params: specimg.SpectrogramParams, frames: np.ndarray | None = None) -> float:
    A, B = stft_magnitude(y_hat, params), stft_magnitude(y, params)
    if frames is not None:
        A, B = A[..., frames], B[..., frames]
    return magnitude_convergence(A, B)


@pytest.fixture(scope="module")
def stereo() -> tuple[np.ndarray, specimg.SpectrogramImage]:
    y = _audio(2)
    return y, specimg.encode(y, SR, store_phase=True, **GEOMETRY)


@pytest.mark.parametrize("suffix, sidecar_only", [(".png", False), (".tif", False), (".png", True)])
def test_round_trip_decodes_from_the_file_alone(tmp_path, stereo, suffix, sidecar_only):
    y, img = stereo
    path = specimg.save(img, tmp_path / f"a{suffix}", sidecar=True)
    if sidecar_only:  # a tool that strips chunks but leaves the sidecar beside the image
        Image.open(path).save(path)
        assert read_png_chunk(path, PHASE_CHUNK) is None
    back = specimg.load(path)
    assert back.phase is not None and back.phase.bits == 16
    assert np.array_equal(back.phase.codes, img.phase.codes) and np.array_equal(back.phase.present, img.phase.present)
    y_hat, _ = specimg.decode(path)
    assert spectral_convergence(y_hat, y, img.params) < -80  # without phase: about -35
    without, _ = specimg.decode(back.replace(phase=None))
    assert spectral_convergence(without, y, img.params) > -50


def test_png_is_a_plain_gray_picture_with_an_unsafe_to_copy_private_chunk(tmp_path, stereo):
    _, img = stereo
    path = specimg.save(img, tmp_path / "a.png")
    with Image.open(path) as im:
        assert im.mode == "I;16" and im.size == (img.n_frames, img.shape[0])
        assert np.array_equal(np.asarray(im), img.pixels)
    kinds = []
    data = path.read_bytes()
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        kinds.append(kind)
        pos += 12 + length
    assert kinds.index(PHASE_CHUNK) > kinds.index(b"IDAT") and kinds[-1] == b"IEND"
    a, p, r, s = (chr(b) for b in PHASE_CHUNK)  # PNG §5.4: ancillary, private, reserved, unsafe to copy
    assert a.islower() and p.islower() and r.isupper() and s.isupper()


def test_phase_bits_set_the_precision_and_the_size(stereo):
    y, img16 = stereo
    img8 = specimg.encode(y, SR, store_phase=True, phase_bits=8, **GEOMETRY)
    n = int(np.count_nonzero(img8.phase.present))
    assert len(img8.phase.to_bytes()) < 0.55 * len(img16.phase.to_bytes())
    assert n <= len(img8.phase.to_bytes()) < n * 1.05 + 2000
    y8, _ = specimg.decode(img8)
    y16, _ = specimg.decode(img16)
    assert -60 < spectral_convergence(y8, y, img8.params) < -45
    assert spectral_convergence(y16, y, img16.params) < -80
    for bad in (7, 17, True, 12.0):
        with pytest.raises(ParameterError, match="phase_bits"):
            specimg.encode(y, SR, store_phase=True, phase_bits=bad, **GEOMETRY)
    with pytest.raises(ParameterError, match="store_phase"):
        specimg.encode(y, SR, store_phase="yes", **GEOMETRY)


def test_float_tiff_keeps_the_phase(tmp_path):
    y = _audio()
    img = specimg.encode(y, SR, bit_depth=32, store_phase=True, phase_bits=12, **GEOMETRY)
    back = specimg.load(specimg.save(img, tmp_path / "f.tif"))
    assert back.phase.bits == 12 and back.phase.held(back.pixels, back.params)[img.phase.present].all()
    y_hat, _ = specimg.decode(back)
    assert spectral_convergence(y_hat, y, img.params) < -70  # 12-bit phase: about -79 dB


def test_floor_bins_are_not_stored():
    y = np.zeros(SR)
    y[: SR // 2] = _audio()[: SR // 2]  # silence in the second half
    img = specimg.encode(y, SR, store_phase=True, **GEOMETRY)
    silent = img.channel_pixels[0] == 0
    assert silent[:, -40:].all() and not img.phase.present[0][:, -40:].any()
    assert img.phase.present[0][~silent].all()


def test_version_1_file_still_loads(tmp_path):
    """A file as specimg 0.1 wrote it (version-1 iTXt metadata, no phase chunk) loads as version 2."""
    img = specimg.encode(_audio(), SR, **GEOMETRY)
    meta = img.params.to_dict() | {"version": 1}
    info = PngInfo()
    info.add_itxt("specimg", json.dumps(meta))
    Image.fromarray(img.pixels).save(tmp_path / "v1.png", pnginfo=info)
    back = specimg.load(tmp_path / "v1.png")
    assert back.phase is None and back.params.version == specimg.FORMAT_VERSION == 2
    np.testing.assert_array_equal(back.pixels, img.pixels)
    with pytest.raises(FormatError, match="format version 3"):
        specimg.SpectrogramParams.from_dict(meta | {"version": 3})


def test_editor_copy_drops_the_chunk_and_like_restores_it(tmp_path, stereo):
    y, img = stereo
    orig = specimg.save(img, tmp_path / "orig.png")
    with Image.open(orig) as im:  # an editor: 8-bit export, one bright stroke over 5 columns
        a = np.rint(np.asarray(im) / 257).astype(np.uint8)
    before = a.copy()
    a[:, 60:65] = np.maximum(a[:, 60:65], 200)
    stroke = specimg.image.unstack_channels(a != before, img.params)
    Image.fromarray(a).save(tmp_path / "copy.png")
    assert read_png_chunk(tmp_path / "copy.png", PHASE_CHUNK) is None
    copy = specimg.load(tmp_path / "copy.png", like=orig)
    held = copy.phase.held(copy.pixels, copy.params)
    assert stroke.sum() > 500 and not held[stroke].any()
    assert held[:, :, :55][img.phase.present[:, :, :55]].all()
    y_hat, _ = specimg.decode(copy)
    far = np.r_[0:55, 70 : img.n_frames]
    assert _sc(y_hat, y, img.params, far) < -45  # 8-bit magnitude with the stored phase
    no_phase, _ = specimg.decode(copy.replace(phase=None))
    assert _sc(no_phase, y, img.params, far) > _sc(y_hat, y, img.params, far) + 6
    direct, _ = specimg.decode(tmp_path / "copy.png", like=orig)  # decode(like=) is load(like=) then decode
    assert np.array_equal(direct, y_hat)


def _rewrite_chunk(path: Path, data: bytes, *, crc: int | None = None) -> None:
    raw = path.read_bytes()
    start = raw.index(PHASE_CHUNK) - 4
    length = struct.unpack(">I", raw[start : start + 4])[0]
    crc = zlib.crc32(PHASE_CHUNK + data) if crc is None else crc
    chunk = struct.pack(">I", len(data)) + PHASE_CHUNK + data + struct.pack(">I", crc)
    path.write_bytes(raw[:start] + chunk + raw[start + 12 + length :])


@pytest.mark.parametrize(
    "damage, match",
    [
        ("crc", "CRC"),
        ("truncated", "truncated"),
        ("header", "truncated"),
        ("magic", "not a version-1 specimg phase block"),
        ("other image", "belongs to another image"),
        ("sidecar", "not base64"),
    ],
)
def test_damaged_phase_warns_and_decodes_without_it(tmp_path, stereo, damage, match):
    y, img = stereo
    path = specimg.save(img, tmp_path / "a.png", sidecar=damage == "sidecar")
    block = read_png_chunk(path, PHASE_CHUNK)
    if damage == "crc":
        _rewrite_chunk(path, block[:-1] + bytes([block[-1] ^ 1]), crc=zlib.crc32(PHASE_CHUNK + block))
    elif damage == "truncated":
        _rewrite_chunk(path, block[: len(block) // 2])
    elif damage == "header":
        _rewrite_chunk(path, block[:10])
    elif damage == "magic":
        _rewrite_chunk(path, b"XXXX" + block[4:])
    elif damage == "other image":
        other = specimg.encode(y[0], SR, store_phase=True, **GEOMETRY)
        _rewrite_chunk(path, other.phase.to_bytes())
    else:
        Image.open(path).save(path)  # chunk gone; the sidecar's copy is broken
        side = sidecar_path(path)
        side.write_text(json.dumps(json.loads(side.read_text()) | {"phase": "%%%"}))
    with pytest.warns(PhaseWarning, match=match):
        back = specimg.load(path)
    assert back.phase is None and np.array_equal(back.pixels, img.pixels)
    with pytest.warns(PhaseWarning):
        y_hat, _ = specimg.decode(path, n_iter=2)
    assert y_hat.shape == y.shape


def test_block_parser_checks_the_payload():
    p = specimg.SpectrogramParams(sr=SR, n_fft=8, n_samples=16)
    X = np.exp(1j * np.arange(15.0)).reshape(1, 5, 3)
    ph = StoredPhase.from_stft(X, np.zeros((5, 3), np.uint16), p)
    block = ph.to_bytes()
    head = block[:16]
    payload = zlib.decompress(block[16:])
    with pytest.raises(FormatError, match="bytes of phase"):
        StoredPhase.from_bytes(head + zlib.compress(payload[:-1]), p, 3)
    with pytest.raises(FormatError, match="7 bytes after its compressed data"):
        StoredPhase.from_bytes(block + b"garbage", p, 3)
    with pytest.raises(FormatError, match="does not decompress"):
        StoredPhase.from_bytes(head + b"junk", p, 3)
    with pytest.raises(FormatError, match="8 to 16"):
        StoredPhase.from_bytes(head[:5] + b"\x07" + head[6:] + block[16:], p, 3)


def test_ops_edit_is_reconstructed_and_the_rest_stays_exact(tmp_path, stereo):
    y, img = stereo
    edited = ops.gain(img, -12.0, time=(0.45, 0.55))
    changed = ~np.all(edited.pixels == img.pixels, axis=0)
    held = edited.phase.held(edited.pixels, edited.params)
    assert not held[:, :, changed].any() and held[:, :, ~changed][img.phase.present[:, :, ~changed]].all()
    path = specimg.save(edited, tmp_path / "e.png")
    y_hat, _ = specimg.decode(path)  # the file alone
    cols = np.flatnonzero(changed)
    far = np.flatnonzero(np.min(np.abs(np.arange(img.n_frames)[:, None] - cols[None, :]), axis=1) >= 4)
    assert far.size > 80
    assert _sc(y_hat, y, img.params, far) < -80
    # the edited frames follow the edited magnitude
    assert magnitude_convergence(stft_magnitude(y_hat, img.params)[..., cols], edited.magnitude[..., cols]) < -15


def test_pixels_changed_behind_its_back_are_not_held(tmp_path, stereo):
    _, img = stereo
    path = specimg.save(img, tmp_path / "a.png")
    pixels = img.pixels.copy()
    pixels[5, 30] += 1000  # a tool that kept every chunk but changed one pixel
    block = read_png_chunk(path, PHASE_CHUNK)
    write_png(tmp_path / "b.png", pixels, text=img.params.to_json(), chunks={PHASE_CHUNK: block})
    back = specimg.load(tmp_path / "b.png")
    held = back.phase.held(back.pixels, back.params)
    assert not held[0, :, 30].any() and held[1, :, 30][img.phase.present[1, :, 30]].all()
    assert held[:, :, 31][img.phase.present[:, :, 31]].all()
    moved = img.replace(pixels=pixels)  # in memory: the same check
    assert np.array_equal(moved.phase.held(moved.pixels, moved.params), held)


def test_mel_image_stores_the_linear_phase():
    y = _audio()
    img = specimg.encode(y, SR, scale="mel", n_mels=32, store_phase=True, **GEOMETRY)
    assert img.phase.shape == (1, 129, img.n_frames)
    edited = ops.gain(img, -12.0, freq=(1000, 1500))
    valid = edited.phase.valid[0]
    assert not valid[int(1100 / SR * 256)].any() and valid[int(3000 / SR * 256)][img.phase.present[0][96]].all()
    y_hat, _ = specimg.decode(img)
    y_none, _ = specimg.decode(img.replace(phase=None))
    assert spectral_convergence(y_hat, y, img.params) < spectral_convergence(y_none, y, img.params) - 6


def test_cli_store_phase_and_info(tmp_path):
    sf.write(tmp_path / "a.wav", _audio(), SR)
    runner = CliRunner()
    out = runner.invoke(cli, ["encode", "--store-phase", "--phase-bits", "12", "--n-fft", "256", str(tmp_path / "a.wav"),
                              str(tmp_path / "a.png")])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "12-bit phase" in out.output
    info = runner.invoke(cli, ["info", str(tmp_path / "a.png")])
    assert info.exit_code == 0 and re.search(r"stored phase\s+12 bits, \d+ KiB block", info.output), info.output
    runner.invoke(cli, ["encode", "--n-fft", "256", str(tmp_path / "a.wav"), str(tmp_path / "b.png")])
    plain = runner.invoke(cli, ["info", str(tmp_path / "b.png")])
    assert re.search(r"stored phase\s+none", plain.output)
    bad = runner.invoke(cli, ["encode", "--store-phase", "--phase-bits", "20", str(tmp_path / "a.wav"),
                              str(tmp_path / "c.png")])  # fmt: skip
    assert bad.exit_code != 0 and not (tmp_path / "c.png").exists()


def test_sidecar_holds_the_block_as_base64(tmp_path, stereo):
    _, img = stereo
    path = specimg.save(img, tmp_path / "a.tif", sidecar=True)
    meta = json.loads(sidecar_path(path).read_text())
    assert base64.b64decode(meta.pop("phase")) == img.phase.to_bytes()
    assert specimg.SpectrogramParams.from_dict(meta) == img.params





def test_past_the_memory_budget_the_stored_phase_is_held_in_blocks(stereo):
    from specimg.resources import decode_bytes, locked_decode_bytes, memory_limit

    y, img = stereo
    p = img.params
    locked, _ = specimg.decode(img)
    base = decode_bytes(p.n_fft, img.n_frames, n_rows=p.n_bins, length=y.size)
    with memory_limit(base + locked_decode_bytes(p.n_fft, img.n_frames) - 1):  # not enough to lock
        held, _ = specimg.decode(img)
    assert not np.array_equal(held, locked)
    assert spectral_convergence(held, y, img.params) < -80 and spectral_convergence(locked, y, img.params) < -80


@pytest.mark.parametrize("bits", [8, 10, 16])
def test_the_block_is_written_in_pieces_as_in_one_stream(bits: int) -> None:
    """to_bytes compresses the codes a few rows at a time: the same bytes as one payload."""
    from specimg import stored_phase as sp

    rng = np.random.default_rng(bits)
    shape = (2, 65, 3000)
    present = rng.random(shape) > 0.2
    codes = (rng.integers(0, 1 << bits, shape) * present).astype(np.uint16)
    valid = present & (rng.random(shape) > 0.1)
    crc = rng.integers(0, 2**32, (2, 3000), dtype=np.uint64).astype(np.uint32)
    ph = StoredPhase(codes, present, valid, crc, bits)
    payload = b"".join((np.packbits(present, axis=None).tobytes(), np.packbits(valid, axis=None).tobytes(),
                        crc.astype(">u4").tobytes(), sp.pack_codes(codes[present], bits)))  # fmt: skip
    assert zlib.decompress(ph.to_bytes()[sp._HEADER.size :]) == payload  # noqa: SLF001
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint16)  # the bit-by-bit packing, for 8 and 16 too
    some = codes[present][:1000]
    assert sp.pack_codes(some, bits) == np.packbits(((some[:, None] >> shifts) & 1).astype(np.uint8), axis=None).tobytes()
