"""A dataset folder is untrusted input (issue 19): nothing specimg does to it reads or writes
outside it, no symbolic link in it is written or deleted through, and every name read
from its manifests, records and ``specimg.json`` is checked before use
(:mod:`specimg.dataset.containment`).

Two tiny datasets (8 × 8 tiles of 1/8 s files; one flat, one with class folders) are built
once per module and copied for every case. Beside each copy lies a folder ``outside``
that nothing may touch: its names and bytes are compared before and after, and an audit
hook records every file specimg opens, lists, writes, renames or deletes while a case runs;
none may resolve into ``outside``. The fuzz part (hypothesis, derandomised) mutates the
manifests, ``specimg.json`` and the ``.build/`` records and plants links, then runs
``stats``, ``TileDataset``, a resume, and the CLI: only a ``SpecimgError`` (API) or one
``specimg: error:`` line and a non-zero exit (CLI) may come out.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import soundfile as sf
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specimg.cli import cli
from specimg.dataset import build, params_of, stats
from specimg.dataset.containment import check_name, inside, make_dirs, no_link, walk
from specimg.errors import FormatError, LossyWarning, OutputError, SpecimgError, SpecimgWarning

torch = pytest.importorskip("torch")
from specimg.dataset import TileDataset  # imports torch

SR = 8000
OPTIONS = {"size": (8, 8), "sr": SR, "n_fft": 64, "hop_length": 32, "validation": 0.5, "seed": 0, "workers": 1}
CLI_OPTIONS = ["--size", "8x8", "--sr", str(SR), "--n-fft", "64", "--hop-length", "32", "--validation", "0.5",
               "--seed", "0", "--workers", "1"]  # fmt: skip
FUZZ = settings(
    max_examples=65, deadline=None, derandomize=True, database=None,  # 4 tests: 260 cases
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip


# ---------------------------------------------------------------------------- audit: what specimg touches
#: Paths touched while a case runs (None: not recording). The hook stays installed (audit
#: hooks cannot be removed) but does nothing between cases.
_TOUCHED: list[str] | None = None
_EVENTS = {"open", "os.listdir", "os.scandir", "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink",
           "os.link", "os.chmod", "os.truncate", "os.utime", "shutil.copyfile", "shutil.rmtree"}  # fmt: skip


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _TOUCHED is None or event not in _EVENTS:
        return
    for arg in args[:2] if event in ("os.rename", "os.symlink", "os.link", "shutil.copyfile") else args[:1]:
        if isinstance(arg, (str, bytes, os.PathLike)):
            _TOUCHED.append(os.fsdecode(arg))


sys.addaudithook(_audit)


@contextlib.contextmanager
def nothing_touched(outside: Path) -> Iterator[None]:
    """Assert that no file or folder that resolves into ``outside`` is opened, listed,
    written, renamed or deleted in the body, and that ``outside`` is byte-identical after it."""
    global _TOUCHED
    before = snapshot(outside)
    _TOUCHED = []
    try:
        yield
    finally:
        touched, _TOUCHED = _TOUCHED, None
    real = os.path.realpath(outside)
    bad = sorted({p for p in touched if os.path.realpath(p) == real or os.path.realpath(p).startswith(real + os.sep)})
    assert not bad, f"specimg touched {bad[:5]} outside the dataset"
    assert snapshot(outside) == before, "the folder outside the dataset changed"


def snapshot(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every name under ``folder`` (links not followed) with its bytes, or its link target."""
    found: dict[str, tuple[Any, ...]] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = ("folder",)
            else:
                found[rel] = ("file", path.read_bytes())
    return found


