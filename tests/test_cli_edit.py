"""``specimg edit`` and ``specimg diff``, run in-process through click's ``CliRunner``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import specimg

from .test_cli import SPEECH, assert_ok, assert_one_line_error, listing, run


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The speech sample encoded (in-process, fast) with the default parameters."""
    y, sr = specimg.read_audio(SPEECH)
    return specimg.save(specimg.encode(y, sr), tmp_path_factory.mktemp("edit") / "speech.png")


def parse_diff(text: str) -> tuple[list[str], list[tuple[str, list[float | None]]], float, float]:
    """Column labels, rows (label, values; None for '·'), max |Δ| and % changed."""
    lines = text.splitlines()
    assert lines[0].startswith("B − A in dB"), text
    columns = re.findall(r"\d+\.\d+–\d+\.\d+ s", lines[1])
    rows = []
    for line in lines[2:-1]:
        label, cells = re.match(r"^\s*(\d+–\d+ Hz)\s+(.*)$", line).groups()  # type: ignore[union-attr]
        rows.append((label, [None if c == "·" else float(c) for c in cells.split()]))
    summary = re.match(r"max \|Δ\| = (\d+\.\d+) dB; (\d+\.\d+) % of pixels changed", lines[-1])
    assert summary, lines[-1]
    return columns, rows, float(summary.group(1)), float(summary.group(2))


def test_edit_applies_operations_in_the_order_given(original: Path, tmp_path: Path) -> None:
    out = tmp_path / "edited.tif"
    result = run("edit", original, out, "--gain", "-6:1:2:0:3000", "--erase", "3:3.3", "--gain=+6:4:", "--denoise",
                 "median", "--erase", "::0:100", cwd=tmp_path)  # fmt: skip
    assert_ok(result)
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"{out}: gain -6:1:2:0:3000 → erase 3:3.3 → gain +6:4: → denoise median → erase ::0:100; "
        + re.search(r"; (\d+\.\d %) of pixels changed", result.stdout).group(1)  # type: ignore[union-attr]
        + " of pixels changed"
    ]
    img = specimg.load(out)
    before = specimg.load(original)
    assert img.params.replace(edits=()) == before.params
    edits = img.params.edits
    assert [e["op"] for e in edits] == ["gain", "erase", "gain", "denoise", "erase"]
    assert [e["db"] for e in edits if e["op"] == "gain"] == [-6.0, 6.0]
    assert edits[0]["time"] == [1.0, 2.0] and edits[0]["freq"] == [0.0, 3000.0]
    assert edits[2]["time"] == [4.0, before.params.n_samples / before.params.sr] and edits[2]["freq"] is None
    assert edits[3]["method"] == "median"
    assert edits[4]["time"] is None and edits[4]["freq"] == [0.0, 100.0]
    expected = before
    expected = specimg.ops.gain(expected, -6.0, time=(1, 2), freq=(0, 3000))
    expected = specimg.ops.erase(expected, time=(3, 3.3))
    expected = specimg.ops.gain(expected, 6.0, time=(4, None))
    expected = specimg.ops.denoise(expected, "median")
    expected = specimg.ops.erase(expected, freq=(0, 100))
    assert np.array_equal(img.pixels, expected.pixels)
    assert listing(tmp_path) == ["edited.tif"]


def test_edit_with_painted_masks(original: Path, tmp_path: Path) -> None:
    img = specimg.load(original)
    rows, cols = img.shape
    paint = Image.new("RGB", (cols, rows), "black")
    ImageDraw.Draw(paint).rectangle([100, 500, 119, 529], fill="white")
    paint.save(tmp_path / "paint.png")
    out = tmp_path / "out.png"
    assert_ok(run("edit", original, out, "--inpaint", "paint.png:ns", "--mask", "paint.png:-20", cwd=tmp_path))
    edits = specimg.load(out).params.edits
    assert [(e["op"], e["mask"]) for e in edits] == [("inpaint", "paint.png"), ("apply_mask", "paint.png")]
    assert edits[0]["method"] == "ns" and edits[1]["db"] == -20.0 and edits[0]["pixels"] == 600


