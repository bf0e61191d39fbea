"""The studio's HTTP side: a Starlette app over one :class:`~specimg.studio.session.Session`.

Every request must come to ``127.0.0.1:PORT`` or ``localhost:PORT`` (``Host``; no DNS
rebinding), from the page itself when it says where it comes from (``Origin``), and carry
the session's token (query ``token=`` or header ``X-Specimg-Token``); bodies are at most
1 MiB. Only the routes below exist: the page's assets come from a fixed table of names
read from the package, and no path from a request ever reaches the file system. Errors
are one line of JSON, ``{"error": "..."}``, also printed on the console.
"""

from __future__ import annotations

import base64
import io
import re
import secrets
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from ..errors import MissingFileError, ParameterError, ResourceError, SpecimgError
from ..jsonfile import read_json
from ..ops import APPLY_FUNCTIONS, DENOISE_OPTIONS, selection_bounds, selection_mask
from .render import COLORMAPS, FREQ_AXES, VIEW_FORMATS, Pyramid, View, axes, colorbar, overlay, query_number, render
from .session import OPS, WHOLE_IMAGE_OPS, Session, history_json

__all__ = ["make_app", "MAX_BODY", "STATIC_FILES", "new_token"]

#: Largest request body, in bytes.
MAX_BODY = 1 << 20
#: The page's assets by name → media type; nothing else is served from the package.
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "studio.js": "text/javascript; charset=utf-8",
    "studio_view.js": "text/javascript; charset=utf-8",
    "studio_tools.js": "text/javascript; charset=utf-8",
    "studio_audio.js": "text/javascript; charset=utf-8",
    "studio.css": "text/css; charset=utf-8",
}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def new_token() -> str:
    """A random URL-safe token of 43 characters.

    >>> len(new_token())
    43
    """
    return secrets.token_urlsafe(32)


def _log(line: str) -> None:
    print(f"specimg studio: {line}", file=sys.stderr, flush=True)


