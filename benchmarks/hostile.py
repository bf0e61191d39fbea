"""Hostile inputs of issue 19 (hardening round two), each run as a user would run it.

Every case crafts its files in a temporary folder, then runs the ``specimg`` command line
(``python -m specimg.cli ...``) or a short Python snippet (``TileDataset``, ``specimg.load``)
in a subprocess, and checks the acceptance of the issue:

* the run ends with exactly one ``specimg:`` line on stderr (CLI) or a ``SpecimgError`` with
  a one-line message (API); exit status != 0, or a warning (``specimg: warning:`` / a
  warning of specimg's own) where the input is still usable; an interrupt ends in exit 130
  and ``specimg: aborted`` with no partial output;
* no traceback, no foreign line on stderr (tifffile's log lines, Python warnings);
* peak RSS under 1.5 GiB (of the process and the workers it waited for) and under 60 s;
* nothing outside the dataset folder (and the command's own output folder) created,
  changed or deleted; a ``TileDataset`` hands out no file from outside the dataset;
* no staging folder ``.specimg-decode-*`` left anywhere under the temporary root.

Every subprocess is capped so that a memory bomb cannot take the machine down: 2 GiB of
address space (``RLIMIT_AS``); runs that import torch (whose CUDA libraries alone map
~3.4 GiB of address space) get 3 GiB of data segment (``RLIMIT_DATA``, heap and anonymous
maps: about 2 GiB above what torch holds after import) instead. Files are capped at 1 GiB
(``RLIMIT_FSIZE``), runs at 90 s. Cases run one at a time. Each command runs under a small
launcher (in its own process group) that waits for it and reports its peak RSS: a process
forked from this script would inherit this script's high-water mark. Ctrl-C is SIGINT to
the whole group, as a terminal sends it: at a fixed time after the start (while Python
imports), or a fixed time after the command's first child process (the pool) appears;
these cases are races by nature, and a run may pass or fail them by luck.

The datasets are tiny (2 s WAVs at 8 kHz, 32 × 32 tiles, built once per run by the code
under test); the bombs are written without being held in memory (deflate streams of long
runs are assembled from one compressed block). A whole run takes 2–5 minutes on 2 cores.

Usage (from the repository root)::

    .venv/bin/python benchmarks/hostile.py > benchmarks/results/hostile_now.md
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/hostile.py       # an older checkout
    .venv/bin/python benchmarks/hostile.py --only tiff --json out.json --keep

The subprocesses use the specimg this script imports (its ``src`` folder is put first on
their ``PYTHONPATH``). The markdown table goes to stdout, progress to stderr. Exit status
0 only if every case passes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import specimg

MIB = 1 << 20
GIB = 1 << 30
RSS_LIMIT_MIB = 1536  # 1.5 GiB
TIME_LIMIT_S = 60.0
TIMEOUT_S = 90.0
CAP_AS = 2 * GIB
CAP_DATA_TORCH = 3 * GIB
CAP_FILE = 1 * GIB

KINDS = {
    "outside": "Writes and reads outside the dataset",
    "memory": "Memory bombs",
    "traceback": "Raw tracebacks from data files",
    "tiff": "TIFF: foreign log lines, dropped phase tag, page bombs",
    "ctrl-c": "Ctrl-C during dataset decode --workers 2",
}

# the small datasets every dataset case starts from (built once per run, by the code under test)
SR = 8000
SIZE = "32x32"
BUILD_OPTIONS = ["--size", SIZE, "--sr", str(SR), "--workers", "1"]
CTRL_C_DELAYS = (1.5, 3.0)  # while Python starts and imports
CTRL_C_AFTER_POOL = (0.0, 0.05, 0.1, 0.3, 1.0, 2.0)  # while the pool starts (workers appearing) and runs
CTRL_C_TILES = 200


# ---------------------------------------------------------------------------- crafting helpers
_BLOCK = 1 << 22


def raw_deflate_runs(runs: list[tuple[int, int]]) -> bytes:
    """A raw deflate stream of ``count`` copies of ``byte`` for each run, made in a second.

    Every 4 MiB block is compressed on its own and ends with a full flush (byte aligned, no
    reference to earlier data), so one compressed block repeats as often as needed; an
    empty final block closes the stream. Ratio ~1000:1, as zlib level 9 gives.
    """
    out, cache = [], {}
    for byte, count in runs:
        full, rest = divmod(count, _BLOCK)
        if full:
            if byte not in cache:
                co = zlib.compressobj(9, zlib.DEFLATED, -15)
                cache[byte] = co.compress(bytes([byte]) * _BLOCK) + co.flush(zlib.Z_FULL_FLUSH)
            out.append(cache[byte] * full)
        if rest:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            out.append(co.compress(bytes([byte]) * rest) + co.flush(zlib.Z_FULL_FLUSH))
    out.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH))
    return b"".join(out)


def run_checksums(runs: list[tuple[int, int]], *, crc: int = 0) -> tuple[int, int]:
    """(adler32, crc32) of the bytes the runs stand for (the CRC continuing from ``crc``)."""
    adler = 1
    for byte, count in runs:
        block = bytes([byte]) * min(count, _BLOCK)
        while count:
            k = min(count, _BLOCK)
            piece = block if k == len(block) else block[:k]
            adler, crc = zlib.adler32(piece, adler), zlib.crc32(piece, crc)
            count -= k
    return adler, crc


def zlib_runs(runs: list[tuple[int, int]]) -> bytes:
    """A zlib stream (RFC 1950) of the runs."""
    return b"\x78\xda" + raw_deflate_runs(runs) + struct.pack(">I", run_checksums(runs)[0])


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def zero_png(path: Path, width: int, height: int, depth: int) -> None:
    """A grayscale PNG of ``height`` × ``width`` zero pixels (filter 0), without the pixels in memory."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    idat = zlib_runs([(0, height * (1 + width * depth // 8))])
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


def zero_npz(path: Path, shape: tuple[int, ...], dtype: str) -> None:
    """An ``.npz`` (np.savez_compressed layout, zip64) of one zero array, written without it in memory."""
    from numpy.lib import format as npformat

    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    header = buf.getvalue()
    size = len(header) + int(np.prod(shape)) * np.dtype(dtype).itemsize
    # the deflate stream of header + zeros: the header compressed on its own, full flush, then the zeros
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = co.compress(header) + co.flush(zlib.Z_FULL_FLUSH) + raw_deflate_runs([(0, size - len(header))])
    _, crc = run_checksums([(0, size - len(header))], crc=zlib.crc32(header))
    name = b"arr_0.npy"
    local_extra = struct.pack("<HHQQ", 1, 16, size, len(body))
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name),
                        len(local_extra)) + name + local_extra  # fmt: skip
    central_extra = struct.pack("<HHQQ", 1, 16, size, len(body))
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                          len(name), len(central_extra), 0, 0, 0, 0, 0) + name + central_extra  # fmt: skip
    offset = len(local) + len(body)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), offset, 0)
    path.write_bytes(local + body + central + end)


