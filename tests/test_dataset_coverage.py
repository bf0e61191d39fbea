"""specimg.dataset.build, issue 11: no audio silently dropped, no empty split, and the same
class indices in specimg.json, the dataset card (Hugging Face ``ClassLabel``) and torchvision
``ImageFolder``.

The loader checks run the real ``datasets`` and ``torchvision`` packages (skipped when they
are not installed). Tiles are small (64 × 32) except in the sample_data and corpus builds,
which use the defaults.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from specimg.dataset import build
from specimg.dataset.layout import plan_splits
from specimg.errors import ParameterError

from .conftest import CORPUS, ROOT

SR = 22050
SIZE = (64, 32)  # n_fft 1024, hop 256: a tile is 32 frames, 0.37 s


def _tone(freq: float, seconds: float, amp: float = 0.3) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * SR)) / SR)


def _write(root: Path, files: dict[str, np.ndarray]) -> Path:
    for rel, y in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / rel, y, SR, subtype="FLOAT")
    return root


def _rows(out: Path, split: str) -> list[dict[str, Any]]:
    path = out / split / "metadata.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def _hf(out: Path, cache: Path, *, imagefolder: bool = False) -> Any:
    """``load_dataset(OUT)`` (reads the dataset card), or ``load_dataset("imagefolder", data_dir=OUT)``."""
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    if imagefolder:
        return datasets.load_dataset("imagefolder", data_dir=str(out), cache_dir=str(cache))
    return datasets.load_dataset(str(out), cache_dir=str(cache))


def check_loaders_agree(out: Path, cache: Path) -> dict[str, Any]:
    """load_dataset(OUT) gives ClassLabel labels named as specimg.json's classes, whose indices
    are ImageFolder's tile by tile; load_dataset("imagefolder", data_dir=OUT) loads the same
    splits. Returns specimg.json."""
    folder = pytest.importorskip("torchvision.datasets.folder")
    datasets = pytest.importorskip("datasets")
    desc = json.loads((out / "specimg.json").read_text())
    card = _hf(out, cache / "card")
    plain = _hf(out, cache / "plain", imagefolder=True)
    assert sorted(card) == sorted(plain) == sorted(desc["splits"])
    label = card["train"].features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.names == desc["classes"]
    assert plain["train"].features["label"] == datasets.Value("string")  # no card read: the manifests' names
    images = folder.ImageFolder(str(out / "train"))
    assert images.classes == desc["classes"]
    index = {Path(path).relative_to(out / "train").as_posix(): target for path, target in images.samples}
    rows = _rows(out, "train")
    assert len(index) == len(rows) == len(card["train"]) == len(plain["train"])
    assert [index[r["file_name"]] for r in rows] == card["train"]["label"]
    assert [desc["classes"][i] for i in card["train"]["label"]] == list(plain["train"]["label"])
    if "validation" in desc["splits"]:
        assert folder.ImageFolder(str(out / "validation"), allow_empty=True).classes == desc["classes"]
    return desc


# ---------------------------------------------------------------------------- the acceptance
def test_default_build_of_sample_data_tiles_all_audio(tmp_path: Path) -> None:
    """The project's recordings in class folders, default build: every second tiled, nothing skipped."""
    audio = tmp_path / "audio"
    for name in ("music", "speech"):
        (audio / name).mkdir(parents=True)
        shutil.copy(ROOT / "sample_data" / f"{name}.wav", audio / name / f"{name}.wav")
    report = build(audio, tmp_path / "out", workers=1)
    assert report.seconds == pytest.approx(4.5 + 5.8, abs=0.01)
    assert report.coverage >= 0.99 and report.tiled_seconds == pytest.approx(report.seconds)
    assert report.skipped == () and report.tiles_padded == 3  # two channels of music, one of speech
    assert report.classes == ("music", "speech") and report.splits == ("train",)
    assert report.no_validation == "every class has a single source file, each kept in train"
    assert "tiled 10.3 s of 10.3 s of input audio (100.0 %)" in str(report)
    assert "no validation split: every class has a single source file" in str(report)


