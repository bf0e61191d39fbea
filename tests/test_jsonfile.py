"""specimg.jsonfile, issue 19 item 2: every JSON file specimg reads goes through one reader that
bounds size, nesting and numbers, and fails with one FormatError line naming the file (and line).

Before it, 10⁵ brackets gave a RecursionError, ``1e400`` an infinity that later raised
OverflowError or ``Maximum allowed size exceeded``, and a 5000-digit integer a ValueError.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from specimg.errors import FormatError, SpecimgWarning
from specimg.jsonfile import MAX_DEPTH, out_of_range, read_json, read_json_lines

N = 100_000
DEEP = {
    "arrays": "[" * N + "]" * N,
    "objects": '{"a": ' * N + "1" + "}" * N,
    "mixed": '[{"a": ' * (N // 2) + "1" + "}]" * (N // 2),
    "unclosed": "[" * N,
    "after a string": '["x\\"]", ' + "[" * N + "]" * N + "]",
    "after escaped backslashes": '["\\\\\\\\", ' + "[" * N + "]" * N + "]",
}


@pytest.mark.parametrize("text", DEEP.values(), ids=list(DEEP))
@pytest.mark.parametrize("kind", [str, bytes, Path])
def test_deep_nesting_is_a_format_error_not_a_recursion_error(text: str, kind: type, tmp_path: Path) -> None:
    source: object = text if kind is str else text.encode()
    if kind is Path:
        source = tmp_path / "deep.json"
        source.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(FormatError, match=rf"^'[^']*': nested deeper than {MAX_DEPTH} levels$"):
        read_json(source, what="'deep.json'")  # type: ignore[arg-type]
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize(
    "text, length",
    [
        ('{"name": "' + "[" * N + '"}', N),  # brackets in a string are text
        ('{"name": "\\"' + "{" * N + '"}', N + 1),  # ... after an escaped quote too
        ('["' + "[" * 70 + '", ' + "[" * 60 + "1" + "]" * 60 + "]", 70),  # 61 levels: inside the bound
    ],
)
def test_brackets_in_strings_do_not_count(text: str, length: int) -> None:
    value = read_json(text)
    assert len(value[0] if isinstance(value, list) else value["name"]) == length


def test_nesting_bound_is_exact() -> None:
    assert read_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(FormatError, match="nested deeper than 64 levels"):
        read_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert read_json("[[[1]]]", max_depth=3) == [[[1]]]
    with pytest.raises(FormatError, match="nested deeper than 2 levels"):
        read_json("[[[1]]]", max_depth=2)


@pytest.mark.parametrize(
    "text, why",
    [
        ('{"frames": 1e400}', "the number 1e400 is out of range for a float (it overflows to infinity)"),
        ('[-1E+0400]', "the number -1E+0400 is out of range for a float"),
        ("[" + "9" * 400 + ".5]", "is out of range for a float"),
        ('{"peak_db": NaN}', "NaN is not a finite number"),
        ('{"peak_db": Infinity}', "Infinity is not a finite number"),
        ('[-Infinity]', "-Infinity is not a finite number"),
        ("[" + "9" * 5000 + "]", "an integer of 5000 digits, more than 40"),
        ("[-" + "9" * 41 + "]", "an integer of 41 digits, more than 40"),
        ('{"sr": 1, "sr": 2}', "the key 'sr' appears twice in one object"),
    ],
)
def test_numbers_and_keys_json_does_not_bound(text: str, why: str) -> None:
    with pytest.raises(FormatError, match=r"^'specimg.json': ") as info:
        read_json(text, what="'specimg.json'")
    assert why in str(info.value)


def test_finite_numbers_pass_for_their_user_to_check() -> None:
    """1e300 and 1.5e308 are finite JSON numbers: the code that uses them bounds them."""
    assert read_json("[1e300, 1.5e308, -1.5e308, 1e-400, " + "9" * 40 + "]") == [1e300, 1.5e308, -1.5e308, 0.0, 10**40 - 1]
    assert out_of_range("n_frames", 1e300, 1, 2**31, integer=True) == "n_frames=1e+300 is not an integer"
    assert out_of_range("peak_db", 1.5e308, -1000, 1000) == "peak_db=1.5e+308 is out of range [-1000, 1000]"
    assert out_of_range("frame", 10**39, 0, 2**40, integer=True) == f"frame={10**39} is out of range [0, {2**40}]"
    assert out_of_range("seconds", True, 0, 1) == "seconds=True is not a number"
    assert out_of_range("seconds", 0.5, 0, 1) is None


def test_oversize_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * 2000 + '"}')
    with pytest.raises(FormatError, match=r"^'[^']*big.json': larger than 1000 B \(more than 1,000 bytes\)$"):
        read_json(big, max_bytes=1000)
    assert len(read_json(big, max_bytes=3000)["a"]) == 2000
    with pytest.raises(FormatError, match="more than 10 characters"):
        read_json('{"a": "' + "x" * 20 + '"}', max_bytes=10)
    if Path("/dev/zero").exists():  # read no further than max_bytes + 1
        with pytest.raises(FormatError, match="larger than"):
            read_json(Path("/dev/zero"), what="'/dev/zero'")


@pytest.mark.parametrize("data", [b'{"a": "\xff"}', b"\xc3", b'{"a": "\xed\xa0\x80"}'])
def test_invalid_utf8_is_a_format_error(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"^JSON text is not valid JSON: not UTF-8 text"):
        read_json(data)
    (tmp_path / "m.jsonl").write_bytes(b'{"a": 1}\n' + data + b"\n")
    with pytest.raises(FormatError, match=r"^'m.jsonl' line 2 is not valid JSON: not UTF-8 text"):
        list(read_json_lines(tmp_path / "m.jsonl", what="'m.jsonl'"))


def test_syntax_errors_keep_the_json_message() -> None:
    with pytest.raises(FormatError, match=r"^sidecar 'a.json' is not valid JSON: Expecting value: line 1 column 1"):
        read_json("", what="sidecar 'a.json'")
    with pytest.raises(FormatError, match=r"^'m.jsonl' line 7 is not valid JSON: Extra data"):
        read_json("{} {}", what="'m.jsonl'", line=7)
    assert read_json('{"a": 1}'.encode("utf-16")) == {"a": 1}  # as json.loads(bytes)


def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "metadata.jsonl"
    path.write_bytes(b'{"frame": 0}\r\n\n  \n[1, 2]\n{"frame": 32}')
    assert list(read_json_lines(path)) == [(1, {"frame": 0}), (4, [1, 2]), (5, {"frame": 32})]
    cut: list[FormatError] = []
    path.write_bytes(b'{"frame": 0}\n{"frame": 3')  # a write cut short
    assert list(read_json_lines(path, on_invalid=cut.append)) == [(1, {"frame": 0})]
    assert [str(e) for e in cut] == [f"{str(path)!r} line 2 is not valid JSON: Expecting ',' delimiter at column 12"]
    for line, why in [
        ("[" * 500, "nested deeper than 64 levels"),
        ('{"peak_db": 1e400}', "the number 1e400 is out of range"),
        ('{"peak_db": NaN}', "NaN is not a finite number"),
        ("9" * 500, "an integer of 500 digits"),
        ('"' + "x" * 2000 + '"', "larger than 1000 B"),
    ]:  # over a limit: raised even with on_invalid
        path.write_text('{"frame": 0}\n\n' + line + "\n")
        with pytest.raises(FormatError, match=rf"^'metadata.jsonl' line 3: {why}"):
            list(read_json_lines(path, what="'metadata.jsonl'", max_line_bytes=1000, on_invalid=cut.append))
    path.write_text('{"frame": 0}\n' * 100)
    with pytest.raises(FormatError, match=r"^'m': larger than 1000 B"):
        list(read_json_lines(path, what="'m'", max_bytes=1000))


def test_a_long_line_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    with open(path, "wb") as fh:
        fh.write(b'{"a": 1}\n"')
        fh.truncate(200 << 20)  # 200 MB without a newline
    t0 = time.perf_counter()
    with pytest.raises(FormatError, match=r"line 2: larger than 1 MiB"):
        list(read_json_lines(path))
    assert time.perf_counter() - t0 < 5


# ---------------------------------------------------------------------------- hostile files in a built dataset
SR = 22050
SIZE = (64, 32)
DEEP_ARRAYS = DEEP["arrays"]
DEEP_OBJECTS = DEEP["objects"]
#: Numbers JSON does not bound: the reader refuses them wherever they are.
UNBOUNDED = {"1e400": "1e400", "NaN": "NaN", "-Infinity": "-Infinity", "5000 digits": "9" * 5000}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four one-second tones in two classes, tiled into 64 × 32 tiles, train and validation."""
    import numpy as np
    import soundfile as sf

    from specimg.dataset import build

    root = tmp_path_factory.mktemp("hostile")
    for name, freq in (("dog/a.wav", 440), ("dog/b.wav", 550), ("rain/c.wav", 660), ("rain/d.wav", 770)):
        (root / "audio" / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / "audio" / name, 0.5 * np.sin(2 * np.pi * freq * np.arange(SR) / SR), SR)
    build(root / "audio", root / "out", size=SIZE, workers=1, validation=0.5, seed=1)
    return root


