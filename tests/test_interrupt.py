"""Ctrl-C at any moment of a pooled command (issue 19, item 5): exit 130, ``specimg: aborted``
as the last line, no traceback, no "Exception ignored", no ``BrokenProcessPool``, no
partial output, no worker left running, and the same command run again completes.

The commands run in a session of their own and get SIGINT through ``os.killpg``, as a
terminal's Ctrl-C reaches the whole process group (the workers too). The moments: during
the start-up's imports, the instant the first pool worker appears (the pool's start-up:
where a Ctrl-C used to be swallowed by a fork hook, "Exception ignored in: <function
_releaseLock>", and the command went on to exit 0, or left the command waiting forever
for an idle worker at exit), and while the workers run jobs, some done.

Every run of the module goes side by side (the commands spend most of their time
importing librosa and scipy): the interrupted runs first, then the resumed ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads the process tree from /proc")

SPECIMG = [sys.executable, "-m", "specimg"]
FORBIDDEN = ("Traceback", "Exception ignored", "BrokenProcessPool", "KeyboardInterrupt")

#: name: (command, moments, glob of the first output (for "output" moments), moment whose folder is resumed)
COMMANDS = {
    "decode": ([*SPECIMG, "dataset", "decode", "ds/train", "wav-{moment}", "--like", "ds", "--workers", "2", "--quality",
                "fast"], ["start+0.5", "start+1.5", "pool+0"], "", "pool+0"),
    "build": ([*SPECIMG, "dataset", "build", "audio", "tiles-{moment}", "--size", "32x32", "--sr", "8000", "--workers",
               "2"], ["output+0"], "tiles-{moment}/train/*.png", "output+0"),
    "import": ([*SPECIMG, "import", "array", "npy", "png-{moment}", "--sr", "8000", "--n-fft", "256", "--workers", "2"],
               ["pool+0"], "", "pool+0"),
}  # fmt: skip


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class Ran:
    """An interrupted run: what it printed, and what its output folder held when it ended."""

    moment: str
    sent: bool  # the SIGINT reached a running command
    returncode: int
    stdout: str
    stderr: str
    workers: list[int]  # the pool's workers seen
    files: list[str]  # in its output folder, when it ended

    def check_aborted(self) -> None:
        context = f"{self.moment}: exit {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        assert self.sent, context
        assert self.returncode == 130, context
        assert self.stderr.rstrip("\n").endswith("specimg: aborted"), context
        assert not any(word in self.stderr for word in FORBIDDEN), context
        assert not [w for w in self.workers if Path(f"/proc/{w}").exists()], f"workers left running\n{context}"
        assert not [f for f in self.files if f.endswith(".part") or ".specimg-decode-" in f], self.files


def _interrupted(args: Sequence[object], cwd: Path, moment: str, output: str, out: Path) -> Ran:
    """Run ``args`` and send its process group SIGINT at ``moment``: ``"start+S"`` (S
    seconds after the start), ``"pool+S"`` (after the first worker appeared) or
    ``"output+S"`` (after the first file matching the glob ``output`` appeared in ``cwd``:
    the workers are running jobs, some done)."""
    kind, delay = moment.split("+")
    proc = subprocess.Popen([*map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    workers: list[int] = []
    if kind == "pool":
        while not (workers := _children(proc.pid)) and proc.poll() is None:
            time.sleep(0.002)
    elif kind == "output":
        while not next(cwd.glob(output), None) and proc.poll() is None:
            workers += _children(proc.pid)
            time.sleep(0.002)
    time.sleep(float(delay))
    workers += _children(proc.pid)
    sent = proc.poll() is None
    if sent:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stderr += "\n(still running 120 s after Ctrl-C: killed)"
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.is_dir() else []
    return Ran(moment, sent, proc.returncode, stdout, stderr, sorted(set(workers)), files)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """audio/ (6 two-second files), ds/ (a 32×32 dataset built from it, in this process) and npy/ (6 arrays)."""
    from specimg.dataset import build

    root = tmp_path_factory.mktemp("interrupt")
    (root / "audio").mkdir()
    (root / "npy").mkdir()
    rng = np.random.default_rng(5)
    t = np.arange(2 * 8000) / 8000
    for k in range(6):
        sf.write(root / "audio" / f"f{k}.wav", 0.3 * np.sin(2 * np.pi * (200 + 50 * k) * t), 8000)
        np.save(root / "npy" / f"s{k}.npy", np.abs(rng.standard_normal((129, 300))).astype(np.float32))
    build(root / "audio", root / "ds", size=(32, 32), sr=8000, workers=1)
    return root


def _run_all(inputs: Path) -> dict[str, tuple[list[Ran], subprocess.CompletedProcess[str]]]:
    """Every command interrupted at each of its moments, then run again in the folder of one.

    The runs go side by side in three rounds: the "start" moments alone (a start-up slowed
    by the other runs could still be in the interpreter's own, before any specimg code),
    then the other moments, then the resumed runs.
    """

    def name(arg: object, moment: str) -> str:
        return str(arg).replace("{moment}", moment)

    def interrupt(pool: ThreadPoolExecutor, early: bool) -> dict[str, list[Future[Ran]]]:
        return {
            key: [
                pool.submit(_interrupted, [name(a, m) for a in command], inputs, m, name(output, m),
                            inputs / name(next(a for a in command if "{moment}" in a), m))  # fmt: skip
                for m in moments
                if m.startswith("start+") == early
            ]
            for key, (command, moments, output, _) in COMMANDS.items()
        }

    with ThreadPoolExecutor(8) as pool:
        done = {key: [f.result() for f in futures] for key, futures in interrupt(pool, early=True).items()}
        for key, futures in interrupt(pool, early=False).items():
            done[key] += [f.result() for f in futures]
        again = {
            key: pool.submit(subprocess.run, [name(a, resumed) for a in command], cwd=inputs, capture_output=True,
                             text=True, timeout=300, check=False)  # fmt: skip
            for key, (command, _, _, resumed) in COMMANDS.items()
        }
        return {key: (done[key], again[key].result()) for key in COMMANDS}


def _no_leftovers(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".part") or p.name.startswith(".specimg-decode-")]


def test_pooled_commands(inputs: Path) -> None:
    """One test (not one per command): under pytest-xdist every worker would run them all again."""
    runs = _run_all(inputs)
    _check_decode(inputs, *runs["decode"])
    _check_build(inputs, *runs["build"])
    _check_import(inputs, *runs["import"])


def _check_decode(inputs: Path, interrupted: list[Ran], again: subprocess.CompletedProcess[str]) -> None:
    for ran in interrupted:
        ran.check_aborted()
        assert not [f for f in ran.files if f.endswith(".wav")], ran.files  # all or nothing
    assert again.returncode == 0, again.stderr
    out = inputs / "wav-pool+0"
    assert len(list(out.glob("*.wav"))) == len(list((inputs / "ds" / "train").glob("*.png")))
    _no_leftovers(out)


def _check_build(inputs: Path, interrupted: list[Ran], again: subprocess.CompletedProcess[str]) -> None:
    (ran,) = interrupted
    ran.check_aborted()
    assert 0 < len([f for f in ran.files if f.endswith(".png")]) < 12, ran.files  # stopped half-way
    assert again.returncode == 0, again.stderr  # resumed: the files done are kept, the others built
    assert "12 tiles from 6 files" in again.stdout, again.stdout
    out = inputs / "tiles-output+0"
    assert sorted(p.name for p in out.rglob("*.png")) == sorted(p.name for p in (inputs / "ds").rglob("*.png"))
    _no_leftovers(out)


def _check_import(inputs: Path, interrupted: list[Ran], again: subprocess.CompletedProcess[str]) -> None:
    (ran,) = interrupted
    ran.check_aborted()
    assert again.returncode == 0, again.stderr
    out = inputs / "png-pool+0"
    assert sorted(p.name for p in out.glob("*.png")) == [f"s{k}.png" for k in range(6)]
    _no_leftovers(out)


POOL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from specimg.atomic import atomic_path
    from specimg.dataset.executors import process_pool, run_window

    def job(k):
        with atomic_path(Path(sys.argv[1]) / f"{k}.txt") as tmp:
            tmp.write_text("half")
            time.sleep(0.15)  # a Ctrl-C now finds the worker in the middle of a write
            tmp.write_text("whole")
        return k

    if __name__ == "__main__":
        done = []
        try:
            with process_pool(2) as pool:
                run_window(pool, job, range(40), 4, done.append)
        except KeyboardInterrupt:
            print(f"aborted after {len(done)} jobs", file=sys.stderr)
            sys.exit(130)
        print("finished", file=sys.stderr)
""")