def tiff_ifd(data: bytes) -> tuple[int, dict[int, int], int]:
    """(offset of the first IFD, {tag: offset of its 12-byte entry}, offset of the next-IFD field)
    of a little-endian classic TIFF."""
    assert data[:4] == b"II*\x00", data[:4]
    ifd = struct.unpack_from("<I", data, 4)[0]
    n = struct.unpack_from("<H", data, ifd)[0]
    entries = {struct.unpack_from("<H", data, ifd + 2 + 12 * i)[0]: ifd + 2 + 12 * i for i in range(n)}
    return ifd, entries, ifd + 2 + 12 * n


def many_pages_tiff(path: Path, img: specimg.SpectrogramImage, n_pages: int) -> None:
    """A TIFF of ``n_pages`` minimal pages (10 tags, 126 bytes each) that all show the same
    strip; the first carries ``img``'s metadata."""
    px = np.ascontiguousarray(img.pixels.astype("<u2"))
    h, w = px.shape
    desc = img.params.to_json().encode() + b"\0"
    desc_off = 8
    pix_off = desc_off + len(desc) + (len(desc) % 2)
    ifd0 = pix_off + px.nbytes
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd0))
    out += desc
    out += b"\0" * (pix_off - len(out))
    out += px.tobytes()
    size = 2 + 12 * 10 + 4
    for k in range(n_pages):
        nxt = ifd0 + (k + 1) * size if k < n_pages - 1 else 0
        tags = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 16), (259, 3, 1, 1), (262, 3, 1, 1),
                (270, 2, len(desc), desc_off) if k == 0 else (269, 2, 1, 0),
                (273, 4, 1, pix_off), (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, px.nbytes)]  # fmt: skip
        out += struct.pack("<H", 10)
        for code, typ, count, value in sorted(tags):
            out += struct.pack("<HHII", code, typ, count, value)
        out += struct.pack("<I", nxt)
    path.write_bytes(bytes(out))


def phase_bomb(n_frames: int = 3800) -> tuple[bytes, dict[str, Any], np.ndarray]:
    """(phase block, metadata, pixels) of a mel image with one band, n_fft 131072 and
    ``n_frames`` frames whose block (every bin present and valid, codes 0) is ~0.55 MB and
    inflates to 2.25 bytes per bin (560 MB for 249 M bins; ~2.2 GiB once unpacked)."""
    n_lin = 131072 // 2 + 1
    n = n_lin * n_frames
    mask = (n + 7) // 8
    runs = [(0xFF, 2 * mask), (0, 4 * n_frames + 2 * n)]
    block = struct.pack(">4sBBHII", b"SIph", 1, 16, 1, n_lin, n_frames) + zlib_runs(runs)
    params = specimg.SpectrogramParams(sr=44100, n_fft=131072, hop_length=32768, scale="mel", n_mels=1)
    meta = json.loads(params.to_json())
    meta["version"] = 2
    return block, meta, np.full((1, n_frames), 30000, np.uint16)


def png_with_text(pixels: np.ndarray, text: str | None, extra_chunks: bytes = b"") -> bytes:
    """A PNG of ``pixels`` (PIL) with an iTXt ``specimg`` chunk (if ``text``) and chunks before IEND."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if text is not None:
        info.add_itxt("specimg", text)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", pnginfo=info)
    data = buf.getvalue()
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + extra_chunks + data[iend:]


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth


def sine(seconds: float, freq: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# ---------------------------------------------------------------------------- running
@dataclass
class Ran:
    status: int | None  # exit status; -N killed by signal N; None timeout
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float
    timed_out: bool = False
    sigint_sent_at: float | None = None
    pool_seen_at: float | None = None
    finished_before_sigint: bool = False
    stray: bool = False


LAUNCHER = (
    r"""
import json, os, resource, signal, sys
out, torch, *argv = sys.argv[1:]
if torch == "1":  # torch maps ~3.4 GiB of address space at import: cap the data segment instead
    resource.setrlimit(resource.RLIMIT_DATA, (CAP_DATA, CAP_DATA))
else:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_AS, CAP_AS))
resource.setrlimit(resource.RLIMIT_FSIZE, (CAP_FILE, CAP_FILE))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
# like time(1): the command gets Ctrl-C (SIGINT to the group) and the timeout's SIGTERM, this waits
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    json.dump({"status": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss}, f)
""".replace("CAP_DATA", str(CAP_DATA_TORCH))
    .replace("CAP_AS", str(CAP_AS))
    .replace("CAP_FILE", str(CAP_FILE))
)


def group_size(pgid: int) -> int:
    """Processes in process group ``pgid`` (from /proc)."""
    n = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            n += int(fields[2]) == pgid
    return n


def spawn(argv: list[str], cwd: Path, env: dict[str, str], logs: Path, *, torch: bool = False,
          sigint_at: float | None = None, sigint_after_pool: float | None = None,
          timeout: float = TIMEOUT_S) -> Ran:  # fmt: skip
    """Run ``argv`` in its own process group, capped, through a small launcher that reports the
    command's own peak RSS (a child forked from this process would inherit this process's
    high-water mark); SIGINT the group (a terminal's Ctrl-C) at ``sigint_at`` s, or
    ``sigint_after_pool`` s after the command's first child process (its pool) appears;
    SIGTERM the command after ``timeout`` s, SIGKILL the group 5 s later."""
    out_path, err_path, res_path = (logs.with_suffix(s) for s in (".stdout", ".stderr", ".rusage.json"))
    res_path.unlink(missing_ok=True)
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(res_path), "1" if torch else "0", *argv]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(launcher, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)  # fmt: skip
        sent_at = pool_at = None
        timed_out = killed = False
        while proc.poll() is None:
            now = time.monotonic() - start
            if sigint_after_pool is not None and pool_at is None and group_size(proc.pid) >= 3:
                pool_at = now  # launcher, command, and now a worker
                sigint_at = now + sigint_after_pool
            if sigint_at is not None and sent_at is None and now >= sigint_at:
                os.killpg(proc.pid, signal.SIGINT)
                sent_at = now
            if now > timeout and not timed_out:
                timed_out = True
                os.killpg(proc.pid, signal.SIGTERM)
            if now > timeout + 5 and not killed:
                killed = True
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.02)
        seconds = time.monotonic() - start
    stray = False
    try:  # workers the command left running: stop them (not counted in the peak)
        os.killpg(proc.pid, signal.SIGKILL)
        stray = True
    except ProcessLookupError:
        pass
    report = json.loads(res_path.read_text()) if res_path.is_file() else {"status": proc.returncode, "maxrss_kib": 0}
    return Ran(
        status=None if timed_out else report["status"],
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
        seconds=seconds,
        peak_mib=report["maxrss_kib"] / 1024,
        timed_out=timed_out,
        sigint_sent_at=sent_at,
        pool_seen_at=pool_at,
        finished_before_sigint=(sigint_at is not None or sigint_after_pool is not None) and sent_at is None,
        stray=stray,
    )


API_WRAPPER = r"""
import json, sys, traceback, warnings
RESULT = {"extra": {}}
caught = []
def keep(message, category, filename, lineno, file=None, line=None):
    caught.append({"category": f"{category.__module__}.{category.__qualname__}", "message": str(message)[:500]})
warnings.resetwarnings()
warnings.simplefilter("default")
for cat in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
    warnings.simplefilter("ignore", cat)
warnings.showwarning = keep
body = open(sys.argv[2], encoding="utf-8").read()
try:
    exec(compile(body, "<case>", "exec"), {"RESULT": RESULT, "__name__": "__case__"})
    RESULT["status"] = "ok"
except BaseException as exc:
    try:
        import specimg
        is_specimg = isinstance(exc, specimg.SpecimgError)
    except BaseException:
        is_specimg = False
    frames = traceback.extract_tb(exc.__traceback__)
    RESULT.update(status="raised", exc_type=type(exc).__name__, is_specimg=is_specimg, message=str(exc)[:4000],
                  where=f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "")
RESULT["warnings"] = caught
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(RESULT, f, default=str)
"""


# ---------------------------------------------------------------------------- cases
@dataclass
class Spec:
    """What a case runs: ``cli`` (arguments of ``specimg``) or ``api`` (a snippet that may
    fill ``RESULT["extra"]``), in ``cwd``; ``allowed`` are the paths (relative to the case
    folder) the run may change, the dataset and the command's output folder."""

    cli: list[str] | None = None
    api: str | None = None
    allowed: tuple[str, ...] = ("ds",)
    sigint_at: float | None = None
    sigint_after_pool: float | None = None
    check: Callable[[Path, dict[str, Any]], list[str]] | None = None


@dataclass
class Case:
    kind: str
    name: str
    make: Callable[[Path, Fixtures], Spec]
    torch: bool = False
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


CASES: list[Case] = []


def case(
    kind: str, name: str, *, torch: bool = False, note: str = ""
) -> Callable[[Callable[..., Spec]], Callable[..., Spec]]:
    def register(make: Callable[..., Spec]) -> Callable[..., Spec]:
        CASES.append(Case(kind, name, make, torch, note))
        return make

    return register


@dataclass
class Fixtures:
    """Files every case copies from: two tiny datasets (with and without class folders), a
    PNG/TIFF with stored phase, the phase bomb, the torch files."""

    root: Path
    env: dict[str, str]
    logs: Path
    made: dict[str, Path] = field(default_factory=dict)

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "specimg.cli", *args]

    def build_dataset(self, name: str, classes: bool) -> Path:
        base = self.root / "base" / name
        audio = base / "audio"
        if classes:
            for c, f0 in (("a", 300.0), ("b", 500.0)):
                (audio / c).mkdir(parents=True)
                for i in range(2):
                    _write_wav(audio / c / f"{i}.wav", sine(2.0, f0 + 150 * i))
        else:
            audio.mkdir(parents=True)
            for i in range(3):
                _write_wav(audio / f"{i}.wav", sine(2.0, 300.0 + 150 * i))
        ran = spawn(self.cli("dataset", "build", "audio", "ds", *BUILD_OPTIONS), base, self.env,
                    self.logs / f"fixture-{name}")  # fmt: skip
        if ran.status != 0 or not (base / "ds" / "specimg.json").is_file():
            raise SystemExit(
                f"hostile.py: cannot build the fixture dataset {name}: exit {ran.status}\n{ran.stderr[-2000:]}"
            )
        return base

    def dataset(self, dest: Path, name: str = "classes") -> Path:
        """Copy fixture dataset ``name`` (``ds`` and ``audio``, times kept) into ``dest``."""
        if name not in self.made:
            self.made[name] = self.build_dataset(name, classes=name == "classes")
        for part in ("ds", "audio"):
            shutil.copytree(self.made[name] / part, dest / part, symlinks=True)
        return dest / "ds"

    def phase_block(self) -> tuple[bytes, dict[str, Any], np.ndarray]:
        if "bomb" not in self.made:
            block, meta, px = phase_bomb()
            p = self.root / "base" / "phase_bomb.bin"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(block)
            (p.with_suffix(".json")).write_text(json.dumps(meta))
            np.save(p.with_suffix(".npy"), px)
            self.made["bomb"] = p
        p = self.made["bomb"]
        return p.read_bytes(), json.loads(p.with_suffix(".json").read_text()), np.load(p.with_suffix(".npy"))

    def phase_tiff(self) -> bytes:
        """A small 16-bit TIFF with its metadata and a phase block (tag 65111)."""
        if "tiff" not in self.made:
            img = specimg.encode(sine(0.5, 440.0), SR, n_fft=256, store_phase=True)
            p = self.root / "base" / "phase.tiff"
            p.parent.mkdir(parents=True, exist_ok=True)
            specimg.save(img, p)
            self.made["tiff"] = p
        return self.made["tiff"].read_bytes()

    def torch_file(self, name: str) -> Path:
        """The .pt files, made once in a subprocess (torch stays out of this process)."""
        folder = self.root / "base" / "pt"
        if not folder.is_dir():
            folder.mkdir(parents=True)
            code = textwrap.dedent(r'''
                import io, sys, zipfile, torch
                out = sys.argv[1]
                torch.save(torch.zeros(1).expand(32, 10**7), f"{out}/stride.pt")
                torch.save([torch.zeros(1).expand(32, 5 * 10**6)] * 4, f"{out}/stride_list.pt")
                torch.save(torch.zeros(32, 32).to_sparse(), f"{out}/sparse.pt")
                torch.save(torch.empty(32, 32, device="meta"), f"{out}/meta.pt")
                # a list nested 100 000 deep: torch.save's pickler cannot write it, so the pickle is
                # written by hand (EMPTY_LIST × depth, APPEND × depth-1) into torch's zip layout
                torch.save([[0]], f"{out}/deep.pt")
                depth = 100_000
                pkl = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
                with zipfile.ZipFile(f"{out}/deep.pt") as src:
                    entries = [(n, src.read(n)) for n in src.namelist()]
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
                    for n, data in entries:
                        z.writestr(n, pkl if n.endswith("/data.pkl") else data)
                open(f"{out}/deep.pt", "wb").write(buf.getvalue())
            ''')  # fmt: skip
            done = subprocess.run([sys.executable, "-c", code, str(folder)], env=self.env, capture_output=True,
                                  text=True, timeout=300, check=False)  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"hostile.py: cannot make the .pt files:\n{done.stderr[-2000:]}")
        return folder / name