async def _json_error(send: Send, status: int, message: str, method: str = "", path: str = "") -> None:
    import json

    message = " ".join(str(message).split())
    _log(f"{status} {method} {path}: {message}".replace("  ", " "))
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: Host, Origin, token and body size, before any route runs."""

    def __init__(self, app: Any, token: str, port_ref: list[int]) -> None:
        self.app, self.token, self.port_ref = app, token, port_ref

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        method, path = scope.get("method", ""), scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        port = self.port_ref[0]
        hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        if headers.get("host") not in hosts:
            return await _json_error(send, 403, f"Host {headers.get('host')!r:.60} is not this studio; open http://127.0.0.1:{port}/", method, path)
        origin = headers.get("origin")
        if origin is not None and origin not in {f"http://{h}" for h in hosts}:
            return await _json_error(send, 403, f"requests from {origin!r:.60} are refused: only the studio's own page may call it", method, path)
        from urllib.parse import parse_qs

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = headers.get("x-specimg-token") or (query.get("token") or [""])[0]
        if not given or not secrets.compare_digest(given.encode(), self.token.encode()):
            return await _json_error(send, 403, "missing or wrong token: open the URL with ?token=... that the studio printed", method, path)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await _json_error(send, 413, f"request body of {length:.20} bytes is over the {MAX_BODY} byte limit", method, path)
        # the body is read here, up to the limit, before any route (or Starlette's error page) runs
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > MAX_BODY:
                return await _json_error(send, 413, f"request body is over the {MAX_BODY} byte limit", method, path)
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body: bytes | None = b"".join(chunks)

        async def buffered() -> dict[str, Any]:
            nonlocal body
            if body is not None:
                message, body = {"type": "http.request", "body": body, "more_body": False}, None
                return message
            return await receive()

        started = False

        async def tracking(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, buffered, tracking)
        except Exception as exc:  # a JSON line, never a traceback, for what escaped a route
            if not started:
                await _json_error(send, 500, _internal(exc), method, path)
            else:
                _log(f"500 {method} {path}: {_internal(exc)}")


def _internal(exc: BaseException) -> str:
    """``internal error: <one line>`` for an unexpected exception.

    >>> _internal(ZeroDivisionError("division by zero"))
    'internal error: ZeroDivisionError: division by zero'
    """
    return "internal error: " + " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _status(exc: Exception) -> int:
    if isinstance(exc, MissingFileError):
        return 404
    if isinstance(exc, ResourceError):
        return 507
    if isinstance(exc, SpecimgError):
        return 422
    return 500


def make_app(session: Session, token: str, port_ref: list[int]) -> Any:
    """The Starlette app of ``session`` behind :class:`Guard` (``port_ref[0]``: the port served)."""
    from importlib import resources

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    pyramids: dict[str, Pyramid] = {}
    pyramid_lock = threading.Lock()

    def pyramid(which: str) -> Pyramid:
        with pyramid_lock:
            if which not in pyramids:
                pixels = session.original if which == "original" else session.pixels
                pyramids[which] = Pyramid(pixels, session.params)
            return pyramids[which]

    pyramid("edited")
    session.listeners.append(lambda a, b: pyramids["edited"].update(a, b) if "edited" in pyramids else None)

    def which_of(q: Any) -> str:
        which = q.get("which") or "edited"
        if which not in ("edited", "original"):
            raise ParameterError(f"which={which!r:.20} must be 'edited' or 'original'")
        return str(which)

    def state() -> dict[str, Any]:
        return session.state()

    async def body_of(request: Request) -> Any:
        data = await request.body()
        return read_json(data, what="request body", max_bytes=MAX_BODY) if data.strip() else {}

    def handler(func: Callable[..., Any]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            try:
                if request.method == "POST":
                    body = await body_of(request)
                    result = await run_in_threadpool(func, request, body)
                else:
                    result = await run_in_threadpool(func, request)
            except Exception as exc:  # one line for every error, the session untouched
                message = str(exc) if isinstance(exc, SpecimgError) else _internal(exc)
                message = " ".join(message.split())
                status = _status(exc)
                _log(f"{status} {request.method} {request.url.path}: {message}")
                return JSONResponse({"error": message}, status_code=status, headers={"cache-control": "no-store"})
            if isinstance(result, Response):
                return result
            return JSONResponse(result, headers={"cache-control": "no-store"})

        return run

    def page(request: Request) -> Response:
        return static_file("index.html")

    def static_file(name: str) -> Response:
        if name not in STATIC_FILES:
            raise MissingFileError(f"/static/{name[:60]}: no such asset")
        try:
            data = (resources.files("specimg.studio") / "static" / name).read_bytes()
        except (FileNotFoundError, OSError):
            raise MissingFileError(f"/static/{name}: the page's file is missing from the installation") from None
        if name == "index.html":
            text = re.sub(r'(/static/[A-Za-z0-9_.-]+)(?=["\'])', lambda m: f"{m.group(1)}?token={token}", data.decode())
            data = text.encode()
        return Response(data, media_type=STATIC_FILES[name], headers={"cache-control": "no-store",
                                                                       "x-content-type-options": "nosniff"})

    def static(request: Request) -> Response:
        return static_file(request.path_params["name"])

    def info(request: Request) -> dict[str, Any]:
        p = session.params
        return {
            "name": session.name, "sr": p.sr, "n_channels": p.n_channels, "n_bins": p.n_bins,
            "n_frames": session.n_frames, "duration": p.output_length(session.n_frames) / p.sr, "scale": p.scale,
            "fmin": p.fmin if p.scale == "mel" else 0.0, "fmax": p.fmax if p.scale == "mel" else p.sr / 2,
            "db_min": p.db_min, "db_max": p.db_max, "hop_length": p.hop_length, "n_fft": p.n_fft,
            "bit_depth": p.bit_depth, "has_phase": session.phase is not None, "colormaps": list(COLORMAPS),
            "freq_axes": list(FREQ_AXES), "ops": list(OPS), "apply_functions": list(APPLY_FUNCTIONS),
            "whole_image_ops": list(WHOLE_IMAGE_OPS), "denoise_methods": list(DENOISE_OPTIONS),
            "view_formats": list(VIEW_FORMATS),
            "output": None if session.output is None else session.output.name, "state": state(),
        }  # fmt: skip

    def view(request: Request) -> Response:
        q = request.query_params
        v = View(session.params, session.n_frames, dict(q))
        fmt = q.get("format") or "png"
        which = which_of(q)
        data = render(pyramid(which), v, cmap=q.get("cmap") or "magma", vmin=_opt(q, "vmin"), vmax=_opt(q, "vmax"),
                      fmt=fmt)  # fmt: skip
        if which == "original":  # the original is mapped from disk: drop the pages read (and those around them)
            session.store.release()
        media = "image/png" if fmt == "png" else "application/octet-stream"
        return Response(data, media_type=media, headers={"cache-control": "no-store"})

    def axes_(request: Request) -> dict[str, Any]:
        return axes(View(session.params, session.n_frames, dict(request.query_params)))

    def colorbar_(request: Request) -> Response:
        q = request.query_params
        png = colorbar(session.params, cmap=q.get("cmap") or "magma", height=int(_opt(q, "height") or 256),
                       vmin=_opt(q, "vmin"), vmax=_opt(q, "vmax"))  # fmt: skip
        return Response(png, media_type="image/png", headers={"cache-control": "no-store"})

    def probe(request: Request) -> dict[str, Any]:
        q = request.query_params
        p = session.params
        t, f = _opt(q, "t"), _opt(q, "f")
        if t is None or f is None:
            raise ParameterError("probe needs t= (seconds) and f= (Hz)")
        ch = q.get("channel") or "0"
        c = int(ch) if ch.isdigit() else -1
        if not 0 <= c < p.n_channels:
            raise ParameterError(f"channel={ch!r:.20} must be in [0, {p.n_channels})")
        frame = int(np.clip(np.argmin(np.abs(session.times - t)), 0, session.n_frames - 1))
        k = int(np.argmin(np.abs(p.frequencies - f)))
        row = c * p.n_bins + (p.n_bins - 1 - k if p.flip else k)
        from ..image import pixels_to_db

        with session.lock:
            db = float(pixels_to_db(session.pixels[row, frame], p))
        return {"time": float(session.times[frame]), "freq": float(p.frequencies[k]), "db": db, "channel": c}

    def selection(request: Request, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ParameterError("body must be {\"selection\": ..., \"view\": {...}}")
        sel = session.check_selection(body.get("selection"))
        v = View(session.params, session.n_frames, dict(body.get("view") or {}))
        from ..image import SpectrogramImage

        with session.lock:
            img = SpectrogramImage(session.pixels, session.params)
            png = overlay(lambda frames: selection_mask(img, sel, frames=frames), v)
        return {"overlay": "data:image/png;base64," + base64.b64encode(png).decode(),
                "bounds": selection_bounds(sel, session.params, session.n_frames), "error": None,
                "selection": sel}  # fmt: skip

    def edit(request: Request, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ParameterError("body must be {\"op\": ..., \"selection\": ..., \"args\": {...}}")
        args = body.get("args") or {}
        if not isinstance(args, dict):
            raise ParameterError("args must be an object")
        with session.lock:  # the state of this step, not of one made since
            out = session.edit(str(body.get("op")), body.get("selection"), args)
            return {"state": state(), **out}

    def undo(request: Request, body: Any) -> dict[str, Any]:
        with session.lock:  # the state of this step, not of one made since
            out = session.undo()
            return {"state": state(), **out}

    def redo(request: Request, body: Any) -> dict[str, Any]:
        with session.lock:  # the state of this step, not of one made since
            out = session.redo()
            return {"state": state(), **out}

    def audio_bytes(q: Any, fmt: str) -> bytes:
        import soundfile as sf

        quality = q.get("quality") or session.quality
        if quality not in ("fast", "balanced", "high"):
            raise ParameterError(f"quality={quality!r:.20} must be 'fast', 'balanced' or 'high'")
        y, sr = session.audio(_opt(q, "t0"), _opt(q, "t1"), which=which_of(q), quality=quality)
        buf = io.BytesIO()
        sf.write(buf, np.clip(y.T, -1.0, 1.0), sr, format=fmt.upper(), subtype="PCM_16")
        return buf.getvalue()

    def audio(request: Request) -> Response:
        return Response(audio_bytes(request.query_params, "wav"), media_type="audio/wav",
                        headers={"cache-control": "no-store"})  # fmt: skip

    def export_audio(request: Request) -> Response:
        q = request.query_params
        fmt = q.get("format") or "wav"
        if fmt not in ("wav", "flac"):
            raise ParameterError(f"format={fmt!r:.20} must be 'wav' or 'flac'")
        stem = session.name.rsplit(".", 1)[0]
        return Response(audio_bytes(q, fmt), media_type=f"audio/{fmt}",
                        headers={"content-disposition": f'attachment; filename="{_safe(stem)}.edited.{fmt}"'})

    def export_history(request: Request) -> Response:
        stem = session.name.rsplit(".", 1)[0]
        with session.lock:
            text = history_json(session.edits())
        return Response(text, media_type="application/json",
                        headers={"content-disposition": f'attachment; filename="{_safe(stem)}.history.json"'})

    def save(request: Request, body: Any) -> dict[str, Any]:
        fmt = body.get("format") if isinstance(body, dict) else None
        with session.lock:
            path = session.save(fmt)
            return {"path": path.name, "state": state()}

    async def not_found(request: Request, exc: Exception) -> Response:
        _log(f"404 {request.method} {request.url.path[:80]}: no such page")
        return JSONResponse({"error": f"{request.url.path[:80]}: no such page in the studio"}, status_code=404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        _log(f"405 {request.method} {request.url.path[:80]}: method not allowed")
        return JSONResponse({"error": f"{request.method} is not allowed on {request.url.path[:80]}"}, status_code=405)

    routes = [
        Route("/", handler(page)),
        Route("/static/{name:str}", handler(static)),
        Route("/api/info", handler(info)),
        Route("/api/view", handler(view)),
        Route("/api/axes", handler(axes_)),
        Route("/api/colorbar", handler(colorbar_)),
        Route("/api/probe", handler(probe)),
        Route("/api/selection", handler(selection), methods=["POST"]),
        Route("/api/edit", handler(edit), methods=["POST"]),
        Route("/api/undo", handler(undo), methods=["POST"]),
        Route("/api/redo", handler(redo), methods=["POST"]),
        Route("/api/save", handler(save), methods=["POST"]),
        Route("/api/audio", handler(audio)),
        Route("/api/export/audio", handler(export_audio)),
        Route("/api/export/history", handler(export_history)),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return Guard(app, token, port_ref)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100] or "studio"


def _opt(q: Any, key: str) -> float | None:
    return query_number(q, key, None)
