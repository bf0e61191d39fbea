"""Dataset tiles with an instantaneous-frequency plane (issue 14, item 3).

A tiny dataset (64 mel bands × 32 frames, 16 kHz) of two classes is built once with
``phase="if"``: two tones in one class, a chirp and noise in the other. The tiles are 8-bit
gray + alpha PNGs: ``read_image`` and ``TileDataset(planes=("magnitude", "if"))`` see two
channels, ``ImageFolder`` and the default ``TileDataset`` the magnitude only, the same pixels
as a build without the plane. ``decode_batch`` integrates the IF plane back to a phase; on
the two-tone tile (tones inside wide mel bands) it beats the magnitude alone by more than
5 dB of spectral convergence against the source's STFT, at the same number of iterations.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import specimg
from specimg.dataset import build, decode_batch, params_of, stats
from specimg.errors import ParameterError
from specimg.phase import if_scale, if_to_phase, phase_to_if
from specimg.pictures import read_gray, read_picture
from specimg.spectral import stft, stft_magnitude

SR = 16000
SIZE = (64, 32)  # n_fft 1024, hop 256: a tile is 0.5 s
TONES = (3517.3, 3517.3 * 0.61)


def _audio(folder: Path) -> dict[str, np.ndarray]:
    t = np.arange(2 * SR) / SR
    chirp = 0.3 * np.sin(2 * np.pi * (300 * t + 900 * t**2))
    noise = 0.05 * np.random.default_rng(0).standard_normal(len(t))
    signals = {
        "tones/two.wav": 0.3 * np.sin(2 * np.pi * TONES[0] * t) + 0.2 * np.sin(2 * np.pi * TONES[1] * t),
        "other/chirp.wav": chirp + noise,
    }
    for name, y in signals.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / name, y.astype(np.float32), SR, subtype="FLOAT")
    return signals


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("ifplane")
    audio = root / "audio"
    signals = _audio(audio)
    out = root / "ds"
    build(audio, out, size=SIZE, sr=SR, workers=1, validation=0.0, phase="if")
    return audio, out, signals


def _rows(out: Path) -> dict[str, dict]:
    lines = (out / "train" / "metadata.jsonl").read_text().splitlines()
    return {json.loads(line)["file_name"]: json.loads(line) for line in lines}


# ---------------------------------------------------------------------------- phase <-> IF
def test_if_of_a_tone_is_its_frequency_and_integrates_back() -> None:
    from specimg import SpectrogramParams

    p = SpectrogramParams(sr=SR, n_fft=512)
    f0 = 2000.0 + 0.4 * SR / 512  # 0.4 bin above bin 64
    X = stft(np.cos(2 * np.pi * f0 * np.arange(SR) / SR), p)
    v = phase_to_if(X, p)
    assert v.dtype == np.float32 and v.shape == X.shape and np.abs(v).max() <= 1.0
    assert abs(float(np.median(v[64, 1:])) * if_scale(p)[64] - 0.4) < 1e-3  # deviation, in bins
    phi = if_to_phase(v, np.abs(X), p)
    err = np.angle(np.exp(1j * (np.diff(phi[62:67], axis=1) - np.diff(np.angle(X[62:67]), axis=1))))
    assert np.abs(err[:, 4:-4]).max() < 1e-3  # the first and last frames see the zero padding


def test_if_functions_refuse_wrong_shapes() -> None:
    from specimg import SpectrogramParams

    p = SpectrogramParams(sr=SR, n_fft=512)
    with pytest.raises(ParameterError, match=r"n_fft // 2 \+ 1"):
        phase_to_if(np.zeros((100, 4), complex), p)
    with pytest.raises(ParameterError, match="IF plane of shape"):
        if_to_phase(np.zeros((3, 4)), np.ones((257, 4)), p)
    with pytest.raises(ParameterError, match="NaN"):
        if_to_phase(np.full((257, 4), np.nan), np.ones((257, 4)), p)


# ---------------------------------------------------------------------------- the build
def test_build_writes_two_plane_tiles_and_records_them(built, tmp_path: Path) -> None:
    audio, out, _ = built
    desc = json.loads((out / "specimg.json").read_text())
    assert desc["phase"]["plane"] == "if" and desc["phase"]["storage"] == "png-alpha"
    assert desc["phase"]["bit_depth"] == 8 and desc["phase"]["range"] == [-1.0, 1.0]
    assert "alpha channel is the instantaneous frequency" in (out / "README.md").read_text()
    tiles = sorted((out / "train").rglob("*.png"))
    assert len(tiles) == len(_rows(out)) >= 6
    picture = read_picture(tiles[0], keep_alpha=True)
    assert picture.mode == "LA" and picture.pixels.shape == (*SIZE, 2)
    # the magnitude plane is exactly the tile of a build without IF
    plain = tmp_path / "plain"
    build(audio, plain, size=SIZE, sr=SR, workers=1, validation=0.0)
    for tile in tiles:
        twin = plain / tile.relative_to(out)
        assert np.array_equal(read_gray(twin), read_picture(tile, keep_alpha=True).pixels[..., 0])
    assert "phase" not in json.loads((plain / "specimg.json").read_text())
    # specimg.load reads the gray channel of a tile (its alpha is the IF plane, not opacity)
    import specimg

    assert np.array_equal(specimg.load(tiles[0]).pixels, read_gray(plain / tiles[0].relative_to(out)))


def test_build_resumes_and_refuses_other_phase(built) -> None:
    audio, out, _ = built
    before = {p: p.read_bytes() for p in (out / "train").rglob("*.png")}
    report = build(audio, out, size=SIZE, sr=SR, workers=1, validation=0.0, phase="if")
    assert report.files_resumed == 2 and report.tiles == len(before)
    assert {p: p.read_bytes() for p in (out / "train").rglob("*.png")} == before
    with pytest.raises(ParameterError, match="phase"):
        build(audio, out, size=SIZE, sr=SR, workers=1, validation=0.0)
    summary = stats(out, contact_sheet=out.parent / "sheet.png", n=1)
    assert summary["tiles"]["total"] == len(before)
    # the contact sheet shows the magnitude, not the gray composited over the IF alpha
    sheet = read_gray(out.parent / "sheet.png")
    tile = read_picture(out / summary["contact_sheet_tiles"][0], keep_alpha=True).pixels[..., 0]
    assert np.array_equal(sheet[: SIZE[0], : SIZE[1]], tile)


def test_build_refuses_bad_phase_options(built, tmp_path: Path) -> None:
    audio = built[0]
    with pytest.raises(ParameterError, match="bit_depth=16 must be 8"):
        build(audio, tmp_path / "a", size=SIZE, sr=SR, workers=1, phase="if", bit_depth=16)
    with pytest.raises(ParameterError, match="phase='gansynth'"):
        build(audio, tmp_path / "b", size=SIZE, sr=SR, workers=1, phase="gansynth")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---------------------------------------------------------------------------- loaders
def test_loaders_see_two_channels_and_imagefolder_the_magnitude(built) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    import warnings

    from torchvision.datasets import ImageFolder
    from torchvision.io import read_image

    from specimg.dataset import TileDataset

    out = built[1]
    two = TileDataset(out, planes=("magnitude", "if"))
    one = TileDataset(out)
    x2, label = two[0]
    x1, _ = one[0]
    assert x2.shape == (2, *SIZE) and x1.shape == (1, *SIZE) and x2.dtype == torch.float32
    assert torch.equal(x2[0], x1[0]) and float(x2[1].abs().max()) <= 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        raw = read_image(str(two.paths[0]))
    assert raw.shape == (2, *SIZE)
    assert torch.allclose(raw.float() / 127.5 - 1.0, x2, atol=1e-6)
    folder = ImageFolder(str(out / "train"))
    assert folder.classes == two.classes and [t for _, t in folder.samples] == two.targets
    image, _ = folder[0]
    assert image.mode == "RGB" and np.array_equal(np.asarray(image)[..., 1], raw[0].numpy())
    with pytest.raises(ParameterError, match="must name each of"):
        TileDataset(out, planes=("magnitude", "phase"))


def test_if_planes_refused_for_a_dataset_without_them(tmp_path: Path, built) -> None:
    pytest.importorskip("torch")
    from specimg.dataset import TileDataset

    plain = tmp_path / "plain"
    build(built[0], plain, size=SIZE, sr=SR, workers=1, validation=0.0)
    with pytest.raises(ParameterError, match="--phase if"):
        TileDataset(plain, planes=("magnitude", "if"))


# ---------------------------------------------------------------------------- decoding
def test_if_plane_decodes_better_than_magnitude_alone(built) -> None:
    audio, out, signals = built
    p = params_of(out)
    rows = _rows(out)
    name = next(n for n, r in rows.items() if r["source"] == "tones/two.wav" and r["frame"] == 2 * SIZE[1])
    pixels = read_picture(out / "train" / name, keep_alpha=True).pixels
    batch = np.moveaxis(pixels, -1, 0)[None]  # (1, 2, H, W) uint8
    y = signals["tones/two.wav"]
    frame = rows[name]["frame"]
    ref = stft_magnitude(y, p)[:, frame : frame + SIZE[1]]
    cols = slice(4, SIZE[1] - 4)

    def sc(y_hat: np.ndarray) -> float:
        S = stft_magnitude(y_hat, p)[:, : SIZE[1]]
        return float(20 * np.log10(np.linalg.norm(S[:, cols] - ref[:, cols]) / np.linalg.norm(ref[:, cols])))

    with_if = sc(decode_batch(batch, out, quality="fast")[0])
    alone = sc(decode_batch(batch[:, :1], out, quality="fast")[0])
    assert with_if <= alone - 5.0, (with_if, alone)
    # the file itself (gray + alpha PNG) decodes as the batch does
    from_file = decode_batch(str(out / "train" / name), out, quality="fast")[0]
    assert sc(from_file) == pytest.approx(with_if, abs=1e-6)


def test_decode_refuses_wrong_planes(built) -> None:
    out = built[1]
    h, w = SIZE
    with pytest.raises(ParameterError, match=r"two planes \(magnitude, IF\)"):
        decode_batch(np.zeros((2, 4, h, w), np.uint8), out)
    with pytest.raises(ParameterError, match="must lie in"):
        decode_batch(np.concatenate([np.zeros((1, 1, h, w)), np.full((1, 1, h, w), 3.0)], axis=1), out)
    with pytest.raises(ParameterError, match="some tiles have two planes"):
        decode_batch([np.zeros((2, h, w), np.uint8), np.zeros((h, w), np.uint8)], out)
    with pytest.raises(ParameterError, match="grid="):
        decode_batch(np.zeros((1, 2, 2 * h + 6, w), np.uint8), out, grid=(2, 1))


# ---------------------------------------------------------------------------- CLI
def test_cli_build_phase_if_and_decode(built, tmp_path: Path) -> None:
    from .test_cli import run

    audio = built[0]
    result = run("dataset", "build", audio, "ds", "--size", "64x32", "--sr", SR, "--workers", 1, "--phase", "if",
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "ds" / "specimg.json").read_text())["phase"]["plane"] == "if"
    result = run("dataset", "decode", tmp_path / "ds" / "train" / "tones", "wav", "--like", "ds", "--quality", "fast",
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    tiles = sorted((tmp_path / "ds" / "train" / "tones").glob("*.png"))
    wavs = sorted((tmp_path / "wav").glob("*.wav"))
    assert [w.stem for w in wavs] == [t.stem for t in tiles]
    # the CLI used the IF plane: the same audio as decode_batch of the two-plane tile
    y, _ = sf.read(wavs[2], dtype="float32")
    ref = decode_batch(str(tiles[2]), tmp_path / "ds", quality="fast")[0]
    assert np.abs(y - ref).max() < 1e-4  # PCM_16
    result = run("dataset", "build", audio, "ds16", "--bit-depth", "16", "--phase", "if", cwd=tmp_path)
    assert result.returncode == 1 and "must be 8" in result.stderr


def test_if_decode_checks_memory_before_the_integration():
    from specimg.dataset.ifplane import decode_tile
    from specimg.dataset.settings import dataset_params
    from specimg.resources import memory_limit

    p = dataset_params(size=(64, 2000), sr=16000)
    pixels = np.zeros((p.n_bins, 2000), dtype=np.uint8)
    with memory_limit("20M"), pytest.raises(specimg.ResourceError, match="IF plane"):
        decode_tile(pixels, np.zeros(pixels.shape), p, quality="fast", n_iter=1, rng=0)