# ---------------------------------------------------------------------------- the datasets
def _quiet_build(audio: Path, out: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossyWarning)
        return build(audio, out, **OPTIONS)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """kind → (audio folder, dataset): "flat" (3 files, no classes) and "classes" (two
    class folders of two files); both splits hold tiles."""
    root = tmp_path_factory.mktemp("bases")
    t = np.arange(SR // 8) / SR
    layouts = {"flat": ["x0.wav", "x1.wav", "x2.wav"], "classes": ["a/x0.wav", "a/x1.wav", "b/x0.wav", "b/x1.wav"]}
    out = {}
    for kind, names in layouts.items():
        audio = root / kind / "audio"
        for i, name in enumerate(names):
            (audio / name).parent.mkdir(parents=True, exist_ok=True)
            sf.write(audio / name, 0.3 * np.sin(2 * np.pi * (400 + 300 * i) * t), SR, subtype="FLOAT")
        report = _quiet_build(audio, root / kind / "tiles")
        assert report.tiles and set(report.splits) == {"train", "validation"}, str(report)
        out[kind] = (audio, root / kind / "tiles")
    return out


def fresh(bases: dict[str, tuple[Path, Path]], kind: str, where: Path) -> tuple[Path, Path, Path]:
    """(audio, a copy of the ``kind`` dataset, a folder ``outside`` beside it) in ``where``.

    ``outside`` holds what a resume would delete or overwrite in a split folder: a tile no
    manifest lists, a temporary ``.part`` file, a manifest, a record, and ``secret.png``,
    a valid tile."""
    audio, base = bases[kind]
    where.mkdir(parents=True, exist_ok=True)
    ds = where / "tiles"
    shutil.copytree(base, ds, symlinks=True)
    outside = where / "outside"
    outside.mkdir()
    shutil.copy(next((ds / "train").rglob("*.png")), outside / "secret.png")
    (outside / "keep__c0__f0000000.png").write_bytes(b"not a tile of this dataset")
    (outside / ".keep.png.abcd1234.part").write_bytes(b"a temporary file of someone else")
    (outside / "metadata.jsonl").write_text('{"file_name": "keep__c0__f0000000.png"}\n')
    (outside / ("0" * 40 + ".json")).write_text("{}\n")
    return audio, ds, outside


def rows_of(manifest: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]


def write_rows(manifest: Path, rows: list[Any]) -> None:
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def move_and_link(ds: Path, rel: str, outside: Path) -> Path:
    """Move ``ds/rel`` into ``outside`` and put a link to it in its place (what the issue reports)."""
    moved = outside / "moved" / Path(rel).name
    moved.parent.mkdir(exist_ok=True)
    shutil.move(ds / rel, moved)
    (ds / rel).symlink_to(moved, target_is_directory=moved.is_dir())
    return moved


def cli_run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="specimg")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stderr