@pytest.fixture
def dataset(built: Path, tmp_path: Path) -> Path:
    """A copy of the built dataset (its audio keeps size and mtime: a resume redoes nothing)."""
    import shutil

    shutil.copytree(built, tmp_path / "d")
    return tmp_path / "d" / "out"


def _with(text: str, key: str, token: str) -> str:
    """The JSON object ``text`` with the value of ``key`` (a dotted path) replaced by the raw ``token``."""
    import json

    data = json.loads(text)
    node = data
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = "@TOKEN@"
    return json.dumps(data).replace('"@TOKEN@"', token)


def _stats_cli(out: Path) -> str:
    """``specimg dataset stats OUT``: exit 1 and one ``specimg: error:`` line, returned."""
    from .test_cli import assert_one_line_error, run

    return assert_one_line_error(run("dataset", "stats", out, cwd=out.parent))


def _resume(out: Path) -> object:
    from specimg.dataset import build

    return build(out.parent / "audio", out, size=SIZE, workers=1, validation=0.5, seed=1)


def _manifest_cases() -> dict[str, tuple[str | None, str]]:
    """Case → (key of row 1 to replace, or None for the whole line; raw token)."""
    cases: dict[str, tuple[str | None, str]] = {"deep arrays": (None, DEEP_ARRAYS), "deep objects": (None, DEEP_OBJECTS)}
    cases.update({f"peak_db {k}": ("peak_db", v) for k, v in UNBOUNDED.items()})
    cases.update({"peak_db 1e300": ("peak_db", "1e300"), "rms_db 1.5e308": ("rms_db", "1.5e308"),
                  "peak_db 1e10 (an 8 GB histogram)": ("peak_db", "1e10"), "frame 10**30": ("frame", "1" + "0" * 30),
                  "frame 1e300": ("frame", "1e300")})  # fmt: skip
    return cases


