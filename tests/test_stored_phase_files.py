"""The stored phase and its files: which sidecar may lend it, params files, replace, like=, options."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from PIL import Image

import specimg
from specimg import FormatError, ParameterError
from specimg.cli import cli
from specimg.formats import PHASE_CHUNK, sidecar_path
from specimg.pictures import read_png_chunk
from specimg.resources import format_size
from specimg.stored_phase import StoredPhase

SR = 8000
N_FFT = 256  # hop 64: 129 bins × 126 frames for 1 s


def _audio(f0: float = 300.0, seed: int = 0) -> np.ndarray:
    t = np.arange(SR) / SR
    rng = np.random.default_rng(seed)
    return 0.3 * np.sin(2 * np.pi * (f0 + 100 * t) * t) + 0.01 * rng.standard_normal(SR)


@pytest.fixture(scope="module")
def img() -> specimg.SpectrogramImage:
    return specimg.encode(_audio(), SR, n_fft=N_FFT, store_phase=True)


def _strip(path) -> None:
    """What a chunk-stripping tool does: the same pixels, no metadata, no phase chunk."""
    with Image.open(path) as im:
        im.load()
        im.save(path)
    assert read_png_chunk(path, PHASE_CHUNK) is None


def test_saving_over_removes_our_old_sidecar_so_no_phase_is_lent(tmp_path, img):
    path = specimg.save(img, tmp_path / "s.png", sidecar=True)
    old_sidecar = sidecar_path(path).read_text()
    other = specimg.encode(_audio(500.0, seed=1), SR, n_fft=N_FFT)  # same parameters, no phase
    assert other.params == img.params
    specimg.save(other, path)
    assert not sidecar_path(path).exists()
    assert specimg.load(path).phase is None
    # a sidecar of the same parameters put back by another program: its CRCs match no column
    sidecar_path(path).write_text(old_sidecar)
    assert specimg.load(path).phase is None
    # the picture it was written for takes it
    specimg.save(img, path)
    _strip(path)
    sidecar_path(path).write_text(old_sidecar)
    back = specimg.load(path)
    assert back.phase is not None and back.phase.held(back.pixels, back.params).mean() == img.phase.present.mean()


def test_a_sidecar_of_other_parameters_lends_no_phase(tmp_path, img):
    path = specimg.save(img, tmp_path / "a.png", sidecar=True)
    text = sidecar_path(path).read_text()
    plain = specimg.encode(_audio(), SR, n_fft=N_FFT, db_min=-100.0)  # other pixels, embedded metadata
    specimg.save(plain, path)
    sidecar_path(path).write_text(text)
    assert specimg.load(path).phase is None


def test_foreign_or_broken_json_beside_a_png_is_left_alone_and_silent(tmp_path, img):
    path = tmp_path / "a.png"
    sidecar_path(path).write_text("{not json")
    specimg.save(img, path)
    assert sidecar_path(path).read_text() == "{not json"  # not ours: not removed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = specimg.load(path)  # its own metadata and chunk: the broken file is not read
        assert back.phase is not None
        plain = specimg.save(specimg.encode(_audio(), SR, n_fft=N_FFT), tmp_path / "b.png")
        sidecar_path(plain).write_text('{"format": "specimg", "phase": 12}')  # ours but invalid
        assert specimg.load(plain).phase is None


def test_params_file_may_be_a_sidecar_with_phase(tmp_path, img):
    path = specimg.save(img, tmp_path / "speech.png", sidecar=True)
    text = sidecar_path(path).read_text()
    assert "phase" in json.loads(text)
    assert specimg.SpectrogramParams.from_json(text) == img.params
    bare = tmp_path / "bare.png"
    with Image.open(path) as im:
        im.load()
        im.save(bare)  # no metadata, no chunk, no sidecar of its own
    result = CliRunner().invoke(cli, ["decode", str(bare), str(tmp_path / "o.wav"), "--params", str(sidecar_path(path)),
                                      "--n-iter", "2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sf.info(str(tmp_path / "o.wav")).frames == SR


def test_replace_keeps_the_phase_only_while_the_pixels_mean_the_same(img):
    p = img.params
    assert img.replace(params=p.replace(edits=({"op": "note"},))).phase is img.phase
    for change in ({"flip": not p.flip}, {"invert": True}, {"db_min": -100.0}, {"ref": 2.0}, {"window": "hamming"}):
        assert img.replace(params=p.replace(**change)).phase is None, change
    assert img.replace(params=p.replace(invert=True), phase=img.phase).phase is img.phase  # asked for
    short = p.replace(n_samples=SR // 2)
    with pytest.raises(FormatError, match="pass phase=None"):
        img.replace(pixels=img.pixels[:, : short.n_frames], params=short)
    assert img.replace(pixels=img.pixels[:, : short.n_frames], params=short, phase=None).phase is None


def test_like_counts_a_one_level_8_bit_edit_as_edited(tmp_path, img):
    orig = specimg.save(img, tmp_path / "o.png")
    a = np.rint(img.pixels / 257).astype(np.uint8)
    a[:, 40:60] = np.clip(a[:, 40:60].astype(int) + 1, 0, 255).astype(np.uint8)  # one level, ~0.5 dB
    Image.fromarray(a).save(tmp_path / "c.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copy = specimg.load(tmp_path / "c.png", like=orig)
    held = copy.phase.held(copy.pixels, copy.params)
    assert held[:, :, 40:60].mean() < 0.05  # before: 1.0 (a whole step counted unchanged)
    assert held[:, :, :35].mean() == img.phase.present[:, :, :35].mean()


def test_phase_bits_needs_store_phase(tmp_path):
    with pytest.raises(ParameterError, match="phase_bits=8.*store_phase=True"):
        specimg.encode(_audio(), SR, n_fft=N_FFT, phase_bits=8)
    assert specimg.encode(_audio(), SR, n_fft=N_FFT).phase is None
    sf.write(tmp_path / "a.wav", _audio(), SR)
    result = CliRunner().invoke(cli, ["encode", str(tmp_path / "a.wav"), str(tmp_path / "a.png"), "--n-fft", "256",
                                      "--phase-bits", "8"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert specimg.load(tmp_path / "a.png").phase.bits == 8  # --phase-bits implies --store-phase


def test_info_reports_the_block_as_stored(tmp_path, img, monkeypatch):
    path = specimg.save(img, tmp_path / "a.png")
    size = len(read_png_chunk(path, PHASE_CHUNK))

    def recompress(self):  # info reads the size of the block in the file; it does not compress it again
        raise AssertionError("the block was compressed again")

    monkeypatch.setattr(StoredPhase, "to_bytes", recompress)
    result = CliRunner().invoke(cli, ["info", str(path)])
    assert result.exit_code == 0, result.output
    assert f"16 bits, {format_size(size)} block" in result.output


def test_decode_can_ignore_the_stored_phase(tmp_path, img):
    path = specimg.save(img, tmp_path / "a.png")
    with_phase, _ = specimg.decode(path, n_iter=2)
    without, _ = specimg.decode(path, n_iter=2, stored_phase=False)
    reference, _ = specimg.decode(img.replace(phase=None), n_iter=2)
    assert np.array_equal(without, reference) and not np.allclose(with_phase, without, atol=1e-3)
    with pytest.raises(ParameterError, match="stored_phase="):
        specimg.decode(img, stored_phase="no")
    out = tmp_path / "o.wav"
    result = CliRunner().invoke(cli, ["decode", str(path), str(out), "--n-iter", "2", "--ignore-stored-phase",
                                      "--subtype", "FLOAT"])  # fmt: skip
    assert result.exit_code == 0, result.output
    y, _ = sf.read(out, dtype="float32")
    assert np.array_equal(y, reference)


def test_files_without_phase_say_version_1(tmp_path, img):
    """Version 2 only adds the phase block: a file without one is written as version 1, for earlier readers."""
    for image, want in ((img, 2), (img.replace(phase=None), 1)):
        path = specimg.save(image, tmp_path / f"v{want}.png", sidecar=True)
        with Image.open(path) as im:
            assert json.loads(im.info["specimg"])["version"] == want
        assert json.loads(sidecar_path(path).read_text())["version"] == want
        back = specimg.load(path)
        assert back.params == img.params and (back.phase is None) == (want == 1)
