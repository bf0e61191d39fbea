"""The ``specimg`` command line.

Every command exits 0 on success and 1 with a one-line ``specimg: error: ...`` message on
bad input, a usage error included (an unknown option, a value that is not one of the
choices, a missing argument): no usage block, no traceback, no output file. Warnings come
out as ``specimg: warning: ...`` lines on stderr.

The commands live by concept in ``audio`` (encode, decode, info, demo), ``edit`` (edit,
diff), ``legacy`` (import) and ``dataset``; each parses its options, calls the library and
prints. The error and warning handling is the group's (:class:`_Specimg`), so
``click.testing.CliRunner`` running :data:`cli` in-process behaves as the installed command
does.

The command modules import the library's heavy parts (librosa, scipy, numba, Pillow,
tifffile, the codec) inside the command functions, so that ``specimg --help`` and
``specimg info`` start fast.
"""

from __future__ import annotations

import os
import signal
import sys


def _aborted_at_start(signum: int, frame: object) -> None:
    """Ctrl-C while the command's modules import: the one line, no traceback (nothing is written yet)."""
    os.write(2, b"specimg: aborted\n")
    os._exit(130)


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C while a command runs: recorded (:data:`specimg.resources.SIGINT_SEEN`), then a
    ``KeyboardInterrupt`` as Python's own handler raises it."""
    from ..resources import SIGINT_SEEN

    SIGINT_SEEN.set()
    signal.default_int_handler(signum, frame)  # type: ignore[arg-type]


def _is_the_program() -> bool:
    """Whether this process is the ``specimg`` command (console script, ``python -m specimg``), not a caller's."""
    run = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    folder, name = os.path.split(run)
    return name in ("specimg", "specimg.exe", "specimg-script.py") or (
        name == "__main__.py" and "specimg" in (os.path.basename(folder), os.path.basename(os.path.dirname(folder)))
    )


if _is_the_program() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    try:  # first of all: the imports below take a good part of a second
        signal.signal(signal.SIGINT, _aborted_at_start)  # main() hands Ctrl-C back to the commands' handlers
    except ValueError:  # not the main thread
        pass

import threading
import warnings
from collections.abc import Sequence
from typing import Any

import click  # after the start-up's Ctrl-C handler

from .. import __version__
from .._samples import sample_data_dir
from ..errors import SpecimgError
from ..resources import memory_limit, parse_size
from .audio import decode, demo, encode, info
from .dataset import dataset
from .edit import diff, edit
from .legacy import import_
from .studio import studio

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
    """The ``specimg`` group: one-line errors and warnings for every command under it.

    :meth:`main` turns click's usage errors (of the group and of every command under it)
    into one ``specimg: error: ...`` line and exit status 1; :meth:`invoke` does the same
    for the library's errors and shows warnings as lines.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line ``args``; in standalone mode, exit with its status.

        Parameters
        ----------
        args : sequence of str or None
            The arguments (default ``sys.argv[1:]``).
        prog_name : str or None
            The command's name in messages (default: from ``sys.argv[0]``).
        complete_var : str or None
            click's shell-completion variable.
        standalone_mode : bool
            True (the command line, ``CliRunner``): print a usage error as one line
            ``specimg: error: ...`` and exit 1, an interruption as ``specimg: aborted``
            and exit 130, and exit 0 on success. False: click's own behaviour, for
            callers that handle click's exceptions themselves.
        **extra
            Passed on to :meth:`click.Command.main` (``windows_expand_args``) and to
            the context.

        Returns
        -------
        Any
            Only with ``standalone_mode=False``: what click returns.

        Raises
        ------
        SystemExit
            In standalone mode, always: 0 success (``--help`` and ``--version`` too),
            1 bad input, 2 some files of a folder failed, 130 interrupted.
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:  # click.UsageError and its kinds, click.FileError
            click.echo(f"specimg: error: {_click_error_line(exc)}", err=True)
            sys.exit(1)
        except (KeyboardInterrupt, EOFError, click.exceptions.Abort):
            # while the arguments are parsed; :meth:`invoke` handles the commands' own
            # (click has already closed the terminal's ^C echo with a blank line)
            click.echo("specimg: aborted", err=True)
            sys.exit(130)
        # click returns the status of ctx.exit(...) (--help, an error, a folder with failures)
        # or the command's return value, None for every specimg command
        sys.exit(status if isinstance(status, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command of ``ctx``, its warnings as lines and the library's errors as one line."""
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