@pytest.mark.corpus
def test_default_build_of_the_corpus(tmp_path: Path) -> None:
    """Real recordings in class folders by name (music_*, stereo44k_* → music; speech_*; the
    rest → fx), default settings: tiles cover >= 99 % of the audio, skipped files are named,
    and the loaders agree on the classes."""
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent")
    audio = tmp_path / "audio"
    for path in sorted(CORPUS.glob("*.wav")):
        cls = "music" if path.name.startswith(("music_", "stereo44k_")) else "speech" if "speech" in path.name else "fx"
        (audio / cls).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, audio / cls / path.name)
    report = build(audio, tmp_path / "out", workers=1)
    assert report.coverage >= 0.99, str(report)
    summary = json.loads((tmp_path / "out" / ".build" / "summary.json").read_text())
    assert [(e["source"], e["reason"]) for e in summary["skipped"]] == list(report.skipped)
    assert all(f"skipped {s}: {why}" in str(report) for s, why in report.skipped)
    desc = check_loaders_agree(tmp_path / "out", tmp_path / "hf")
    assert desc["classes"] == ["fx", "music", "speech"] == list(report.classes)


# ---------------------------------------------------------------------------- tails and steps
def test_tail_pad_and_drop(tmp_path: Path) -> None:
    """pad tiles every frame (the short file gives one padded tile); drop leaves the tails out and
    names the short file as too short."""
    files = {"long.wav": _tone(440, 1.0) + _tone(3000, 1.0, 0.05), "short.wav": _tone(880, 0.2)}
    audio = _write(tmp_path / "audio", files)
    pad = build(audio, tmp_path / "pad", size=SIZE, workers=1, validation=0.0)
    drop = build(audio, tmp_path / "drop", size=SIZE, workers=1, validation=0.0, tail="drop")
    assert pad.coverage == pytest.approx(1.0) and pad.skipped == () and pad.files_too_short == 0
    rows = {r["source"]: r for r in _rows(tmp_path / "pad", "train") if r["padded_frames"]}
    assert rows["short.wav"]["padded_frames"] == 32 - (int(0.2 * SR) // 256 + 1)
    assert rows["long.wav"]["padded_frames"] == 32 - (SR // 256 + 1) % 32
    assert drop.files_too_short == 1 and drop.tiles_padded == 0
    assert [s for s, _ in drop.skipped] == ["short.wav"] and "too short" in drop.skipped[0][1]
    assert "tail='drop'" in drop.skipped[0][1]
    assert drop.tiled_seconds == pytest.approx(2 * 32 * 256 / SR)  # two whole tiles of long.wav
    assert json.loads((tmp_path / "drop" / "specimg.json").read_text())["tile"]["tail"] == "drop"
    with pytest.raises(ParameterError, match="tail="):
        build(audio, tmp_path / "bad", size=SIZE, tail="keep")  # type: ignore[arg-type]


def test_step_option(tmp_path: Path) -> None:
    audio = _write(tmp_path / "audio", {"a.wav": _tone(440, 0.5)})
    report = build(audio, tmp_path / "out", size=SIZE, workers=1, step=8, validation=0.0)
    rows = _rows(tmp_path / "out", "train")
    n_real = int(0.5 * SR) // 256 + 1  # 44 frames: tiles at 0, 8, 16 (the last reaches frame 48)
    assert [r["frame"] for r in rows] == [0, 8, 16] and rows[-1]["padded_frames"] == 16 + 32 - n_real
    assert report.coverage == pytest.approx(1.0)
    assert json.loads((tmp_path / "out" / "specimg.json").read_text())["tile"]["step_frames"] == 8
    with pytest.raises(ParameterError, match="give one of them"):
        build(audio, tmp_path / "both", size=SIZE, step=8, overlap=0.5)
    with pytest.raises(ParameterError, match=r"step=33 .*\[1, 32\]"):
        build(audio, tmp_path / "gap", size=SIZE, step=33)


# ---------------------------------------------------------------------------- splits
@pytest.mark.parametrize(
    "files, validation, note",
    [
        ({"a.wav": _tone(440, 0.5)}, 0.1, "only one source file: it is in train"),
        ({"x/a.wav": _tone(440, 0.5), "x/b.wav": _tone(660, 0.5)}, 0.0, "validation=0"),
        ({"a.wav": _tone(440, 0.5), "b.wav": _tone(660, 0.5)}, 0.1, None),
    ],
)
def test_no_split_is_left_empty(tmp_path: Path, files: dict[str, np.ndarray], validation: float,
                                note: str | None) -> None:  # fmt: skip
    """One file or validation=0: no validation folder, and the report says why; two files at 0.1:
    validation gets one. Hugging Face's imagefolder loads every one of them."""
    out = tmp_path / "out"
    report = build(_write(tmp_path / "audio", files), out, size=SIZE, workers=1, validation=validation)
    assert report.no_validation == note
    assert report.splits == (("train",) if note else ("train", "validation"))
    assert (out / "validation").is_dir() == (note is None)
    assert json.loads((out / "specimg.json").read_text())["splits"] == list(report.splits)
    if note:
        assert f"no validation split: {note}" in str(report)
    loaded = _hf(out, tmp_path / "hf", imagefolder=True)
    assert sorted(loaded) == sorted(report.splits)


def test_a_silent_file_does_not_empty_validation_or_a_class(tmp_path: Path) -> None:
    """Planned splits can pick a silent file for validation (or as a class's only train file):
    once the files are done, another file's tiles move there, and a rerun keeps it."""
    sources = ["dog/a.wav", "dog/b.wav", "dog/quiet.wav", "rain/c.wav"]
    seed = next(s for s in range(1000)
                if [k for k, v in plan_splits(sources, ["dog", "dog", "dog", "rain"], s, 0.3)[0].items()
                    if v == "validation"] == ["dog/quiet.wav"])  # fmt: skip
    files = {"dog/a.wav": _tone(440, 0.5), "dog/b.wav": _tone(550, 0.5), "dog/quiet.wav": np.zeros(SR // 2),
             "rain/c.wav": _tone(660, 0.5)}  # fmt: skip
    audio = _write(tmp_path / "audio", files)
    out = tmp_path / "out"
    report = build(audio, out, size=SIZE, workers=1, validation=0.3, seed=seed)
    assert report.splits == ("train", "validation") and report.no_validation is None
    assert report.skipped == (("dog/quiet.wav", "silent: no tile's loudest bin reaches min_level_db=-80 dB"),)
    moved = {r["source"] for r in _rows(out, "validation")}
    assert len(moved) == 1 and moved <= {"dog/a.wav", "dog/b.wav"}
    assert not list((out / "train").rglob(Path(next(iter(moved))).stem + "__*.png"))
    again = build(audio, out, size=SIZE, workers=1, validation=0.3, seed=seed)
    assert again == dataclasses.replace(report, files_resumed=4)  # nothing redone, nothing moved back


def test_a_class_without_tiles_is_left_out_and_named(tmp_path: Path) -> None:
    """A class whose only file is silent gets no folder: specimg.json, ImageFolder and the
    card's ClassLabel list the other classes, with the same indices."""
    files = {"bird/a.wav": _tone(440, 0.5), "bird/b.wav": _tone(550, 0.5), "cat/c.wav": _tone(660, 0.5),
             "cat/d.wav": _tone(770, 0.5), "ant/silent.wav": np.zeros(SR // 2)}  # fmt: skip
    out = tmp_path / "out"
    report = build(_write(tmp_path / "audio", files), out, size=SIZE, workers=1, validation=0.5)
    why = "no tile: every file of it was skipped"
    assert report.classes == ("bird", "cat") and report.classes_dropped == (("ant", why),)
    assert f"class 'ant' left out: {why}" in str(report) and "skipped ant/silent.wav: silent" in str(report)
    assert not (out / "train" / "ant").exists()
    summary = json.loads((out / ".build" / "summary.json").read_text())
    assert summary["classes_dropped"] == [{"class": "ant", "reason": why}]
    check_loaders_agree(out, tmp_path / "hf")


# ---------------------------------------------------------------------------- CLI
def test_cli_build_prints_coverage_and_skipped_files(tmp_path: Path) -> None:
    from .test_cli import run

    _write(tmp_path / "audio", {"a.wav": _tone(440, 1.0), "b.wav": _tone(660, 0.1), "c.wav": np.zeros(SR)})
    result = run("dataset", "build", "audio", "out", "--size", "64x32", "--tail", "drop", "--step", "16",
                 "--workers", "1", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("tiled ") and "s of input audio (" in lines[1]
    assert any(line.startswith("skipped b.wav: too short") for line in lines)
    assert any(line.startswith("skipped c.wav: silent") for line in lines)
    desc = json.loads((tmp_path / "out" / "specimg.json").read_text())
    assert desc["tile"]["step_frames"] == 16 and desc["tile"]["tail"] == "drop" and desc["params"]["bit_depth"] == 8
