"""The code blocks of README.md and of the docs' narrative pages, run as a new user would run them.

The documents: README.md, ``docs/quickstart.md``, ``docs/coming_from.md`` and the guide pages
``docs/guide/*.md`` (the README's long sections moved there). Every fenced ``python`` and
``sh`` block runs, top to bottom within its ``##`` section, in a fresh folder per section
that holds what the blocks name: copies of ``sample_data/`` under the names the pages use
(``speech.wav``, ``music.flac``, ...) and, for the sections that start from files other
tools make, those files (tiles, legacy pictures, GAN samples, a Dask scheduler). A later
block of a section sees the names and files of the earlier ones. The README's two Quick
start commands, and the install command the docs' quick start repeats, are left to CI
(``.ci/run`` runs them).

Sybil parses the Markdown and evaluates the Python blocks (its ``PythonEvaluator`` compiles
each block with the document's line numbers, so a traceback points at the right line). Its
own pytest integration is not used: it makes every block a separate test item sharing one
namespace per document, and ``pytest -n auto`` would hand the items of one section to
different processes. Here one test runs one section.

``sh`` blocks run line by line: ``specimg ...`` in-process through click's ``CliRunner`` (as
the installed command runs it, see ``specimg.cli``), any other command (``python -c ...``)
as a subprocess with this environment's ``bin/`` first on ``PATH``. A line must exit 0.

Python blocks run with the warning filters of a plain ``python`` run; specimg's own warnings
(``AssumptionWarning``, ``LossyWarning``, ...), which the pages document, are printed, any
other warning fails the section.
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sybil import Document, Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser

from .conftest import ROOT, SAMPLE_DATA

README = ROOT / "README.md"
QUICK_START = "Quick start"
#: the documents whose code blocks run: the README and the docs' narrative pages
DOCUMENTS = [README, ROOT / "docs" / "quickstart.md", ROOT / "docs" / "coming_from.md", ROOT / "docs" / "studio.md",
             ROOT / "docs" / "speech.md",
             *sorted((ROOT / "docs" / "guide").glob("*.md"))]  # fmt: skip
#: docs/quickstart.md's section that repeats the README's first Quick start command (CI's)
INSTALL = "Install"
#: what the README's examples may warn about: specimg's documented warnings
ALLOWED_WARNING = "specimg.SpecimgWarning"
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>&1"}
#: the Dask scheduler the README's `--scheduler` line names
DASK_PORT = 8786


# ------------------------------------------------------------------------------------ parsing
@dataclass(frozen=True)
class Fence:
    """A fenced block as a plain scan of README.md sees it (independent of Sybil)."""

    line: int  # line of the opening fence, 1-based
    language: str
    section: str
    source: str


def fences(text: str) -> list[Fence]:
    """Every fenced block of ``text``: opening line, info string, ``##`` section, source."""
    found: list[Fence] = []
    section = ""
    opening: tuple[int, str, str] | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if opening is None:
            if line.startswith("## "):
                section = line[3:].strip()
            match = re.match(r"\s*(`{3,}|~{3,})(.*)$", line)
            if match:
                opening, body = (number, match.group(2).strip(), match.group(1)), []
        elif line.strip().startswith(opening[2][0] * 3) and not line.strip().strip(opening[2][0]):
            found.append(Fence(opening[0], opening[1], section, "\n".join(body)))
            opening = None
        else:
            body.append(line)
    assert opening is None, f"the fence opened on line {opening[0]} is never closed"
    return found


def section_at(text: str, position: int) -> str:
    """The ``##`` heading above character ``position`` of ``text``."""
    headings = [m.group(1).strip() for m in re.finditer(r"^## (.+)$", text[:position], re.MULTILINE)]
    return headings[-1] if headings else ""


def parse(path: Path) -> Document:
    """``path`` as a Sybil document: its python blocks and its sh blocks, in order."""
    sybil = Sybil(parsers=[PythonCodeBlockParser(), CodeBlockParser("sh", evaluator=run_sh_block)])
    return sybil.parse(path)


def examples_by_section(document: Document) -> dict[str, list[Example]]:
    """The document's examples grouped by ``##`` section, in document order."""
    sections: dict[str, list[Example]] = {}
    for example in document:
        sections.setdefault(section_at(document.text, example.start), []).append(example)
    return sections


