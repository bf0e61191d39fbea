"""The tiles of a specimg dataset through the loaders people train with (issue 11).

A tiny dataset (64 × 64 tiles, two classes, both splits) is built once per module from
the project's sample audio, at 8 and at 16 bits. Every loader must hand over the tile's
pixels (correlation >= 0.9999, in fact equal to float32 precision) with the class indices
of ``specimg.json``: torchvision's ``ImageFolder`` with ``ToTensor()`` or ``transforms.v2``,
``torchvision.io.read_image``, Hugging Face ``imagefolder``, :class:`specimg.dataset.TileDataset`
in a ``DataLoader`` with worker processes, and StyleGAN2-ADA ``dataset_tool``'s rules.
At 16 bits the tests pin which loaders read the tiles correctly (the loader table of docs/guide/datasets.md).
A ``TileDataset`` batch decodes back to audio at the level of its source segments.
"""

from __future__ import annotations

import functools
import importlib
import json
import pickle
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import soundfile as sf

from specimg.dataset import build, decode_batch, params_of
from specimg.dataset.layout import read_description
from specimg.errors import LossyWarning, MissingFileError, ParameterError
from specimg.image import pixels_to_db, to_unit
from specimg.metrics import level_difference_db
from specimg.pictures import read_gray

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from torch.utils.data import DataLoader  # noqa: E402
from torchvision import transforms  # noqa: E402
from torchvision.datasets import ImageFolder  # noqa: E402
from torchvision.io import ImageReadMode, read_image  # noqa: E402
from torchvision.transforms import v2  # noqa: E402

from specimg.dataset import TileDataset  # noqa: E402  (imports torch)

# torchvision 0.29 deprecates its image decoders (read_image, decode_image) for TorchCodec
pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities of TorchVision are deprecated:DeprecationWarning"
)

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
SIZE = (64, 64)  # n_fft 1024, hop 256 at 22.05 kHz: a tile is 0.74 s; square, a power of two (StyleGAN)
CLASSES = ["music", "speech"]
SEED = 2  # with validation=0.5, puts one file of each class in each split
SPLIT_NAMES = ("train", "validation")


def _write_audio(audio: Path) -> dict[str, np.ndarray]:
    """Two classes of two files each: the halves of the sample recordings (channel 0), 2.2 s each."""
    sources = {}
    for label in CLASSES:
        y, sr = sf.read(SAMPLE_DATA / f"{label}.wav", dtype="float64", always_2d=True)
        assert sr == 22050
        half = int(2.2 * sr)
        (audio / label).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            rel = f"{label}/part{i}.wav"
            sources[rel] = y[i * half : (i + 1) * half, 0]
            sf.write(audio / rel, sources[rel], sr, subtype="FLOAT")
    return sources


def _build(audio: Path, out: Path, bit_depth: int) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossyWarning)  # 8 bits warned while 16 was the default
        build(audio, out, size=SIZE, bit_depth=bit_depth, validation=0.5, seed=SEED, workers=1)
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """The audio folder and its signals by relative path."""
    audio = tmp_path_factory.mktemp("loaders") / "audio"
    return audio, _write_audio(audio)


@pytest.fixture(scope="module")
def out8(sources) -> Path:
    audio, _ = sources
    return _build(audio, audio.parent / "d8", 8)


@pytest.fixture(scope="module")
def out16(sources) -> Path:
    audio, _ = sources
    return _build(audio, audio.parent / "d16", 16)


# ---------------------------------------------------------------------------- what arrives
def _truth(path: Path) -> np.ndarray:
    """The tile's pixels as levels in [0, 1], read through specimg's picture door."""
    return to_unit(read_gray(path))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _gray(t: Any) -> np.ndarray:
    """A [C, H, W] tensor (C = 1 or 3 equal channels) as an (H, W) float64 array."""
    a = np.asarray(t, dtype=np.float64)
    assert a.ndim == 3 and a.shape[0] in (1, 3), a.shape
    assert all(np.array_equal(a[0], c) for c in a[1:]), "colour channels differ"
    return a[0]


Arrival = tuple[list[Path], list[np.ndarray], "list[int] | None", "list[str] | None"]


def _imagefolder(transform: Callable[[Any], Any]) -> Callable[[Path, str], Arrival]:
    def load(out: Path, split: str) -> Arrival:
        ds = ImageFolder(out / split, transform=transform)
        items = [ds[i] for i in range(len(ds))]
        return [Path(p) for p, _ in ds.samples], [_gray(x) for x, _ in items], [y for _, y in items], ds.classes

    return load


