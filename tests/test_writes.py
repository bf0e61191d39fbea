"""Writes that succeed or fail as a whole (issue 12): an image and its sidecar together,
leftover temporary files of a killed writer removed, messages naming the output, and
folder imports that go on past a bad file and exit 2.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import specimg
from specimg import formats
from specimg.formats import atomic_path, atomic_paths, save, sidecar_path

from .test_cli import assert_one_line_error, listing, run

SR = 8000


def _image() -> specimg.SpectrogramImage:
    y = 0.3 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR)
    return specimg.encode(y, SR, n_fft=256)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "a.wav"
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR), SR)
    return path


def test_sidecar_folder_leaves_the_existing_image_byte_identical(wav: Path, tmp_path: Path) -> None:
    """``encode --sidecar`` replaced OUT.png and then failed because OUT.png.json is a folder."""
    assert run("encode", wav, "OUT.png", cwd=tmp_path).returncode == 0
    before = (tmp_path / "OUT.png").read_bytes()
    (tmp_path / "OUT.png.json").mkdir()
    result = run("encode", "--n-fft", "512", "--sidecar", wav, "OUT.png", cwd=tmp_path)
    assert_one_line_error(result, "'OUT.png.json' is a folder")
    assert (tmp_path / "OUT.png").read_bytes() == before
    assert listing(tmp_path) == ["OUT.png", "OUT.png.json", "a.wav"]  # no .part left


def test_a_failed_second_rename_puts_the_first_file_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both files are written to temporaries, then renamed; if the sidecar's rename fails,
    the image already renamed gets its earlier content back (and a new one is removed)."""
    img = _image()
    out = tmp_path / "OUT.png"
    out.write_bytes(b"old image")
    sidecar_path(out).write_text("old sidecar")
    real = os.replace

    def failing(src: str, dst: os.PathLike[str] | str) -> None:
        if str(dst).endswith(".json") and ".part" in str(src):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        real(src, dst)

    monkeypatch.setattr(formats.os, "replace", failing)
    with pytest.raises(OSError, match=r"cannot write '.*OUT\.png\.json': No space left on device"):
        save(img, out, sidecar=True)
    assert out.read_bytes() == b"old image" and sidecar_path(out).read_text() == "old sidecar"
    assert listing(tmp_path) == ["OUT.png", "OUT.png.json"]

    out.unlink()  # no earlier image: the new one is removed again
    with pytest.raises(OSError):
        save(img, out, sidecar=True)
    assert listing(tmp_path) == ["OUT.png.json"]


def test_full_disk_while_writing_keeps_the_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "OUT.png"
    save(_image(), out, sidecar=True)
    before = out.read_bytes(), sidecar_path(out).read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(formats, "write_png", full)
    with pytest.raises(OSError, match=r"cannot write '.*OUT\.png': No space left on device") as caught:
        save(_image(), out, sidecar=True)
    assert ".part" not in str(caught.value)
    assert (out.read_bytes(), sidecar_path(out).read_bytes()) == before
    assert listing(tmp_path) == ["OUT.png", "OUT.png.json"]


def test_stale_part_files_of_the_target_are_removed_at_the_next_write(tmp_path: Path) -> None:
    """A SIGKILLed ``encode`` left ``.OUT.png.xxxxxxxx.part``; the next save of OUT.png removes it
    (and leaves the temporaries of other files alone)."""
    stale = [tmp_path / ".OUT.png.k2_j9x0a.part", tmp_path / ".OUT.png.json.abcdefgh.part"]
    others = [tmp_path / ".OTHER.png.abcdefgh.part", tmp_path / ".OUT.png.not-a-temp.part"]
    for path in stale + others:
        path.write_bytes(b"partial")
    save(_image(), tmp_path / "OUT.png", sidecar=True)
    assert listing(tmp_path) == sorted(["OUT.png", "OUT.png.json"] + [p.name for p in others])
    with atomic_path(tmp_path / "OTHER.png", clean_stale=False) as tmp:  # a dataset build sweeps its own
        tmp.write_bytes(b"x")
    assert (tmp_path / ".OTHER.png.abcdefgh.part").exists()


def test_read_only_folder_message_names_the_output(wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The message named the temporary ``.OUT.png.xxxx.part``, not OUT.png."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
    else:  # root writes anywhere: make the temporary file's creation fail as it would
        def refuse(*args: object, prefix: str = "", dir: object = None, **kwargs: object) -> tuple[int, str]:
            raise PermissionError(errno.EACCES, "Permission denied", os.path.join(str(dir), f"{prefix}abcd1234.part"))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        line = assert_one_line_error(run("encode", wav, "ro/OUT.png", cwd=tmp_path), "Permission denied")
    finally:
        ro.chmod(0o755)
    assert "ro/OUT.png'" in line and ".part" not in line, line
    assert listing(ro) == []


def test_atomic_paths_checks_every_target_before_writing(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").write_text("old")
    with pytest.raises(specimg.errors.ParameterError, match="is a folder"):
        with atomic_paths(tmp_path / "a", tmp_path / "b") as temps:
            raise AssertionError("not reached")  # pragma: no cover
    assert (tmp_path / "a").read_text() == "old" and listing(tmp_path) == ["a", "b"]
    with atomic_paths(tmp_path / "a", tmp_path / "c") as temps:
        temps[0].write_text("new a")
        temps[1].write_text("new c")
    assert (tmp_path / "a").read_text() == "new a" and (tmp_path / "c").read_text() == "new c"


def test_import_folder_names_a_dangling_link_and_exits_2(tmp_path: Path) -> None:
    """A folder import exited 1 when files failed, like a usage error; now 2, with the counts,
    and a dangling link or a link loop is named (it was silently left out)."""
    src = tmp_path / "arrays"
    src.mkdir()
    np.save(src / "a.npy", np.abs(np.random.default_rng(0).standard_normal((129, 20))))
    (src / "dangling.npy").symlink_to("nowhere.npy")
    (src / "loop.npy").symlink_to("loop.npy")
    result = run("import", "array", "arrays", "out", "--sr", SR, "--n-fft", 256, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("specimg: error: ")]
    assert errors == [
        "specimg: error: arrays/dangling.npy: a dangling symbolic link (to 'nowhere.npy', which does not exist)",
        "specimg: error: arrays/loop.npy: a symbolic link loop",
    ]
    assert result.stdout.splitlines() == ["out: imported 1 of 3 file(s), 2 failed"]
    assert listing(tmp_path / "out") == ["a.png"]
    # a usage error keeps exit status 1
    assert run("import", "array", "arrays", "out", "--nperseg", 3, cwd=tmp_path).returncode != 0
    assert "Exit status" in run("import", "--help", cwd=tmp_path).stdout
    assert "Exit status" in run("dataset", "build", "--help", cwd=tmp_path).stdout
