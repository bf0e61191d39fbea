"""Images edited outside specimg: load(like=...) and decode(phase_from=...)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from PIL import Image

import specimg
from specimg import FormatError, ParameterError, SpectrogramImage
from specimg.metrics import magnitude_convergence

from .conftest import SAMPLE_DATA


@pytest.fixture(scope="module")
def speech():
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    return y, sr, specimg.encode(y, sr)


def _gain_block(img, start, stop, db):
    levels = img.db.copy()
    levels[..., start:stop] += db
    return SpectrogramImage.from_db(levels, img.params.replace(edits=({"op": "gain", "db": db},)))


def _stft(y):
    return np.abs(librosa.stft(np.asarray(y, np.float64), n_fft=2048, hop_length=512, pad_mode="constant"))


@pytest.mark.parametrize("to_8bit", [lambda p: np.rint(p / 257), lambda p: p >> 8], ids=["rounded", "truncated"])
def test_rgb_export_without_metadata_decodes_with_like(speech, tmp_path, to_8bit):
    y, sr, img = speech
    gray = to_8bit(img.pixels).astype(np.uint8)
    Image.fromarray(np.stack([gray] * 3, axis=-1)).save(tmp_path / "edited.png")  # Pillow: 8-bit RGB, no text
    with pytest.raises(FormatError, match="like=<original image>"):
        specimg.load(tmp_path / "edited.png")
    specimg.save(img, tmp_path / "original.png")
    for like in (img, img.params, tmp_path / "original.png"):
        back = specimg.load(tmp_path / "edited.png", like=like)
        assert back.params == img.params.replace(edits=({"op": "external", "file": "edited.png", "bit_depth": 8},))
        assert back.pixels.dtype == np.uint16
        assert np.max(np.abs(back.db - img.db)) <= 126 / 255  # within one 8-bit step
    y_hat, sr_hat = specimg.decode(tmp_path / "edited.png", like=img)
    assert sr_hat == sr and y_hat.shape == y.shape
    assert magnitude_convergence(_stft(y_hat), _stft(y)) < -25


def test_like_refuses_a_different_size(speech, tmp_path):
    _, _, img = speech
    Image.fromarray((img.pixels[:, :-3] >> 8).astype(np.uint8)).save(tmp_path / "cropped.png")
    with pytest.raises(FormatError, match="crop or resize it back"):
        specimg.load(tmp_path / "cropped.png", like=img)
    Image.fromarray((img.pixels >> 8).astype(np.uint8)).save(tmp_path / "bare.png")
    with pytest.raises(FormatError, match="no specimg metadata either"):
        specimg.load(tmp_path / "bare.png", like=tmp_path / "bare.png")


def test_phase_from_keeps_untouched_frames_exact(speech):
    """Issue 4 acceptance: an edit on 10 % of the frames leaves SC <= -50 dB elsewhere."""
    y, _, img = speech
    n = img.n_frames
    start, stop = int(0.45 * n), int(0.55 * n)
    edited = _gain_block(img, start, stop, -12.0)
    y_hat, _ = specimg.decode(edited, phase_from=y)
    keep = np.ones(n, bool)
    keep[start - 4 : stop + 4] = False  # frames whose window overlaps the edit
    S, S_hat = _stft(y), _stft(y_hat)
    assert magnitude_convergence(S_hat[:, keep], S[:, keep]) < -50.0
    inside = slice(start + 4, stop - 4)
    level = 20 * np.log10(np.linalg.norm(S_hat[:, inside]) / np.linalg.norm(S[:, inside]))
    assert level == pytest.approx(-12.0, abs=0.5)
    # without phase_from the same frames are only as good as phase retrieval
    y_plain, _ = specimg.decode(edited)
    assert magnitude_convergence(_stft(y_plain)[:, keep], S[:, keep]) > -45.0


def test_phase_from_on_an_unedited_image_is_the_original(speech):
    y, _, img = speech
    y_hat, _ = specimg.decode(img, phase_from=y)
    assert np.max(np.abs(y_hat - y)) < 1e-6


def test_phase_from_mel_and_stereo(tmp_path):
    y, sr = specimg.read_audio(SAMPLE_DATA / "music.wav")
    img = specimg.encode(y, sr, scale="mel")
    edited = _gain_block(img, 20, 40, -20.0)
    y_hat, _ = specimg.decode(edited, phase_from=SAMPLE_DATA / "music.wav")
    assert y_hat.shape == y.shape
    far = slice(80, None)  # frames far from the edit
    for c in range(2):
        S, S_hat = _stft(y[c]), _stft(y_hat[c])
        assert magnitude_convergence(S_hat[:, far], S[:, far]) < -50.0


def test_phase_from_must_match(speech):
    y, _, img = speech
    with pytest.raises(ParameterError, match="pass the audio the image was encoded from"):
        specimg.decode(img, phase_from=y[: len(y) // 2])
    with pytest.raises(ParameterError, match="2 channel"):
        specimg.decode(img, phase_from=np.stack([y, y]))


def test_phase_from_after_an_8bit_export_and_a_further_edit(speech, tmp_path):
    """An 8-bit export loaded with like=, then edited again (re-quantised): the untouched
    part must still be held at the original (the export's coarseness is recorded)."""
    y, _, img = speech
    gray = np.rint(img.pixels / 257).astype(np.uint8)
    Image.fromarray(np.stack([gray] * 3, axis=-1)).save(tmp_path / "export.png")
    loaded = specimg.load(tmp_path / "export.png", like=img)
    assert loaded.params.edits[-1] == {"op": "external", "file": "export.png", "bit_depth": 8}
    n = img.n_frames
    start, stop = int(0.45 * n), int(0.55 * n)
    edited = _gain_block(loaded, start, stop, -12.0)
    edited = SpectrogramImage(edited.pixels, loaded.params.replace(edits=loaded.params.edits + ({"op": "gain"},)))
    y_hat, _ = specimg.decode(edited, phase_from=y)
    keep = np.ones(n, bool)
    keep[start - 4 : stop + 4] = False
    assert magnitude_convergence(_stft(y_hat)[:, keep], _stft(y)[:, keep]) < -50.0
