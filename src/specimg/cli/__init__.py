"""The ``specimg`` command line.

Every command exits 0 on success, 1 with a one-line ``specimg: error: ...`` message on bad
input (no traceback, no output file), and 2 on a usage error. Warnings come out as
``specimg: warning: ...`` lines on stderr.

The commands live by concept in ``audio`` (encode, decode, info, demo), ``edit`` (edit,
diff), ``legacy`` (import) and ``dataset``; each parses its options, calls the library and
prints. The error and warning handling is the group's, so ``click.testing.CliRunner``
running :data:`cli` in-process behaves as the installed command does.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from .._samples import sample_data_dir
from ..errors import SpecimgError
from ..resources import memory_limit, parse_size
from .audio import decode, demo, encode, info
from .dataset import dataset
from .edit import diff, edit
from .legacy import import_

__all__ = ["main", "cli", "sample_data_dir"]


def _show_warning(message: Any, category: Any, filename: Any, lineno: Any, file: Any = None, line: Any = None) -> None:
    click.echo(f"specimg: warning: {message}", err=True)


def _python_default_filters() -> None:
    """The warning filters of a plain ``python`` run, whoever runs the command.

    In a test run (``filterwarnings = error``) or a notebook the caller's filters would
    turn a warning into an exception or hide it; the command shows its warnings the same
    way everywhere.
    """
    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


class _Specimg(click.Group):
    """The ``specimg`` group: one-line errors and warnings for every command under it."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            _python_default_filters()
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except (KeyboardInterrupt, EOFError, click.exceptions.Abort):
                click.echo(err=True)
                click.echo("specimg: aborted", err=True)
                ctx.exit(130)
            except (SpecimgError, OSError) as exc:
                click.echo(f"specimg: error: {exc}", err=True)
                ctx.exit(1)


@click.group(cls=_Specimg, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="specimg")
@click.option(
    "--max-memory",
    metavar="SIZE",
    default=None,
    callback=lambda ctx, param, value: _max_memory(value),
    help="Memory budget of one job, e.g. 2G or 512M (default: SPECIMG_MAX_MEMORY, else half the "
    "available memory). Jobs estimated to need more are refused before they start.",
)
@click.pass_context
def cli(ctx: click.Context, max_memory: str | None) -> None:
    """Turn audio into calibrated spectrogram images, and images back into audio."""
    if max_memory is not None:
        ctx.with_resource(memory_limit(max_memory))


def _max_memory(value: str | None) -> str | None:
    """``--max-memory`` checked as a size (a usage error, exit 2, if it is not one)."""
    if value is not None:
        try:
            parse_size(value, name="--max-memory")
        except SpecimgError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


for _command in (encode, decode, info, demo, edit, diff, import_, dataset):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``specimg`` command: run it with ``argv`` (default ``sys.argv[1:]``) and exit."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="specimg")
    sys.exit(0)  # pragma: no cover - click's standalone mode exits itself
