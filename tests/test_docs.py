"""The documentation site (docs/): API coverage always; the built HTML when asked for.

* Always: every name in ``__all__`` of the five public packages gets an autosummary entry
  and a reference page. The stubs come from Sphinx's own autosummary generator and
  ``docs/_templates/autosummary/package.rst``, without building the site (a few seconds;
  skipped when Sphinx is not installed: ``pip install -e ".[docs]"``).
* ``SPECIMG_DOCS_HTML=<folder>``: checks a site already built there (what ``.ci/run`` does
  after ``python -m sphinx -W --keep-going -b html docs docs/_build/html``).
* ``SPECIMG_DOCS=1``: builds the site with ``-W`` into a temporary folder first (minutes:
  the gallery runs every example), then checks it. Neither set: the HTML checks skip.

The HTML checks: every local link (``page.html#anchor``) points to a file and an anchor
that exist, and every gallery page plays each sound its example produces.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"


def _conf_value(name: str) -> object:
    """A constant assigned in docs/conf.py, read without running it (it writes the CLI pages)."""
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    raise AssertionError(f"docs/conf.py assigns no {name}")


PUBLIC_PACKAGES: tuple[str, ...] = _conf_value("PUBLIC_PACKAGES")  # type: ignore[assignment]


def _public_names(package: str) -> list[str]:
    import importlib

    return list(importlib.import_module(package).__all__)


# -- API reference: one entry per public name ----------------------------------------------


def test_the_api_index_lists_the_five_packages_with_the_package_template() -> None:
    assert set(PUBLIC_PACKAGES) == {"specimg", "specimg.ops", "specimg.legacy", "specimg.dataset", "specimg.phase", "specimg.studio"}
    assert _conf_value("autosummary_ignore_module_all") is False  # the pages follow __all__
    text = (DOCS / "api" / "index.rst").read_text(encoding="utf-8")
    assert ":template: autosummary/package.rst" in text
    listed = re.findall(r"^   (specimg[\w.]*)\s*$", text, flags=re.MULTILINE)
    assert listed == list(PUBLIC_PACKAGES)


@pytest.fixture(scope="module")
def api_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference stubs autosummary generates from docs/api/index.rst and the templates."""
    pytest.importorskip("sphinx", reason="Sphinx is in the docs extra: pip install -e '.[docs]'")
    import sphinx.locale
    from sphinx.ext.autosummary.generate import DummyApplication, generate_autosummary_docs

    out = tmp_path_factory.mktemp("api")
    app = DummyApplication(sphinx.locale.get_translator())
    app.config.templates_path.append(str(DOCS / "_templates"))
    app.config.autosummary_ignore_module_all = False
    app.config.autosummary_context = {"public_packages": PUBLIC_PACKAGES}
    generate_autosummary_docs([str(DOCS / "api" / "index.rst")], output_dir=out, app=app, imported_members=True)  # type: ignore[arg-type]
    return out


def _autosummary_entries(page: Path) -> list[str]:
    """The names listed under the ``.. autosummary::`` directives of a generated page."""
    entries, inside = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
        elif inside and line.startswith("   ") and not line.strip().startswith(":") and line.strip():
            entries.append(line.strip())
        elif inside and line.strip() and not line.startswith(" "):
            inside = False
    return entries


@pytest.mark.parametrize("package", ["specimg", "specimg.ops", "specimg.legacy", "specimg.dataset", "specimg.phase"])
def test_every_public_name_has_an_autosummary_entry_and_a_page(api_stubs: Path, package: str) -> None:
    page = api_stubs / f"{package}.rst"
    assert page.is_file(), f"no reference page for the package {package}"
    entries = set(_autosummary_entries(page))
    text = page.read_text(encoding="utf-8")
    missing = []
    for name in _public_names(package):
        if f"{package}.{name}" in PUBLIC_PACKAGES:  # a subpackage: its own page, linked
            if f":doc:`{package}.{name}`" not in text:
                missing.append(f"{name} (no link to its package page)")
        elif name not in entries:
            missing.append(f"{name} (no autosummary entry)")
        elif not (api_stubs / f"{package}.{name}.rst").is_file():
            missing.append(f"{name} (no page)")
    assert not missing, f"{package}: {missing}"
    assert entries <= set(_public_names(package)), f"{package} documents names outside __all__"


