"""Usage errors of the ``specimg`` command, what it imports to start, and how it is interrupted.

Every usage error click finds, in every command (a value that is not one of the choices, an
unknown option, a missing argument or option, an option without its value, an unknown
command), ends as docs/guide/usage.md promises for bad input: exit status 1 and one line
``specimg: error: ...`` on stderr that names the option and what it takes; no usage
block, no traceback, no output file. ``--help`` and ``--version`` still exit 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import specimg
import specimg.cli
from specimg.cli import cli

from .test_cli import assert_one_line_error, listing, run

# (arguments, fragments the error line must hold); no file needs to exist: click refuses
# these before a command runs
USAGE_ERRORS = [
    # a value that is not one of the choices: the option, the value, the choices
    pytest.param(["encode", "in.wav", "out.png", "--bit-depth", "12"],
                 ["--bit-depth", "'12'", "'8', '16', '32'", "specimg encode --help"], id="encode-bit-depth"),
    pytest.param(["encode", "in.wav", "out.png", "--scale", "log"], ["--scale", "'log'", "'linear', 'mel'"],
                 id="encode-scale"),
    pytest.param(["decode", "x.png", "y.wav", "--quality", "ultra"],
                 ["--quality", "'ultra'", "'fast', 'balanced', 'high'", "specimg decode --help"],
                 id="decode-quality"),
    pytest.param(["demo", "--quality", "best"], ["--quality", "'best'", "'balanced'"], id="demo-quality"),
    # a value of the wrong type or out of range
    pytest.param(["encode", "in.wav", "out.png", "--n-fft", "abc"], ["--n-fft", "'abc'", "integer"],
                 id="encode-n-fft-not-int"),
    pytest.param(["encode", "in.wav", "out.png", "--phase-bits", "4"], ["--phase-bits", "4", "8<=x<=16"],
                 id="encode-phase-bits-range"),
    pytest.param(["encode", "in.wav", "out.png", "--ref", "loud"], ["--ref", "'loud'", "'max'"],
                 id="encode-ref-custom-type"),
    pytest.param(["decode", "x.png", "y.wav", "--n-iter", "-1"], ["--n-iter", "-1", "x>=0"], id="decode-n-iter"),
    pytest.param(["edit", "x.png", "y.png", "--fade", "-1", "--gain", "3"], ["--fade", "-1", "x>=0"],
                 id="edit-fade"),
    pytest.param(["--max-memory", "lots", "info", "x.png"], ["--max-memory", "'lots'", "2G", "specimg --help"],
                 id="max-memory"),
    # unknown options, misspelt ones, an option without its value, extra arguments
    pytest.param(["encode", "in.wav", "out.png", "--bogus"], ["'--bogus'", "specimg encode --help"],
                 id="encode-unknown-option"),
    pytest.param(["encode", "in.wav", "out.png", "--bit-dept", "8"], ["'--bit-dept'", "'--bit-depth'"],
                 id="encode-misspelt-option"),
    pytest.param(["encode", "in.wav", "out.png", "--n-fft"], ["'--n-fft'", "requires an argument"],
                 id="encode-option-without-value"),
    pytest.param(["encode", "in.wav", "out.png", "third.png"], ["extra argument", "third.png"],
                 id="encode-extra-argument"),
    pytest.param(["--bogus", "info", "x.png"], ["'--bogus'", "specimg --help"], id="group-unknown-option"),
    # missing arguments and options: the usage shows what goes where
    pytest.param(["encode", "in.wav"], ["'OUT'", "specimg encode [OPTIONS] IN OUT"], id="encode-missing-out"),
    pytest.param(["info"], ["'FILE'", "specimg info [OPTIONS] FILE"], id="info-missing-file"),
    pytest.param(["diff", "a.png"], ["'B'", "specimg diff [OPTIONS] A B"], id="diff-missing-b"),
    # commands: unknown, misspelt, none
    pytest.param(["nosuch"], ["'nosuch'", "dataset, decode, demo, diff, edit, encode, import, info"],
                 id="unknown-command"),
    pytest.param(["inf", "x.png"], ["'inf'", "'info'"], id="misspelt-command"),
    pytest.param([], ["no command given", "dataset, decode, demo, diff, edit, encode, import, info"],
                 id="no-command"),
    # specimg dataset ...
    pytest.param(["dataset"], ["no command given", "build, decode, stats", "specimg dataset --help"],
                 id="dataset-no-command"),
    pytest.param(["dataset", "nope"], ["'nope'", "build, decode, stats"], id="dataset-unknown-command"),
    pytest.param(["dataset", "build", "audio", "tiles", "--tail", "keep"], ["--tail", "'keep'", "'pad', 'drop'"],
                 id="dataset-build-tail"),
    pytest.param(["dataset", "build", "audio", "tiles", "--bit-depth", "32"], ["--bit-depth", "'32'", "'8', '16'"],
                 id="dataset-build-bit-depth"),
    pytest.param(["dataset", "build", "audio"], ["'OUT_DIR'", "specimg dataset build [OPTIONS] AUDIO_DIR OUT_DIR"],
                 id="dataset-build-missing-out"),
    pytest.param(["dataset", "decode", "gan", "wavs"], ["'--like'", "specimg dataset decode --help"],
                 id="dataset-decode-missing-like"),
    pytest.param(["dataset", "decode", "gan", "wavs", "--like", "tiles", "--domain", "linear"],
                 ["--domain", "'linear'", "'unit', 'db'"], id="dataset-decode-domain"),
    pytest.param(["dataset", "stats", "tiles", "-n", "0"], ["-n/--n", "0", "x>=1"], id="dataset-stats-n"),
    # specimg import ...
    pytest.param(["import", "paint", "in.png", "out.png"], ["KIND", "'paint'", "'array'", "'riffusion'"],
                 id="import-kind"),
    pytest.param(["import", "figure", "in.png", "out.png", "--y-axis", "bark"], ["--y-axis", "'bark'", "'mel'"],
                 id="import-choice"),
    pytest.param(["import", "scipy", "in.npz", "out.png", "--cmap", "magma"],
                 ["--cmap", "KIND scipy", "--nperseg", "specimg import --help"], id="import-option-not-for-kind"),
    pytest.param(["import", "minmax", "in.png"], ["'OUT'", "specimg import [OPTIONS] KIND IN OUT"],
                 id="import-missing-out"),
]


@pytest.mark.parametrize("args, fragments", USAGE_ERRORS)
def test_usage_error_is_one_line_and_exit_1(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    line = assert_one_line_error(result, *fragments)
    assert "Usage:" not in line and "Error:" not in line, line  # not click's block, squeezed
    assert result.stdout == ""
    assert listing(tmp_path) == [], "a usage error writes nothing"


def test_entry_point_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """:func:`specimg.cli.main`, the console script's entry point, exits 1 with the one line too."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        specimg.cli.main(["encode", "in.wav", "out.png", "--bit-depth", "12"])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "specimg: error: --bit-depth: '12' is not one of '8', '16', '32' (see 'specimg encode --help')"
    ]
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [["--help"], ["-h"], ["encode", "--help"], ["decode", "-h"], ["info", "--help"], ["dataset", "--help"],
     ["dataset", "build", "--help"], ["import", "--help"], ["edit", "--help"]],
    ids=" ".join,
)  # fmt: skip
def test_help_exits_0(args: list[str], tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: specimg"), result.stdout
    assert result.stderr == ""


def test_version_exits_0(tmp_path: Path) -> None:
    result = run("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"specimg, version {specimg.__version__}\n", "")


def test_standalone_mode_false_raises_click_errors() -> None:
    """A caller that asks for click's non-standalone mode gets click's exceptions, not an exit."""
    import click

    with pytest.raises(click.BadParameter):
        cli.main(["encode", "in.wav", "out.png", "--bit-depth", "12"], prog_name="specimg", standalone_mode=False)


# ---------------------------------------------------------------------------- Ctrl-C
def test_interrupted_command_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while a command works: a blank line closes the ^C echo, then ``specimg: aborted``, status 130."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(specimg, "encode_file", interrupted)
    result = run("encode", "in.wav", "out.png", cwd=tmp_path)
    assert result.returncode == 130, result.stderr
    assert result.stderr.splitlines() == ["", "specimg: aborted"]
    assert listing(tmp_path) == []


@pytest.mark.parametrize("where", ["group", "command"])
def test_interrupted_while_parsing_exits_130(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the arguments are read, before the command runs, ends as it does in a
    command: a blank line closes the ^C echo, then ``specimg: aborted``, status 130; in the
    group's options (``--max-memory``) and in a command's (``encode --ref``)."""
    from specimg.cli._common import DbRef

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    if where == "group":
        monkeypatch.setattr(specimg.cli, "parse_size", interrupted)
        result = run("--max-memory", "1G", "encode", "in.wav", "out.png", cwd=tmp_path)
    else:
        monkeypatch.setattr(DbRef, "convert", interrupted)
        result = run("encode", "in.wav", "out.png", "--ref", "max", cwd=tmp_path)
    assert result.returncode == 130, result.stderr
    assert result.stderr.splitlines() == ["", "specimg: aborted"]
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------- start-up imports
#: Modules that take long to import (or pull in ones that do); the command imports them only
#: in the commands that use them, so that ``specimg --help`` starts fast.
HEAVY = ("scipy", "numba", "matplotlib", "torch", "torchvision", "skimage", "cv2", "pywt", "PIL", "soundfile",
         "tqdm", "dask", "datasets", "specimg.ops", "specimg.legacy", "specimg.dataset")  # fmt: skip

_SNAPSHOT = """
import json, sys
import specimg
floor = set(sys.modules)
import specimg.cli
print(json.dumps({"floor": sorted(floor), "all": sorted(sys.modules)}))
"""


def _heavy(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.fixture(scope="module")
def modules_at_startup() -> dict[str, list[str]]:
    """``sys.modules`` of a fresh interpreter after ``import specimg`` ("floor") and after
    ``import specimg.cli`` ("all"), as the ``specimg`` command starts."""
    done = subprocess.run([sys.executable, "-c", _SNAPSHOT], capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_cli_loads_no_heavy_module(modules_at_startup: dict[str, list[str]]) -> None:
    loaded = _heavy(modules_at_startup["all"], HEAVY)
    assert loaded == [], f"import specimg.cli imports {loaded}; import them inside the command that needs them"
    librosa_parts = [m for m in modules_at_startup["all"] if m.startswith("librosa.") and m != "librosa.version"]
    assert librosa_parts == [], f"import specimg.cli imports {librosa_parts} (librosa's lazy parts)"


def test_cli_adds_no_library_to_import_specimg(modules_at_startup: dict[str, list[str]]) -> None:
    """What ``import specimg.cli`` imports beyond ``import specimg`` is click, the standard
    library and specimg's own modules: no third-party library of its own (tifffile, Pillow...)."""
    floor = set(modules_at_startup["floor"])
    added = sorted({m.split(".")[0] for m in modules_at_startup["all"] if m not in floor})
    libraries = [m for m in added if m not in ("click", "specimg") and m not in sys.stdlib_module_names]
    assert libraries == [], f"import specimg.cli imports {libraries} beyond what import specimg does"


def test_import_cli_loads_neither_numpy_librosa_nor_tifffile(modules_at_startup: dict[str, list[str]]) -> None:
    """``import specimg`` binds its public names on first use, so ``specimg --help`` loads no numpy."""
    names = ("numpy", "scipy.ndimage", "librosa", "numba", "matplotlib", "torch", "tifffile", "skimage", "cv2")
    assert [m for m in names if m in modules_at_startup["all"]] == []