def check_coverage(path: Path) -> dict[str, list[Fence]]:
    """The blocks to run, per section; fails unless every fenced block of ``path`` is one of
    them or the Quick start block, and every example Sybil found is a visible fenced block."""
    text = path.read_text(encoding="utf-8")
    found = fences(text)
    unknown = [f"line {f.line}: {f.language or '(no language)'}" for f in found if f.language not in ("python", "sh")]
    assert not unknown, f"{path.name}: fenced blocks neither python nor sh would not be run: {unknown}"
    document = parse(path)
    parsed = [(example.line, section_at(text, example.start)) for example in document]
    hidden = [example.line for example in document if not text.startswith(("```", "~~~"), example.start)]
    assert not hidden, f"{path.name}: examples outside fenced blocks (HTML comments?) on lines {hidden}"
    assert parsed == [(f.line, f.section) for f in found], (
        f"{path.name}: Sybil found the blocks on lines {[p[0] for p in parsed]}, "
        f"the fence scan on lines {[f.line for f in found]}"
    )
    plan: dict[str, list[Fence]] = {}
    for fence in found:
        plan.setdefault(fence.section, []).append(fence)
    if f"## {QUICK_START}\n" not in text:  # a docs page: its install command is the README's
        install = plan.pop(INSTALL, [])
        commands = [line for f in install for line in f.source.splitlines() if line.strip()]
        assert all(c in README.read_text(encoding="utf-8") for c in commands), (
            f"{path.name}: its {INSTALL!r} section must repeat README.md's Quick start commands, found {commands}"
        )
        return plan
    quick = plan.pop(QUICK_START, [])
    commands = [line for f in quick for line in f.source.splitlines() if line.strip()]
    assert [f.language for f in quick] == ["sh"] and len(commands) == 2, (
        f"{path.name}: Quick start must be one sh block of exactly two commands (.ci/run parses it), "
        f"found {len(quick)} block(s), {len(commands)} command(s)"
    )
    return plan