MANIFEST_CASES = _manifest_cases()


@pytest.mark.parametrize("key, token", MANIFEST_CASES.values(), ids=list(MANIFEST_CASES))
def test_hostile_manifest_line(dataset: Path, key: str | None, token: str) -> None:
    """Was: RecursionError (deep), ValueError 'Maximum allowed size exceeded' or an 8 GB
    np.arange (1e300, 1e10 dB) in stats, RecursionError in TileDataset. Now stats names the
    file and line; TileDataset refuses what it cannot parse (it uses no number of a row);
    a resume rewrites the manifests from its records."""
    from specimg.dataset import TileDataset, stats

    manifest = dataset / "train" / "metadata.jsonl"
    lines = manifest.read_text().splitlines()
    lines[0] = token if key is None else _with(lines[0], key, token)
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"metadata.jsonl' line 1: "):
        stats(dataset)
    line = _stats_cli(dataset)
    assert "metadata.jsonl' line 1: " in line
    if key is None or token in UNBOUNDED.values():  # no JSON within the reader's limits
        with pytest.raises(FormatError, match=r"metadata.jsonl' line 1: "):
            TileDataset(dataset)
    else:
        assert len(TileDataset(dataset)) == len(lines)  # a finite number it does not use
    _resume(dataset)
    assert next(v for _, v in read_json_lines(manifest))["file_name"]  # rewritten from the records
    assert stats(dataset)["consistency"]["bad_manifest_lines"] == 0


DESCRIPTION_CASES: dict[str, tuple[str | None, str]] = {
    "deep arrays": (None, DEEP_ARRAYS),
    "deep objects": (None, DEEP_OBJECTS),
    **{f"seed {k}": ("seed", v) for k, v in UNBOUNDED.items()},
    "params.sr 1e400": ("params.sr", "1e400"),
    "params.sr 1e300": ("params.sr", "1e300"),
    "params.db_min -1.5e308": ("params.db_min", "-1.5e308"),
    "tile.n_frames 10**30": ("tile.n_frames", "1" + "0" * 30),
    "tile.step_frames 1e300": ("tile.step_frames", "1e300"),
    "min_level_db 1.5e308": ("min_level_db", "1.5e308"),
}