def test_gallery_scripts_are_examples_not_tests() -> None:
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts, "docs/examples/ holds no example"
    assert all(name.startswith("plot_") for name in scripts), scripts  # sphinx-gallery runs plot_*; pytest never


# -- The built site -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: SPECIMG_DOCS_HTML's folder, or built now when SPECIMG_DOCS=1."""
    given = os.environ.get("SPECIMG_DOCS_HTML")
    if given:
        folder = Path(given)
        assert (folder / "index.html").is_file(), f"SPECIMG_DOCS_HTML={given} holds no built site"
        return folder
    if os.environ.get("SPECIMG_DOCS") != "1":
        pytest.skip("the docs build takes minutes: SPECIMG_DOCS=1 builds it, SPECIMG_DOCS_HTML=<folder> checks one")
    pytest.importorskip("sphinx", reason="Sphinx is in the docs extra: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("html")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out


class _Page(HTMLParser):
    """The anchors (id, name) and the local hrefs/srcs of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.links: list[str] = []
        self.audio = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key) and (key == "id" or tag == "a"):
                self.anchors.add(values[key] or "")
        if tag == "audio":
            self.audio += 1
        for key in ("href", "src"):
            link = values.get(key)
            if link and (key == "href" or tag in ("img", "script")):
                self.links.append(link)


def _parse(page: Path) -> _Page:
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_every_local_link_of_the_site_resolves(html: Path) -> None:
    # _static/ holds the theme's assets (a Jinja macro file named .html among them), not pages
    pages = {p.resolve(): _parse(p) for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts}
    assert len(pages) > 50, f"only {len(pages)} pages built"
    broken = []
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("data:", "javascript:")):
                continue  # external: not checked (the site is built offline)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(html.resolve())}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                anchors = pages[target].anchors if target in pages else _parse(target).anchors
                if unquote(parts.fragment) not in anchors:
                    broken.append(f"{page.relative_to(html.resolve())}: {link} (no such anchor)")
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(sorted(set(broken))[:40])


def _called(node: ast.AST) -> str | None:
    """The name a call expression calls (``Audio(...)``, ``listen(...)``), else None."""
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _sounds_in(script: Path) -> int:
    """Cells of a gallery script that end with a sound: ``Audio(...)`` as the last expression,
    or a call of a function of the script that returns one (sphinx-gallery shows its player)."""
    source = script.read_text(encoding="utf-8")
    players = {"Audio"} | {
        f.name
        for f in ast.parse(source).body
        if isinstance(f, ast.FunctionDef)
        and any(isinstance(r, ast.Return) and r.value is not None and _called(r.value) == "Audio" for r in ast.walk(f))
    }
    count = 0
    for cell in re.split(r"^# %%.*$", source, flags=re.MULTILINE):
        body = ast.parse(cell).body
        if body and isinstance(body[-1], ast.Expr) and _called(body[-1].value) in players:
            count += 1
    return count


def test_every_gallery_sound_has_a_player(html: Path) -> None:
    scripts = sorted(EXAMPLES.glob("plot_*.py"))
    short = {}
    for script in scripts:
        page = html / "auto_examples" / f"{script.stem}.html"
        assert page.is_file(), f"{script.name} has no gallery page"
        expected = _sounds_in(script)
        found = _parse(page).audio
        if expected and found < expected:
            short[script.name] = f"{found} <audio> for {expected} sounds"
    assert not short, short
    assert sum(_sounds_in(s) for s in scripts) >= len(scripts), "every example should play something"
