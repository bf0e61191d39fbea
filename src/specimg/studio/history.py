"""The studio's history on disk: the autosave beside the source file, its restore on
reopening, the exported history, and history entries redone as studio edits."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_path
from ..errors import ParameterError, SpecimgError

if TYPE_CHECKING:
    from .session import Session

__all__ = ["autosave_path", "backup_path", "history_json", "apply_record", "autosave", "restore_session", "source_id"]


def autosave_path(source: Path) -> Path:
    """Where the session of ``source`` is autosaved: ``<source>.studio.json``.

    >>> autosave_path(Path("a/speech.png")).as_posix()
    'a/speech.png.studio.json'
    """
    return source.with_name(source.name + ".studio.json")


def history_json(edits: list[dict[str, Any]]) -> str:
    """The exported history: ``{"specimg_history": 1, "edits": [...]}``.

    >>> history_json([{"op": "erase"}])
    '{"specimg_history": 1, "edits": [{"op": "erase"}]}'
    """
    return json.dumps({"specimg_history": 1, "edits": edits}, allow_nan=False)


def apply_record(session: Session, record: Mapping[str, Any]) -> None:
    """Redo one history entry (as :func:`specimg.ops.replay` would) through :meth:`Session.edit`.

    Raises
    ------
    ParameterError
        If the entry cannot be redone in the studio or does not fit the image.
    """
    e = dict(record)
    op = e.get("op")
    if op in ("erase", "gain") and "selection" not in e:
        sel = {"kind": "rect", "time": e.get("time"), "freq": e.get("freq"), "fade": e.get("fade", 0.02),
               "fade_hz": e.get("fade_hz"), "channel": None}  # fmt: skip
        session.edit(str(op), sel, {"db": e.get("db")} if op == "gain" else {})
    elif op == "apply_mask" and "selection" in e:
        session.edit("mask", e["selection"], {"db": e.get("db")})
    elif op == "inpaint" and "selection" in e:
        session.edit("heal", e["selection"], {"method": e.get("method"), "radius": e.get("radius") or 3.0})
    elif op == "denoise":
        rect = {"kind": "rect", "time": e.get("time"), "freq": e.get("freq"), "fade": e.get("fade", 0.02),
                "fade_hz": e.get("fade_hz"), "channel": None}  # fmt: skip
        region = "time" in e or "freq" in e
        args = {k: v for k, v in e.items() if k not in ("op", "time", "freq", "fade", "fade_hz")}
        session.edit("denoise", rect if region else None, args)
    elif op == "apply" and "kwargs" in e:
        session.edit("apply", None, {"function": e.get("func"), "kwargs": e["kwargs"], "domain": e.get("domain", "db")})
    else:
        raise ParameterError(f"history entry {op!r:.40} cannot be redone in the studio")


def source_id(session: Session) -> dict[str, Any]:
    """What identifies the session's source file in its autosave: name, size, mtime and a
    digest of the image's pixels as opened (copies that keep name, size and mtime, as
    ``cp -p`` and ``rsync -t`` make, still differ by their content)."""
    assert session.source is not None
    st = session.source.stat()
    return {"name": session.source.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "digest": session.source_digest()}  # fmt: skip


def backup_path(source: Path) -> Path:
    """Where an autosave that could not be restored in full is kept: ``<source>.studio.json.bak``.

    >>> backup_path(Path("a/speech.png")).as_posix()
    'a/speech.png.studio.json.bak'
    """
    return source.with_name(source.name + ".studio.json.bak")


def autosave(session: Session) -> None:
    """Write the history beside the source file (atomically); errors are kept in the state.

    Nothing is written while the autosave is being restored. After a partial restore the
    autosave is first copied to :func:`backup_path`, so the edits that could not be
    redone are not lost when the new history replaces it.
    """
    if session.source is None or session.restoring:
        return
    try:
        if session.restore_error is not None and not backup_path(session.source).exists():
            import shutil

            shutil.copy2(autosave_path(session.source), backup_path(session.source))
        text = json.dumps({"specimg_studio": 1, "source": source_id(session), "edits": session.edits(),
                           "noise_profile": session.noise_profile}, allow_nan=False)  # fmt: skip
        with atomic_path(autosave_path(session.source)) as tmp:
            tmp.write_text(text, encoding="utf-8")
        session.autosave_error = None
    except (OSError, SpecimgError) as exc:
        session.autosave_error = f"could not autosave the history: {exc}"


def restore_session(session: Session) -> None:
    """Replay the autosaved history of the session's source, if it is this file's.

    Every entry that can be redone is; at the first that cannot (or runs out of memory)
    the replay stops, :attr:`Session.restored` counts the entries redone and
    ``Session.restore_error`` says "restored k of n edits" and why. The autosave itself is
    not rewritten while restoring, and stays as it was until the next edit, undo or redo.
    """
    from ..jsonfile import read_json

    assert session.source is not None
    path = autosave_path(session.source)
    if not path.is_file():
        return
    try:
        data = read_json(path, max_bytes=64 << 20)
    except (OSError, SpecimgError, ValueError) as exc:
        session.restore_error = f"{path.name}: the autosaved session could not be read ({exc})"
        warnings.warn(session.restore_error, stacklevel=3)
        return
    if not isinstance(data, dict) or data.get("source") != source_id(session):
        return  # another version of the file: its session does not apply
    edits = data.get("edits")
    edits = edits if isinstance(edits, list) else []
    session.restoring = True
    try:
        for k, record in enumerate(edits):
            try:
                session.apply_record(record)
            except (SpecimgError, ValueError, TypeError, KeyError, MemoryError) as exc:
                message = " ".join(str(exc).split())
                session.restore_error = (f"restored {k} of {len(edits)} edits from {path.name}: edit {k + 1} "
                                         f"could not be redone ({message[:200]}); the autosave is kept until the next "
                                         f"edit, then as {backup_path(session.source).name}")  # fmt: skip
                warnings.warn(session.restore_error, stacklevel=3)
                break
        profile = data.get("noise_profile")
        if isinstance(profile, list) and len(profile) == 4 and all(isinstance(v, (int, float)) for v in profile):
            session.noise_profile = [float(v) for v in profile]
    finally:
        session.restoring = False
    session.restored = session.pos
    session.saved_version = session.version