def test_process_pool_at_start_up_and_mid_write(tmp_path: Path) -> None:
    """The pool alone, without the commands' imports: its first instants, and workers in the middle of a write."""
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    moments = ["pool+0", "pool+0.005", "pool+0.03", "pool+0.3"]
    with ThreadPoolExecutor(len(moments)) as pool:
        futures = []
        for m in moments:
            (tmp_path / m).mkdir()
            futures.append(pool.submit(_interrupted, [sys.executable, script, m], tmp_path, m, "", tmp_path / m))
        interrupted = [f.result() for f in futures]
    for ran in interrupted:
        context = f"{ran.moment}: exit {ran.returncode}\n{ran.stderr}"
        assert ran.sent and ran.returncode == 130 and "aborted after" in ran.stderr, context
        assert not any(word in ran.stderr for word in FORBIDDEN), context
        assert not [w for w in ran.workers if Path(f"/proc/{w}").exists()], context
        assert all(f.endswith(".txt") for f in ran.files), ran.files  # no .part file
        assert all((tmp_path / ran.moment / f).read_text() == "whole" for f in ran.files)


def test_ctrl_c_swallowed_by_a_c_callback_is_raised_again() -> None:
    """A KeyboardInterrupt Python reports as unraisable (a Ctrl-C inside numba's ctypes
    callbacks) reaches the command's SIGINT handler again instead of an "Exception ignored"
    report; any other unraisable exception still goes to the previous hook."""
    from types import SimpleNamespace

    from specimg.cli import _unraisable

    passed_on: list[object] = []
    hook = _unraisable(passed_on.append)
    other = SimpleNamespace(exc_value=ValueError("x"))
    hook(other)
    assert passed_on == [other]

    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        hook(SimpleNamespace(exc_value=KeyboardInterrupt()))
        for _ in range(1000):  # the simulated signal runs at the next bytecode boundary
            if received:
                break
            time.sleep(0.001)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert received == [signal.SIGINT]
    assert passed_on == [other]
