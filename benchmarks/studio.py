#!/usr/bin/env python
"""Latency of specimg studio in the browser (issue 20's acceptance), on a 10-minute 44.1 kHz stereo file.

Run from the repository (needs the studio extra, Playwright and Debian's Chromium)::

    nice -n 5 python benchmarks/studio.py [--corpus DIR] [--cache DIR] [--minutes 10]
        [--repeat 20] [--save benchmarks/results/studio.json]
    python benchmarks/studio.py --screenshot docs/_static/studio.png   # the README's picture

The file: ``stereo44k_the_deep_path.wav`` of the corpus (default ``../shared/corpus``; without
it ``sample_data/music.wav`` duplicated to two channels) tiled to ``--minutes`` minutes,
written once to a cache folder (default ``$XDG_CACHE_HOME/specimg/studio-bench``, never
committed) and encoded there once with ``store_phase=True`` (the PNG the studio opens).

The server is the CLI, ``python -m specimg studio FILE --no-browser --port N``, in its own
process; the browser is ``/usr/bin/chromium`` (headless) driven by Playwright. Figures:

* **open**: wall time from ``page.goto(url)`` to the first picture drawn on the page
  (``document.body.dataset.rendered`` ≥ 1), the whole file in view, both channels stacked.
  Target ≤ 3 s. (The server's own start-up, reading the picture, is printed apart.)
* **zoom / pan redraw**: measured in the page, from the click (zoom buttons) or key press
  (arrow keys pan by a quarter of the view) to the new picture drawn, ``--repeat`` actions
  from the whole file down to ~2 s in view and back; also the page's ``lastRenderMs``
  (request to picture drawn). Targets: median and max ≤ 150 ms.
* **erase → sound**: with a 5-second time selection in view (60–65 s), from the click on
  "erase" to the selection's sound playing (the edit, the click on "play selection", the
  decode of the range on the server, ``playing`` in the page). Target ≤ 1 s. The figure is the
  first sound of the session; the same on another range (warm) is printed too.
* **server peak memory**: ``VmHWM`` of the server process from ``/proc`` at the end, after
  the page saved the picture (``--no-save``: without); the peak before saving is printed too.
  Target ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DEFAULT_CORPUS, REPO, environment  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
TARGETS = {"open_s": 3.0, "redraw_median_ms": 150.0, "redraw_max_ms": 150.0, "erase_to_sound_s": 1.0,
           "server_peak_gb": 1.5}

# Runs an action in the page and waits for the picture it asks for: ms from the action to drawn.
TIMED_ACTION = """async (action) => {
  const n = Number(document.body.dataset.rendered);
  const t = performance.now();
  if (action.click) document.querySelector(`[data-testid=${action.click}]`).click();
  if (action.key) document.dispatchEvent(new KeyboardEvent("keydown", {key: action.key, bubbles: true}));
  await new Promise((resolve) => {
    const check = () => (Number(document.body.dataset.rendered) > n && document.body.dataset.drawing === "false")
      ? resolve() : requestAnimationFrame(check);
    check();
  });
  return [performance.now() - t, window.specimgStudio.lastRenderMs];
}"""

ERASE_TO_SOUND = """async () => {
  const s = window.specimgStudio, version = s.state.version;
  const player = document.querySelector("[data-testid=player]");
  const t = performance.now();
  document.querySelector("[data-testid=op-erase]").click();
  await new Promise((resolve) => { const c = () => s.state.version !== version ? resolve() : setTimeout(c, 2); c(); });
  const edited = performance.now() - t;
  document.querySelector("[data-testid=play-selection]").click();
  await new Promise((resolve) => {
    const c = () => player.dataset.playing === "true" ? resolve() : setTimeout(c, 2);
    c();
  });
  return [performance.now() - t, edited];
}"""


def long_file(corpus: Path, cache: Path, minutes: float) -> Path:
    """The tiled stereo WAV and its picture (store_phase=True), made once in the cache."""
    import soundfile as sf

    import specimg

    png = cache / f"stereo44k_{minutes:g}min.png"
    if png.exists():
        return png
    cache.mkdir(parents=True, exist_ok=True)
    src = corpus / "stereo44k_the_deep_path.wav"
    if src.exists():
        y, sr = sf.read(src, always_2d=True)
    else:
        y, sr = sf.read(REPO / "sample_data" / "music.wav", always_2d=True)
        print(f"no {src}: using sample_data/music.wav on two channels", file=sys.stderr)
    if y.shape[1] == 1:
        y = np.repeat(y, 2, axis=1)
    n = int(round(minutes * 60 * sr))
    y = np.tile(y, (n // len(y) + 1, 1))[:n, :2]
    wav = cache / f"stereo44k_{minutes:g}min.wav"
    sf.write(wav, y, sr, subtype="PCM_16")
    print(f"encoding {wav.name} ({minutes:g} min, {sr} Hz, 2 channels) once …", file=sys.stderr)
    specimg.encode_file(wav, png, store_phase=True)
    return png


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(path: Path, workdir: Path) -> tuple[subprocess.Popen[str], str, float]:
    """`specimg studio FILE --no-browser` in its own process; its URL and start-up time."""
    cmd = [sys.executable, "-m", "specimg", "studio", str(path), "--no-browser", "--port", str(free_port()),
           "--output", str(workdir / "out.png")]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir)
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
        if m:
            return proc, m.group(1), time.perf_counter() - t
        print(f"server: {line.rstrip()}", file=sys.stderr)
    raise SystemExit(f"the studio server ended without printing its URL (exit {proc.wait()})")


def vm_hwm_gb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) / 1024**2 if m else float("nan")


def measure(url: str, repeat: int, profile: Path, pid: int, save: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 800})
        try:
            page = ctx.new_page()
            page.on("console", lambda m: print(f"page: {m.text}", file=sys.stderr) if m.type == "error" else None)
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_function("Number(document.body.dataset.rendered) >= 1", timeout=120_000, polling=5)
            out["open_s"] = time.perf_counter() - t
            page.wait_for_function("document.body.dataset.drawing === 'false'", timeout=60_000)

            # zoom in step by step from the whole file, panning at each level, then back out
            levels = max(1, (repeat - 4) // 3)
            actions: list[tuple[str, dict[str, str]]] = []
            for _ in range(levels):
                actions += [("zoom", {"click": "zoom-in"}), ("pan", {"key": "ArrowRight"}),
                            ("pan", {"key": "ArrowLeft"})]
            actions += [("zoom", {"click": "zoom-out"})] * (repeat - len(actions))
            samples: list[dict[str, Any]] = []
            for kind, action in actions:
                wall, render = page.evaluate(TIMED_ACTION, action)
                view = page.evaluate("window.specimgStudio.view")
                samples.append({"kind": kind, "ms": wall, "render_ms": render, "span_s": view["t1"] - view["t0"]})
            out["redraws"] = samples

            # a 5-second selection in view, then erase → its sound playing: the first sound of
            # the session (the figure), then again on another range (warm)
            for n, start in enumerate((60, 300)):
                page.evaluate(f"window.specimgStudio.player.stop(); "
                              f"window.specimgStudio.showRange({start - 5}, {start + 10})")
                page.wait_for_function(f"window.specimgStudio.view.t0 === {start - 5} && "
                                       "document.body.dataset.drawing === 'false'")
                sel = page.evaluate("(t) => window.specimgStudio.setSelection("
                                    "{kind: 'rect', time: t, freq: null, channel: null})", [start, start + 5])
                if not sel:
                    raise SystemExit(f"the selection was refused: {page.get_by_test_id('status').text_content()}")
                total, edited = page.evaluate(ERASE_TO_SOUND)
                key = "" if n == 0 else "_warm"
                out[f"erase_to_sound{key}_s"] = total / 1000
                out[f"erase_edit{key}_s"] = edited / 1000
                status = page.get_by_test_id("status")
                if status.get_attribute("data-kind") == "error":
                    raise SystemExit(f"the page reported an error: {status.text_content()}")
            out["peak_interactive_gb"] = vm_hwm_gb(pid)
            if save:  # the session's end: the picture written with its phase
                page.evaluate("window.specimgStudio.player.stop()")
                t = time.perf_counter()
                if not page.evaluate("window.specimgStudio.save()"):
                    raise SystemExit(f"save failed: {page.get_by_test_id('status').text_content()}")
                out["save_s"] = time.perf_counter() - t
        finally:
            ctx.close()
    return out


def screenshot(out: Path) -> None:
    """The page on sample_data/speech.png with a rectangle selected by the mouse (for the README)."""
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="specimg-studio-shot-"))
    shutil.copyfile(REPO / "sample_data" / "speech.png", work / "speech.png")
    proc, url, _ = start_server(work / "speech.png", work)
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                str(work / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 780})
            try:
                page = ctx.new_page()
                page.goto(url)
                page.wait_for_function("Number(document.body.dataset.rendered) >= 1", timeout=60_000)
                box = page.get_by_test_id("view").bounding_box()
                assert box is not None
                at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
                page.mouse.move(*at(0.17, 0.64))
                page.mouse.down()
                page.mouse.move(*at(0.27, 0.95), steps=10)
                page.mouse.up()
                page.wait_for_function("window.specimgStudio.selection !== null")
                page.mouse.move(*at(0.55, 0.8))
                page.wait_for_function("/dB$/.test(document.querySelector('[data-testid=readout]').textContent)")
                page.wait_for_function("document.body.dataset.drawing === 'false'")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
            finally:
                ctx.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                    / "specimg" / "studio-bench")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=20, help="zoom/pan redraws timed (default 20)")
    ap.add_argument("--save", type=Path, default=REPO / "benchmarks" / "results" / "studio.json")
    ap.add_argument("--no-save", action="store_true",
                    help="end without saving the picture (the peak then leaves save out)")
    ap.add_argument("--screenshot", type=Path, metavar="PNG",
                    help="only take the README's screenshot of the page (sample_data/speech.png, a selection) to PNG")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver")
    if args.screenshot:
        screenshot(args.screenshot)
        return

    png = long_file(args.corpus, args.cache, args.minutes)
    work = Path(tempfile.mkdtemp(prefix="specimg-studio-bench-"))
    local = work / png.name  # the studio autosaves beside its input: a copy in a scratch folder
    shutil.copyfile(png, local)
    proc, url, startup = start_server(local, work)
    try:
        res = measure(url, args.repeat, work / "profile", proc.pid, not args.no_save)
        peak = vm_hwm_gb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    ms = [s["ms"] for s in res["redraws"]]
    figures = {
        "open_s": res["open_s"],
        "redraw_median_ms": statistics.median(ms),
        "redraw_max_ms": max(ms),
        "erase_to_sound_s": res["erase_to_sound_s"],
        "server_peak_gb": peak,
    }
    rows = [
        ("page open → view drawn", f"{figures['open_s']:.2f} s", "≤ 3 s", figures["open_s"] <= TARGETS["open_s"]),
        ("zoom/pan redraw, median", f"{figures['redraw_median_ms']:.0f} ms", "≤ 150 ms",
         figures["redraw_median_ms"] <= TARGETS["redraw_median_ms"]),
        ("zoom/pan redraw, max", f"{figures['redraw_max_ms']:.0f} ms", "≤ 150 ms",
         figures["redraw_max_ms"] <= TARGETS["redraw_max_ms"]),
        ("click erase (5 s) → sound", f"{figures['erase_to_sound_s']:.2f} s", "≤ 1 s",
         figures["erase_to_sound_s"] <= TARGETS["erase_to_sound_s"]),
        ("server peak memory (VmHWM)", f"{peak:.2f} GB", "≤ 1.5 GB", peak <= TARGETS["server_peak_gb"]),
    ]
    print(f"\nspecimg studio, {args.minutes:g}-min 44.1 kHz stereo picture ({png.stat().st_size / 1e6:.0f} MB), "
          f"{len(ms)} redraws; server start-up {startup:.1f} s")
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>9}  {'target':>9}  ok")
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {value:>9}  {target:>9}  {'yes' if ok else 'NO'}")
    kinds = {k: [s["ms"] for s in res["redraws"] if s["kind"] == k] for k in ("zoom", "pan")}
    print("  " + ", ".join(f"{k}: median {statistics.median(v):.0f} ms, max {max(v):.0f} ms (n={len(v)})"
                           for k, v in kinds.items() if v))
    render_ms = statistics.median(s["render_ms"] for s in res["redraws"])
    print(f"  request → drawn (lastRenderMs): median {render_ms:.0f} ms")
    print(f"  server peak before saving {res['peak_interactive_gb']:.2f} GB"
          + (f"; save {res['save_s']:.1f} s" if "save_s" in res else " (not saved)"))
    print(f"  erase → sound: first {res['erase_to_sound_s']:.2f} s (the edit {res['erase_edit_s']:.2f} s), "
          f"again on another range {res['erase_to_sound_warm_s']:.2f} s (the edit {res['erase_edit_warm_s']:.2f} s)")

    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip()
        record = {
            "benchmark": "studio",
            "file": {"minutes": args.minutes, "sr": 44100, "channels": 2, "png_bytes": png.stat().st_size},
            "commit": commit, "environment": environment(), "load_average": os.getloadavg(),
            "targets": TARGETS, "figures": figures, "server_startup_s": startup,
            "erase_edit_s": res["erase_edit_s"], "erase_to_sound_warm_s": res["erase_to_sound_warm_s"],
            "erase_edit_warm_s": res["erase_edit_warm_s"], "redraws": res["redraws"],
            "server_peak_before_save_gb": res["peak_interactive_gb"], "save_s": res.get("save_s"),
            "pass": {k: figures[k] <= TARGETS[k] for k in TARGETS},
        }
        args.save.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.save.relative_to(REPO) if args.save.is_relative_to(REPO) else args.save}")


if __name__ == "__main__":
    main()
