"""The import graph of ``src/specimg``: no cycle, and decode's path imports only downward.

Every import is counted, also those inside functions (lazy imports are imports too); only
``if TYPE_CHECKING:`` blocks are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "specimg"

#: The layers of the data flow (shared/DESIGN.md) on decode's path, lowest first: a module
#: imports only modules of lower layers (a package counts as one module with its parts).
LAYERS: list[set[str]] = [
    {"specimg.errors", "specimg.messages", "specimg.typing", "specimg._samples", "specimg._nnls"},
    {"specimg.geometry", "specimg.resources", "specimg.atomic"},
    {"specimg.jsonfile"},
    {"specimg.params"},
    {"specimg.spectral"},
    {"specimg.audio", "specimg.stored_phase"},
    {"specimg.image"},
    {"specimg.pictures", "specimg.phase"},
    {"specimg.formats"},
    {"specimg.decoding"},
    {"specimg.codec"},
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The specimg modules that ``path`` imports (resolved to modules that exist)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def resolve(target: str) -> str | None:
        while target and target not in modules:  # a name imported from a module: the module
            target = target.rsplit(".", 1)[0] if "." in target else ""
        return target or None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("specimg"):
                        found.add(resolve(alias.name) or alias.name)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    stem = ".".join(base + ([child.module] if child.module else []))
                elif child.module and child.module.startswith("specimg"):
                    stem = child.module
                else:
                    continue
                for alias in child.names:
                    target = resolve(f"{stem}.{alias.name}") if f"{stem}.{alias.name}" in modules else resolve(stem)
                    if target:
                        found.add(target)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = sorted(SRC.rglob("*.py"))
    modules = {_module_name(f) for f in files}
    return {_module_name(f): _imports(f, modules) for f in files}


def _owner(module: str) -> str:
    """The module of LAYERS that holds ``module`` (a package's part counts as the package)."""
    for layer in LAYERS:
        for name in layer:
            if module == name or module.startswith(name + "."):
                return name
    return module


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


def test_the_graph_is_read(graph: dict[str, set[str]]) -> None:
    assert len(graph) > 60
    assert "specimg.spectral" in graph["specimg.image"]
    assert "specimg.phase" in graph["specimg.decoding"]
    assert "specimg.phase._rebuild" in graph["specimg.phase"]  # the package's parts are nodes too
    assert "specimg.resources" in graph["specimg.phase._rebuild"]


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert _cycles(graph) == []


def test_decode_path_imports_only_downward(graph: dict[str, set[str]]) -> None:
    rank = {name: k for k, layer in enumerate(LAYERS) for name in layer}
    upward = []
    for module, targets in graph.items():
        owner = _owner(module)
        if owner not in rank:
            continue
        for target in targets:
            t = _owner(target)
            if t == owner:
                continue  # within one package
            if t not in rank or rank[t] >= rank[owner]:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_every_module_on_decodes_path_has_a_layer(graph: dict[str, set[str]]) -> None:
    reached, todo = set(), ["specimg.codec"]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        todo.extend(graph.get(module, ()))
    assert sorted(_owner(m) for m in reached if _owner(m) not in {n for layer in LAYERS for n in layer}) == []