def _read_image(out: Path, split: str) -> Arrival:
    """``read_image`` (file's own depth) then the documented float conversion, ``ToDtype(scale=True)``."""
    paths = sorted((out / split).rglob("*.png"))
    to_float = v2.ToDtype(torch.float32, scale=True)
    return paths, [_gray(to_float(read_image(str(p), ImageReadMode.UNCHANGED))) for p in paths], None, None


def _convert_rgb(out: Path, split: str) -> Arrival:
    """diffusers' training scripts: ``Image.open(path).convert("RGB")`` then ``ToTensor()``."""
    from PIL import Image

    paths = sorted((out / split).rglob("*.png"))
    arrays = []
    for p in paths:
        with Image.open(p) as im:
            arrays.append(_gray(transforms.ToTensor()(im.convert("RGB"))))
    return paths, arrays, None, None


@functools.lru_cache(maxsize=None)
def _hf(out: Path, form: str) -> Any:
    """The dataset through Hugging Face ``datasets``: ``form`` "imagefolder" is
    ``load_dataset("imagefolder", data_dir=OUT)``, "card" is ``load_dataset(OUT)`` (reads the
    dataset card ``OUT/README.md``)."""
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    cache = str(out.parent / f"hf-cache-{form}")
    if form == "imagefolder":
        return datasets.load_dataset("imagefolder", data_dir=str(out), cache_dir=cache)
    return datasets.load_dataset(str(out), cache_dir=cache)


def _hf_loader(form: str) -> Callable[[Path, str], Arrival]:
    def load(out: Path, split: str) -> Arrival:
        """``with_format("torch")``, then ``ToDtype(scale=True)``; labels only as a ClassLabel."""
        import datasets

        ds = _hf(out, form)[split]
        paths = [Path(row["path"]) for row in ds.cast_column("image", datasets.Image(decode=False))["image"]]
        to_float = v2.ToDtype(torch.float32, scale=True)
        arrays = [_gray(to_float(x if x.ndim == 3 else x[None])) for x in ds.with_format("torch")["image"]]
        feature = ds.features["label"]
        if not isinstance(feature, datasets.ClassLabel):  # strings: test_hf_labels_are_classlabel
            return paths, arrays, None, None
        return paths, arrays, list(ds["label"]), feature.names

    return load


def _tile_dataset(out: Path, split: str) -> Arrival:
    """TileDataset in a DataLoader with two worker processes; [-1, 1] back to [0, 1]."""
    ds = TileDataset(out, split=split)
    xs, ys = zip(*DataLoader(ds, batch_size=4, num_workers=2))
    x = torch.cat(xs)
    assert x.dtype == torch.float32 and tuple(x.shape[1:]) == (1, *SIZE)
    return list(ds.paths), [_gray((t + 1) / 2) for t in x], torch.cat(ys).tolist(), ds.classes


LOADERS: dict[str, Callable[[Path, str], Arrival]] = {
    "ImageFolder+ToTensor": _imagefolder(transforms.ToTensor()),
    "ImageFolder+v2": _imagefolder(v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])),
    "read_image": _read_image,
    "convert_RGB": _convert_rgb,
    "hf_imagefolder": _hf_loader("imagefolder"),
    "hf_card": _hf_loader("card"),
    "TileDataset": _tile_dataset,
}


def _check_values(name: str, out: Path, split: str) -> float:
    """Correlation of what ``name`` hands over with the tiles' pixels; class indices checked."""
    paths, arrays, labels, classes = LOADERS[name](out, split)
    assert len(paths) == len(arrays) == len(json_rows(out, split)) > 0
    truth = np.stack([_truth(p) for p in paths])
    got = np.stack(arrays)
    expected_classes = read_description(out)[0]["classes"]
    if labels is not None:
        assert classes == expected_classes == CLASSES, f"{name} finds classes {classes}"
        assert labels == [expected_classes.index(p.parent.name) for p in paths], f"{name}'s class indices"
    corr = _correlation(got, truth)
    if corr >= 0.9999:
        np.testing.assert_allclose(got, truth, atol=1e-6, err_msg=name)
    return corr