def _write_wav(path: Path, y: np.ndarray) -> None:
    import soundfile as sf

    sf.write(path, y, SR, subtype="PCM_16")


def _rows(manifest: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]


def _records(ds: Path) -> dict[str, Path]:
    """The build's per-source records, by source."""
    out = {}
    for p in (ds / ".build").glob("*.json"):
        if p.name != "summary.json":
            out[json.loads(p.read_text(encoding="utf-8"))["source"]] = p
    return out


def _first_tile(ds: Path) -> Path:
    return min(p for p in ds.rglob("*.png") if "__c" in p.name)


def _tiledataset_snippet(split: str = "train") -> str:
    return textwrap.dedent(f"""
        from pathlib import Path
        from specimg.dataset import TileDataset
        root = Path("ds").resolve()
        ds = TileDataset("ds", split={split!r})
        outside = []
        for i in range(len(ds)):
            x, label = ds[i]
            p = Path(ds.paths[i]).resolve()
            if root not in p.parents:
                outside.append(str(ds.paths[i]))
        RESULT["extra"]["items"] = len(ds)
        RESULT["extra"]["outside_items"] = outside
    """)


def _no_outside_items(d: Path, result: dict[str, Any]) -> list[str]:
    items = (result.get("api") or {}).get("extra", {}).get("outside_items") or []
    return [f"handed out {len(items)} file(s) from outside the dataset ({items[0]})"] if items else []


def _no_partial_output(d: Path, result: dict[str, Any]) -> list[str]:
    out = d / "out"
    if not out.is_dir():
        return []
    left = [p for p in out.rglob("*") if p.is_file()]
    if result.get("exit") == 0 and result.get("finished_before_sigint"):
        return []
    return [f"{len(left)} output file(s) left"] if left else []


