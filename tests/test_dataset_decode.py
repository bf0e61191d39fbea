"""specimg.dataset.decode and .stats: generated tiles back to audio, and dataset figures.

The datasets here are made by hand following the dataset layout (version 1), exactly as a
build would: encode each file with the dataset's parameters and cut the image into tiles,
so these tests do not depend on the build.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

import specimg
from specimg import FormatError, MissingFileError, ParameterError, SpectrogramImage, SpectrogramParams
from specimg.dataset.decode import decode_batch, decode_dir, params_of
from specimg.dataset.stats import format_stats, stats
from specimg.metrics import level_difference_db, rms_db

SR = 22050
N_BINS, N_FRAMES = 64, 64
HOP = 128


def dataset_params(bit_depth: int = 16) -> SpectrogramParams:
    return SpectrogramParams(sr=SR, n_fft=512, hop_length=HOP, scale="mel", n_mels=N_BINS, bit_depth=bit_depth)


def audio_files(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthetic sources: steady tones, a quiet file that ends in silence, stereo noise, a short one."""
    t = np.arange(int(3.0 * SR)) / SR
    tones = sum(np.sin(2 * np.pi * f * t + k) for k, f in enumerate((220.0, 660.0, 1500.0))) / 3 * 10 ** (-12 / 20)
    quiet = 10 ** (-40 / 20) * np.sin(2 * np.pi * 440.0 * t)
    quiet[len(t) // 2 :] = 0.0  # the second half gives silent tiles, skipped
    noise = np.convolve(rng.standard_normal(2 * 2 * SR), np.ones(4) / 4, mode="same").reshape(2, -1) * 10 ** (-20 / 20)
    return {"tones/a.wav": tones, "tones/b.wav": quiet, "noise/c.wav": noise, "noise/short.wav": tones[:2000]}


def make_dataset(
    out: Path,
    sources: dict[str, np.ndarray],
    *,
    step: int = N_FRAMES,
    bit_depth: int = 16,
    min_level_db: float = -80.0,
    validation: tuple[str, ...] = ("tones/b.wav",),
    errors: tuple[str, ...] = ("noise/broken.wav",),
) -> SpectrogramParams:
    """A dataset as specimg.dataset.build writes it (layout version 1), from arrays at SR."""
    params = dataset_params(bit_depth)
    classes = sorted({rel.split("/")[0] for rel in sources})
    out.mkdir(parents=True, exist_ok=True)
    desc = {
        "format": "specimg-dataset", "version": 1,
        "params": params.replace(n_samples=None, n_channels=1, edits=()).to_dict(),
        "tile": {"n_bins": N_BINS, "n_frames": N_FRAMES, "step_frames": step},
        "min_level_db": min_level_db, "validation_fraction": 0.25, "seed": 0, "classes": classes,
        "audio_dir": "audio",
    }  # fmt: skip
    (out / "specimg.json").write_text(json.dumps(desc))
    manifests: dict[str, list[dict]] = {"train": [], "validation": []}
    skipped = too_short = 0
    for rel, y in sources.items():
        split = "validation" if rel in validation else "train"
        label = rel.split("/")[0]
        for c, channel in enumerate(np.atleast_2d(y)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", specimg.LossyWarning)  # 8-bit datasets
                pixels = specimg.encode(channel, SR, **_encode_kwargs(params)).pixels
            if pixels.shape[1] < N_FRAMES:
                too_short += 1
            for f in range(0, pixels.shape[1] - N_FRAMES + 1, step):
                tile_params = params.replace(
                    edits=({"op": "tile", "source": rel, "channel": c, "offset": f * HOP, "frame": f},)
                )
                tile = SpectrogramImage(np.ascontiguousarray(pixels[:, f : f + N_FRAMES]), tile_params)
                db = tile.db
                if db.max() < min_level_db:
                    skipped += 1
                    continue
                name = f"{rel[: -len('.wav')].replace('/', '__')}__c{c}__f{f:07d}.png"
                (out / split / label).mkdir(parents=True, exist_ok=True)
                specimg.save(tile, out / split / label / name)
                manifests[split].append({
                    "file_name": f"{label}/{name}", "source": rel, "channel": c, "offset": f * HOP, "frame": f,
                    "label": label, "peak_db": float(db.max()), "rms_db": float(10 * np.log10(np.mean(10 ** (db / 10)))),
                })  # fmt: skip
    for split, rows in manifests.items():
        (out / split).mkdir(exist_ok=True)
        (out / split / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "errors.jsonl").write_text("".join(json.dumps({"source": s, "error": "not audio"}) + "\n" for s in errors))
    (out / ".build").mkdir(exist_ok=True)
    seconds = sum(np.atleast_2d(y).shape[-1] / SR for y in sources.values())
    counts = {"silent_tiles": skipped, "too_short_files": too_short, "files_failed": len(errors), "seconds": seconds}
    (out / ".build" / "summary.json").write_text(json.dumps({"counts": counts}))  # as build records them
    return params


def _encode_kwargs(p: SpectrogramParams) -> dict:
    return {"n_fft": p.n_fft, "hop_length": p.hop_length, "scale": p.scale, "n_mels": p.n_mels, "bit_depth": p.bit_depth}


def manifest(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def tiles_of(out: Path, source: str, channel: int = 0) -> tuple[list[Path], list[int]]:
    rows = [r for split in ("train", "validation") for r in manifest(out / split / "metadata.jsonl")
            if r["source"] == source and r["channel"] == channel]  # fmt: skip
    rows.sort(key=lambda r: r["frame"])
    split = "validation" if any((out / "validation" / r["file_name"]).is_file() for r in rows) else "train"
    return [out / split / r["file_name"] for r in rows], [r["frame"] for r in rows]


@pytest.fixture(scope="module")
def sources() -> dict[str, np.ndarray]:
    return audio_files(np.random.default_rng(7))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, sources) -> Path:
    out = tmp_path_factory.mktemp("ds") / "out"
    make_dataset(out, sources)
    return out


@pytest.fixture(scope="module")
def tile(dataset) -> np.ndarray:
    """One uint16 tile of the dataset, as stored."""
    paths, _ = tiles_of(dataset, "tones/a.wav")
    return specimg.load(paths[1]).pixels


@pytest.fixture(scope="module")
def reference(tile, dataset) -> np.ndarray:
    """The audio of decoding the uint16 tile with the dataset's parameters (specimg.decode)."""
    return specimg.decode(SpectrogramImage(tile, params_of(dataset)))[0]


def seam_excess_db(y: np.ndarray, seams: list[int], frame: int) -> float:
    """How far a click at a seam stands out: the largest level, over the frames within 2
    frames of a seam, above the mean power of the frames 4 to 12 frames away on both sides
    (dB). Measured on the first difference of ``y``, which lifts the broadband energy of a
    click above tonal and low-frequency content."""
    d = np.diff(np.asarray(y, dtype=np.float64))
    n = len(d) // frame
    level = np.mean(d[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-20
    worst = -np.inf
    for s in seams:
        k = s // frame
        near = [j for j in range(k - 2, k + 3) if 0 <= j < n]
        far = [j for j in list(range(k - 12, k - 3)) + list(range(k + 4, k + 13)) if 0 <= j < n]
        worst = max(worst, 10 * np.log10(level[near].max() / level[far].mean()))
    return float(worst)


# ---------------------------------------------------------------------------- decode_batch
LAYOUTS = {
    "HW": lambda a: a,
    "NHW": lambda a: a[np.newaxis],
    "N1HW": lambda a: a[np.newaxis, np.newaxis],
    "NHW1": lambda a: a[np.newaxis, :, :, np.newaxis],
    "list": lambda a: [a],
    "list-1HW": lambda a: [a[np.newaxis]],
}
RANGES = {
    "uint16": lambda p: p,
    "float32-0-1": lambda p: (p / 65535.0).astype(np.float32),
    "float64-0-1": lambda p: p / 65535.0,
    "float32-tanh": lambda p: (p / 65535.0 * 2 - 1).astype(np.float32),
    "float16-tanh": lambda p: (p / 65535.0 * 2 - 1).astype(np.float16),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("kind", list(RANGES))
def test_every_dtype_range_and_shape_decodes_like_the_uint16_tile(layout, kind, tile, reference, dataset):
    arrays = LAYOUTS[layout](RANGES[kind](tile))
    out = decode_batch(arrays, dataset)  # the OUT_DIR, as --like
    assert isinstance(out, list) and len(out) == 1
    if kind == "float16-tanh":  # 11-bit mantissa: not the same pixels, nearly the same audio
        assert abs(level_difference_db(out[0], reference)) < 0.05
    else:
        np.testing.assert_array_equal(out[0], reference)
    assert out[0].dtype == np.float32 and out[0].shape == ((N_FRAMES - 1) * HOP,)


def test_params_and_explicit_value_range_give_the_same_audio(tile, reference, dataset):
    params = params_of(dataset)
    np.testing.assert_array_equal(decode_batch(tile, params)[0], reference)
    unscaled = tile.astype(np.float32) / 257.0  # floats in [0, 255]: needs value_range
    with pytest.raises(ParameterError, match="value_range"):
        decode_batch(unscaled, params)
    y = decode_batch(unscaled, params, value_range=(0, 255))[0]
    np.testing.assert_array_equal(y, reference)
    y = decode_batch(tile.astype(np.int32), params, value_range=(0, 65535))[0]
    np.testing.assert_array_equal(y, reference)


def test_uint8_tiles_of_an_8_bit_dataset(tmp_path, sources):
    out = tmp_path / "ds8"
    params = make_dataset(out, {"tones/a.wav": sources["tones/a.wav"]}, bit_depth=8, validation=(), errors=())
    paths, _ = tiles_of(out, "tones/a.wav")
    t8 = specimg.load(paths[0]).pixels
    assert t8.dtype == np.uint8
    y8 = decode_batch(t8, out)[0]
    np.testing.assert_array_equal(decode_batch(t8.astype(np.uint16) * 257, out)[0], y8)
    np.testing.assert_array_equal(decode_batch(t8 / 255.0, out)[0], y8)
    # the image as specimg.decode reads it (8-bit pixel steps, same dB): the same audio
    direct = specimg.decode(SpectrogramImage(t8, params))[0]
    assert abs(level_difference_db(y8, direct)) < 1e-3


def test_batch_is_tile_by_tile_and_seeded_per_tile(dataset):
    paths, _ = tiles_of(dataset, "tones/a.wav")
    batch = np.stack([specimg.load(p).pixels for p in paths[:3]])
    together = decode_batch(batch, dataset)
    alone = [decode_batch(b, dataset)[0] for b in batch]
    assert len(together) == 3
    for a, b in zip(together, alone):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "arrays, match",
    [
        (np.zeros((2, N_BINS + 1, N_FRAMES), np.uint16), "65 rows"),
        (np.zeros((N_FRAMES + 8, N_BINS), np.uint16), "n_bins=64"),
        (np.zeros((N_FRAMES, N_BINS), np.uint16)[np.newaxis, 3:], "n_bins=64"),
        (np.zeros((2, 4, N_BINS, N_FRAMES), np.uint8), "channel axis"),  # 3 channels are RGB: decoded
        (np.zeros((1, 1, 1, N_BINS, N_FRAMES), np.uint8), "must be"),
        (np.zeros((N_BINS, N_FRAMES), np.int32), "value_range"),
        (np.zeros((N_BINS, N_FRAMES), bool), "dtype bool"),
        (np.full((N_BINS, N_FRAMES), np.nan, np.float32), "NaN"),
        (np.full((N_BINS, N_FRAMES), 2.0, np.float32), "value_range"),
        ([], "empty"),
    ],
)
def test_bad_input_raises_parameter_error(arrays, match, dataset):
    with pytest.raises(ParameterError, match=match):
        decode_batch(arrays, dataset)


def test_wrong_height_names_the_fix(dataset):
    with pytest.raises(ParameterError, match="transposed"):
        decode_batch(np.zeros((128, N_BINS), np.uint16), dataset)
    with pytest.raises(ValueError):  # ParameterError is a ValueError
        decode_batch(np.zeros((N_BINS // 2, N_FRAMES), np.uint16), dataset)


def test_params_of(dataset, tmp_path):
    p = params_of(dataset)
    assert p == params_of(dataset / "specimg.json")
    assert (p.n_bins, p.sr, p.hop_length, p.n_samples) == (N_BINS, SR, HOP, None)
    with pytest.raises(MissingFileError):
        params_of(tmp_path)
    (tmp_path / "specimg.json").write_text(json.dumps({"format": "something-else", "version": 1}))
    with pytest.raises(FormatError, match="not a specimg dataset"):
        params_of(tmp_path)
    (tmp_path / "specimg.json").write_text(json.dumps({"format": "specimg-dataset", "version": 2, "params": {}}))
    with pytest.raises(FormatError, match="version 2"):
        params_of(tmp_path)


# ---------------------------------------------------------------------------- calibration and seams
def test_tiles_decode_to_the_source_level(dataset, sources, tmp_path):
    """Issue 5 acceptance: tiles decoded with --like keep the absolute level, RMS within 0.5 dB."""
    written = decode_dir(dataset / "train", tmp_path / "wav", dataset=dataset, subtype="FLOAT")
    rows = manifest(dataset / "train" / "metadata.jsonl")
    assert len(written) == len(rows) > 10
    for row in rows:
        wav = tmp_path / "wav" / Path(row["file_name"]).with_suffix(".wav")
        y_hat, sr = sf.read(wav, dtype="float64")
        assert sr == SR and len(y_hat) == (N_FRAMES - 1) * HOP
        src = np.atleast_2d(sources[row["source"]])[row["channel"]]
        segment = src[row["offset"] : row["offset"] + len(y_hat)]
        assert abs(level_difference_db(y_hat, segment)) <= 0.5, (row["file_name"], rms_db(y_hat), rms_db(segment))


@pytest.mark.parametrize("step", [N_FRAMES, 48])
def test_stitched_file_has_no_seam(tmp_path, sources, step):
    """Issue 5 acceptance: the tiles of a whole file decoded as one image: no frame around a
    seam more than 3 dB above its neighbours' level, and the file's level kept."""
    out = tmp_path / "ds"
    make_dataset(out, {"noise/c.wav": sources["noise/c.wav"], "tones/a.wav": sources["tones/a.wav"]}, step=step,
                 validation=(), errors=())  # fmt: skip
    for source in ("noise/c.wav", "tones/a.wav"):
        paths, frames = tiles_of(out, source)
        assert frames == list(range(0, step * len(frames), step)) and len(frames) >= 3
        y = decode_batch(np.stack([specimg.load(p).pixels for p in paths]), out, stitch=True)
        assert y.shape == (((len(paths) - 1) * step + N_FRAMES - 1) * HOP,)
        src = np.atleast_2d(sources[source])[0][: len(y)]
        assert abs(level_difference_db(y, src)) <= 0.5
        seams = [k * step * HOP for k in range(1, len(paths))]
        assert seam_excess_db(y, seams, HOP // 2) <= 3.0


def test_stitch_crossfades_generated_overlaps(dataset):
    """Two different tiles with overlap: the overlap is a raised-cosine blend in dB."""
    a = np.full((N_BINS, N_FRAMES), 0.6, np.float32)
    b = np.full((N_BINS, N_FRAMES), 0.4, np.float32)
    from specimg.dataset.arrays import stitch_tiles as _stitch

    p = params_of(dataset).replace(bit_depth=16)
    img = _stitch([np.rint(a * 65535).astype(np.uint16), np.rint(b * 65535).astype(np.uint16)], 48, p)
    assert img.shape == (N_BINS, 48 + N_FRAMES)
    row = img[0] / 65535.0
    assert np.allclose(row[:48], 0.6, atol=1e-4) and np.allclose(row[N_FRAMES:], 0.4, atol=1e-4)
    assert np.all(np.diff(row[48:N_FRAMES]) < 0)  # monotonic from a to b
    with pytest.raises(ParameterError, match="step_frames"):
        decode_batch([a, b], dataset, stitch=True, step_frames=N_FRAMES + 1, value_range=(0, 1))
    with pytest.raises(ParameterError, match="one width"):
        decode_batch([a, b[:, :-1]], dataset, stitch=True, value_range=(0, 1))
    with pytest.raises(ParameterError, match="cannot be told apart"):  # no value near a floor: ambiguous
        decode_batch([a, b], dataset, stitch=True)


# ---------------------------------------------------------------------------- decode_dir
def test_decode_dir_one_wav_per_image_and_stitched(dataset, tmp_path):
    paths, _ = tiles_of(dataset, "tones/a.wav")
    gan = tmp_path / "gan"
    gan.mkdir()
    pixels = [specimg.load(p).pixels for p in paths[:4]]
    for i, px in enumerate(pixels[:3]):  # bare images, no metadata; numbered without zero padding
        Image.fromarray(px).save(gan / f"img_{[2, 10, 1][i]}.png")
    Image.fromarray(np.rint(pixels[0] / 257).astype(np.uint8)).convert("RGB").save(gan / "rgb.png")
    np.save(gan / "batch.npy", (np.stack(pixels[:2])[:, np.newaxis] / 65535.0 * 2 - 1).astype(np.float32))
    (gan / ".hidden.png").write_bytes(b"not an image")
    (gan / "notes.txt").write_text("ignored")

    written = decode_dir(gan, tmp_path / "audio", dataset=dataset / "specimg.json", subtype="FLOAT")
    names = [p.relative_to(tmp_path / "audio").as_posix() for p in written]
    assert names == ["batch_0.wav", "batch_1.wav", "img_1.wav", "img_2.wav", "img_10.wav", "rgb.wav"]
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == sorted(names)  # no staging left
    y_img2, sr = sf.read(tmp_path / "audio" / "img_2.wav", dtype="float32")
    assert sr == SR
    np.testing.assert_array_equal(y_img2, decode_batch(pixels[0], dataset)[0])
    np.testing.assert_array_equal(sf.read(tmp_path / "audio" / "batch_0.wav", dtype="float32")[0], y_img2)

    stitched_dir = tmp_path / "gan_seq"
    stitched_dir.mkdir()
    for k, px in enumerate(pixels):
        Image.fromarray(px).save(stitched_dir / f"{k}.png")
    (one,) = decode_dir(stitched_dir, tmp_path / "audio", dataset=dataset, stitch=True, subtype="FLOAT")
    assert one == tmp_path / "audio" / "gan_seq.wav"
    np.testing.assert_array_equal(sf.read(one, dtype="float32")[0], decode_batch(np.stack(pixels), dataset, stitch=True))


def test_decode_dir_leaves_nothing_on_error(dataset, tmp_path, monkeypatch):
    paths, _ = tiles_of(dataset, "tones/a.wav")
    gan = tmp_path / "gan"
    gan.mkdir()
    for k, p in enumerate(paths[:3]):
        Image.fromarray(specimg.load(p).pixels).save(gan / f"{k}.png")
    Image.fromarray(np.zeros((N_BINS + 1, N_FRAMES), np.uint8)).save(gan / "9_wrong.png")
    with pytest.raises(ParameterError, match="9_wrong.png"):
        decode_dir(gan, tmp_path / "new", dataset=dataset)
    assert not (tmp_path / "new").exists()  # checked before any decoding

    (gan / "9_wrong.png").unlink()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    import specimg.dataset.decode as mod

    calls = []

    def failing(path, y, sr, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return specimg.write_audio(path, y, sr, **kwargs)

    monkeypatch.setattr(mod, "write_audio", failing)
    with pytest.raises(OSError, match="disk full"):
        decode_dir(gan, existing, dataset=dataset)
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]  # the first WAV was staged, then removed
    calls.clear()
    with pytest.raises(OSError, match="disk full"):
        decode_dir(gan, tmp_path / "fresh", dataset=dataset)
    assert not (tmp_path / "fresh").exists()


def test_decode_dir_bad_arguments(dataset, tmp_path):
    with pytest.raises(MissingFileError):
        decode_dir(tmp_path / "nope", tmp_path / "a", dataset=dataset)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="no .png"):
        decode_dir(tmp_path / "empty", tmp_path / "a", dataset=dataset)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ParameterError, match="is a file"):
        decode_dir(tmp_path / "empty", tmp_path / "file", dataset=dataset)
    with pytest.raises(MissingFileError):
        decode_dir(tmp_path / "empty", tmp_path / "a", dataset=tmp_path / "no_dataset")


# ---------------------------------------------------------------------------- stats
def test_stats_on_a_fixture_dataset(dataset, sources, tmp_path):
    sheet = tmp_path / "sheet.png"
    s = stats(dataset, contact_sheet=sheet, n=5, seed=1)
    train = manifest(dataset / "train" / "metadata.jsonl")
    val = manifest(dataset / "validation" / "metadata.jsonl")
    assert s["tiles"] == {"train": len(train), "validation": len(val), "total": len(train) + len(val)}
    assert len(val) > 0 and s["sources"] == {"train": 2, "validation": 1, "total": 3}
    n_tones_train = sum(r["label"] == "tones" for r in train)
    assert s["classes"]["tones"] == {"train": n_tones_train, "validation": len(val), "total": n_tones_train + len(val)}
    assert s["classes"]["noise"]["validation"] == 0
    tile_s = N_FRAMES * HOP / SR
    assert s["seconds_of_audio"] == pytest.approx(s["tiles"]["total"] * tile_s)  # no overlap
    assert s["hours_of_audio"] == pytest.approx(s["seconds_of_audio"] / 3600)
    assert sum(s["peak_db"]["counts"]) == s["tiles"]["total"]
    assert s["peak_db"]["max"] == pytest.approx(max(r["peak_db"] for r in train + val))
    assert s["skipped"]["silent_tiles"] > 0 and s["skipped"]["too_short_files"] == 1
    assert s["failed"] == {"files": 1, "sources": ["noise/broken.wav"]}
    assert s["consistency"] == {"missing_files": 0, "unlisted_files": 0, "bad_manifest_lines": 0}
    with Image.open(sheet) as im:
        assert im.mode == "L" and im.size == (3 * N_FRAMES + 4, 2 * N_BINS + 2)  # 5 tiles: 3 × 2 grid, 2-px gaps
    assert len(s["contact_sheet_tiles"]) == 5
    text = format_stats(s)
    assert "tiles per split: train" in text and "failed files: 1" in text and "█" in text
    json.dumps(s)  # plain JSON


def test_stats_reports_inconsistency_and_overlap(tmp_path, sources):
    out = tmp_path / "ds"
    make_dataset(out, {"tones/a.wav": sources["tones/a.wav"]}, step=32, validation=(), errors=())
    s = stats(out)
    n = s["tiles"]["total"]
    assert s["seconds_of_audio"] == pytest.approx(((n - 1) * 32 + N_FRAMES) * HOP / SR)
    assert s["seconds_in_tiles"] > s["seconds_of_audio"]
    next((out / "train").rglob("*.png")).unlink()
    with (out / "train" / "metadata.jsonl").open("a") as fh:
        fh.write('{"file_name": "tones/trunc')  # a build writing its last line
    Image.fromarray(np.zeros((N_BINS, N_FRAMES), np.uint16)).save(out / "train" / "tones" / "stray.png")
    s = stats(out)
    assert s["consistency"] == {"missing_files": 1, "unlisted_files": 1, "bad_manifest_lines": 1}
    assert "inconsistent" in format_stats(s)
    with pytest.raises(ParameterError):
        stats(out, n=0)
    with pytest.raises(MissingFileError):
        stats(tmp_path / "nothing")


# ---------------------------------------------------------------------------- with the real build
def test_decode_and_stats_of_a_built_dataset(tmp_path, sources):
    """End to end through specimg.dataset.build: tiles decoded with --like keep the source
    level, and stats agree with the build's report."""
    build = pytest.importorskip("specimg.dataset.build").build
    audio = tmp_path / "audio"
    for rel in ("tones/a.wav", "noise/c.wav"):
        (audio / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(audio / rel, np.atleast_2d(sources[rel]).T, SR, subtype="FLOAT")
    out = tmp_path / "out"
    report = build(audio, out, size=(N_BINS, N_FRAMES), workers=1, validation=0.0)
    params = params_of(out)
    assert (params.n_bins, params.scale, params.sr) == (N_BINS, "mel", SR)
    s = stats(out)
    assert s["tiles"]["total"] == report.tiles > 0
    assert s["skipped"]["silent_tiles"] == report.tiles_silent
    assert s["source_seconds"] == pytest.approx(report.seconds)
    assert set(s["classes"]) == {"tones", "noise"}
    rows = manifest(out / "train" / "metadata.jsonl")
    picked = rows[:: max(1, len(rows) // 6)]
    gan = tmp_path / "gan"
    gan.mkdir()
    for k, row in enumerate(picked):  # strip the metadata, as a GAN's output has none
        Image.fromarray(specimg.load(out / "train" / row["file_name"]).pixels).save(gan / f"{k:03d}.png")
    written = decode_dir(gan, tmp_path / "wav", dataset=out, subtype="FLOAT")
    hop = int(params.hop_length)
    for row, wav in zip(picked, written):
        y_hat, sr = sf.read(wav, dtype="float64")
        src = np.atleast_2d(sources[row["source"]])[row["channel"]]
        segment = src[row["offset"] : row["offset"] + len(y_hat)]
        assert sr == SR and len(y_hat) == (N_FRAMES - 1) * hop
        # a tail tile is padded at the floor past the end of its source: compare the audio it covers
        assert abs(level_difference_db(y_hat[: len(segment)], segment)) <= 0.5, row


def test_a_stray_negative_value_does_not_rescale_a_0_1_batch(tile, dataset, reference):
    """A sigmoid output with one value of -1e-4 is still read as [0, 1] (it was read as
    [-1, 1], 14 dB too loud), and a single (H, W, 1) image is one image, not H."""
    x = tile.astype(np.float64) / 65535.0
    x[0, 0] = -1e-4
    y = decode_batch(x[None], dataset)[0]
    assert abs(level_difference_db(y, reference)) < 0.1
    one = decode_batch(tile[..., None], dataset)
    assert len(one) == 1 and np.allclose(one[0], reference, atol=1e-6)


# ---------------------------------------------------------------------------- dataset= (was like= / params=)
def test_old_keywords_warn_and_decode_the_same(tile, dataset, reference, tmp_path):
    """like= (decode_dir) and params= (decode_batch) still work for one release, with a
    DeprecationWarning that points at the caller; dataset= is the name."""
    with pytest.warns(DeprecationWarning, match=r"decode_batch\(params=.*dataset=") as caught:
        y = decode_batch(tile, params=dataset)[0]
    assert caught[0].filename == __file__
    np.testing.assert_array_equal(y, reference)
    np.testing.assert_array_equal(decode_batch(tile, dataset=dataset)[0], reference)
    gan = tmp_path / "gan"
    gan.mkdir()
    Image.fromarray(tile).save(gan / "0.png")
    with pytest.warns(DeprecationWarning, match=r"decode_dir\(like=") as caught:
        (old,) = decode_dir(gan, tmp_path / "old", like=dataset, subtype="FLOAT")
    assert caught[0].filename == __file__
    (new,) = decode_dir(gan, tmp_path / "new", dataset=dataset, subtype="FLOAT")
    np.testing.assert_array_equal(sf.read(old)[0], sf.read(new)[0])


def test_dataset_is_required_once(tile, dataset, tmp_path):
    with pytest.raises(TypeError, match="missing required argument 'dataset'"):
        decode_batch(tile)
    with pytest.raises(TypeError, match="missing required argument 'dataset'"):
        decode_dir(tmp_path, tmp_path / "out")
    with pytest.raises(TypeError, match="both dataset= and params="):
        decode_batch(tile, dataset, params=dataset)
    with pytest.raises(TypeError, match="both dataset= and like="):
        decode_dir(tmp_path, tmp_path / "out", dataset=dataset, like=dataset)
    with pytest.raises(ParameterError, match="dataset=42"):
        decode_batch(tile, 42)  # type: ignore[call-overload]


# ---------------------------------------------------------------------------- pictures read by the one door
def test_colour_and_transparent_pictures_follow_the_one_picture_rule(tile, dataset, tmp_path):
    """decode_dir reads pictures through specimg.pictures: equal-channel RGB is the gray tile
    exactly, an opaque RGBA copy too, and transparency is composited over black (the floor)."""
    from specimg.pictures import read_gray

    gray8 = (tile // 257).astype(np.uint8)
    rgba = np.dstack([gray8, gray8, gray8, np.full_like(gray8, 255)])
    rgba[:, : N_FRAMES // 2, 3] = 0  # the left half transparent
    gan = tmp_path / "gan"
    gan.mkdir()
    Image.fromarray(gray8).save(gan / "0_gray.png")
    Image.fromarray(np.dstack([gray8] * 3)).save(gan / "1_rgb.png")
    Image.fromarray(rgba).save(gan / "2_rgba.png")
    expected = gray8.copy()
    expected[:, : N_FRAMES // 2] = 0
    np.testing.assert_array_equal(read_gray(gan / "2_rgba.png"), expected)
    gray, rgb, transparent = (sf.read(p)[0] for p in decode_dir(gan, tmp_path / "wav", dataset=dataset,
                                                                  subtype="FLOAT"))  # fmt: skip
    np.testing.assert_array_equal(rgb, gray)
    np.testing.assert_array_equal(transparent, decode_batch(expected, dataset)[0])


def test_contact_sheet_is_8_bit_at_the_stored_level(dataset, tmp_path):
    """The contact sheet shows each tile re-quantised to 8 bits (same level), on white gaps."""
    from specimg.image import requantize

    s = stats(dataset, contact_sheet=tmp_path / "sheet.png", n=1, seed=3)
    (chosen,) = s["contact_sheet_tiles"]
    sheet = np.asarray(Image.open(tmp_path / "sheet.png"))
    assert sheet.dtype == np.uint8 and sheet.shape == (N_BINS, N_FRAMES)
    np.testing.assert_array_equal(sheet, requantize(specimg.load(dataset / chosen).pixels, 8))


# ---------------------------------------------------------------------------- what training code emits (issue 11)
@pytest.fixture(scope="module")
def batch(dataset) -> np.ndarray:
    """Three uint16 tiles of the dataset, (3, H, W), loud enough to be unlike a saturated one."""
    paths, _ = tiles_of(dataset, "tones/a.wav")
    return np.stack([specimg.load(p).pixels for p in paths[:3]])


@pytest.fixture(scope="module")
def batch_audio(batch, dataset) -> list[np.ndarray]:
    return decode_batch(batch, dataset, n_iter=2)


@pytest.fixture(scope="module")
def torch():
    """torch, imported once per test process (some seconds: not counted in one test's time)."""
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tv(torch):
    return pytest.importorskip("torchvision")


def assert_same_audio(got, expected) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_torch_tensors_decode_like_the_numpy_arrays(batch, dataset, torch):
    """uint8 and float [-1, 1] tensors ([N, 1, H, W], a list of [1, H, W], a [C, H, W] item,
    a DataLoader (images, labels) pair, requires_grad) decode exactly as the numpy arrays."""
    u8 = np.rint(batch / 257.0).astype(np.uint8)
    unit = (batch / 65535.0 * 2 - 1).astype(np.float32)
    for array in (u8, unit):
        expected = decode_batch(array, dataset, n_iter=2)
        t = torch.from_numpy(array)[:, None]
        assert_same_audio(decode_batch(t, dataset, n_iter=2), expected)
        assert_same_audio(decode_batch(list(t), dataset, n_iter=2), expected)
        assert_same_audio(decode_batch((t, torch.tensor([0, 1, 1])), dataset, n_iter=2), expected)
        assert_same_audio(decode_batch(t[1], dataset, n_iter=2), expected[1:2])
    grad = torch.from_numpy(unit)[:, None].clone().requires_grad_(True)
    assert_same_audio(decode_batch(grad * 1.0, dataset, n_iter=2, domain="unit"), decode_batch(unit, dataset, n_iter=2))
    assert u8.dtype == np.uint8  # uint8 tensors keep their 0..255 meaning
    np.testing.assert_array_equal(decode_batch(torch.from_numpy(batch[:1].astype(np.int64)).to(torch.uint16)
                                               if hasattr(torch, "uint16") else batch[:1], dataset, n_iter=2)[0],
                                  decode_batch(batch[:1], dataset, n_iter=2)[0])  # fmt: skip


def test_tile_dataset_domains_decode_directly(batch, dataset, batch_audio):
    """TileDataset's domains: "unit" ([-1, 1], also for a very loud tile with no value below
    -0.05) and "db" (calibrated dB, detected without the hint)."""
    from specimg.image import pixels_to_db

    p = params_of(dataset)
    db = np.stack([pixels_to_db(t, p) for t in batch]).astype(np.float32)
    for got in (decode_batch(db, dataset, n_iter=2, domain="db"), decode_batch(db[:, None], dataset, n_iter=2)):
        for a, b in zip(got, batch_audio):
            assert abs(level_difference_db(a, b)) < 0.01
    loud = np.full((1, N_BINS, N_FRAMES), 0.2, np.float32)  # a very loud tile: nothing near -1
    loud[0, :, : N_FRAMES // 2] = -0.04
    as_unit = decode_batch(loud, dataset, n_iter=2, domain="unit")[0]  # levels 0.48 and 0.6 of the range
    as_sigmoid = decode_batch(loud, dataset, n_iter=2, value_range=(0, 1))[0]
    assert rms_db(as_unit) > rms_db(as_sigmoid) + 20  # the two readings differ by tens of dB...
    assert_same_audio([decode_batch(loud, dataset, n_iter=2)[0]], [as_unit])  # ...negative values mean [-1, 1]
    with pytest.raises(ParameterError, match="cannot be told apart"):
        decode_batch(np.abs(loud), dataset, n_iter=2)  # no value near either floor: ask
    with pytest.raises(ParameterError, match="outside the dataset's"):
        decode_batch(db - 200, dataset, domain="db")
    with pytest.raises(ParameterError, match="domain="):
        decode_batch(db, dataset, domain="dB")  # type: ignore[arg-type]


def test_colour_tiles_become_gray(batch, dataset, batch_audio, torch):
    rgb_first = np.repeat(batch[:, None], 3, axis=1)  # (N, 3, H, W), RGB saved from gray
    assert_same_audio(decode_batch(rgb_first, dataset, n_iter=2), batch_audio)
    assert_same_audio(decode_batch(np.moveaxis(rgb_first, 1, -1), dataset, n_iter=2), batch_audio)
    assert_same_audio(decode_batch(list(rgb_first), dataset, n_iter=2), batch_audio)
    assert_same_audio(decode_batch(np.moveaxis(rgb_first[0], 0, -1), dataset, n_iter=2), batch_audio[:1])
    chw = torch.from_numpy(np.rint(rgb_first[1] / 257.0).astype(np.uint8))  # one [3, H, W] tensor, e.g. read_image
    assert_same_audio(decode_batch(chw, dataset, n_iter=2),
                      decode_batch(np.rint(batch[1:2] / 257.0).astype(np.uint8), dataset, n_iter=2))  # fmt: skip


def test_pt_npz_and_grid_files_decode(batch, dataset, batch_audio, tmp_path, torch, tv):
    """decode_dir reads .pt (a tensor, a list of tensors), .npz (all arrays or --key) and
    torchvision save_image grids with their padding; decode_batch takes the same paths."""
    gan = tmp_path / "gan"
    gan.mkdir()
    unit = torch.from_numpy((batch / 65535.0 * 2 - 1).astype(np.float32))[:, None]
    torch.save(unit, gan / "a_tensor.pt")
    torch.save([unit[0], unit[1]], gan / "b_list.pth")
    np.savez(gan / "c_arrays.npz", first=batch[:1], rest=batch[1:])
    written = decode_dir(gan, tmp_path / "wav", dataset=dataset, n_iter=2, subtype="FLOAT")
    names = [p.name for p in written]
    assert names == ["a_tensor_0.wav", "a_tensor_1.wav", "a_tensor_2.wav", "b_list_0.wav", "b_list_1.wav",
                     "c_arrays_0.wav", "c_arrays_1.wav", "c_arrays_2.wav"]  # fmt: skip
    audio = {p.name: sf.read(p, dtype="float32")[0] for p in written}
    for k in range(3):
        np.testing.assert_array_equal(audio[f"a_tensor_{k}.wav"], batch_audio[k])
        np.testing.assert_array_equal(audio[f"c_arrays_{k}.wav"], batch_audio[k])
    np.testing.assert_array_equal(audio["b_list_1.wav"], batch_audio[1])
    assert_same_audio(decode_batch(gan / "c_arrays.npz", dataset, key="rest", n_iter=2), batch_audio[1:])
    with pytest.raises(ParameterError, match="no array 'nope'"):
        decode_batch(gan / "c_arrays.npz", dataset, key="nope")

    grid_dir = tmp_path / "grids"
    grid_dir.mkdir()
    u8 = torch.from_numpy(np.rint(batch / 257.0).astype(np.uint8))[:, None]
    tv.utils.save_image(u8.float() / 255, grid_dir / "grid.png", nrow=2)  # 2 × 2 cells, the last one empty
    with pytest.raises(ParameterError, match=r"save_image grid: pass grid=\(2, 2\) with padding 2"):
        decode_dir(grid_dir, tmp_path / "no", dataset=dataset)
    expected = decode_batch(u8, dataset, n_iter=2)
    got = decode_batch(grid_dir / "grid.png", dataset, grid=(2, 2), n_iter=2)
    assert len(got) == 4
    assert_same_audio(got[:3], expected)
    assert rms_db(got[3]) < -100  # the empty cell: padding colour 0, the floor
    (g0, g1, g2, _) = decode_dir(grid_dir, tmp_path / "gw", dataset=dataset, grid=(2, 2), grid_padding=2, n_iter=2,
                                 subtype="FLOAT")  # fmt: skip
    np.testing.assert_array_equal(sf.read(g2, dtype="float32")[0], expected[2])
    with pytest.raises(ParameterError, match="grid of 3 rows"):
        decode_batch(grid_dir / "grid.png", dataset, grid=(3, 2))


def test_loader_traps_raise_naming_the_fix(batch, dataset, tmp_path):
    """A 16-bit tile read as ImageFolder + ToTensor() reads it (convert("RGB") clips to
    white): the loader-trap error, not noise at +22 dB; ToTensor() on Pillow's I;16 gives
    wrapped int16; floats scaled wrongly name the scaling. A silent tile still decodes."""
    noise_paths, _ = tiles_of(dataset, "noise/c.wav")
    for k, tile16 in enumerate([specimg.load(noise_paths[0]).pixels, batch[0]]):  # noise, then pure tones
        png = tmp_path / f"tile{k}.png"
        Image.fromarray(tile16).save(png)
        with Image.open(png) as im:
            rgb = np.asarray(im.convert("RGB"))  # what ImageFolder's default loader hands ToTensor()
        as_totensor = np.moveaxis(rgb, -1, 0).astype(np.float32)[None] / 255.0  # ToTensor(): [N, 3, H, W] in [0, 1]
        assert np.mean(as_totensor == 1.0) > (0.9 if k == 0 else 0.5)  # tones: the rest sits at the floor
        with pytest.raises(ParameterError, match=r"full scale.*loader trap.*TileDataset"):
            decode_batch(as_totensor, dataset)
    with pytest.raises(ParameterError, match="tile 0"):
        decode_batch(rgb[..., 0], dataset)  # uint8, convert("L")-like
    assert len(decode_batch(as_totensor, dataset, check=False, n_iter=0)) == 1  # the way out
    wrapped = batch[:1].view(np.int16)  # np.array(I;16 image, np.int16), as ToTensor() does
    assert wrapped.min() < 0
    with pytest.raises(ParameterError, match=r"int16.*wraps.*view\(np.uint16\)"):
        decode_batch(wrapped, dataset)
    with pytest.raises(ParameterError, match="8-bit values as floats"):
        decode_batch(np.rint(batch / 257.0), dataset)
    with pytest.raises(ParameterError, match="16-bit values as floats"):
        decode_batch(batch.astype(np.float32), dataset)
    with pytest.raises(ParameterError, match="ImageNet"):
        decode_batch((batch / 65535.0 - 0.485) / 0.229, dataset)
    silent = np.zeros((2, N_BINS, N_FRAMES), np.uint16)
    silent[1, 3, 4] = 9
    assert all(rms_db(y) < -100 for y in decode_batch(silent, dataset, n_iter=0))


def test_int16_tensor_is_the_wrap_trap(batch, dataset, torch):
    wrapped = batch[:1].view(np.int16)
    with pytest.raises(ParameterError, match="int16"):
        decode_batch(torch.from_numpy(np.ascontiguousarray(wrapped)), dataset)


def test_torchvision_imagefolder_trap_is_caught(batch, dataset, tmp_path, torch, tv):
    """The real loader: ImageFolder + ToTensor() on 16-bit tiles."""
    (tmp_path / "c").mkdir()
    for k, t in enumerate(batch):
        Image.fromarray(t).save(tmp_path / "c" / f"{k}.png")
    x, _ = next(iter(torch.utils.data.DataLoader(
        tv.datasets.ImageFolder(tmp_path, transform=tv.transforms.ToTensor()), batch_size=3)))  # fmt: skip
    with pytest.raises(ParameterError, match="loader trap"):
        decode_batch(x, dataset)


def test_decode_dir_workers_give_the_same_files(batch, dataset, tmp_path):
    gan = tmp_path / "gan"
    gan.mkdir()
    np.save(gan / "a.npy", batch)
    Image.fromarray(batch[2]).save(gan / "b.png")
    one = decode_dir(gan, tmp_path / "w1", dataset=dataset, n_iter=2, workers=1, subtype="FLOAT")
    two = decode_dir(gan, tmp_path / "w2", dataset=dataset, n_iter=2, workers=2, subtype="FLOAT")
    assert [p.name for p in one] == [p.name for p in two] == ["a_0.wav", "a_1.wav", "a_2.wav", "b.wav"]
    for a, b in zip(one, two):  # (the bytes differ: float WAVs carry a PEAK chunk with a time stamp)
        np.testing.assert_array_equal(sf.read(a, dtype="float32")[0], sf.read(b, dtype="float32")[0])
    with pytest.raises(ParameterError, match="int seed"):
        decode_dir(gan, tmp_path / "w3", dataset=dataset, workers=2, rng=np.random.default_rng(0))
    with pytest.raises(ParameterError, match="workers=0"):
        decode_dir(gan, tmp_path / "w3", dataset=dataset, workers=0)


def test_cli_decode_grid_workers_and_trap(batch, dataset, batch_audio, tmp_path):
    """`specimg dataset decode`: --grid with padding found, --workers 2 = --workers 1, --key,
    and the loader-trap error as one line with exit status 1 (--no-check decodes)."""
    from click.testing import CliRunner

    from specimg.cli import cli

    def run(*args: object):
        return CliRunner().invoke(cli, ["dataset", "decode", *map(str, args)], prog_name="specimg")

    gan = tmp_path / "gan"
    gan.mkdir()
    grid = np.zeros((2 * (N_BINS + 2) + 2, 2 * (N_FRAMES + 2) + 2), np.uint16)  # save_image's layout, padding 2
    for k, t in enumerate(batch):
        r, c = divmod(k, 2)
        grid[2 + r * (N_BINS + 2) :][:N_BINS, 2 + c * (N_FRAMES + 2) :][:, :N_FRAMES] = t
    Image.fromarray(np.dstack([np.rint(grid / 257.0).astype(np.uint8)] * 3)).save(gan / "grid.png")  # RGB, 8 bits
    np.savez(gan / "z.npz", a=batch[:1], b=batch[1:])
    outs = {}
    for w in (1, 2):
        r = run(gan, tmp_path / f"w{w}", "--like", dataset, "--grid", "2x2", "--key", "b", "--n-iter", 2,
                "--subtype", "FLOAT", "--workers", w)  # fmt: skip
        assert r.exit_code == 0, r.output
        assert "6 file(s) decoded" in r.output
        outs[w] = {p.name: sf.read(p, dtype="float32")[0] for p in sorted((tmp_path / f"w{w}").iterdir())}
    assert sorted(outs[1]) == ["grid_0.wav", "grid_1.wav", "grid_2.wav", "grid_3.wav", "z_0.wav", "z_1.wav"]
    for name in outs[1]:
        np.testing.assert_array_equal(outs[1][name], outs[2][name])
    np.testing.assert_array_equal(outs[1]["z_1.wav"], batch_audio[2])
    u8 = decode_batch(np.rint(batch / 257.0).astype(np.uint8), dataset, n_iter=2)
    np.testing.assert_array_equal(outs[1]["grid_2.wav"], u8[2])
    trap = tmp_path / "trap"
    trap.mkdir()
    np.save(trap / "x.npy", np.minimum(batch, 255).astype(np.uint8))  # 16-bit levels clipped to 8 bits
    r = run(trap, tmp_path / "t", "--like", dataset)
    assert r.exit_code == 1 and "loader trap" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "t").exists()
    assert run(trap, tmp_path / "t", "--like", dataset, "--no-check", "--n-iter", 0).exit_code == 0
    assert run(gan, tmp_path / "bad", "--like", dataset, "--grid", "2by2").exit_code != 0


def test_decode_dir_on_dask_gives_the_same_files(batch, dataset, tmp_path):
    distributed = pytest.importorskip("distributed")
    gan = tmp_path / "gan"
    gan.mkdir()
    np.save(gan / "a.npy", batch[:2])
    local = decode_dir(gan, tmp_path / "local", dataset=dataset, n_iter=2, subtype="FLOAT")
    # dashboard on a free port: another test may hold 8787 when the suite runs in parallel
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster:
        remote = decode_dir(gan, tmp_path / "dask", dataset=dataset, n_iter=2, subtype="FLOAT",
                            scheduler=cluster.scheduler_address)  # fmt: skip
    assert [p.name for p in remote] == [p.name for p in local] == ["a_0.wav", "a_1.wav"]
    for a, b in zip(local, remote):
        np.testing.assert_array_equal(sf.read(a, dtype="float32")[0], sf.read(b, dtype="float32")[0])


def test_saturation_counts_the_sound_not_the_padding():
    """A padded (or sparse) 16-bit tile read as 8 bits: most of its *sound* is white, though
    most of the tile is floor padding; and a dataset whose db_max lies below what loud audio
    reaches may fill its top legitimately."""
    from specimg.dataset.arrays import check_saturation

    p = SpectrogramParams(sr=22050, n_fft=512, scale="mel", n_mels=16, bit_depth=8, db_min=-100.0, db_max=0.0)
    trapped = np.zeros((16, 64), np.uint8)
    trapped[:, :18] = 255  # 28 % white, the rest floor padding
    trapped[:2, :18] = 90
    with pytest.raises(ParameterError, match="loader trap"):
        check_saturation([trapped], p)
    real = np.zeros((16, 64), np.uint8)
    real[:, :18] = np.linspace(60, 255, 18).astype(np.uint8)  # a loud tail: only its peak at full scale
    check_saturation([real], p)
    check_saturation([trapped], p.replace(db_min=-110.0, db_max=-50.0))  # quiet scale: not judged
