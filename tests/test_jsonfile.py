"""specimg.jsonfile, issue 19 item 2: every JSON file specimg reads goes through one reader that
bounds size, nesting and numbers, and fails with one FormatError line naming the file (and line).

Before it, 10⁵ brackets gave a RecursionError, ``1e400`` an infinity that later raised
OverflowError or ``Maximum allowed size exceeded``, and a 5000-digit integer a ValueError.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from specimg.errors import FormatError
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