@pytest.mark.parametrize("key, token", DESCRIPTION_CASES.values(), ids=list(DESCRIPTION_CASES))
def test_hostile_description(dataset: Path, key: str | None, token: str) -> None:
    """Was: RecursionError in the build's resume, OverflowError/inf settings; now one line."""
    from specimg.dataset import TileDataset, stats
    from specimg.errors import SpecimgError

    from .test_cli import assert_one_line_error, run

    desc = dataset / "specimg.json"
    desc.write_text(token if key is None else _with(desc.read_text(), key, token))
    with pytest.raises(FormatError, match="specimg.json"):
        stats(dataset)
    assert "specimg.json" in _stats_cli(dataset)
    if key != "min_level_db":  # the loader does not read it
        with pytest.raises(FormatError, match="specimg.json"):
            TileDataset(dataset)
    with pytest.raises(SpecimgError) as info:  # FormatError, or ParameterError: "built with other settings"
        _resume(dataset)
    assert type(info.value).__name__ in ("FormatError", "ParameterError") and "\n" not in str(info.value)
    assert_one_line_error(run("dataset", "build", dataset.parent / "audio", dataset, "--size", "64x32",
                              "--validation", "0.5", "--seed", "1", "--workers", "1", cwd=dataset.parent))  # fmt: skip


SUMMARY_CASES: dict[str, tuple[str | None, str]] = {
    "deep objects": (None, DEEP_OBJECTS),
    **{f"seconds {k}": ("counts.seconds", v) for k, v in UNBOUNDED.items()},
    "seconds 1.5e308": ("counts.seconds", "1.5e308"),
    "silent_tiles 10**30": ("counts.silent_tiles", "1" + "0" * 30),
}


@pytest.mark.parametrize("key, token", SUMMARY_CASES.values(), ids=list(SUMMARY_CASES))
def test_hostile_summary(dataset: Path, key: str | None, token: str) -> None:
    """Was: RecursionError in stats (only invalid JSON was ignored), 'inf h' or a 300-digit
    number of hours; now stats names the file. The loader does not read it, a resume rewrites it."""
    from specimg.dataset import TileDataset, stats

    summary = dataset / ".build" / "summary.json"
    summary.write_text(token if key is None else _with(summary.read_text(), key, token))
    with pytest.raises(FormatError, match=r"summary.json"):
        stats(dataset)
    assert "summary.json" in _stats_cli(dataset)
    assert len(TileDataset(dataset)) > 0
    _resume(dataset)
    assert stats(dataset)["source_seconds"] == pytest.approx(4.0)


RECORD_CASES: dict[str, tuple[str | None, str]] = {
    "deep arrays": (None, DEEP_ARRAYS),
    **{f"seconds {k}": ("seconds", v) for k, v in UNBOUNDED.items()},
    "seconds 1.5e308": ("seconds", "1.5e308"),  # two of them summed to inf: every resume failed writing the summary
    "n_channels 10**30": ("n_channels", "1" + "0" * 30),  # a loop of 10**30 channels: the resume hung
    "n_samples 10**30": ("n_samples", "1" + "0" * 30),
    "sr 10**30": ("sr", "1" + "0" * 30),
    "peak_db 1e300": ("rows.0.peak_db", "1e300"),
    "frame 10**30": ("rows.0.frame", "1" + "0" * 30),
}


@pytest.mark.parametrize("key, token", RECORD_CASES.values(), ids=list(RECORD_CASES))
def test_hostile_build_record_is_redone(dataset: Path, key: str | None, token: str) -> None:
    """A bad ``.build`` record is deleted and its file built again (load_records): one file's
    work, and the next resume finds a good record, instead of every resume failing alike."""
    import json

    from specimg.dataset import stats
    from specimg.dataset.layout import record_name
    from specimg.dataset.state import check_record

    sources = ["dog/a.wav", "dog/b.wav"]  # both: a sum of two 1.5e308 overflows
    for source in sources:
        record = dataset / ".build" / record_name(source)
        text = record.read_text()
        if key is not None and key.startswith("rows."):
            data = json.loads(text)
            data["rows"][0][key.split(".")[-1]] = "@TOKEN@"
            text = json.dumps(data).replace('"@TOKEN@"', token)
        else:
            text = token if key is None else _with(text, key, token)
        record.write_text(text)
    assert stats(dataset)["tiles"]["total"] > 0  # stats reads no record
    with pytest.warns(SpecimgWarning, match=r"2 damaged record\(s\) .* were removed; their files are built again"):
        report = _resume(dataset)
    assert report.files_resumed == 2 and report.files == 4  # type: ignore[attr-defined]
    for source in sources:
        record = dataset / ".build" / record_name(source)
        assert check_record(read_json(record), record.name) is None
    assert _resume(dataset).files_resumed == 4  # type: ignore[attr-defined]