def assert_one_error_line(code: int, stderr: str) -> str:
    """A failed command: exit status not 0, one ``specimg: error:`` line, no traceback; its text."""
    assert code != 0
    lines = [line for line in stderr.splitlines() if line.startswith("specimg: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def all_items(ds_dir: Path) -> list[Path]:
    """Every item of both splits through TileDataset (read, not only listed); their paths."""
    paths = []
    real = ds_dir.resolve()
    for split in ("train", "validation"):
        try:
            ds = TileDataset(ds_dir, split=split)
        except SpecimgError:
            continue
        for path in ds.paths:
            assert Path(os.path.realpath(path)).is_relative_to(real), f"TileDataset lists {path}, outside the dataset"
        for i in range(len(ds)):
            with contextlib.suppress(SpecimgError):
                x, _ = ds[i]
                assert tuple(x.shape) == (1, 8, 8)
        paths += ds.paths
    return paths


# ---------------------------------------------------------------------------- the reported cases
def test_resume_through_a_symlinked_train_leaves_the_outside_folder_byte_identical(bases, tmp_path) -> None:
    """Issue 19: train/ is a link to a folder elsewhere. The resume deleted the tiles and
    ``.part`` files there (of a source removed since, and those no manifest lists) and
    rewrote its metadata.jsonl. Now it touches nothing, and the CLI says why in one line."""
    audio, ds, outside = fresh(bases, "flat", tmp_path)
    moved = move_and_link(ds, "train", outside)
    (moved / ".x__c0__f0000000.png.abcd1234.part").write_bytes(b"part")
    (moved / "stray__c0__f0000000.png").write_bytes(b"stray")
    fewer = tmp_path / "audio"
    shutil.copytree(audio, fewer)
    (fewer / "x0.wav").unlink()  # its tiles would be swept
    with nothing_touched(outside):
        code, stderr = cli_run("dataset", "build", fewer, ds, *CLI_OPTIONS)
    assert code == 1, stderr
    line = assert_one_error_line(code, stderr)
    assert line == (f"specimg: error: {str(ds / 'train')!r} is a symbolic link (to {str(moved)!r}); specimg does not "
                    "write or delete through links in a dataset: replace it with a real folder")  # fmt: skip
    with nothing_touched(outside), pytest.raises(OutputError, match="train' is a symbolic link"):
        _quiet_build(fewer, ds)


def test_tile_dataset_never_yields_a_file_outside_its_dataset(bases, tmp_path) -> None:
    """Issue 19: a manifest row ``file_name: "../../outside/secret.png"`` (no class folders)
    made TileDataset hand out that file. Now it, stats and the CLI refuse the manifest."""
    _, ds, outside = fresh(bases, "flat", tmp_path)
    manifest = ds / "train" / "metadata.jsonl"
    rows = rows_of(manifest)
    rows[0]["file_name"] = "../../outside/secret.png"
    assert (ds / "train" / rows[0]["file_name"]).resolve() == (outside / "secret.png").resolve()
    write_rows(manifest, rows)
    with nothing_touched(outside):
        with pytest.raises(FormatError, match=r"line 1 of .*file_name '\.\./\.\./outside/secret\.png' is not a path"):
            TileDataset(ds)
        with pytest.raises(FormatError, match="is not a path inside the dataset"):
            stats(ds)
        line = assert_one_error_line(*cli_run("dataset", "stats", ds))
    assert "'../../outside/secret.png' is not a path inside the dataset" in line
    assert all(".." not in p.parts for p in all_items(ds))  # the validation split is fine


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("{outside}/secret.png", "is not a path inside"),  # absolute
        ("x0__c0\0__f0000000.png", "holds a NUL"),
        ("", "is not a file name"),
        (7, "is not a file name"),
        ("./x0__c0__f0000000.png", "is not a path inside"),
        ("a//x0__c0__f0000000.png", "is not a path inside"),
        ("x0__c0__f0000000.png/..", "is not a path inside"),
        ("link/secret.png", "leads outside the dataset .* through the link .*link' \\(to "),
    ],
)
def test_hostile_file_names_are_refused(bases, tmp_path, name: Any, match: str) -> None:
    _, ds, outside = fresh(bases, "flat", tmp_path)
    (ds / "train" / "link").symlink_to(outside)
    manifest = ds / "train" / "metadata.jsonl"
    rows = rows_of(manifest)
    rows[-1]["file_name"] = name.format(outside=outside) if isinstance(name, str) else name
    write_rows(manifest, rows)
    with nothing_touched(outside):
        with pytest.raises(FormatError, match=match):
            TileDataset(ds)
        if isinstance(name, str):  # stats leaves a row without a string file_name out
            with pytest.raises(FormatError, match=match):
                stats(ds)


@pytest.mark.parametrize(
    ("rel", "kind"),
    [("train", "classes"), ("validation", "flat"), ("train/a", "classes"), ("validation/b", "classes"),
     (".build", "flat"), ("tile", "flat"), ("tile", "classes"), ("train/metadata.jsonl", "flat"),
     ("specimg.json", "flat"), ("errors.jsonl", "flat"), ("README.md", "classes"), (".build/summary.json", "flat"),
     ("record", "flat")],
)  # fmt: skip
def test_a_resume_refuses_every_link_where_it_writes(bases, tmp_path, rel: str, kind: str) -> None:
    """A split or class folder, .build/, a tile, a manifest, a record or a top-level file
    moved elsewhere and linked: the resume names the link and leaves everything as it was,
    the dataset too."""
    audio, ds, outside = fresh(bases, kind, tmp_path)
    if rel == "tile":
        rel = next((ds / "train").rglob("*.png")).relative_to(ds).as_posix()
    elif rel == "record":
        rel = next((ds / ".build").glob("[0-9a-f]" * 40 + ".json")).relative_to(ds).as_posix()
    move_and_link(ds, rel, outside)
    inside_before = snapshot(ds)
    with nothing_touched(outside), pytest.raises(OutputError) as refused:
        _quiet_build(audio, ds)
    assert str(refused.value).startswith(f"{str(ds / rel)!r} is a symbolic link (to ")
    assert snapshot(ds) == inside_before
    code, stderr = cli_run("dataset", "build", audio, ds, *CLI_OPTIONS)
    assert f"{str(ds / rel)!r} is a symbolic link" in assert_one_error_line(code, stderr) and code == 1