def json_rows(out: Path, split: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / split / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("split", SPLIT_NAMES)
@pytest.mark.parametrize("name", list(LOADERS))
def test_8bit_tiles_arrive_as_their_pixels(out8, name, split):
    """Issue 11 acceptance: every loader hands over the 8-bit tile's pixels, class indices agree."""
    assert _check_values(name, out8, split) >= 0.9999


#: The loader table of docs/guide/datasets.md for ``--bit-depth 16``: does the loader hand over the tile's pixels?
CORRECT_AT_16_BITS = {
    "ImageFolder+ToTensor": False,  # pil_loader's convert("RGB") clips I;16 to 255: mostly 1.0
    "ImageFolder+v2": False,  # the same loader before v2
    "read_image": True,  # uint16; .min() is not implemented for uint16, ToDtype(scale=True) is right
    "convert_RGB": False,  # diffusers: the same clipping
    "hf_imagefolder": True,  # PIL I;16 → uint16 (torch format too); .min() fails, ToDtype(scale=True) is right
    "hf_card": True,
    "TileDataset": True,
}


@pytest.mark.parametrize("name", list(LOADERS))
def test_16bit_tiles_per_loader(out16, name):
    """Which loaders read 16-bit tiles correctly (the table in docs/guide/datasets.md): the right ones exactly."""
    corr = _check_values(name, out16, "train")
    assert (corr >= 0.9999) == CORRECT_AT_16_BITS[name], (
        f"{name} at 16 bits: correlation {corr:.4f}; the loader table in docs/guide/datasets.md says "
        f"{'correct' if CORRECT_AT_16_BITS[name] else 'wrong'}"
    )


def test_imagefolder_totensor_saturates_16bit_tiles(out16):
    """The trap itself, as the issue measured it: most pixels arrive as 1.0."""
    x, _ = ImageFolder(out16 / "train", transform=transforms.ToTensor())[0]
    assert float((x == 1.0).float().mean()) > 0.5


# ---------------------------------------------------------------------------- StyleGAN2-ADA
def _stylegan_attrs(folder: Path) -> list[tuple[int, int, int, str]]:
    """StyleGAN2-ADA ``dataset_tool`` (``--img-format keep``) on an image folder: the (width,
    height, channels, dtype) it sees per image, after its own PNG round trip."""
    from PIL import Image

    attrs = []
    for f in sorted(folder.rglob("*")):
        if f.suffix.lower() not in Image.EXTENSION or not f.is_file():
            continue
        with Image.open(f) as im:
            img = np.array(im)
        channels = img.shape[2] if img.ndim == 3 else 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fromarray's mode argument
            again = np.array(Image.fromarray(img, {1: "L", 3: "RGB"}[channels]))  # raises for uint16
        assert np.array_equal(again, img)
        attrs.append((img.shape[1], img.shape[0], channels, str(img.dtype)))
    return attrs


@pytest.mark.parametrize("split", SPLIT_NAMES)
def test_stylegan2_ada_dataset_tool_rules(out8, split):
    """Square power-of-two size, 1 or 3 channels, uint8, equal across images; pixels kept."""
    attrs = _stylegan_attrs(out8 / split)
    assert attrs and set(attrs) == {(SIZE[1], SIZE[0], 1, "uint8")}
    width = attrs[0][0]
    assert width == 2 ** int(np.floor(np.log2(width)))


def test_stylegan2_ada_refuses_16bit_tiles(out16):
    with pytest.raises(ValueError, match="Invalid mode"):  # what dataset_tool prints
        _stylegan_attrs(out16 / "train")


# ---------------------------------------------------------------------------- HF labels
def test_hf_card_labels_are_classlabel(out8):
    """``load_dataset(OUT)`` reads the dataset card: labels arrive as ClassLabel with
    specimg.json's names and the indices every other loader gives."""
    datasets = pytest.importorskip("datasets")
    hf = _hf(out8, "card")
    assert set(hf) == set(SPLIT_NAMES)
    for split in SPLIT_NAMES:
        feature = hf[split].features["label"]
        assert isinstance(feature, datasets.ClassLabel), f"{split} labels arrive as {feature}"
        assert feature.names == CLASSES
        paths, _, labels, _ = _hf_loader("card")(out8, split)
        assert labels == [CLASSES.index(p.parent.name) for p in paths]


def test_hf_imagefolder_labels_name_the_class_folder(out8):
    """``load_dataset("imagefolder", data_dir=OUT)`` does not read the dataset card (datasets'
    packaged-module loader takes the features from metadata.jsonl): labels arrive as
    strings, each its tile's class folder, so ``classes.index(label)`` gives the indices."""
    datasets = pytest.importorskip("datasets")
    for split in SPLIT_NAMES:
        ds = _hf(out8, "imagefolder")[split]
        assert ds.features["label"] == datasets.Value("string")
        paths = [Path(row["path"]) for row in ds.cast_column("image", datasets.Image(decode=False))["image"]]
        assert list(ds["label"]) == [p.parent.name for p in paths]


# ---------------------------------------------------------------------------- TileDataset
def test_tile_dataset_order_and_attributes(out8):
    ds = TileDataset(out8)
    folder = ImageFolder(out8 / "train")
    assert isinstance(ds, torch.utils.data.Dataset)
    assert ds.paths == [Path(p) for p, _ in folder.samples]
    assert ds.targets == folder.targets and ds.classes == folder.classes == CLASSES
    assert ds.class_to_idx == folder.class_to_idx
    assert ds.params == params_of(out8) and ds.dataset == out8
    assert len(ds) == len(json_rows(out8, "train"))
    x, y = ds[len(ds) - 1]
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, *SIZE) and y == ds.targets[-1]
    assert "TileDataset(" in repr(ds) and f"{len(ds)} tiles" in repr(ds)