def slug(section: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")


# ------------------------------------------------------------------------------------ running
def _venv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_sh_block(example: Example) -> None:
    """Run every command line of an sh block in the current folder; each must exit 0."""
    from click.testing import CliRunner

    from specimg.cli import cli

    for offset, line in enumerate(str(example.parsed).splitlines(), start=1):
        args = shlex.split(line, comments=True)
        if not args:
            continue
        where = f"{Path(example.path).name} line {example.line + offset}"
        operators = sorted(SHELL_OPERATORS.intersection(args))
        assert not operators, f"{where}: {line!r} needs a shell ({', '.join(operators)}); write one command per line"
        start = time.perf_counter()
        if args[0] == "specimg":
            result = CliRunner().invoke(cli, args[1:], prog_name="specimg")
            code, output = result.exit_code, result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(f"{where}: {line!r} raised\n{output}") from result.exception
        else:
            done = subprocess.run(args, capture_output=True, text=True, env=_venv_env(), timeout=300, check=False)
            code, output = done.returncode, done.stdout + done.stderr
        print(f"$ {line}   [{time.perf_counter() - start:.1f} s]\n{output.rstrip()}")
        assert code == 0, f"{where}: {line!r} exited with status {code}\n{output}"


@contextlib.contextmanager
def plain_python_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record warnings under the filters of a plain ``python`` run (not the suite's ``error``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        yield caught


def run_examples(examples: list[Example], on_run: Callable[[Example], None] = lambda example: None) -> None:
    """Evaluate ``examples`` in order; a failing block, or a warning not specimg's, raises."""
    import specimg

    for example in examples:
        kind = "sh" if example.region.evaluator is run_sh_block else "python"
        print(f"--- {Path(example.path).name} line {example.line} ({kind})")
        start, cpu = time.perf_counter(), time.process_time()
        with plain_python_warnings() as caught:
            example.evaluate()
        foreign = [w for w in caught if not issubclass(w.category, specimg.SpecimgWarning)]
        for w in caught:
            print(f"{w.category.__name__}: {w.message}")
        assert not foreign, (
            f"{Path(example.path).name} line {example.line}: warnings other than {ALLOWED_WARNING}s: "
            + "; ".join(f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in foreign)
        )
        print(f"--- ok in {time.perf_counter() - start:.1f} s ({time.process_time() - cpu:.1f} s CPU in this process)")
        on_run(example)


# ------------------------------------------------------------------------------------ inputs
def common_inputs(folder: Path) -> None:
    """The sample audio and pictures under the README's names, and music.flac made from music.wav."""
    import soundfile

    for name in ("speech.wav", "speech.png", "music.wav", "music.png"):
        shutil.copyfile(SAMPLE_DATA / name, folder / name)
    y, sr = soundfile.read(SAMPLE_DATA / "music.wav")
    soundfile.write(folder / "music.flac", y, sr)


def recordings(folder: Path) -> Path:
    """A recordings folder with a class folder per sample file."""
    for name in ("speech", "music"):
        (folder / name).mkdir(parents=True)
        shutil.copyfile(SAMPLE_DATA / f"{name}.wav", folder / name / f"{name}.wav")
    return folder


@contextlib.contextmanager
def dask_scheduler() -> Iterator[None]:
    """A Dask scheduler (one in-process worker) at the README's tcp://localhost:8786.

    The port is fixed, so another run of this test on the machine may hold it for a few
    seconds: wait for it (a minute at most) rather than connect to someone else's scheduler.
    """
    import distributed

    deadline = time.monotonic() + 60
    while True:
        try:
            cluster = distributed.LocalCluster(
                host="localhost", scheduler_port=DASK_PORT, n_workers=1, threads_per_worker=2, processes=False,
                dashboard_address=":0",
            )  # fmt: skip
            break
        except (OSError, RuntimeError) as exc:  # RuntimeError: "Cluster failed to start" (port in use)
            if time.monotonic() > deadline:
                message = f"cannot start the Dask scheduler the README names, port {DASK_PORT}: {exc}"
                raise AssertionError(message) from exc
            time.sleep(1)
    with cluster:
        yield


def dataset_inputs(folder: Path, scratch: Path, stack: contextlib.ExitStack) -> None:
    """recordings/ (two classes), gan_samples/ (one generated-looking tile: the pixels of a tile
    of these recordings, without metadata, as a GAN writes them) and a Dask scheduler."""
    from PIL import Image

    from specimg.dataset import build

    recordings(folder / "recordings")
    build(folder / "recordings", scratch / "reference", size=(256, 256), workers=1)
    tile = min((scratch / "reference").rglob("*.png"))
    (folder / "gan_samples").mkdir()
    Image.fromarray(np.asarray(Image.open(tile))).save(folder / "gan_samples" / "sample_000.png")
    stack.enter_context(dask_scheduler())


def training_inputs(folder: Path, scratch: Path, stack: contextlib.ExitStack) -> None:
    """tiles/ and tiles-if/ (with an IF plane) built from the samples. 64×64 tiles, not the
    256×256 of the README's build line: decoding is about a second per tile that size."""
    from specimg.dataset import build

    audio = recordings(scratch / "recordings")
    build(audio, folder / "tiles", size=(64, 64), workers=1)
    build(audio, folder / "tiles-if", size=(64, 64), workers=1, phase="if")


def _specshow_png(S_db: np.ndarray, sr: int, path: Path) -> None:
    """A librosa.display.specshow figure without axes (magma, log axis), as from_figure wants it."""
    import librosa.display
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    librosa.display.specshow(S_db, sr=sr, cmap="magma", y_axis="log", ax=ax)
    fig.savefig(path, dpi=100)


def legacy_inputs(folder: Path, scratch: Path, stack: contextlib.ExitStack) -> None:
    """The pictures other tools make, from the samples, with the producing libraries' calls
    (as notebooks/rescue_legacy_images.ipynb makes them): a min-max PNG (22.05 kHz),
    a specshow figure of the 5.8 s of speech, figures/ with a figure of a 60 s excerpt,
    spec.npz of scipy.signal.spectrogram at 44.1 kHz, and a riffusion PNG with its EXIF tags
    (1 s of music: decoding riffusion's 4411-bin STFT takes seconds per second)."""
    import librosa
    import scipy.signal
    from PIL import Image

    import specimg
    from specimg import legacy

    y, sr = specimg.read_audio(folder / "speech.wav")
    assert sr == 22050
    S_db = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    pixels = (S_db - S_db.min()) / (S_db.max() - S_db.min()) * 255
    Image.fromarray(np.flipud(pixels).astype(np.uint8)).save(folder / "old_spectrogram.png")
    _specshow_png(S_db, sr, folder / "figure.png")

    (folder / "figures").mkdir()
    excerpt = np.tile(y, 11)[: 60 * sr]
    _specshow_png(librosa.amplitude_to_db(np.abs(librosa.stft(excerpt)), ref=np.max), sr, folder / "figures" / "a.png")

    y44 = librosa.resample(y, orig_sr=sr, target_sr=44100)
    f, t, Sxx = scipy.signal.spectrogram(y44, 44100, window="hann", nperseg=1024, noverlap=768)
    np.savez(folder / "spec.npz", f=f, t=t, Sxx=Sxx)

    music, _ = specimg.read_audio(folder / "music.wav")
    music = music.mean(axis=0)[:sr]
    rp = {"sample_rate": sr, "stereo": False, "step_size_ms": 10, "window_duration_ms": 100, "padded_duration_ms": 400,
          "num_frequencies": 512, "min_frequency": 0, "max_frequency": 10000, "power_for_image": 0.25}  # fmt: skip
    n_fft, win, hop = (int(rp[k] / 1000 * sr) for k in ("padded_duration_ms", "window_duration_ms", "step_size_ms"))
    X = np.abs(librosa.stft(music, n_fft=n_fft, hop_length=hop, win_length=win, window="hann", pad_mode="reflect"))
    M = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=512, fmin=0, fmax=10000, htk=True, norm=None) @ X
    # riffusion's image_from_spectrogram: magnitude / max, to the power 0.25, inverted, flipped, RGB
    data = (255 - np.power(M / M.max(), rp["power_for_image"]) * 255).astype(np.uint8)
    picture = Image.fromarray(data).convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    exif = picture.getexif()
    for key, value in rp.items():
        exif[legacy.RIFFUSION_EXIF_TAGS[key]] = value
    exif[legacy.RIFFUSION_EXIF_TAGS["max_value"]] = float(M.max())
    picture.save(folder / "riffusion.png", exif=exif)


#: the inputs of sections that start from files the user brings (besides the samples)
SECTION_INPUTS: dict[str, Callable[[Path, Path, contextlib.ExitStack], None]] = {
    "Datasets for GANs and diffusion models": dataset_inputs,
    "Training on specimg tiles": training_inputs,
    "Rescuing images made by other tools": legacy_inputs,
}


# ------------------------------------------------------------------------------------ tests
PLANS = {path: check_coverage(path) for path in DOCUMENTS}
CASES = [(path, section) for path, plan in PLANS.items() for section in plan]


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize(("path", "section"), CASES, ids=[f"{p.stem.lower()}-{slug(s)}" for p, s in CASES])
def test_doc_section(path: Path, section: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     record_property: Any) -> None:  # fmt: skip
    """Every block of ``section`` of ``path``, in order, in a folder holding what the blocks name."""
    folder, scratch = tmp_path / slug(section), tmp_path / "scratch"
    folder.mkdir()
    scratch.mkdir()
    ran: list[int] = []
    with contextlib.ExitStack() as stack:
        start, cpu = time.perf_counter(), time.process_time()
        common_inputs(folder)
        if section in SECTION_INPUTS:
            SECTION_INPUTS[section](folder, scratch, stack)
        print(f"inputs of {_name(path)} {section!r} in {time.perf_counter() - start:.1f} s "
              f"({time.process_time() - cpu:.1f} s CPU): {sorted(os.listdir(folder))}")  # fmt: skip
        monkeypatch.chdir(folder)
        document = parse(path)
        document.namespace["__name__"] = "__main__"  # as `python script.py` runs it
        examples = examples_by_section(document).get(section, [])
        assert [e.line for e in examples] == [f.line for f in PLANS[path][section]]
        try:
            run_examples(examples, on_run=lambda example: ran.append(example.line))
        finally:
            record_property("doc_blocks", len(ran))
    assert ran == [f.line for f in PLANS[path][section]]


def test_every_fenced_block_is_run(record_property: Any) -> None:
    """Every fenced block of every document, but the install commands CI runs, belongs to a test above."""
    total = 0
    for path in DOCUMENTS:
        plan = check_coverage(path)
        assert plan == PLANS[path]
        n = sum(len(blocks) for blocks in plan.values())
        ci_sections = (QUICK_START, INSTALL)
        assert n == sum(1 for f in fences(path.read_text(encoding="utf-8")) if f.section not in ci_sections)
        print(f"{_name(path)}: {n} code blocks in {len(plan)} sections")
        total += n
    sections = {section for plan in PLANS.values() for section in plan}
    unknown = set(SECTION_INPUTS) - sections
    assert not unknown, f"inputs for sections no document has any more: {sorted(unknown)}"
    guide = {path.stem for path in DOCUMENTS if path.parent.name == "guide"}
    linked = set(re.findall(r"\]\(docs/guide/(\w+)\.md\)", README.read_text(encoding="utf-8")))
    assert guide <= linked, f"README.md does not link the guide pages {sorted(guide - linked)}"
    record_property("doc_blocks_expected", total)
    print(f"{total} code blocks in {len(DOCUMENTS)} documents (+ the Quick start commands, which CI runs)")


# ------------------------------------------------------------------------------------ the harness itself
def _doc(tmp_path: Path, text: str) -> dict[str, list[Example]]:
    path = tmp_path / "DOC.md"
    path.write_text(text, encoding="utf-8")
    return examples_by_section(parse(path))


def test_harness_fails_a_python_block_that_fails(tmp_path: Path) -> None:
    text = "## A\n\n```python\nx = 1\n```\n\n```python\nprint(x + y)\n```\n\n## B\n\n```python\nx\n```\n"
    ran: list[int] = []
    with pytest.raises(NameError, match="'y'"):  # the second block sees x, not y
        run_examples(_doc(tmp_path, text)["A"], on_run=lambda e: ran.append(e.line))
    assert ran == [3]
    with pytest.raises(NameError, match="'x'"):  # a section, parsed afresh, does not see another's names
        run_examples(_doc(tmp_path, text)["B"])


def test_harness_fails_a_foreign_warning(tmp_path: Path) -> None:
    sections = _doc(tmp_path, "## A\n\n```python\nimport warnings\nwarnings.warn('odd', RuntimeWarning)\n```\n")
    with pytest.raises(AssertionError, match="RuntimeWarning: odd"):
        run_examples(sections["A"])


def test_harness_fails_an_sh_line_that_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sections = _doc(tmp_path, "## A\n\n```sh\nspecimg --version   # fine\n\nspecimg info missing.png\n```\n")
    with pytest.raises(AssertionError, match=r"DOC.md line 6: 'specimg info missing.png' exited with status 1"):
        run_examples(sections["A"])
    for line in ("python -c 'import sys; sys.exit(3)'", "python -c 'print(1)' && specimg --version"):
        sections = _doc(tmp_path, f"## A\n\n```sh\n{line}\n```\n")
        with pytest.raises(AssertionError, match="exited with status 3|needs a shell"):
            run_examples(sections["A"])


def test_coverage_check_refuses_blocks_it_would_not_run(tmp_path: Path) -> None:
    quick = "## Quick start\n\n```sh\necho one\necho two\n```\n"
    path = tmp_path / "DOC.md"
    path.write_text(quick + "## A\n\n```python\nx = 1\n```\n", encoding="utf-8")
    assert [f.line for f in check_coverage(path)["A"]] == [9]
    for extra, message in [
        ("```bash\nls\n```\n", "neither python nor sh"),
        ("```\nls\n```\n", "neither python nor sh"),
        ("<!-- invisible-code-block: python\nx = 2\n-->\n", "outside fenced blocks"),
    ]:
        path.write_text(quick + "## A\n\n" + extra, encoding="utf-8")
        with pytest.raises(AssertionError, match=message):
            check_coverage(path)
    path.write_text(quick.replace("echo two\n", "") + "## A\n\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="exactly two commands"):
        check_coverage(path)


def test_the_readme_links_point_to_files() -> None:
    """Every relative link and picture of README.md names a file of the repository."""
    text = README.read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]
    assert len(targets) >= 8, targets
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).is_file()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