@pytest.mark.parametrize("rel", ["train", "train/a", "tile", "train/metadata.jsonl", "specimg.json", ".build/summary.json",
                                 "errors.jsonl"])  # fmt: skip
def test_readers_refuse_a_link_out_of_the_dataset(bases, tmp_path, rel: str) -> None:
    """stats, TileDataset and decode's params_of read nothing through a link that leads out."""
    _, ds, outside = fresh(bases, "classes", tmp_path)
    if rel == "tile":
        rel = next((ds / "train").rglob("*.png")).relative_to(ds).as_posix()
    move_and_link(ds, rel, outside)
    with nothing_touched(outside):
        with pytest.raises(FormatError, match="leads outside the dataset"):
            stats(ds, contact_sheet=tmp_path / "sheet.png", n=100)
        if rel in ("specimg.json", "train", "train/a", "train/metadata.jsonl") or rel.endswith(".png"):
            with pytest.raises(FormatError, match="leads outside the dataset"):
                TileDataset(ds)
        if rel == "specimg.json":
            with pytest.raises(FormatError, match="leads outside the dataset"):
                params_of(ds)


def test_links_inside_the_dataset_are_read_and_the_root_may_be_a_link(bases, tmp_path) -> None:
    """The dataset folder itself a link (a dataset on another disk): everything works,
    resume included. A link inside it to a place inside it is read (not written)."""
    audio, ds, outside = fresh(bases, "classes", tmp_path)
    root_link = tmp_path / "linked-root"
    root_link.symlink_to(ds, target_is_directory=True)
    with nothing_touched(outside):
        report = _quiet_build(audio, root_link)
        assert report.files_resumed == report.files == 4
        assert stats(root_link)["consistency"]["missing_files"] == 0
        items = all_items(root_link)
    assert len(items) == report.tiles
    tile = next((ds / "validation").rglob("*.png"))
    other = next((ds / "train").rglob("*.png"))
    tile.unlink()
    tile.symlink_to(os.path.relpath(other, tile.parent))
    with nothing_touched(outside):
        assert len(all_items(root_link)) == report.tiles  # read through the inside link
        with pytest.raises(OutputError, match="is a symbolic link"):
            _quiet_build(audio, root_link)  # but never written through


def test_class_names_from_specimg_json_are_folder_names(bases, tmp_path) -> None:
    _, ds, outside = fresh(bases, "classes", tmp_path)
    desc = json.loads((ds / "specimg.json").read_text())
    for bad, match in [
        ("../outside", "is not a path inside"),
        ("a/b", "is not a folder name"),
        ("", "not a file name"),
    ]:
        (ds / "specimg.json").write_text(json.dumps({**desc, "classes": ["a", bad]}))
        with nothing_touched(outside), pytest.raises(FormatError, match=match):
            TileDataset(ds)


