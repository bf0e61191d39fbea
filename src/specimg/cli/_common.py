"""Pieces several commands share: the ``--params`` option and a dB reference type."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import MissingFileError

if TYPE_CHECKING:
    from ..params import SpectrogramParams

__all__ = ["params_option", "read_params", "DbRef", "grid_size"]


def params_option(f: Any) -> Any:
    """``--params FILE``: JSON metadata for an image that carries none."""
    return click.option(
        "--params",
        "params_path",
        type=click.Path(dir_okay=False),
        help="JSON metadata file for an image that carries none.",
    )(f)


def read_params(path: str | None) -> SpectrogramParams | None:
    """The parameters of ``--params FILE`` (``None`` when not given)."""
    if path is None:
        return None
    from ..jsonfile import MAX_SIDECAR_BYTES, read_json
    from ..params import SpectrogramParams

    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"no such file: {path!r} (given as --params)")
    return SpectrogramParams.from_dict(read_json(p, what=repr(path), max_bytes=MAX_SIDECAR_BYTES), source=repr(path))


class DbRef(click.ParamType):
    """``--ref``: a number, or ``max``."""

    name = "DB_REF"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if value == "max" or isinstance(value, float):
            return value
        try:
            return float(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number nor 'max'", param, ctx)


def grid_size(text: str) -> tuple[int, int] | None:
    """``AxB`` (or ``A×B``) with two positive integers, else ``None``."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) == 2 and all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        return int(parts[0]), int(parts[1])
    return None
