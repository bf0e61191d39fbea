"""``specimg studio FILE``: the spectral editor in the browser, served until Ctrl-C."""

from __future__ import annotations

from typing import get_args

import click

from ..typing import Quality

__all__ = ["studio"]


@click.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--port", type=click.IntRange(0, (1 << 16) - 1), default=None, help="Port on 127.0.0.1 (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Only print the URL (with its token); do not open a browser.")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Where 'save' writes. [default: FILE's stem + .edited.png beside it]")
@click.option("--quality", type=click.Choice(get_args(Quality)), default="fast", show_default=True,
              help="Phase reconstruction of the edited parts when playing.")  # fmt: skip
def studio(path: str, port: int | None, no_browser: bool, output: str | None, quality: str) -> None:
    """Open FILE (a specimg PNG/TIFF, or audio, encoded with its phase) in the studio.

    Prints 'specimg studio: http://127.0.0.1:PORT/?token=TOKEN' and serves until Ctrl-C.
    The history is autosaved beside FILE (FILE.studio.json) and restored on reopening.
    """
    import webbrowser

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        from ..errors import ParameterError

        raise ParameterError('the studio needs its server: pip install "specimg[studio]"') from None
    from ..studio import load_session, serve

    session = load_session(path, output=output)
    session.quality = quality
    s = serve(session, port=port).start()  # the URL is printed once the server answers
    click.echo(f"specimg studio: {s.url}")
    if s.session.restore_error:
        click.echo(f"specimg studio: {s.session.restore_error}", err=True)
    elif s.session.restored:
        click.echo(f"specimg studio: restored {s.session.restored} edits from {path}.studio.json", err=True)
    if not no_browser:
        webbrowser.open(s.url)
    s.serve_forever()
