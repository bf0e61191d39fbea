"""The studio's session: edits on crops equal the same ops call on the whole image, undo and
redo restore pixels and the stored phase's validity, history replay, autosave and restore,
save, and the sound of untouched frames."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import specimg
from specimg import ops
from specimg.errors import ParameterError
from specimg.metrics import spectral_convergence
from specimg.studio import session as session_mod
from specimg.studio.session import Session, autosave_path
from specimg.studio.undo import Spilled

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def speech() -> specimg.SpectrogramImage:
    return specimg.load(SAMPLES / "speech.png")


@pytest.fixture(scope="module")
def stereo() -> tuple[np.ndarray, specimg.SpectrogramImage]:
    rng = np.random.default_rng(3)
    sr = 16000
    t = np.arange(3 * sr) / sr
    y = np.stack([0.2 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size),
                  0.1 * np.sin(2 * np.pi * 1200 * t * (1 + t / 10)) + 0.01 * rng.standard_normal(t.size)])
    return y, specimg.encode(y, sr, n_fft=512, store_phase=True)


def _same(a: specimg.SpectrogramImage, b: specimg.SpectrogramImage) -> None:
    assert np.array_equal(a.pixels, b.pixels)
    assert a.params.edits == b.params.edits
    if a.phase is not None or b.phase is not None:
        assert a.phase is not None and b.phase is not None
        assert np.array_equal(a.phase.valid, b.phase.valid)
        assert np.array_equal(a.phase.crc, b.phase.crc)


def test_cough_and_rumble_equal_the_two_ops_calls(speech: specimg.SpectrogramImage) -> None:
    s = Session(speech)
    s.edit("erase", {"kind": "rect", "time": [1.0, 1.3]})
    s.edit("gain", {"kind": "rect", "time": None, "freq": [0, 300]}, {"db": -12})
    expected = ops.gain(ops.erase(speech, time=(1.0, 1.3)), -12, freq=(0, 300))
    _same(s.image(), expected)
    _same(ops.replay(speech, s.edits()), expected)


def test_piece_by_piece_edit_equals_whole_call_and_an_error_changes_nothing(stereo, monkeypatch) -> None:
    _, img = stereo
    monkeypatch.setattr(session_mod, "CHUNK_FRAMES", 16)
    s = Session(img)
    s.store.spill_bytes = 0
    s.edit("gain", {"kind": "rect", "time": None, "freq": [0, 2000]}, {"db": -10})
    _same(s.image(), ops.gain(img, -10, freq=(0, 2000)))
    assert isinstance(s.steps[0].after, Spilled) and s.steps[0].b - s.steps[0].a == img.n_frames
    calls = []
    real = ops.gain

    def failing(*args: Any, **kwargs: Any) -> specimg.SpectrogramImage:
        calls.append(1)
        if len(calls) == 5:
            raise ParameterError("fails on the fifth piece")
        return real(*args, **kwargs)

    before = s.image()
    monkeypatch.setattr(ops, "gain", failing)
    with pytest.raises(ParameterError, match="fifth piece"):
        s.edit("gain", {"kind": "rect", "time": None, "freq": [0, 4000]}, {"db": 6})
    _same(s.image(), before)
    assert s.state()["version"] == 1
    s.undo()
    _same(s.image(), img)
    assert np.array_equal(s.original, img.pixels) and not s.original.flags.writeable


@pytest.mark.parametrize("chunk", [16, 2048])
def test_stereo_crops_and_chunks_equal_whole_image_calls(stereo, monkeypatch, chunk: int) -> None:
    _, img = stereo
    monkeypatch.setattr(session_mod, "CHUNK_FRAMES", chunk)
    s = Session(img)
    s.edit("erase", {"kind": "rect", "time": [0.4, 2.1], "freq": [300, 3000], "fade": 0.05})
    s.edit("gain", {"kind": "rect", "time": None, "freq": [0, 500]}, {"db": -6})
    s.edit("gain", {"kind": "rect", "time": [2.9, 3.0]}, {"db": 3})
    expected = ops.gain(ops.gain(ops.erase(img, time=(0.4, 2.1), freq=(300, 3000), fade=0.05), -6, freq=(0, 500)),
                        3, time=(2.9, 3.0))
    _same(s.image(), expected)


def test_mask_kinds_replay_to_the_same_image(stereo, monkeypatch) -> None:
    _, img = stereo
    monkeypatch.setattr(session_mod, "CHUNK_FRAMES", 32)
    s = Session(img)
    s.edit("mask", {"kind": "lasso", "points": [[0.2, 100], [1.0, 100], [0.6, 2500]], "channel": 1}, {"db": -30})
    s.edit("gain", {"kind": "harmonic", "time": [1, 2], "f0": 440, "n_harmonics": 4, "width_hz": 60}, {"db": 6})
    s.edit("erase", {"kind": "level", "within": {"kind": "rect", "time": [2.2, 2.6]}, "above_db": -50})
    s.edit("heal", {"kind": "rect", "time": [1.4, 1.5], "freq": [400, 480], "fade": 0})
    s.edit("erase", {"kind": "rect", "time": [0.1, 0.2], "channel": 0})
    assert [e["op"] for e in s.edits()] == ["apply_mask", "apply_mask", "apply_mask", "inpaint", "apply_mask"]
    _same(ops.replay(img, s.edits()), s.image())
    # a heal on the crop is the same inpaint as on the whole image
    sel = s.edits()[3]["selection"]
    whole = ops.inpaint(img, specimg.image.stack_channels(
        ops.selection_mask(img, sel), img.params) >= ops.HOLE_THRESHOLD)
    one = Session(img)
    one.edit("heal", sel)
    assert np.array_equal(one.image().pixels, whole.pixels)


@pytest.mark.parametrize("spill", [False, True])
def test_undo_redo_restore_pixels_and_phase(stereo, monkeypatch, spill: bool) -> None:
    _, img = stereo
    s = Session(img)
    if spill:  # every block on disk, the whole-file gain written piece by piece, as in a long file
        s.store.spill_bytes = 0
        monkeypatch.setattr(session_mod, "CHUNK_FRAMES", 16)
    s.edit("erase", {"kind": "rect", "time": [0.5, 1.0]})
    after_one = s.image()
    s.edit("gain", {"kind": "rect", "time": None, "freq": [0, 2000]}, {"db": -10})
    assert s.state()["version"] == 2 and s.state()["can_undo"]
    s.undo()
    _same(s.image(), after_one)
    s.undo()
    _same(s.image(), img)
    assert not s.state()["can_undo"] and s.state()["can_redo"]
    with pytest.raises(ParameterError, match="nothing to undo"):
        s.undo()
    s.redo()
    _same(s.image(), after_one)
    s.edit("gain", {"kind": "rect", "time": [0, 1]}, {"db": 2})  # a new edit drops the redo
    assert not s.state()["can_redo"] and len(s.state()["history"]) == 2
    folder = s.store.folder
    assert folder is not None and (len(list(folder.iterdir())) > len(s.store.maps)) == spill  # maps: the original
    s.close()  # the blocks on disk go; the image and its history stay
    assert folder is None or not folder.exists()
    assert len(s.edits()) == 2 and s.image().n_frames == img.n_frames
    with pytest.raises(ParameterError, match="closed"):
        s.undo()


def test_bad_input_changes_nothing(speech: specimg.SpectrogramImage) -> None:
    s = Session(speech)
    cases: list[tuple[str, Any, dict[str, Any]]] = [
        ("erase", {"kind": "rect", "time": [5.0, 9.0]}, {}),
        ("gain", {"kind": "rect", "time": [1, 2]}, {"db": "loud"}),
        ("erase", {"kind": "circle"}, {}),
        ("erase", {"kind": "lasso", "points": [[0, 0], [1, 20000], [2, 0]]}, {}),
        ("explode", None, {}),
        ("denoise", {"kind": "lasso", "points": [[1, 100], [2, 100], [1.5, 900]]}, {}),
        ("apply", {"kind": "rect", "time": [1, 2]}, {"function": "scipy.ndimage.gaussian_filter", "kwargs": {}}),
        ("apply", None, {"function": "os.system", "kwargs": {}}),
    ]
    for op, sel, args in cases:
        with pytest.raises(ParameterError):
            s.edit(op, sel, args)
    assert s.state()["version"] == 0 and np.array_equal(s.pixels, speech.pixels)


def test_whole_image_ops_and_noise_profile(speech: specimg.SpectrogramImage) -> None:
    s = Session(speech)
    s.edit("learn_noise", {"kind": "rect", "time": [0.0, 0.2], "freq": [0, 5000]})
    assert s.state()["noise_profile"]
    s.edit("denoise", None, {"method": "gate"})
    s.edit("apply", None, {"function": "scipy.ndimage.gaussian_filter", "kwargs": {"sigma": 1.0}})
    expected = ops.denoise(speech, "gate", noise=s.noise_profile)
    assert np.array_equal(ops.replay(speech, s.edits()[:1]).pixels, expected.pixels)
    _same(ops.replay(speech, s.edits()), s.image())


@pytest.mark.parametrize("method", ["gate", "median", "nlmeans"])
def test_denoise_on_a_selection_equals_the_whole_image_call(stereo, monkeypatch, method: Any) -> None:
    _, img = stereo
    s = Session(img)
    calls: list[int] = []
    real = ops.denoise

    def counted(crop: specimg.SpectrogramImage, *a: Any, **k: Any) -> specimg.SpectrogramImage:
        calls.append(crop.n_frames)
        return real(crop, *a, **k)

    monkeypatch.setattr(ops, "denoise", counted)
    s.edit("learn_noise", {"kind": "rect", "time": [0.0, 0.2], "freq": [0, 8000]})
    sel = {"kind": "rect", "time": [1.0, 1.4], "freq": [200, 3000], "fade": 0.05, "fade_hz": 150}
    s.edit("denoise", sel, {"method": method})
    assert calls and calls[0] < img.n_frames - 100  # a crop around the noise and the selection
    expected = real(img, method, noise=[0.0, 0.2, 0.0, 8000.0], time=(1.0, 1.4), freq=(200, 3000), fade=0.05, fade_hz=150)
    _same(s.image(), expected)
    _same(ops.replay(img, s.edits()), expected)
    again = Session(img)  # the history entry redone in a session (autosave restore) is the same
    again.apply_record(s.edits()[0])
    _same(again.image(), expected)


def test_autosave_restore_and_save(tmp_path: Path, speech: specimg.SpectrogramImage) -> None:
    src = tmp_path / "speech.png"
    shutil.copy(SAMPLES / "speech.png", src)
    out = tmp_path / "speech.edited.png"
    s = Session(speech, name="speech.png", source=src, output=out)
    s.edit("erase", {"kind": "rect", "time": [1.0, 1.3]})
    s.edit("gain", {"kind": "rect", "time": None, "freq": [0, 300]}, {"db": -12})
    saved = json.loads(autosave_path(src).read_text())
    assert saved["edits"] == s.edits()
    again = Session(speech, name="speech.png", source=src, output=out)
    assert again.state()["restored"] == 2 and not again.state()["dirty"]
    _same(again.image(), s.image())
    assert s.save().name == "speech.edited.png"
    back = specimg.load(out)
    _same(back, ops.gain(ops.erase(speech, time=(1.0, 1.3)), -12, freq=(0, 300)))
    with pytest.raises(ParameterError, match="differs"):
        s.save("tiff")


def test_untouched_frames_decode_exactly_after_save(tmp_path: Path, stereo) -> None:
    y, img = stereo
    s = Session(img, output=tmp_path / "x.png")
    s.warm_up()  # what the studio runs at start-up: a rebuilt decode, changing nothing
    assert s.valid is not None and img.phase is not None
    assert s.state()["version"] == 0 and np.array_equal(s.valid, img.phase.valid)
    s.edit("erase", {"kind": "rect", "time": [1.0, 1.5]})
    s.save()
    back, sr = specimg.decode(tmp_path / "x.png", quality="fast")
    n = int(0.8 * sr)  # the first 0.8 s are untouched
    assert spectral_convergence(back[:, :n], y[:, :n], img.params) <= -50
    # the session's own playback of a range matches the whole decode there
    part, _ = s.audio(0.2, 0.6)
    assert part.shape == (2, int(0.4 * sr))
    assert spectral_convergence(part, y[:, int(0.2 * sr) : int(0.6 * sr)], img.params) <= -50


@pytest.fixture(scope="module")
def stereo_mel() -> specimg.SpectrogramImage:
    rng = np.random.default_rng(5)
    y = 0.05 * rng.standard_normal((2, 16000))
    return specimg.encode(y, 16000, n_fft=512, scale="mel", n_mels=64, store_phase=True)


@pytest.mark.parametrize("fade", [0.0, 0.02])
@pytest.mark.parametrize("which", ["speech", "stereo_mel"])
def test_frame_aligned_ends_equal_the_whole_call(request, monkeypatch, which: str, fade: float) -> None:
    """A selection whose ends fall on frame times keeps exactly the frames the whole call edits
    (re-timing the crop from its own start moved frames 10 and 15 in or out of the region)."""
    img = request.getfixturevalue(which)
    t = img.times
    for chunk, f0, f1 in [(2048, 10, 15), (2048, 3, 20), (2048, 0, 7), (4, 10, 15), (4, 3, 20)]:
        monkeypatch.setattr(session_mod, "CHUNK_FRAMES", chunk)  # 4: fades at both ends, crops inside
        time = [float(t[f0]), float(t[f1])]
        sel = {"kind": "rect", "time": time, "fade": fade}
        for op, args, whole in [("erase", {}, lambda: ops.erase(img, time=time, fade=fade)),
                                ("gain", {"db": -9}, lambda: ops.gain(img, -9, time=time, fade=fade))]:
            s = Session(img)
            s.edit(op, sel, args)
            _same(s.image(), whole())
        noise = [float(t[0]), float(t[5])]
        s = Session(img)
        s.edit("denoise", {**sel, "freq": None}, {"method": "gate", "noise": noise})
        _same(s.image(), ops.denoise(img, "gate", noise=noise, time=time, fade=fade))


def test_a_restore_that_fails_partway_keeps_the_autosave(tmp_path: Path, speech: specimg.SpectrogramImage) -> None:
    src = tmp_path / "x.png"
    shutil.copy(SAMPLES / "speech.png", src)
    s = Session(speech, name="x.png", source=src)
    s.edit("erase", {"kind": "rect", "time": [1.0, 1.3]})
    s.edit("gain", {"kind": "rect", "time": [0.2, 0.5]}, {"db": -6})
    s.edit("gain", {"kind": "rect", "time": None, "freq": [0, 300]}, {"db": -12})
    path = autosave_path(src)
    data = json.loads(path.read_text())
    data["edits"][1]["db"] = "loud"
    path.write_text(json.dumps(data))
    text = path.read_text()
    with pytest.warns(UserWarning, match="restored 1 of 3 edits"):
        again = Session(speech, name="x.png", source=src)
    assert again.pos == 1 and again.state()["restored"] == 1 and "1 of 3" in again.state()["restore_error"]
    _same(again.image(), ops.erase(speech, time=(1.0, 1.3)))
    assert path.read_text() == text  # untouched by the replay
    again.edit("gain", {"kind": "rect", "time": [2.0, 2.5]}, {"db": 3})  # a new edit: the old history goes to .bak
    assert len(json.loads(path.read_text())["edits"]) == 2
    assert (tmp_path / "x.png.studio.json.bak").read_text() == text


def test_a_stale_autosave_of_another_file_with_the_same_name_size_and_mtime_is_not_replayed(
        tmp_path: Path, speech: specimg.SpectrogramImage) -> None:
    src = tmp_path / "x.png"
    shutil.copy(SAMPLES / "speech.png", src)
    s = Session(speech, name="x.png", source=src)
    s.edit("erase", {"kind": "rect", "time": [1.0, 1.3]})
    other = ops.gain(speech, -1.0)  # another file put in its place, as cp -p / rsync -t would, same stat
    specimg.save(other, src)
    path = autosave_path(src)
    data = json.loads(path.read_text())
    st = src.stat()
    data["source"].update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    path.write_text(json.dumps(data))
    again = Session(other, name="x.png", source=src)
    assert again.state()["restored"] == 0 and again.pos == 0
    assert np.array_equal(again.image().pixels, other.pixels)
    same = Session(speech, name="x.png", source=src)  # the file it was made on (same stat in the record)
    assert same.state()["restored"] == 1
