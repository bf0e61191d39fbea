"""The torch bridge: a dataset's tiles as a ``torch.utils.data.Dataset``.

:class:`TileDataset` reads the tiles of one split of a dataset built by
:func:`specimg.dataset.build` in the order torchvision's ``ImageFolder`` lists them, with
the class indices of ``specimg.json``, as float32 tensors in [-1, 1] (the pixel level, what
``ToTensor()`` then ``Normalize(0.5, 0.5)`` give for 8-bit tiles, but right for 16-bit tiles
too) or in calibrated dB. Its batches go back to audio with
``specimg.dataset.decode_batch(x, dataset=out_dir, domain=ds.domain)``.

torch is imported when the class is first used, never by ``import specimg.dataset``; the
class itself is made then (a subclass of ``torch.utils.data.Dataset``) and kept as this
module's attribute ``TileDataset``, so it pickles by name and works in ``DataLoader``
workers whatever their start method. It needs the ``torch`` extra: ``pip install
specimg[torch]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from ..errors import FormatError, MissingFileError, ParameterError, SpecimgError
from ..image import to_unit, unit_to_db
from ..jsonfile import read_json_lines
from ..params import SpectrogramParams
from ..pictures import read_picture, to_gray
from ..typing import PathLike
from .containment import Inside, check_name
from .layout import MANIFEST_NAME, SPLITS, description_params, read_description, tile_geometry

__all__ = ["DOMAINS", "PLANES", "TileDataset", "check_planes", "read_tile", "split_items"]

#: The value domains of :class:`TileDataset` items.
DOMAINS = ("unit", "db")

#: The planes a tile may give: its magnitude, and its instantaneous frequency (datasets
#: built with ``phase="if"``).
PLANES = ("magnitude", "if")

Domain = Literal["unit", "db"]


# ---------------------------------------------------------------------------- torch-free helpers
def split_items(out_dir: PathLike, split: str) -> tuple[list[Path], list[int], list[str]]:
    """The tiles of one split of a dataset, in torchvision ``ImageFolder`` order, with their labels.

    The split's manifest (``<split>/metadata.jsonl``) lists exactly the complete tiles;
    they are ordered as ``ImageFolder`` walks the folder: by class folder, then by file
    name, both sorted as strings.

    Parameters
    ----------
    out_dir : str or path-like
        The ``OUT_DIR`` of :func:`specimg.dataset.build`.
    split : {"train", "validation"}

    Returns
    -------
    paths : list of Path
        Each tile's file, in item order.
    labels : list of int
        Each tile's index into ``classes``; -1 for a dataset without classes.
    classes : list of str
        ``specimg.json``'s class list (sorted folder names; empty without class folders).

    Raises
    ------
    ParameterError
        If ``split`` is not one of the splits.
    MissingFileError
        If there is no ``specimg.json`` or the build wrote no such split.
    FormatError
        If the manifest is unreadable or names a class ``specimg.json`` does not list; if a
        name read from the dataset (a class, a ``file_name``) is not a relative path inside
        it or leads out of it through a link (:mod:`~specimg.dataset.containment`): no item
        is ever a file outside the dataset folder.
    """
    if split not in SPLITS:
        raise ParameterError(f"split={split!r} must be one of {', '.join(map(repr, SPLITS))}")
    data, json_path = read_description(out_dir)
    root = json_path.parent
    classes = data.get("classes") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise FormatError(f"\"classes\" of {str(json_path)!r} must be a list of folder names, not {classes!r:.200}")
    for name in classes:  # folder names, not paths (containment.check_name)
        if len(check_name(name, what=f"class of {str(json_path)!r}")) != 1:
            raise FormatError(f"class {name[:300]!r} of {str(json_path)!r} is not a folder name (it holds a '/')")
    check = Inside(root)  # every name read below lies inside the dataset, links resolved
    manifest = check(f"{split}/{MANIFEST_NAME}", what=f"the {split!r} manifest")
    if not manifest.is_file():
        present = [s for s in SPLITS if (root / s / MANIFEST_NAME).is_file()]
        raise MissingFileError(
            f"the dataset {str(root)!r} has no {split!r} split (no {split}/{MANIFEST_NAME}: no tiles went to it); "
            + (f"pass split={present[0]!r}" if present else "it holds no tiles at all")
        )
    index = {name: i for i, name in enumerate(classes)}
    rows: list[tuple[tuple[str, ...], int]] = []
    for number, row in read_json_lines(manifest, what=repr(str(manifest))):  # FormatError: not JSON, too deep, 1e400
        if not isinstance(row, dict) or "file_name" not in row:
            raise FormatError(f"line {number} of {str(manifest)!r} is not a manifest row with a \"file_name\"")
        name = row["file_name"]
        where = f"line {number} of {str(manifest)!r}: file_name"
        parts = check_name(name, what=where)  # FormatError for '../x', '/x', NUL, ...
        check(f"{split}/{name}", what=where)  # ... and for a name that a link leads outside the dataset
        label = -1
        if classes:
            folder = parts[0] if len(parts) > 1 else row.get("label")
            if folder not in index:
                raise FormatError(
                    f"line {number} of {str(manifest)!r}: tile {name!r} is in no class of {str(json_path)!r} "
                    f"({', '.join(classes)})"
                )
            label = index[folder]
        rows.append((parts, label))
    rows.sort(key=lambda r: r[0])  # ImageFolder: sorted class folders, then sorted file names
    return [root.joinpath(split, *parts) for parts, _ in rows], [label for _, label in rows], list(classes)


def check_planes(planes: Any, has_if: bool) -> tuple[str, ...]:
    """``planes`` as a tuple of names of :data:`PLANES`, checked against the dataset.

    Raises
    ------
    ParameterError
        For an empty, repeating or unknown plane list, or ``"if"`` for a dataset built
        without an IF plane.

    Examples
    --------
    >>> check_planes(["magnitude", "if"], True)
    ('magnitude', 'if')
    """
    if isinstance(planes, str) or not isinstance(planes, (tuple, list)) or not planes:
        raise ParameterError(f"planes={planes!r} must be a tuple of plane names: ('magnitude',) or ('magnitude', 'if')")
    bad = [p for p in planes if p not in PLANES]
    if bad or len(set(planes)) != len(planes):
        raise ParameterError(f"planes={tuple(planes)!r} must name each of {', '.join(map(repr, PLANES))} at most once")
    if "if" in planes and not has_if:
        raise ParameterError(
            "planes include 'if' but this dataset has no IF plane; rebuild it with `specimg dataset build --phase if`"
        )
    return tuple(planes)


def read_tile(path: PathLike, params: SpectrogramParams, *, domain: Domain = "unit",
              n_frames: int | None = None, planes: tuple[str, ...] = ("magnitude",)) -> np.ndarray:  # fmt: skip
    """One tile file as float32 values of ``domain``, shaped ``(len(planes), H, W)``.

    Parameters
    ----------
    path : str or path-like
        A tile of the dataset (8- or 16-bit gray PNG; read through :mod:`specimg.pictures`).
    params : SpectrogramParams
        The dataset's (:func:`specimg.dataset.params_of`).
    domain : {"unit", "db"}
        ``"unit"``: the pixel level, 0 → -1 and the dtype's full scale → +1 (as stored:
        ``params.invert`` is not undone, so :func:`~specimg.dataset.decode_batch` reads it
        back). ``"db"``: calibrated dB re ``params.ref``, in [db_min, db_max].
    n_frames : int or None
        The dataset's tile width, checked when given.
    planes : tuple of {"magnitude", "if"}
        The planes to return, in order. ``"if"``: the alpha channel of a tile of a
        dataset built with ``phase="if"``, as values in [-1, 1] (``2 p / 255 - 1``,
        whatever ``domain``). The magnitude of such a tile is its gray channel (the alpha
        is never composited).

    Returns
    -------
    np.ndarray [shape=(len(planes), params.n_bins, W)], float32

    Raises
    ------
    MissingFileError, FormatError
        If the file is missing, unreadable, not ``params.n_bins`` × ``n_frames`` pixels, or
        has no IF plane when ``"if"`` is asked for.
    """
    picture = read_picture(path, what="tile", keep_alpha=True)
    data = picture.pixels
    assert data is not None
    if data.ndim == 3 and data.shape[-1] == 3:
        data = to_gray(data)
    pixels = data[..., 0] if data.ndim == 3 else data
    height, width = pixels.shape
    if height != params.n_bins or (n_frames is not None and width != n_frames):
        raise FormatError(
            f"tile {str(path)!r} is {height}×{width} pixels but the dataset's tiles are "
            f"{params.n_bins}×{n_frames or width}; was it replaced after the build?"
        )
    out = []
    for plane in planes:
        if plane == "if":
            if data.ndim != 3:
                raise FormatError(
                    f"tile {str(path)!r} has no IF plane (no alpha channel); was it replaced after the build?"
                )
            out.append(2.0 * to_unit(data[..., 1]) - 1.0)
        else:
            x = to_unit(pixels)
            out.append(unit_to_db(x, params) if domain == "db" else 2.0 * x - 1.0)
    return np.stack(out).astype(np.float32)


def _check_domain(domain: Any) -> None:
    if domain not in DOMAINS:
        raise ParameterError(f"domain={domain!r} must be one of {', '.join(map(repr, DOMAINS))}")


# ---------------------------------------------------------------------------- the torch class
def _define() -> type:
    """Make the ``torch.utils.data.Dataset`` subclass (imports torch)."""
    try:
        import torch
        from torch.utils.data import Dataset
    except ImportError:
        raise SpecimgError("TileDataset needs torch: pip install 'specimg[torch]'") from None

    class TileDataset(Dataset):
        """The tiles of one split of a specimg dataset, as a map-style torch ``Dataset``.

        Parameters
        ----------
        out_dir : str or path-like
            The ``OUT_DIR`` of :func:`specimg.dataset.build`.
        split : {"train", "validation"}
        domain : {"unit", "db"}
            ``"unit"`` (default): the pixel level in [-1, 1] (black → -1, white → +1), the
            usual range of a GAN's ``tanh`` output; for 8-bit tiles exactly
            ``Normalize(0.5, 0.5)(ToTensor()(image))``. ``"db"``: calibrated dB re the
            dataset's ``ref`` (dBFS by default), in [db_min, db_max].
        transform : callable or None
            Applied to each item's tensor (torchvision transforms take it).
        planes : tuple of {"magnitude", "if"}
            The channels of each item, in order: ``("magnitude",)`` (default), or with a
            dataset built with ``phase="if"`` ``("magnitude", "if")`` for ``[2, H, W]``
            items whose second channel is the instantaneous frequency in [-1, 1] (whatever
            ``domain``); ``decode_batch`` takes such batches back to audio.

        Items are ``(tensor, label)``: a float32 tensor of shape ``[len(planes), H, W]`` (H =
        mel bands with low frequencies at the bottom, W = frames), and the
        int index of the tile's class in :attr:`classes` (-1 for a dataset without
        classes). Batches decode with
        ``specimg.dataset.decode_batch(x, dataset=out_dir, domain=ds.domain)``.

        Attributes
        ----------
        paths : list of Path
            Each item's tile file, in item order (torchvision ``ImageFolder``'s order).
        targets : list of int
            Each item's label.
        classes : list of str
            ``specimg.json``'s class list, the sorted class folder names as ``ImageFolder``
            finds them.
        class_to_idx : dict of str to int
        params : SpectrogramParams
            The dataset's calibration (:func:`specimg.dataset.params_of`).
        dataset : Path
            The dataset folder.
        split, domain : str
        planes : tuple of str

        Raises
        ------
        ParameterError
            For an unknown ``split``, ``domain`` or plane, or ``"if"`` for a dataset without
            an IF plane.
        MissingFileError, FormatError
            If the dataset, or the split's manifest, is missing or unreadable.
        SpecimgError
            If torch is not installed.

        Examples
        --------
        >>> from torch.utils.data import DataLoader                      # doctest: +SKIP
        >>> ds = specimg.dataset.TileDataset("gan-data")                 # doctest: +SKIP
        >>> x, y = next(iter(DataLoader(ds, batch_size=16, num_workers=2, shuffle=True)))  # doctest: +SKIP
        >>> x.shape, x.dtype                                             # doctest: +SKIP
        (torch.Size([16, 1, 256, 256]), torch.float32)
        >>> audio = specimg.dataset.decode_batch(x, dataset="gan-data", domain=ds.domain)  # doctest: +SKIP
        """

        def __init__(self, out_dir: PathLike, split: str = "train", domain: Domain = "unit",
                     transform: Callable[[Any], Any] | None = None,
                     planes: tuple[str, ...] = ("magnitude",)) -> None:  # fmt: skip
            _check_domain(domain)
            data, json_path = read_description(out_dir)
            self.planes = check_planes(planes, isinstance(data.get("phase"), dict))
            self.params = description_params(data, json_path)
            self._n_frames = tile_geometry(data, json_path)[0]
            self.dataset = json_path.parent
            self.split = split
            self.domain = domain
            self.transform = transform
            self.paths, self.targets, self.classes = split_items(self.dataset, split)
            self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

        def __len__(self) -> int:
            return len(self.paths)

        def __getitem__(self, index: int) -> tuple[Any, int]:
            values = read_tile(self.paths[index], self.params, domain=self.domain, n_frames=self._n_frames,
                               planes=self.planes)  # fmt: skip
            tensor = torch.from_numpy(values)
            if self.transform is not None:
                tensor = self.transform(tensor)
            return tensor, self.targets[index]

        def __repr__(self) -> str:
            return (
                f"TileDataset({str(self.dataset)!r}, split={self.split!r}, domain={self.domain!r}): "
                f"{len(self)} tiles of {self.params.n_bins}×{self._n_frames or '?'}, "
                f"{len(self.classes)} classes"
            )

    TileDataset.__module__ = __name__
    TileDataset.__qualname__ = "TileDataset"
    return TileDataset


def __getattr__(name: str) -> Any:
    """``TileDataset``, made (and torch imported) on first use; pickled tiles find it by name."""
    if name == "TileDataset":
        cls = _define()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
