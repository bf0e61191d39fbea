"""One place per concept, checked on the source tree (DESIGN.md's rules as tests)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "specimg"
MODULES = sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """Source lines with comments and docstrings removed (numbers in prose are no code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            doc_lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if i not in doc_lines:
            out.append((i, line.split("#", 1)[0]))
    return out


def test_no_source_file_over_700_lines() -> None:
    long = {_rel(p): n for p in MODULES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700}
    assert not long, f"files over 700 lines: {long}"


def test_no_private_name_imported_across_modules() -> None:
    found = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                found += [f"{_rel(path)}: {a.name}" for a in node.names if a.name.startswith("_") and not a.name.endswith("__")]
    assert not found, f"private names imported from other modules: {found}"


def _code_matching(pattern: str, *, outside: str) -> list[str]:
    """file:line of every code line (no comments, no docstrings) matching ``pattern``,
    in modules other than ``outside``."""
    return [
        f"{_rel(p)}:{i}"
        for p in MODULES
        if _rel(p) != outside
        for i, line in _code_lines(p)
        if re.search(pattern, line)
    ]


def test_full_scale_numbers_only_in_the_pixel_range_module() -> None:
    found = _code_matching(r"\b65535\b", outside="image.py")
    assert not found, f"65535 written outside image.py: {found}"


def test_pillow_is_imported_only_by_the_picture_door() -> None:
    found = _code_matching(r"^\s*(from PIL\b|import PIL\b)", outside="pictures.py")
    assert not found, f"Pillow used outside pictures.py: {found}"


@pytest.mark.parametrize("heavy", ["numba", "librosa.core", "scipy.signal", "PIL.Image", "matplotlib", "skimage", "cv2"])
def test_import_specimg_leaves_heavy_libraries_for_later(heavy: str) -> None:
    """``import specimg`` stays fast: the heavy libraries load when first used."""
    code = f"import sys, specimg; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False", f"import specimg imported {heavy}"