def _click_error_line(exc: click.ClickException) -> str:
    """The message of one of click's errors as one line: what is wrong, and where to look.

    The option or argument goes first (``--bit-depth: '12' is not one of '8', '16',
    '32'``); a missing command lists the commands, a missing argument shows the usage, and
    a usage error ends with the ``--help`` of the command it is about.
    """
    ctx = getattr(exc, "ctx", None)
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2
    no_command = getattr(click.exceptions, "NoSuchCommand", ())  # click >= 8.4
    if isinstance(exc, no_args) and ctx is not None:  # `specimg` or `specimg dataset` alone
        text = f"no command given; {_commands_of(ctx)}"
    elif isinstance(exc, no_command) and ctx is not None and not exc.possibilities:
        text = f"{exc.format_message().rstrip('.')}; {_commands_of(ctx)}"
    elif isinstance(exc, (click.MissingParameter, click.BadArgumentUsage)) and ctx is not None:
        text = f"{exc.format_message().rstrip('.')}; {ctx.get_usage().replace('Usage: ', 'usage: ', 1)}"
    elif isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter):
        name = _parameter_name(exc)
        text = exc.format_message() if name is None else f"{name}: {exc.message}"
    else:
        text = exc.format_message()
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    if text[:1].isupper() and text[1:2].islower():  # "No such option" as specimg's own: "no such file"
        text = text[0].lower() + text[1:]
    if ctx is not None and isinstance(exc, click.UsageError):
        text += f" (see '{ctx.command_path} --help')"
    return text


def _commands_of(ctx: click.Context) -> str:
    """``the commands are a, b, c`` for the group of ``ctx``."""
    group = ctx.command
    names = group.list_commands(ctx) if isinstance(group, click.Group) else []
    return f"the commands are {', '.join(names)}"


def _parameter_name(exc: click.BadParameter) -> str | None:
    """How the user wrote the parameter of ``exc``: ``--bit-depth``, ``KIND``; None if unknown."""
    if exc.param_hint is not None:
        hint = exc.param_hint
        return hint if isinstance(hint, str) else " / ".join(hint)
    param = exc.param
    if param is None:
        return None
    if isinstance(param, click.Option) and param.opts:
        return "/".join(param.opts)
    return param.human_readable_name


@click.group(cls=_Specimg, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="specimg")
@click.option(
    "--max-memory",
    metavar="SIZE",
    default=None,
    callback=lambda ctx, param, value: _max_memory(ctx, value),
    help="Memory budget of one job, e.g. 2G or 512M (default: SPECIMG_MAX_MEMORY, else half the "
    "available memory). Jobs estimated to need more are refused before they start.",
)
@click.pass_context
def cli(ctx: click.Context, max_memory: str | None) -> None:
    """Turn audio into calibrated spectrogram images, and images back into audio."""
    if max_memory is not None:
        ctx.with_resource(memory_limit(max_memory))


def _max_memory(ctx: click.Context, value: str | None) -> str | None:
    """``--max-memory`` checked as a size (a usage error, exit 1, if it is not one)."""
    if value is not None:
        try:
            parse_size(value, name="--max-memory")
        except SpecimgError as exc:  # its message names --max-memory and the value already
            raise click.UsageError(str(exc), ctx) from None
    return value


for _command in (encode, decode, info, demo, edit, diff, import_, dataset, studio):
    cli.add_command(_command)


def _unraisable(hook: Any) -> Any:
    """``sys.unraisablehook`` that delivers again a Ctrl-C Python could not raise, and passes on the rest.

    A Ctrl-C that lands in a C callback (numba's compiler calls back into Python through
    ctypes) cannot propagate: Python printed "Exception ignored ... KeyboardInterrupt" and
    went on, and a command without a process pool ran to its end. Here it is raised again
    in the main thread's next Python code (:func:`_thread.interrupt_main`, which runs
    :func:`_interrupt`), so the command stops with its one ``specimg: aborted`` line.
    """
    import _thread

    def unraisable(info: Any) -> None:
        if isinstance(info.exc_value, KeyboardInterrupt):
            _thread.interrupt_main()
        else:
            hook(info)

    return unraisable


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``specimg`` command: run it with ``argv`` (default ``sys.argv[1:]``) and exit.

    Run as the program (``argv`` None: the console script, ``python -m specimg``), Ctrl-C
    is ignored once the exit status is decided: it would otherwise kill the interpreter on
    its way out (status -2, no message) or interrupt its exit handlers (a traceback).
    """
    if signal.getsignal(signal.SIGINT) is _aborted_at_start:
        signal.signal(signal.SIGINT, _interrupt)
        sys.unraisablehook = _unraisable(sys.unraisablehook)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="specimg")
    except KeyboardInterrupt:  # between the group's own handlers: click's start-up, or on the way out
        _exiting(argv)
        click.echo("specimg: aborted", err=True)
        sys.exit(130)
    except SystemExit:
        _exiting(argv)
        raise
    sys.exit(0)  # pragma: no cover - click's standalone mode exits itself


def _exiting(argv: Sequence[str] | None) -> None:
    """The program is exiting: Ctrl-C from here on is ignored (not for an in-process caller).

    A Ctrl-C that interrupted a string ``exec`` (numpy's start-up runs ``exec("from
    numpy import *")``) leaves CPython's "unhandled KeyboardInterrupt" flag set even once
    the command has handled it; under ``python -m specimg`` the interpreter then kills
    itself with SIGINT on the way out (status -2 instead of 130). A string ``exec`` that
    completes clears the flag.
    """
    if argv is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        exec("pass", {})  # noqa: S102 - clears the flag (CPython's run_eval_code_obj)