def test_tile_dataset_db_domain_and_transform(out16):
    p = params_of(out16)
    ds = TileDataset(out16, split="validation", domain="db", transform=lambda t: torch.flip(t, dims=[1]))
    x, _ = ds[0]
    expected = pixels_to_db(read_gray(ds.paths[0]), p)[::-1].astype(np.float32)
    np.testing.assert_allclose(x[0].numpy(), expected, atol=1e-4)
    assert p.db_min <= float(x.min()) and float(x.max()) <= p.db_max


def test_tile_dataset_pickles_by_name(out8):
    """The class is made lazily but pickles by name, as spawned DataLoader workers (macOS,
    Windows) need: a fresh interpreter finds it through the module's ``__getattr__``.
    (A spawn DataLoader itself costs ~3 s of torch imports, too slow for the suite.)"""
    ds = TileDataset(out8, transform=None)
    cls = type(ds)
    assert (cls.__module__, cls.__qualname__) == ("specimg.dataset.loaders", "TileDataset")
    assert getattr(importlib.import_module(cls.__module__), cls.__qualname__) is cls
    again = pickle.loads(pickle.dumps(ds))
    assert again.paths == ds.paths and torch.equal(again[0][0], ds[0][0])


def test_tile_dataset_errors(out8, tmp_path):
    with pytest.raises(ParameterError, match="split='test'"):
        TileDataset(out8, split="test")
    with pytest.raises(ParameterError, match="domain='pixels'"):
        TileDataset(out8, domain="pixels")  # type: ignore[arg-type]
    with pytest.raises(MissingFileError, match="specimg.json"):
        TileDataset(tmp_path)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "specimg.json").write_bytes((out8 / "specimg.json").read_bytes())
    with pytest.raises(MissingFileError, match="no 'train' split"):
        TileDataset(copy)


def test_import_specimg_dataset_leaves_torch_for_later():
    code = "import sys, specimg.dataset; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- classes without tiles
def test_class_without_tiles_agrees_with_imagefolder(tmp_path):
    """A class whose files give no tile is left out of specimg.json (ImageFolder refuses an
    empty class folder): TileDataset, ImageFolder and specimg.json agree on both splits."""
    audio = tmp_path / "audio"
    _write_audio(audio)
    (audio / "fx").mkdir()
    sf.write(audio / "fx" / "silence.wav", np.zeros(22050), 22050)  # every tile silent: none written
    out = _build(audio, tmp_path / "out", 8)
    classes = read_description(out)[0]["classes"]
    assert classes == CLASSES
    assert ImageFolder(out / "train").classes == classes == TileDataset(out).classes
    assert ImageFolder(out / "validation", allow_empty=True).classes == TileDataset(out, split="validation").classes


# ---------------------------------------------------------------------------- back to audio
@pytest.mark.parametrize("domain, told", [("unit", False), ("unit", True), ("db", True)])
def test_loader_batch_decodes_to_its_source_level(out8, sources, domain, told):
    """Issue 11 acceptance: a TileDataset batch → decode_batch → within 0.5 dB RMS of its sources."""
    _, audio = sources
    ds = TileDataset(out8, domain=domain)
    x, _ = next(iter(DataLoader(ds, batch_size=4, num_workers=2)))
    rows = {row["file_name"]: row for row in json_rows(out8, "train")}
    options = {"domain": domain} if told else {}
    decoded = decode_batch(x, dataset=out8, **options)  # the tensor itself
    assert len(decoded) == 4
    for path, y_hat in zip(ds.paths, decoded):
        row = rows[path.relative_to(out8 / "train").as_posix()]
        segment = audio[row["source"]][row["offset"] : row["offset"] + len(y_hat)]
        segment = np.pad(segment, (0, len(y_hat) - len(segment)))  # a padded tail tile: silence beyond
        assert abs(level_difference_db(y_hat, segment)) <= 0.5, path.name