def test_diff_shows_a_known_gain_in_its_cell(original: Path, tmp_path: Path) -> None:
    p = specimg.load(original).params
    duration, nyquist = p.n_samples / p.sr, p.sr / 2
    t1, f1 = duration / 4, nyquist / 4  # exactly the bottom-left cell of the 4x4 grid
    edited = tmp_path / "louder.png"
    # gain regions include their ends, grid cells do not include their top: stop one Hz
    # short; no soft edges, which would reach into the next cells
    assert_ok(run("edit", original, edited, "--gain", f"6:0:{t1!r}:0:{f1 - 1!r}", "--fade", "0", "--fade-hz", "0",
                  cwd=tmp_path))  # fmt: skip

    result = run("diff", original, edited, cwd=tmp_path)
    assert_ok(result)
    columns, rows, max_delta, changed = parse_diff(result.stdout)
    assert columns[0] == f"0.00–{t1:.2f} s" and len(columns) == 4
    assert [label for label, _ in rows] == ["8269–11025 Hz", "5512–8269 Hz", "2756–5512 Hz", "0–2756 Hz"]  # high → low
    for j, (_, values) in enumerate(rows):
        for k, v in enumerate(values):
            assert v is not None
            if (j, k) == (3, 0):
                assert v == pytest.approx(6.0, abs=0.01)
            else:
                assert v == pytest.approx(0.0, abs=0.01)
    assert max_delta == pytest.approx(6.0, abs=0.01)
    assert 5.0 < changed < 7.0  # one cell of 16, minus its silent bins

    split = run("diff", original, edited, "--time-step", "0.5", "--freq-bands", "1000,2756.25", cwd=tmp_path)
    assert_ok(split)
    columns, rows, _, _ = parse_diff(split.stdout)
    assert len(columns) == 12 and columns[-1] == f"5.50–{duration:.2f} s"
    assert [label for label, _ in rows] == ["2756–11025 Hz", "1000–2756 Hz", "0–1000 Hz"]
    assert rows[1][1][0] == pytest.approx(6.0, abs=0.01) and rows[0][1][0] == pytest.approx(0.0, abs=0.01)


def test_region_diff_library_call(original: Path) -> None:
    """The numbers ``specimg diff`` prints: specimg.metrics.region_diff."""
    from specimg.metrics import region_diff

    a = specimg.load(original)
    b = specimg.ops.gain(a, -6.0, freq=(0.0, 2000.0), fade_hz=0.0)
    d = region_diff(a, b, grid=(3, 2), freq_bands=[2000.0])
    assert d.mean_db.shape == (2, 3) and d.time_edges[0] == 0.0 and d.freq_edges.tolist() == [0.0, 2000.0, 11025.0]
    np.testing.assert_allclose(d.mean_db[0], -6.0, atol=0.05)  # bins near the floor cannot fall 6 dB
    np.testing.assert_allclose(d.mean_db[1], 0.0, atol=0.01)
    assert d.max_abs_db == pytest.approx(6.0, abs=0.01) and 0 < d.changed < 1
    with pytest.raises(specimg.ParameterError, match="grid"):
        region_diff(a, b, grid=(0, 4))


def test_diff_refuses_different_spectrograms(original: Path, tmp_path: Path) -> None:
    y, sr = specimg.read_audio(SPEECH)
    other = specimg.save(specimg.encode(y, sr, n_fft=1024), tmp_path / "other.png")
    assert_one_line_error(run("diff", original, other, cwd=tmp_path), "n_fft (2048 vs 1024)")
    assert_one_line_error(run("diff", original, original, "--grid", "4by4", cwd=tmp_path), "--grid '4by4'")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--gain", "loud:1:2"], "DB 'loud' is not a number"),
        (["--erase", "1:2:3"], "--erase '1:2:3' has 3 field(s)"),
        (["--erase", "1:2", "--denoise", "sharpen"], "unknown method 'sharpen'"),
        (["--erase", "2:1"], "T0=2 is after T1=1"),  # the CLI field names of T0:T1
        (["--gain", "-6:0:1:0:20000"], "F1=20000 Hz"),
        ([], "no operation given"),
    ],
    ids=["gain-db", "erase-fields", "denoise-method", "t0>t1", "above-nyquist", "no-op"],
)
def test_edit_bad_syntax_is_one_line_and_writes_nothing(original: Path, tmp_path: Path, args: list[str], fragment: str) -> None:
    out = tmp_path / "out.png"
    assert_one_line_error(run("edit", original, out, *args, cwd=tmp_path), fragment)
    assert listing(tmp_path) == []


def test_decode_an_external_8bit_rgb_copy_with_like_and_phase_from(tmp_path: Path) -> None:
    """The edit-then-listen workflow from the shell: edit, export 8-bit RGB (as an image
    editor would, no metadata), decode with --like and --phase-from."""
    assert_ok(run("encode", SPEECH, tmp_path / "s.png", cwd=tmp_path))
    assert_ok(run("edit", tmp_path / "s.png", tmp_path / "e.png", "--gain", "-12:2.0:2.6", cwd=tmp_path))
    edited = specimg.load(tmp_path / "e.png")
    gray = np.rint(edited.pixels / 257).astype(np.uint8)
    Image.fromarray(np.dstack([gray] * 3)).save(tmp_path / "gimp.png")
    bare = run("decode", tmp_path / "gimp.png", tmp_path / "bad.wav", cwd=tmp_path)
    assert bare.returncode == 1 and "--like" in bare.stderr
    res = run(
        "decode", tmp_path / "gimp.png", tmp_path / "out.wav", "--like", tmp_path / "s.png", "--phase-from", SPEECH,
        cwd=tmp_path,
    )
    assert_ok(res)
    y, sr = specimg.read_audio(SPEECH)
    out, sr_out = specimg.read_audio(tmp_path / "out.wav")
    assert sr_out == sr and out.shape == y.shape
    before = slice(0, int(1.8 * sr))  # well before the edit: the original, to 16-bit WAV precision
    assert np.max(np.abs(out[before] - y[before])) < 1e-4
    assert not (tmp_path / "bad.wav").exists()
