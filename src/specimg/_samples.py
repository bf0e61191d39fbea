"""Where the bundled sample audio lives (the CLI demo and specimg.legacy's default level read it)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["sample_data_dir"]


def sample_data_dir() -> Path:
    """Folder of the bundled sample audio: inside the installed package, else the checkout's."""
    inside = Path(__file__).resolve().parent / "sample_data"
    if inside.is_dir():
        return inside
    return Path(__file__).resolve().parents[2] / "sample_data"
