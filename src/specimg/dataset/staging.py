"""The hidden staging folder of :func:`specimg.dataset.decode_dir`, and the removal of stale ones.

``decode_dir`` writes its WAV files into ``AUDIO_OUT/.specimg-decode-<pid>-<random>`` and
moves them into place only once all are complete; on any error or Ctrl-C the folder is
removed. A run that is killed (SIGKILL, the out-of-memory killer, a power cut) cannot
remove it, so every run first removes the staging folders in ``AUDIO_OUT`` whose process
is gone (:func:`remove_stale_stages`): the process id is in the name, and one that no
longer runs, or a folder of an earlier specimg (no id in its name) untouched for
:data:`UNOWNED_STALE_SECONDS`, is stale. A folder of a running decode is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["STAGE_PREFIX", "UNOWNED_STALE_SECONDS", "make_stage", "remove_stale_stages"]

#: Name prefix of a staging folder; the owner's process id and a random part follow.
STAGE_PREFIX = ".specimg-decode-"

#: A staging folder without a process id in its name is stale once untouched for this long.
UNOWNED_STALE_SECONDS = 3600.0

_OWNED = re.compile(re.escape(STAGE_PREFIX) + r"(\d+)-")


def make_stage(out: Path) -> Path:
    """A new staging folder in ``out``, named after this process."""
    return Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=out))


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (on Windows, where signal 0 is Ctrl-C, assumed so)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or an id we cannot ask about: not ours to judge
    return True


def remove_stale_stages(out: Path) -> list[Path]:
    """Remove the staging folders in ``out`` left by killed runs (module notes); the folders removed."""
    removed: list[Path] = []
    try:
        entries = list(out.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(STAGE_PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        owner = _OWNED.match(entry.name)
        if owner is not None:
            pid = int(owner.group(1))
            stale = pid != os.getpid() and not _running(pid)
        else:
            try:
                stale = now - entry.stat().st_mtime > UNOWNED_STALE_SECONDS
            except OSError:
                stale = False
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
