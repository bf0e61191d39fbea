"""What the benchmark scripts share: paths, environment record, formatting, summary."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
AUDIO_EXTS = (".wav", ".flac", ".ogg")


def environment() -> dict[str, Any]:
    """Versions and machine facts printed with every benchmark."""
    import librosa
    import numba
    import PIL
    import scipy

    import specimg

    return {
        "python": platform.python_version(),
        "specimg": specimg.__version__,
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "Pillow": PIL.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }


def fmt(value: Any, spec: str) -> str:
    """Format a table cell: "" for None, yes/no for spec "yn", inf/nan as text."""
    if value is None or value == "":
        return ""
    if spec == "yn":
        return value if isinstance(value, str) else ("yes" if value else "no")
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(value, spec)


def jsonable(obj: Any) -> Any:
    """Plain-JSON copy of nested results (numpy scalars → Python, inf/nan → strings)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)  # JSON has no inf/nan
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write a benchmark's figures as JSON (see :func:`jsonable`) and say where."""
    path.write_text(json.dumps(jsonable(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def print_summary(results: list[tuple[str, bool, str]]) -> bool:
    """Print the PASS/FAIL lines of (target, ok, detail) and an overall line; return all ok."""
    print("summary:")
    for name, ok, detail in results:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""))
    all_ok = all(ok for _, ok, _ in results)
    print(f"  {'PASS' if all_ok else 'FAIL'}  overall ({sum(ok for _, ok, _ in results)}/{len(results)} targets pass)")
    return all_ok