def test_containment_helpers(tmp_path) -> None:
    root = tmp_path / "ds"
    (root / "train").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "validation").symlink_to(tmp_path / "elsewhere")
    assert check_name("a/b.png") == ("a", "b.png")
    for bad in ["/a", "\\a", "C:x", "a/../b", "..", ".", "a/", "a\0b", None, 3, ""]:
        with pytest.raises(FormatError):
            check_name(bad)
    assert inside(root, "train/x.png") == root / "train" / "x.png"  # need not exist
    with pytest.raises(FormatError, match=r"through the link '.*validation' \(to '.*elsewhere'\)"):
        inside(root, "validation/x.png")
    assert no_link(root, root / "train" / "x.png") == root / "train" / "x.png"
    with pytest.raises(OutputError, match="validation' is a symbolic link"):
        no_link(root, root / "validation" / "x.png")
    with pytest.raises(OutputError, match="leaves the dataset folder"):
        no_link(root, root / "train" / ".." / ".." / "x")
    assert make_dirs(root, root / "train" / "a" / "b").is_dir()
    with pytest.raises(OutputError, match="validation' is a symbolic link"):
        make_dirs(root, root / "validation" / "a")
    assert not (tmp_path / "elsewhere" / "a").exists()
    assert [r for r, _, _ in walk(root, root / "train")] == [str(root / "train"), str(root / "train" / "a"),
                                                            str(root / "train" / "a" / "b")]  # fmt: skip
    (root / "train" / "a" / "x.png").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="x.png' is a symbolic link"):
        list(walk(root, root / "train"))
    linked_root = tmp_path / "root-link"
    linked_root.symlink_to(root)
    assert list(walk(linked_root, linked_root / "missing")) == []
    assert inside(linked_root, "train/a") == linked_root / "train" / "a"


# ---------------------------------------------------------------------------- fuzz
NAMES = st.lists(
    st.sampled_from(["..", ".", "", "a", "b", "train", "validation", "outside", "secret.png", "x0__c0__f0000000.png",
                     "\0", "/", "C:", "..\\..", "link", "metadata.jsonl", "~", "a" * 300]),
    min_size=1, max_size=5,
).map("/".join) | st.text(max_size=12)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | NAMES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["file_name", "label", "x"]), inner,
                                                                max_size=3),
    max_leaves=6,
)  # fmt: skip
OPS = ["stats", "tiles", "resume", "cli-stats", "cli-build"]


def run_op(op: str, audio: Path, ds: Path, where: Path, *, refused: bool = False) -> None:
    """Run ``op`` on the dataset ``ds``: it works or raises a SpecimgError (API), or exits
    with one ``specimg: error:`` line (CLI). ``refused``: it must fail."""
    if op.startswith("cli-"):
        args = ["dataset", "stats", ds] if op == "cli-stats" else ["dataset", "build", audio, ds, *CLI_OPTIONS]
        code, stderr = cli_run(*args)
        if refused:
            assert code == 1 and "is a symbolic link" in assert_one_error_line(code, stderr), stderr
        elif code != 0:  # 1: refused; 2 (build): built, some file failed
            assert_one_error_line(code, stderr)
        return
    call: dict[str, Callable[[], object]] = {
        "stats": lambda: stats(ds, contact_sheet=where / "sheet.png", n=4),
        "tiles": lambda: all_items(ds),
        "resume": lambda: _quiet_build(audio, ds),
    }
    try:
        call[op]()
    except SpecimgError as exc:
        assert not refused or (isinstance(exc, OutputError) and "is a symbolic link" in str(exc)), exc
        return
    assert not refused, f"{op} went through a link in the dataset"


def _case(
    factory: pytest.TempPathFactory, bases: dict[str, tuple[Path, Path]], kind: str
) -> tuple[Path, Path, Path, Path]:
    where = factory.mktemp("case")
    return (*fresh(bases, kind, where), where)


@FUZZ
@given(kind=st.sampled_from(["flat", "classes"]), split=st.sampled_from(["train", "validation"]),
       edits=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["file_name", "label", "source", "frame", "row"]),
                                JSON), min_size=1, max_size=4),
       op=st.sampled_from(OPS))  # fmt: skip
def test_fuzz_manifests(
    tmp_path_factory, bases, kind: str, split: str, edits: list[tuple[int, str, Any]], op: str
) -> None:
    audio, ds, outside, where = _case(tmp_path_factory, bases, kind)
    manifest = ds / split / "metadata.jsonl"
    rows: list[Any] = rows_of(manifest)
    for index, key, value in edits:
        k = index % len(rows)
        if key == "row" or not isinstance(rows[k], dict):
            rows[k] = value
        else:
            rows[k][key] = value
    write_rows(manifest, rows)
    with nothing_touched(outside):
        run_op(op, audio, ds, where)


DESCRIPTION_KEYS = ["classes", "splits", "format", "version", "params", "tile", "audio_dir", "class_folders", "phase"]


