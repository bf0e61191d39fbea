"""Latency and peak memory of the studio's server calls on a 10-minute 44.1 kHz stereo file.

    python benchmarks/studio_server.py [--minutes 10] [--keep DIR]

Makes the file first in a child process (music-like noise + tones, encoded with
store_phase=True, saved as PNG; the time is printed), then, in a fresh child process,
opens it as ``specimg studio`` does and times the calls the page makes (through
starlette's TestClient, in-process: no browser, no network): open (load + pyramid),
info, a full view, zoomed views and pans, a selection overlay, erase over 5 s, the
sound of those 5 s with a margin, undo, gain over the whole file, the first view of
the original (A/B), save. Prints figures, one per line: each step's time and the server
process's peak resident memory during it (VmHWM, reset before each step through
/proc/self/clear_refs where Linux allows it), and the peak over the whole run. A
history autosaved beside the file by an earlier run is removed first, so every run
starts from the file alone. The page's own latency is measured in the
browser by benchmarks/studio.py.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAKE = r"""
import sys, time, numpy as np, specimg
minutes, path = float(sys.argv[1]), sys.argv[2]
sr = 44100
n = int(minutes * 60 * sr)
rng = np.random.default_rng(0)
y = np.empty((2, n), np.float32)
for c in range(2):
    for s in range(0, n, sr * 10):
        e = min(n, s + sr * 10)
        t = np.arange(s, e) / sr
        y[c, s:e] = 0.05 * rng.standard_normal(e - s) + 0.2 * np.sin(2 * np.pi * (220 * (c + 1)) * t)
t0 = time.perf_counter()
img = specimg.encode(y, sr, store_phase=True)
t1 = time.perf_counter()
specimg.save(img, path)
t2 = time.perf_counter()
import resource
print(f"encode {minutes:g} min stereo with phase: {t1 - t0:.1f} s; save PNG: {t2 - t1:.1f} s; "
      f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; image {img.shape}")
"""


def _status_kb(key: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _serve_and_time(path: str) -> None:
    import numpy as np
    from starlette.testclient import TestClient

    from specimg.studio import load_session
    from specimg.studio.server import make_app

    resettable = _reset_peak()

    peaks: list[int] = []

    def ms(t: float) -> str:
        """Time since ``t`` and the peak RSS since the last call (then reset)."""
        text = f"{1000 * (time.perf_counter() - t):.0f} ms"
        if resettable:
            peaks.append(_status_kb("VmHWM"))
            text += f" [peak {peaks[-1] / 1024:.0f} MB, now {_status_kb('VmRSS') / 1024:.0f} MB]"
            _reset_peak()
        return text

    Path(path + ".studio.json").unlink(missing_ok=True)
    t = time.perf_counter()
    session = load_session(path, output=Path(path).with_name("bench.edited.png"))
    print(f"open (load PNG + phase): {ms(t)}")
    t = time.perf_counter()
    app = make_app(session, "x" * 43, [1])
    print(f"pyramid of the edited image: {ms(t)}")
    import threading

    # as Studio does at start-up: numba's kernels loaded before the first sound
    threading.Thread(target=session.warm_up, daemon=True).start()
    c = TestClient(app, base_url="http://127.0.0.1:1")
    h = {"X-Specimg-Token": "x" * 43}
    dur = session.params.output_length(session.n_frames) / session.params.sr

    def get(url: str, label: str) -> None:
        t = time.perf_counter()
        r = c.get(url, headers=h)
        assert r.status_code == 200, r.text
        print(f"{label}: {ms(t)} ({len(r.content) // 1024} KB)")

    get("/api/info", "info")
    get(f"/api/view?t0=0&t1={dur}&width=1600&height=600&channel=all", "full view 1600x600 stereo")
    get(f"/api/axes?t0=0&t1={dur}&width=1600&height=600&channel=all", "axes")
    for span in (60.0, 5.0, 0.5):
        t0 = dur / 2
        get(f"/api/view?t0={t0}&t1={t0 + span}&width=1600&height=600&channel=all", f"zoom to {span:g} s")
        get(f"/api/view?t0={t0 + span / 4}&t1={t0 + span * 1.25}&width=1600&height=600&channel=all&freq_axis=log",
            f"pan at {span:g} s (log axis)")
    a = round(dur / 3, 3)
    sel = {"kind": "rect", "time": [a, a + 5.0], "freq": [0, 8000]}
    view = {"t0": a - 10, "t1": a + 15, "width": 1600, "height": 600, "channel": "all"}
    t = time.perf_counter()
    r = c.post("/api/selection", headers=h, json={"selection": sel, "view": view})
    assert r.status_code == 200
    print(f"selection overlay: {ms(t)}")
    t_click = time.perf_counter()
    r = c.post("/api/edit", headers=h, json={"op": "erase", "selection": sel})
    assert r.status_code == 200, r.text
    print(f"erase 5 s x 0-8 kHz, both channels: {ms(t_click)}")
    t = time.perf_counter()
    r = c.get(f"/api/view?t0={a - 10}&t1={a + 15}&width=1600&height=600&channel=all", headers=h)
    print(f"redraw after the edit: {ms(t)}")
    t = time.perf_counter()
    r = c.get(f"/api/audio?t0={a - 0.5}&t1={a + 5.5}&quality=fast", headers=h)
    assert r.status_code == 200
    print(f"audio of 6 s around it (fast): {ms(t)}; click on erase -> sound ready: {1000 * (time.perf_counter() - t_click):.0f} ms")
    t = time.perf_counter()
    c.post("/api/undo", headers=h)
    print(f"undo: {ms(t)}")
    c.post("/api/redo", headers=h)
    t = time.perf_counter()
    r = c.post("/api/edit", headers=h, json={"op": "gain", "selection": {"kind": "rect", "time": None, "freq": [0, 300]},
                                             "args": {"db": -12}})
    assert r.status_code == 200, r.text
    print(f"gain -12 dB on 0-300 Hz over the whole file: {ms(t)}")
    get("/api/view?t0=0&t1=60&width=1600&height=600&channel=all&which=original", "first view of the original (A/B)")
    t = time.perf_counter()
    r = c.post("/api/save", headers=h, json={})
    assert r.status_code == 200, r.text
    print(f"save (PNG with phase): {ms(t)}")
    del np
    session.close()
    if resettable:
        print(f"server peak memory (largest step peak, VmHWM): {max(peaks) / 1024:.0f} MB")
        return
    print(f"server peak memory (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--keep", default=None, help="folder for the file (reused when it is there)")
    ap.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        _serve_and_time(args.serve)
        return
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="specimg-studio-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"stereo{args.minutes:g}min.png"
    if not path.exists():
        subprocess.run([sys.executable, "-c", MAKE, str(args.minutes), str(path)], check=True)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    subprocess.run([sys.executable, __file__, "--serve", str(path)], check=True)


if __name__ == "__main__":
    main()