def _symlinked_split(d: Path, fx: Fixtures, split: str) -> None:
    """Move the dataset's ``split`` folder elsewhere and leave a symlink to it; add the user's
    own files to that folder: a file named like a tile, a .part file, a line in its manifest."""
    ds = fx.dataset(d)
    elsewhere = d / "outside" / f"{split}_elsewhere"
    elsewhere.parent.mkdir()
    shutil.move(str(ds / split), str(elsewhere))
    (ds / split).symlink_to(Path("..") / "outside" / f"{split}_elsewhere", target_is_directory=True)
    (elsewhere / "mine__c0__f0000000.png").write_bytes(_first_tile(elsewhere).read_bytes())
    (elsewhere / "a").mkdir(exist_ok=True)
    (elsewhere / "a" / ".draft.png.part").write_bytes(b"the user's half-written file")
    with open(elsewhere / "metadata.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"file_name": "mine__c0__f0000000.png", "note": "the user's own row"}) + "\n")


# -- outside ------------------------------------------------------------------------------------
@case("outside", "build resume, train/ symlinked elsewhere")
def _(d: Path, fx: Fixtures) -> Spec:
    _symlinked_split(d, fx, "train")
    return Spec(cli=["dataset", "build", "audio", "ds", *BUILD_OPTIONS])


@case("outside", "build resume, validation/ symlinked elsewhere")
def _(d: Path, fx: Fixtures) -> Spec:
    _symlinked_split(d, fx, "validation")
    return Spec(cli=["dataset", "build", "audio", "ds", *BUILD_OPTIONS])


@case("outside", "build resume, class folder train/b symlinked elsewhere, one file to redo")
def _(d: Path, fx: Fixtures) -> Spec:
    ds = fx.dataset(d)
    elsewhere = d / "outside" / "b_elsewhere"
    elsewhere.parent.mkdir()
    shutil.move(str(ds / "train" / "b"), str(elsewhere))
    (ds / "train" / "b").symlink_to(Path("..") / ".." / "outside" / "b_elsewhere", target_is_directory=True)
    (elsewhere / "mine.txt").write_text("the user's own file\n")
    records = _records(ds)
    redo = min(s for s, p in records.items() if s.startswith("b/")
               and json.loads(p.read_text(encoding="utf-8")).get("split") == "train")  # fmt: skip
    for row in json.loads(records[redo].read_text(encoding="utf-8"))["rows"]:  # its tiles are gone from there
        (elsewhere / Path(row["file_name"]).name).unlink()
    records[redo].unlink()  # the build redoes that file: its tiles go to train/b, i.e. outside
    return Spec(cli=["dataset", "build", "audio", "ds", *BUILD_OPTIONS])


def _outside_row(d: Path, fx: Fixtures, dataset: str, name: Callable[[Path], str], label: str | None) -> Path:
    ds = fx.dataset(d, dataset)
    secret = d / "outside" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(_first_tile(ds).read_bytes())  # a valid tile, so reading it succeeds
    manifest = ds / "train" / "metadata.jsonl"
    row = {**_rows(manifest)[0], "file_name": name(secret)}
    if label is not None:
        row["label"] = label
    with open(manifest, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    return ds


@case("outside", "TileDataset, manifest row ../../outside/secret.png (no class folders)", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    _outside_row(d, fx, "flat", lambda s: "../../outside/secret.png", None)
    return Spec(api=_tiledataset_snippet(), check=_no_outside_items)


@case("outside", "TileDataset, manifest row with an absolute path (no class folders)", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    _outside_row(d, fx, "flat", lambda s: str(s.resolve()), None)
    return Spec(api=_tiledataset_snippet(), check=_no_outside_items)


@case("outside", "TileDataset, manifest row a/../../../outside/secret.png (class folders)", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    _outside_row(d, fx, "classes", lambda s: "a/../../../outside/secret.png", "a")
    return Spec(api=_tiledataset_snippet(), check=_no_outside_items)


# -- memory -------------------------------------------------------------------------------------
def _bomb_png(d: Path, fx: Fixtures) -> None:
    block, meta, px = fx.phase_block()
    (d / "bomb.png").write_bytes(png_with_text(px, json.dumps(meta), png_chunk(b"spHS", block)))


def _bomb_sidecar(d: Path, fx: Fixtures) -> None:
    block, meta, px = fx.phase_block()
    (d / "bare.png").write_bytes(png_with_text(px, None))
    (d / "bare.png.json").write_text(json.dumps({**meta, "phase": base64.b64encode(block).decode()}))


@case("memory", "PNG 0.55 MB, phase block of 249 M bins (1 mel band, n_fft 131072): info")
def _(d: Path, fx: Fixtures) -> Spec:
    _bomb_png(d, fx)
    return Spec(cli=["info", "bomb.png"], allowed=())


@case("memory", "PNG 0.55 MB, phase block of 249 M bins: specimg.load")
def _(d: Path, fx: Fixtures) -> Spec:
    _bomb_png(d, fx)
    return Spec(api='import specimg\nimg = specimg.load("bomb.png")\n', allowed=())


@case("memory", "the same phase block in a sidecar (bare PNG + .png.json): info")
def _(d: Path, fx: Fixtures) -> Spec:
    _bomb_sidecar(d, fx)
    return Spec(cli=["info", "bare.png"], allowed=())


@case("memory", "the same phase block in a sidecar: specimg.load")
def _(d: Path, fx: Fixtures) -> Spec:
    _bomb_sidecar(d, fx)
    return Spec(api='import specimg\nimg = specimg.load("bare.png")\n', allowed=())


def _decode_spec(d: Path, fx: Fixtures, make: Callable[[Path], object], *extra: str) -> Spec:
    fx.dataset(d)
    gan = d / "gan"
    gan.mkdir()
    make(gan)
    return Spec(
        cli=["dataset", "decode", "gan", "out", "--like", "ds", "--workers", "1", *extra], allowed=("ds", "out")
    )


@case("memory", ".pt 1.3 KB, zero-stride tensor 32 × 10^7 (expand): dataset decode", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: shutil.copy(fx.torch_file("stride.pt"), g / "t.pt"))


@case("memory", ".pt, list of 4 zero-stride tensors 32 × 5·10^6: dataset decode", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: shutil.copy(fx.torch_file("stride_list.pt"), g / "t.pt"))


@case("memory", "PNG tile 0.6 MB, 8-bit 32 × 2·10^7: dataset decode")
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: zero_png(g / "t.png", 2 * 10**7, 32, 8))


@case("memory", "PNG tile 0.6 MB, 16-bit 32 × 10^7: dataset decode")
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: zero_png(g / "t.png", 10**7, 32, 16))


@case("memory", ".npz 1.6 MB, uint8 32 × 5·10^7 (1.6 GB inflated): dataset decode")
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: zero_npz(g / "t.npz", (32, 5 * 10**7), "uint8"))


@case("memory", ".npz 1.6 MB, float32 1 × 32 × 1.25·10^7 (1.6 GB inflated): dataset decode")
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: zero_npz(g / "t.npz", (1, 32, 12_500_000), "float32"))


# -- traceback ----------------------------------------------------------------------------------
def _prepend_line(path: Path, line: str) -> None:
    path.write_text(line + "\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


def _edit_json(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@case("traceback", "manifest line of 100 000 '[': dataset stats")
def _(d: Path, fx: Fixtures) -> Spec:
    _prepend_line(fx.dataset(d) / "train" / "metadata.jsonl", deep_json())
    return Spec(cli=["dataset", "stats", "ds"])


@case("traceback", "manifest line of 100 000 '[': TileDataset", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    _prepend_line(fx.dataset(d) / "train" / "metadata.jsonl", deep_json())
    return Spec(api=_tiledataset_snippet())


@case("traceback", "specimg.json of 100 000 '[': dataset stats")
def _(d: Path, fx: Fixtures) -> Spec:
    (fx.dataset(d) / "specimg.json").write_text(deep_json())
    return Spec(cli=["dataset", "stats", "ds"])


@case("traceback", "specimg.json of 100 000 '[': TileDataset", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    (fx.dataset(d) / "specimg.json").write_text(deep_json())
    return Spec(api=_tiledataset_snippet())


@case("traceback", "specimg.json of 100 000 '[': build resume")
def _(d: Path, fx: Fixtures) -> Spec:
    (fx.dataset(d) / "specimg.json").write_text(deep_json())
    return Spec(cli=["dataset", "build", "audio", "ds", *BUILD_OPTIONS])


@case("traceback", ".build/summary.json of 100 000 '[': dataset stats")
def _(d: Path, fx: Fixtures) -> Spec:
    (fx.dataset(d) / ".build" / "summary.json").write_text(deep_json())
    return Spec(cli=["dataset", "stats", "ds"])


@case("traceback", "specimg.json min_level_db 1e400 (inf): dataset stats")
def _(d: Path, fx: Fixtures) -> Spec:
    _edit_json(fx.dataset(d) / "specimg.json", '"min_level_db": -80.0', '"min_level_db": 1e400')
    return Spec(cli=["dataset", "stats", "ds"])


@case("traceback", ".build/summary.json seconds 1e400 (inf): dataset stats")
def _(d: Path, fx: Fixtures) -> Spec:
    _edit_json(fx.dataset(d) / ".build" / "summary.json", '"seconds": 8.0', '"seconds": 1e400')
    return Spec(cli=["dataset", "stats", "ds"])


@case("traceback", "manifest peak_db 1e300 on every row: dataset stats")
def _(d: Path, fx: Fixtures) -> Spec:
    manifest = fx.dataset(d) / "train" / "metadata.jsonl"
    manifest.write_text(re.sub(r'"peak_db": [-0-9.e]+', '"peak_db": 1e300', manifest.read_text(encoding="utf-8")))
    return Spec(cli=["dataset", "stats", "ds"])


@case("traceback", ".build records seconds 1.5e308 (sum overflows): build resume")
def _(d: Path, fx: Fixtures) -> Spec:
    for p in _records(fx.dataset(d)).values():
        p.write_text(re.sub(r'"seconds": [0-9.e]+', '"seconds": 1.5e308', p.read_text(encoding="utf-8")))
    return Spec(cli=["dataset", "build", "audio", "ds", *BUILD_OPTIONS])


@case("traceback", ".pt of a list nested 100 000 deep: dataset decode", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: shutil.copy(fx.torch_file("deep.pt"), g / "t.pt"))


@case("traceback", ".pt of a sparse tensor 32 × 32: dataset decode", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: shutil.copy(fx.torch_file("sparse.pt"), g / "t.pt"))


@case("traceback", ".pt of a meta tensor 32 × 32: dataset decode", torch=True)
def _(d: Path, fx: Fixtures) -> Spec:
    return _decode_spec(d, fx, lambda g: shutil.copy(fx.torch_file("meta.pt"), g / "t.pt"))


# -- tiff ---------------------------------------------------------------------------------------
def _tiff_variant(
    d: Path, fx: Fixtures, name: str, edit: Callable[[bytearray, dict[int, int], int, int], None]
) -> None:
    data = bytearray(fx.phase_tiff())
    ifd, entries, next_field = tiff_ifd(bytes(data))
    edit(data, entries, ifd, next_field)
    (d / name).write_bytes(bytes(data))


def _loop(data: bytearray, entries: dict[int, int], ifd: int, next_field: int) -> None:
    struct.pack_into("<I", data, next_field, ifd)  # page 0's next page is page 0


def _phase_count(data: bytearray, entries: dict[int, int], ifd: int, next_field: int) -> None:
    struct.pack_into("<I", data, entries[65111] + 4, 2**30)  # 1 GiB of tag data claimed, 3 KB there


def _strip_count(data: bytearray, entries: dict[int, int], ifd: int, next_field: int) -> None:
    for tag in (273, 279):  # StripOffsets, StripByteCounts
        struct.pack_into("<I", data, entries[tag] + 4, 2**30)


@case("tiff", "IFD loop (page 0 → page 0): info")
def _(d: Path, fx: Fixtures) -> Spec:
    _tiff_variant(d, fx, "loop.tiff", _loop)
    return Spec(cli=["info", "loop.tiff"], allowed=())


@case("tiff", "IFD loop (page 0 → page 0): decode")
def _(d: Path, fx: Fixtures) -> Spec:
    _tiff_variant(d, fx, "loop.tiff", _loop)
    return Spec(cli=["decode", "loop.tiff", "out.wav", "--n-iter", "2"], allowed=("out.wav",))


@case("tiff", "phase tag 65111 with count 2^30: info (expects a phase warning)")
def _(d: Path, fx: Fixtures) -> Spec:
    _tiff_variant(d, fx, "phase.tiff", _phase_count)
    return Spec(cli=["info", "phase.tiff"], allowed=())


@case("tiff", "phase tag 65111 with count 2^30: specimg.load (expects PhaseWarning)")
def _(d: Path, fx: Fixtures) -> Spec:
    _tiff_variant(d, fx, "phase.tiff", _phase_count)
    return Spec(api='import specimg\nimg = specimg.load("phase.tiff")\nRESULT["extra"]["phase"] = img.phase is not None\n',
                allowed=())  # fmt: skip


@case("tiff", "strip count 2^30 (StripOffsets, StripByteCounts): info")
def _(d: Path, fx: Fixtures) -> Spec:
    _tiff_variant(d, fx, "strips.tiff", _strip_count)
    return Spec(cli=["info", "strips.tiff"], allowed=())


@case("tiff", "38 MB TIFF of 300 000 pages: info")
def _(d: Path, fx: Fixtures) -> Spec:
    img = specimg.encode(sine(0.5, 440.0), SR, n_fft=256)
    many_pages_tiff(d / "pages.tiff", img, 300_000)
    return Spec(cli=["info", "pages.tiff"], allowed=())


# -- ctrl-c -------------------------------------------------------------------------------------
def _ctrl_c(delay: float | None, after_pool: float | None) -> Callable[[Path, Fixtures], Spec]:
    def make(d: Path, fx: Fixtures) -> Spec:
        from PIL import Image

        ds = fx.dataset(d)
        tiles = [np.array(Image.open(p)) for p in sorted(ds.rglob("*__c0__*.png"))]
        batch = np.stack([tiles[k % len(tiles)] for k in range(CTRL_C_TILES)]).astype(np.uint8)
        (d / "gan").mkdir()
        np.save(d / "gan" / "tiles.npy", batch)
        return Spec(cli=["dataset", "decode", "gan", "out", "--like", "ds", "--workers", "2"], allowed=("ds", "out"),
                    sigint_at=delay, sigint_after_pool=after_pool, check=_no_partial_output)  # fmt: skip

    return make


for _delay in CTRL_C_DELAYS:
    CASES.append(Case("ctrl-c", f"SIGINT to the group {_delay:g} s after the start ({CTRL_C_TILES} tiles)",
                      _ctrl_c(_delay, None)))  # fmt: skip
for _delay in CTRL_C_AFTER_POOL:
    CASES.append(Case("ctrl-c", f"SIGINT to the group {_delay:g} s after the first worker appears ({CTRL_C_TILES} tiles)",
                      _ctrl_c(None, _delay)))  # fmt: skip


# ---------------------------------------------------------------------------- checks
def snapshot(folder: Path, skip: set[Path]) -> dict[str, tuple[Any, ...]]:
    """Every file, link and folder under ``folder`` (links not followed) but ``skip``: size, mtime and
    content hash of the files (a rewrite with the same bytes counts as a change)."""
    found: dict[str, tuple[Any, ...]] = {}
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        for name in list(dirs):
            p = here / name
            if p in skip:
                dirs.remove(name)
            elif p.is_symlink():
                found[str(p.relative_to(folder))] = ("link", os.readlink(p))
            else:
                found[str(p.relative_to(folder)) + "/"] = ("dir",)
        for name in files:
            p = here / name
            if p in skip:
                continue
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                found[rel] = ("link", os.readlink(p))
            else:
                h = hashlib.sha1()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                st = p.stat()
                found[rel] = ("file", st.st_size, st.st_mtime_ns, h.hexdigest())
    return found


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    out = []
    for what, names in (("deleted", removed), ("changed", changed), ("created", added)):
        if names:
            out.append(f"{what} {len(names)} ({', '.join(names[:2])}{', …' if len(names) > 2 else ''})")
    return out


def staging_folders(root: Path) -> set[str]:
    found = set()
    for here, dirs, _ in os.walk(root):
        for name in dirs:
            if name.startswith(".specimg-decode-"):
                found.add(os.path.join(here, name))
    return found


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]


def _clip(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _last_exception_line(stderr: str) -> str:
    lines = _lines(stderr)
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)\b", line) or line.startswith(
            ("RecursionError", "MemoryError", "KeyboardInterrupt", "concurrent.futures")
        ):
            return line
    return lines[-1] if lines else ""


def _head(ran: Ran) -> str:
    if ran.timed_out:
        return f"timeout ({TIMEOUT_S:.0f} s)"
    if ran.status is not None and ran.status < 0:
        return f"killed by {signal.Signals(-ran.status).name}"
    return f"exit {ran.status}"


def judge_cli(c: Case, spec: Spec, ran: Ran) -> tuple[list[str], str]:
    """(problems, what the user saw) of a CLI run."""
    lines = _lines(ran.stderr)
    traceback = "Traceback (most recent call last)" in ran.stderr or "Exception ignored" in ran.stderr
    ours = [line for line in lines if line.startswith("specimg:")]
    foreign = [line for line in lines if not line.startswith("specimg:")]
    problems = []
    if ran.timed_out or (ran.status is not None and ran.status < 0):
        problems.append("no clean end")
    if traceback:
        problems.append(f"traceback ({_clip(_last_exception_line(ran.stderr), 90)})")
    elif foreign:
        problems.append(f"{len(foreign)} foreign stderr line(s) ({_clip(foreign[0], 80)})")
    if spec.sigint_at is not None or spec.sigint_after_pool is not None:
        if ran.finished_before_sigint:
            when = (
                f"{spec.sigint_at:g} s"
                if spec.sigint_at is not None
                else (
                    "the pool start"
                    if ran.pool_seen_at is None
                    else f"{ran.pool_seen_at:.1f} s + {spec.sigint_after_pool:g} s"
                )
            )
            problems.append(f"finished in {ran.seconds:.1f} s, before the Ctrl-C planned at {when}")
        else:
            if ran.status == 0:
                problems.append("Ctrl-C lost")
            elif ran.status is not None and ran.status > 0 and ran.status != 130:
                problems.append("exit status not 130")
            if ours != ["specimg: aborted"] and not traceback:
                problems.append(
                    "no 'specimg: aborted'" if "specimg: aborted" not in ours else f"{len(lines)} stderr lines"
                )
    elif not problems or (not traceback and not foreign):
        if ran.status == 0 and not lines:
            problems.append("no message")
        elif ran.status == 0 and not (len(lines) == 1 and lines[0].startswith("specimg: warning:")):
            problems.append(f"{len(ours)} specimg: line(s), not one warning")
        elif ran.status not in (0, None) and not (len(lines) == 1 and lines[0].startswith("specimg:")):
            problems.append("no specimg: line" if not ours else f"{len(ours)} specimg: lines")
    said = f": {_clip(ours[0], 120)}" if ours else ("" if lines else ", stderr empty")
    return problems, _head(ran) + said


def judge_api(c: Case, spec: Spec, ran: Ran, result: dict[str, Any] | None) -> tuple[list[str], str]:
    """(problems, what the caller got) of a snippet run."""
    problems = []
    lines = _lines(ran.stderr)
    if result is None:
        problems.append(f"no result ({_clip(_last_exception_line(ran.stderr), 80)})" if lines else "no result")
        return problems, _head(ran)
    if lines:
        problems.append(f"{len(lines)} stderr line(s) ({_clip(lines[0], 80)})")
    warns = result.get("warnings") or []
    ours = [w for w in warns if w["category"].startswith("specimg")]
    others = [w for w in warns if not w["category"].startswith("specimg")]
    if others:
        problems.append(f"foreign {others[0]['category'].rsplit('.', 1)[-1]} ({_clip(others[0]['message'], 60)})")
    if result["status"] == "raised":
        what = f"{result['exc_type']}: {_clip(result['message'], 120)}"
        if not result.get("is_specimg"):
            where = result.get("where", "")
            where = "/".join(where.split("/")[-2:])
            problems.append(f"raw {result['exc_type']}, not a SpecimgError (traceback at {where})")
        elif "\n" in result["message"] or len(result["message"]) > 2000:
            problems.append(
                f"message of {len(result['message'])} characters, {result['message'].count(chr(10)) + 1} lines"
            )
    else:
        what = "returned" + (
            f" with {ours[0]['category'].rsplit('.', 1)[-1]}: {_clip(ours[0]['message'], 110)}" if ours else ""
        )
        if not ours:
            problems.append("accepted silently (no SpecimgError, no warning)")
    return problems, what


def mem_available_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def run_case(c: Case, index: int, fx: Fixtures, root: Path, keep: bool) -> dict[str, Any]:
    slug = f"{index:02d}-" + re.sub(r"[^a-z0-9]+", "-", c.key.lower()).strip("-")[:50]
    d = root / "cases" / slug
    d.mkdir(parents=True)
    logs = fx.logs / slug
    started = time.monotonic()
    spec = c.make(d, fx)
    craft_s = time.monotonic() - started
    skip = {d / p for p in spec.allowed}
    before = snapshot(d, skip)
    staging_before = staging_folders(root)
    result: dict[str, Any] = {
        "number": index,
        "kind": c.kind,
        "case": c.name,
        "mode": "cli" if spec.cli else "api",
        "mem_available_gib": mem_available_gib(),
    }  # specimg's default budget is half of it
    if spec.cli is not None:
        argv = fx.cli(*spec.cli)
        result["command"] = "specimg " + " ".join(spec.cli)
        ran = spawn(argv, d, fx.env, logs, torch=c.torch, sigint_at=spec.sigint_at,
                    sigint_after_pool=spec.sigint_after_pool)  # fmt: skip
        result["sigint_sent_at"] = ran.sigint_sent_at and round(ran.sigint_sent_at, 2)
        result["pool_seen_at"] = ran.pool_seen_at and round(ran.pool_seen_at, 2)
        result["exit"] = ran.status
        result["finished_before_sigint"] = ran.finished_before_sigint
        problems, what = judge_cli(c, spec, ran)
    else:
        body, out = logs.with_suffix(".snippet.py"), logs.with_suffix(".result.json")
        body.write_text(spec.api or "", encoding="utf-8")
        wrapper = fx.logs / "api_wrapper.py"
        argv = [sys.executable, str(wrapper), str(out), str(body)]
        result["command"] = "python: " + "; ".join(line for line in (spec.api or "").splitlines() if line.strip())[:300]
        ran = spawn(argv, d, fx.env, logs, torch=c.torch)
        api = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else None
        result["exit"] = ran.status
        result["api"] = api
        problems, what = judge_api(c, spec, ran, api)
    if ran.peak_mib > RSS_LIMIT_MIB:
        problems.append(f"peak RSS {ran.peak_mib:.0f} MiB")
    if ran.seconds > TIME_LIMIT_S:
        problems.append(f"{ran.seconds:.0f} s")
    changed = compare(before, snapshot(d, skip))
    if changed:
        problems.append("outside the dataset: " + "; ".join(changed))
    left = sorted(staging_folders(root) - staging_before)
    if left:
        problems.append(f"staging folder left: {Path(left[0]).relative_to(root)}")
    if spec.check is not None:
        problems += spec.check(d, result)
    if ran.stray:
        result["note"] = "processes of the run were still alive after it exited (killed)"
    result.update(
        result="PASS" if not problems else "FAIL",
        what=what if not problems else f"{'; '.join(problems)} ({what})",
        problems=problems,
        peak_mib=round(ran.peak_mib, 1),
        seconds=round(ran.seconds, 2),
        craft_seconds=round(craft_s, 2),
        stderr_tail=ran.stderr[-1500:],
        sigint_at=spec.sigint_at,
    )
    if not keep:
        shutil.rmtree(d, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------- report
def code_under_test() -> dict[str, str]:
    src = Path(specimg.__file__).resolve().parents[1]
    info = {"specimg": str(Path(specimg.__file__).resolve().parent), "version": specimg.__version__}
    try:
        commit = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True, timeout=30).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, check=True, timeout=30).stdout.strip()  # fmt: skip
        info["commit"] = commit + (f" + {len(dirty.splitlines())} uncommitted file(s) under src/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        info["commit"] = "unknown"
    return info


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    out = [
        "# Hostile inputs of issue 19: before → after",
        "",
        (
            f"Code under test: `{meta['code']['specimg']}` (commit {meta['code']['commit']}); Python {meta['python']}; "
            f"{meta['cpus']} CPUs (load average {meta['load'][0]} at the start, {meta['load'][1]} at the end: the machine "
            f"is shared); run {meta['date']}, {meta['total_s']:.0f} s in all."
        ),
        "",
        f"Command: `{meta['command']}`",
        "",
        (
            f"A case passes when: one `specimg:` line on stderr (CLI) or a one-line `SpecimgError` (API), exit ≠ 0 "
            f"or a warning with the input still usable (Ctrl-C: exit 130, `specimg: aborted`, no output left); no "
            f"traceback or foreign stderr line; peak RSS ≤ {RSS_LIMIT_MIB} MiB; ≤ {TIME_LIMIT_S:.0f} s; nothing outside "
            f"the dataset (and the command's output) created, changed or deleted, no outside file handed out; no "
            f"`.specimg-decode-*` left. Caps: RLIMIT_AS 2 GiB (torch runs: RLIMIT_DATA 3 GiB), 90 s. "
            f"MemAvailable during the run: {meta['mem_available']} GiB (specimg's default memory budget is half of "
            f"it, so whether a bomb is refused by the budget or runs into the cap can vary between runs)."
        ),
        "",
        "| # | kind | case | result | what happened | peak MiB | s |",
        "|---:|---|---|---|---|---:|---:|",
    ]
    for r in results:
        what = r["what"].replace("|", "\\|")
        out.append(f"| {r['number']} | {r['kind']} | {r['case'].replace('|', '/')} | {r['result']} | {what} | "
                   f"{r['peak_mib']:.0f} | {r['seconds']:.1f} |")  # fmt: skip
    out += ["", "Per kind:", ""]
    for kind, title in KINDS.items():
        rows = [r for r in results if r["kind"] == kind]
        if not rows:
            continue
        passed = sum(r["result"] == "PASS" for r in rows)
        failed = [f"#{r['number']}" for r in rows if r["result"] != "PASS"]
        out.append(
            f"- **{kind}** ({title}): {passed}/{len(rows)} pass" + (f"; fail: {', '.join(failed)}" if failed else "")
        )
    passed = sum(r["result"] == "PASS" for r in results)
    out += ["", f"**All: {passed}/{len(results)} pass.**", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="SUBSTRING", help="run the cases whose 'kind/name' contains SUBSTRING")
    parser.add_argument("--json", metavar="OUT", help="save the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if args.only is None or args.only.lower() in c.key.lower()]
    if args.list or not cases:
        for c in cases or CASES:
            print(c.key)
        return 0 if cases else 1

    root = Path(tempfile.mkdtemp(prefix="specimg-hostile-"))
    logs = root / "logs"
    logs.mkdir()
    (logs / "api_wrapper.py").write_text(API_WRAPPER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("SPECIMG_MAX_MEMORY", "PYTHONWARNINGS")}
    src = str(Path(specimg.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    seen = subprocess.run([sys.executable, "-c", "import specimg; print(specimg.__file__)"], env=env,
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert Path(seen).resolve() == Path(specimg.__file__).resolve(), (seen, specimg.__file__)
    fx = Fixtures(root, env, logs)
    code = code_under_test()
    print(
        f"hostile.py: {len(cases)} case(s) against {code['specimg']} ({code['commit']}); temp {root}", file=sys.stderr
    )
    started = time.monotonic()
    load_before = os.getloadavg()
    results = []
    try:
        for k, c in enumerate(cases, 1):
            print(f"[{k}/{len(cases)}] {c.key} …", end=" ", file=sys.stderr, flush=True)
            r = run_case(c, k, fx, root, args.keep)
            results.append(r)
            print(f"{r['result']} ({r['seconds']:.1f} s, {r['peak_mib']:.0f} MiB) {_clip(r['what'], 150)}",
                  file=sys.stderr, flush=True)  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"hostile.py: kept {root}", file=sys.stderr)
    command = " ".join(
        ([f"PYTHONPATH={os.environ['PYTHONPATH']}"] if os.environ.get("PYTHONPATH") else [])
        + [os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable,
           os.path.relpath(__file__), *(argv if argv is not None else sys.argv[1:])]
    )  # fmt: skip
    available = [r["mem_available_gib"] for r in results if r["mem_available_gib"]] or [0.0]
    meta = {
        "code": code, "python": sys.version.split()[0], "cpus": os.cpu_count(), "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M"), "total_s": time.monotonic() - started,
        "load": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "mem_available": "–".join(f"{f(available):.1f}" for f in (min, max)),
    }  # fmt: skip
    print(markdown(results, meta))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str) + "\n",
                                   encoding="utf-8")  # fmt: skip
    return 0 if all(r["result"] == "PASS" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