@FUZZ
@given(kind=st.sampled_from(["flat", "classes"]),
       changes=st.dictionaries(st.sampled_from(DESCRIPTION_KEYS), JSON | st.lists(NAMES, max_size=3), min_size=1,
                               max_size=3),
       op=st.sampled_from(OPS))  # fmt: skip
def test_fuzz_specimg_json(tmp_path_factory, bases, kind: str, changes: dict[str, Any], op: str) -> None:
    audio, ds, outside, where = _case(tmp_path_factory, bases, kind)
    desc = json.loads((ds / "specimg.json").read_text())
    (ds / "specimg.json").write_text(json.dumps({**desc, **changes}))
    with nothing_touched(outside):
        run_op(op, audio, ds, where)


RECORD_KEYS = ["source", "split", "plan", "label", "status", "stat", "rows", "file_name", "error", "whole"]


@FUZZ
@given(kind=st.sampled_from(["flat", "classes"]), which=st.integers(0, 10),
       edits=st.lists(st.tuples(st.sampled_from(RECORD_KEYS), JSON), min_size=1, max_size=3),
       op=st.sampled_from(["resume", "resume", "cli-build", "stats"]))  # fmt: skip
def test_fuzz_build_records(
    tmp_path_factory, bases, kind: str, which: int, edits: list[tuple[str, Any]], op: str
) -> None:
    audio, ds, outside, where = _case(tmp_path_factory, bases, kind)
    records = sorted((ds / ".build").glob("[0-9a-f]" * 40 + ".json"))
    path = records[which % len(records)]
    record: Any = json.loads(path.read_text())
    for key, value in edits:
        if key == "whole" or not isinstance(record, dict):
            record = value
        elif key == "file_name" and isinstance(record.get("rows"), list) and record["rows"]:
            if isinstance(record["rows"][0], dict):
                record["rows"][0]["file_name"] = value
        else:
            record[key] = value
    path.write_text(json.dumps(record))
    with nothing_touched(outside), warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecimgWarning)  # a record refused is redone, with this warning
        run_op(op, audio, ds, where)


def _places(ds: Path) -> list[str]:
    """Where a link may be planted: every folder and file of the dataset, and new names."""
    found = sorted(p.relative_to(ds).as_posix() for p in ds.rglob("*") if p.name != "lock")
    return found + [".build/lock", "train/.new.png.abcd1234.part", "train/new__c0__f0000000.png", "validation/c"]


@FUZZ
@given(kind=st.sampled_from(["flat", "classes"]), place=st.integers(0, 200),
       target=st.sampled_from(["moved", "outside", "secret", "dangling", "loop", "inside-file", "inside-folder",
                               "root"]),
       relative=st.booleans(), op=st.sampled_from(OPS))  # fmt: skip
def test_fuzz_links(tmp_path_factory, bases, kind: str, place: int, target: str, relative: bool, op: str) -> None:
    """A link planted anywhere in the dataset: no reader goes through it out of the
    dataset, and a resume (API or CLI) refuses it whatever it leads to."""
    audio, ds, outside, where = _case(tmp_path_factory, bases, kind)
    places = _places(ds)
    rel = places[place % len(places)]
    spot = ds / rel
    if target == "moved" and os.path.lexists(spot):
        to = outside / "moved" / spot.name
        to.parent.mkdir()
        shutil.move(spot, to)
    else:
        if spot.is_dir() and not spot.is_symlink():
            shutil.rmtree(spot)
        elif os.path.lexists(spot):
            spot.unlink()
        spot.parent.mkdir(parents=True, exist_ok=True)
        to = {"outside": outside, "secret": outside / "secret.png", "dangling": outside / "missing", "loop": spot,
              "inside-file": next((ds / "validation").rglob("*.png"), ds / "specimg.json"),
              "inside-folder": ds / "validation", "root": ds, "moved": outside / "missing"}[target]  # fmt: skip
    spot.symlink_to(os.path.relpath(to, spot.parent) if relative else to)
    with nothing_touched(outside):
        run_op(op, audio, ds, where, refused=op in ("resume", "cli-build"))
