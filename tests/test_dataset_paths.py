"""A dataset names nothing of the machine that built it, and resumes wherever it is moved.

Issue: ``specimg.json`` (and the dataset card) stored ``audio_dir`` as an absolute path of
the building machine, which went wherever the dataset was published. Now the audio folder is
recorded relative to the dataset (or not at all), error messages name files by their source
path, and a resume needs no path of the earlier run.
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from specimg.dataset import build, stats
from specimg.dataset import paths as dataset_paths
from specimg.dataset.layout import dataset_card, read_description
from specimg.dataset.paths import audio_dir_entry, is_relative_entry, redact

from .test_dataset_build import SIZE, listed, make_tree, run_cli, tiles_on_disk


def _machine_names() -> list[str]:
    """The user and host names of this machine (those that can be found)."""
    names = []
    try:
        names.append(getpass.getuser())
    except (OSError, KeyError):
        pass
    host = socket.gethostname()
    names += [host, host.split(".", 1)[0]]
    return sorted({n for n in names if n})


def _texts(out: Path) -> dict[str, str]:
    """Every text the build wrote into ``out``, by path: the JSON, JSON lines and Markdown
    files (``.build/`` included) and the metadata of every tile."""
    texts = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.suffix in (".json", ".jsonl", ".md"):
            texts[rel] = path.read_text(encoding="utf-8")
        elif path.suffix == ".png":
            with Image.open(path) as img:
                texts[rel] = json.dumps(img.text)
    return texts


def assert_names_no_machine(out: Path, *folders: Path) -> None:
    """No file in ``out`` (tiles and ``.build/`` included) holds the absolute path of any of
    ``folders`` (as given or resolved), and no text in it the user or host name."""
    forbidden = {str(f) for f in folders} | {str(f.resolve()) for f in folders}
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for text in forbidden:
                assert text.encode() not in data, f"{path.relative_to(out)} holds {text!r}"
    texts = _texts(out)
    assert {"specimg.json", "README.md", "errors.jsonl", ".build/summary.json"} <= set(texts)
    assert any(name.endswith("metadata.jsonl") for name in texts)
    for rel, text in texts.items():
        for name in _machine_names():
            # a whole word: a short host name may be a few letters of any word
            assert not re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.IGNORECASE), (
                f"{rel} holds the name {name!r}: {text[:500]}"
            )


def _with_failures(root: Path) -> Path:
    """The tree of make_tree, plus a link to an unreadable file outside the audio folder and a
    dangling link with an absolute target (both fail, and their errors are published)."""
    audio = make_tree(root)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "garbage.wav").write_text("not audio either\n")
    (audio / "dog" / "linked.wav").symlink_to(elsewhere / "garbage.wav")
    (audio / "rain" / "dangling.wav").symlink_to(elsewhere / "missing.wav")
    return audio


def test_built_dataset_names_no_path_user_or_host(tmp_path: Path) -> None:
    audio = _with_failures(tmp_path)
    out = tmp_path / "out"
    report = build(audio, out, size=SIZE, workers=1, validation=0.5, seed=1)
    assert report.files_failed == 3 and report.tiles > 0
    assert_names_no_machine(out, audio, out, tmp_path, Path.home())
    desc = json.loads((out / "specimg.json").read_text())
    assert desc["audio_dir"] == "../audio"
    assert "from `../audio` (relative to this folder)" in (out / "README.md").read_text()
    errors = {e["source"]: e["error"] for e in map(json.loads, (out / "errors.jsonl").read_text().splitlines())}
    assert set(errors) == {"dog/broken.wav", "dog/linked.wav", "rain/dangling.wav"}
    assert errors["dog/broken.wav"].startswith("'dog/broken.wav' is not an audio file")
    assert errors["dog/linked.wav"].startswith("'dog/linked.wav' is not an audio file")  # not its target's path
    assert errors["rain/dangling.wav"] == "a dangling symbolic link (to '…/missing.wav', which does not exist)"
    # the report printed on this machine says the same
    assert ("dog/linked.wav", f"failed: {errors['dog/linked.wav']}") in report.skipped


def test_cli_build_with_relative_folders(tmp_path: Path) -> None:
    make_tree(tmp_path)
    result = run_cli("dataset", "build", "audio", "sets/tiles", "--size", "64x32", "--workers", "1", cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # dog/broken.wav
    out = tmp_path / "sets" / "tiles"
    assert json.loads((out / "specimg.json").read_text())["audio_dir"] == "../../audio"
    assert_names_no_machine(out, tmp_path / "audio", out)


def _mtimes(out: Path) -> dict[str, int]:
    return {p: (out / p).stat().st_mtime_ns for p in tiles_on_disk(out)}


def test_resume_after_moving_the_dataset_redoes_nothing(tmp_path: Path) -> None:
    audio = make_tree(tmp_path / "src")
    first = tmp_path / "first" / "out"
    done = build(audio, first, size=SIZE, workers=1, validation=0.5, seed=1)
    moved = tmp_path / "elsewhere" / "deeper" / "copy"
    shutil.copytree(first, moved, symlinks=True)
    shutil.rmtree(first)  # nothing of the first place is left to lean on
    before = _mtimes(moved)
    manifests = {p: (moved / p).read_bytes() for p in ("train/metadata.jsonl", "validation/metadata.jsonl")}
    again = build(audio, moved, size=SIZE, workers=1, validation=0.5, seed=1)
    assert again.files == done.files == 7
    assert again.files_resumed == 6 and again.files_failed == 1  # only the broken file is tried again
    assert again.tiles == done.tiles and again.skipped == done.skipped
    assert _mtimes(moved) == before  # no tile rewritten
    assert {p: (moved / p).read_bytes() for p in manifests} == manifests
    assert listed(moved) == tiles_on_disk(moved)
    assert json.loads((moved / "specimg.json").read_text())["audio_dir"] == "../../../src/audio"
    assert_names_no_machine(moved, audio, moved, first, tmp_path)


def test_dataset_with_an_absolute_audio_dir_is_read_and_resumed(tmp_path: Path) -> None:
    """A dataset built before this change stored the absolute path: it still reads, resumes
    without redoing anything, and comes out without that path."""
    audio = make_tree(tmp_path)
    out = tmp_path / "out"
    build(audio, out, size=SIZE, workers=1)
    meta = out / "specimg.json"
    old = {**json.loads(meta.read_text()), "audio_dir": str(audio.resolve())}
    meta.write_text(json.dumps(old) + "\n")
    card = out / "README.md"
    card.write_text(card.read_text().replace("`../audio` (relative to this folder)", f"`{audio.resolve()}`"))
    assert read_description(out)[0]["audio_dir"] == str(audio.resolve())
    assert stats(out)["tiles"]["total"] == len(tiles_on_disk(out))
    assert str(audio.resolve()) not in dataset_card(old)  # the card never repeats an absolute path
    before = _mtimes(out)
    again = build(audio, out, size=SIZE, workers=1)
    assert again.files_resumed == 6 and _mtimes(out) == before
    assert json.loads(meta.read_text())["audio_dir"] == "../audio"
    assert_names_no_machine(out, audio, out)


def test_audio_dir_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sounds" / "dogs").mkdir(parents=True)
    assert audio_dir_entry(tmp_path / "sounds", tmp_path / "tiles") == "../sounds"
    assert audio_dir_entry(tmp_path / "sounds" / "dogs", tmp_path / "a" / "b") == "../../sounds/dogs"
    # the relative path spells the folder's name, not the way there from the root
    assert audio_dir_entry("/sounds-xyz", "/tiles-xyz") is None  # shares only the root: the absolute path
    monkeypatch.setattr(dataset_paths, "_home", lambda: tmp_path / "sounds")
    assert audio_dir_entry(tmp_path / "sounds" / "dogs", tmp_path / "tiles") is None  # enters the home folder
    monkeypatch.setattr(dataset_paths, "_home", lambda: None)
    monkeypatch.setattr(dataset_paths, "_machine_names", lambda: ["dogs", "ab"])
    assert audio_dir_entry(tmp_path / "sounds" / "dogs", tmp_path / "tiles") is None  # a user or host name
    (tmp_path / "x-Dogs-1").mkdir()
    assert audio_dir_entry(tmp_path / "x-Dogs-1", tmp_path / "tiles") is None  # holds it
    (tmp_path / "abc").mkdir()
    assert audio_dir_entry(tmp_path / "abc", tmp_path / "tiles") == "../abc"  # 2 letters: whole names only


@pytest.mark.parametrize(
    ("value", "relative"),
    [("../sounds", True), ("sounds", True), ("/home/me/sounds", False), ("C:\\sounds", False),
     ("\\\\host\\share", False), ("", False), (None, False), (3, False)],
)  # fmt: skip
def test_is_relative_entry(value: Any, relative: bool) -> None:
    assert is_relative_entry(value) is relative


def test_dataset_card_without_an_audio_dir(tmp_path: Path) -> None:
    audio = make_tree(tmp_path)
    build(audio, tmp_path / "out", size=SIZE, workers=1)
    desc = json.loads((tmp_path / "out" / "specimg.json").read_text())
    card = dataset_card({**desc, "audio_dir": None})
    assert "made by `specimg dataset build` from a folder of audio files." in card
    assert "None" not in card


def test_redact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset_paths, "_home_forms", lambda: ["/home/me"])
    paths = {"/data/out/": "", "/data/out": ".", "/data/sounds/a.wav": "a.wav"}
    assert redact("cannot read '/data/sounds/a.wav': bad", paths) == "cannot read 'a.wav': bad"
    assert redact("cannot write '/data/out/train/x.png'", paths) == "cannot write 'train/x.png'"
    assert redact("no room in /data/out", paths) == "no room in ."
    assert redact("'/data/output/x' and '/data/sounds/a.wave'", paths) == "'/data/output/x' and '/data/sounds/a.wave'"
    assert redact("'/home/me/x.wav', /home/me, /home/meg", {}) == "'~/x.wav', ~, /home/meg"
