"""specimg studio: look at, select, edit and listen to a spectrogram image in the browser.

:func:`open` starts a local web server (Starlette served by uvicorn, from the ``studio``
extra: ``pip install "specimg[studio]"``) in a background thread and returns a
:class:`Studio`; ``specimg studio FILE`` does the same in the foreground. The page only
draws, selects and plays: every number comes from the library on the server
(:mod:`specimg.ops` for the edits, :func:`specimg.decode` for the sound,
:func:`specimg.save` for the file).

The server binds 127.0.0.1 on a free port and every request must carry the random token
of :attr:`Studio.url`; see :mod:`specimg.studio.server` for the other checks.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..image import SpectrogramImage
from .session import Session, check_output, default_output, open_image

#: Largest TCP port number.
MAX_PORT = (1 << 16) - 1

__all__ = ["open", "Studio", "serve", "load_session", "Session"]


def _socket(port: int | None) -> socket.socket:
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= MAX_PORT):
        raise ParameterError(f"port={port!r} must be an integer from 0 to {MAX_PORT} (0 or None: a free one)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port or 0))
    except OSError as exc:
        sock.close()
        raise ParameterError(f"port={port}: cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another port") from None
    sock.listen(64)
    return sock


def load_session(source: SpectrogramImage | str | os.PathLike[str], *, output: Any = None) -> Session:
    """A :class:`Session` on an image, or on a file (restoring its autosaved history).

    Raises
    ------
    MissingFileError, FormatError, AudioError
        If the file cannot be read.
    ParameterError
        If ``output`` is not a .png/.tif/.tiff name, or is the file itself or its autosave.

    Examples
    --------
    >>> import numpy as np, specimg
    >>> load_session(specimg.encode(np.zeros(4000), 8000)).state()["version"]
    0
    """
    if isinstance(source, SpectrogramImage):
        return Session(source, name="image", output=None if output is None else Path(output))
    path = Path(source)
    if output is not None:  # refused before the file is read
        check_output(Path(output), path)
    img, was_audio = open_image(path)
    out = Path(output) if output is not None else default_output(path, audio=was_audio)
    return Session(img, name=path.name, source=path, output=out, own=True)


def _warm_up(session: Session) -> None:
    try:
        import io

        import soundfile

        session.warm_up()
        soundfile.write(io.BytesIO(), [0.0] * 64, 8000, format="WAV", subtype="PCM_16")
    except Exception as exc:  # only a head start: the first sound will pay for it instead
        print(f"specimg studio: warm-up skipped ({type(exc).__name__}: {exc})", flush=True)


class Studio:
    """A running studio: the server, its session and its address.

    Attributes
    ----------
    url : str, the page's address with its token
    session : Session
    port : int
    """

    def __init__(self, session: Session, *, port: int | None = None) -> None:
        import uvicorn

        from .server import make_app, new_token

        self.session = session
        self.token = new_token()
        self._sock = _socket(port)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/?token={self.token}"
        app = make_app(session, self.token, [self.port])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        # the first rebuilt sound loads numba's kernels: do it now, not on the first click
        threading.Thread(target=_warm_up, args=(session,), daemon=True, name="specimg-studio-warm-up").start()

    @property
    def image(self) -> SpectrogramImage:
        """The current image, with its edit history (a copy)."""
        return self.session.image()

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C), then close.

        The server runs in its background thread (started here if it is not yet) and this
        thread waits for it, so an interrupt at any moment, even while the server starts,
        ends it cleanly: the ``KeyboardInterrupt`` reaches the caller after :meth:`close`.
        """
        if self._thread is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.2)
        finally:
            self.close()

    def start(self) -> Studio:
        """Serve in a background thread; returns once the server accepts requests."""
        self._server.config.install_signal_handlers = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True,
                                        name=f"specimg-studio-{self.port}")  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def close(self) -> None:
        """Stop the server and remove the session's undo blocks on disk (the autosaved history stays beside the file)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()
        self.session.close()

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _repr_html_(self) -> str:
        return f'<iframe src="{self.url}" width="100%" height="720" style="border:0"></iframe>'

    def __repr__(self) -> str:
        return f"Studio({self.session.name!r}, url={self.url!r})"


def open(  # noqa: A001 - the studio's verb, as webbrowser.open
    img_or_path: SpectrogramImage | str | os.PathLike[str],
    *,
    port: int | None = None,
    open_browser: bool = True,
    output: str | os.PathLike[str] | None = None,
) -> Studio:
    """Open the studio on an image or a file, served in a background thread.

    Parameters
    ----------
    img_or_path : SpectrogramImage, or the path of a specimg PNG/TIFF or an audio file
        An audio file is encoded with ``store_phase=True``. For a file, the history is
        autosaved to ``<file>.studio.json`` after every edit and restored on reopening.
    port : int or None
        Port on 127.0.0.1; None: a free one.
    open_browser : bool
        Open the page in the default browser.
    output : path or None
        Where "save" writes; default ``<stem>.edited.png`` beside the file (``.tif`` for a
        TIFF). An image given in memory has no output unless one is given.

    Returns
    -------
    Studio
        ``.url`` (with the token), ``.image`` (the current image), ``.close()``; in
        Jupyter it shows the page inline.

    Raises
    ------
    MissingFileError, FormatError, AudioError
        If the file cannot be read.
    ParameterError
        If the port is taken or invalid, or ``output`` is not a .png/.tif/.tiff name or is
        the file itself or its autosave.

    Examples
    --------
    >>> import numpy as np, specimg, specimg.studio
    >>> img = specimg.encode(0.1 * np.sin(np.arange(22050) / 5), 22050)
    >>> studio = specimg.studio.open(img, open_browser=False)
    >>> studio.url.startswith("http://127.0.0.1:")
    True
    >>> studio.close()
    """
    studio = serve(load_session(img_or_path, output=output), port=port).start()
    if open_browser:
        webbrowser.open(studio.url)
    return studio


def serve(session: Session, *, port: int | None = None) -> Studio:
    """A :class:`Studio` on ``session``, not started yet (:meth:`Studio.start` or :meth:`Studio.serve_forever`).

    Examples
    --------
    >>> import numpy as np, specimg
    >>> s = serve(Session(specimg.encode(np.zeros(4000), 8000)))
    >>> s.port > 0
    True
    >>> s.close()
    """
    return Studio(session, port=port)
