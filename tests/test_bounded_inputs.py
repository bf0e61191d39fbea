"""Issue 19, item 3 (and item 6's training inputs): every decompression or allocation a file
drives is bounded, before it happens, by what the file's own headers can justify.

The reported cases run in a subprocess whose address space is capped at 2 GiB (RLIMIT_AS;
for the ``.pt`` case the heap, RLIMIT_DATA: torch alone maps 4 GiB of address space), so a
regression fails instead of swapping. Each must end with a ``SpecimgError`` (API) or one
``specimg: error:`` line (CLI), below 1.5 GiB peak RSS and within 60 s, and leave no
staging folder. The hostile files are built in a second or two: a run of equal bytes is
deflated once per 16 MiB piece and the piece repeated (the streams are valid; the file
under the cap is read back whole).

The fuzz part mutates small valid ``.npy``, ``.npz``, ``.pt`` files and grid pictures and
feeds them to ``decode_batch`` / ``decode_dir``: only ``SpecimgError``s, bounded memory,
no staging folder left (derandomised, as tests/test_fuzz.py).
"""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specimg
from specimg import SpectrogramParams
from specimg.dataset import decode_batch, decode_dir
from specimg.dataset.staging import STAGE_PREFIX, UNOWNED_STALE_SECONDS, remove_stale_stages
from specimg.errors import FormatError, ResourceError, SpecimgError
from specimg.pictures import write_png
from specimg.resources import FILE_EXPANSION_LIMIT, FILE_MEMORY_CAP, check_file_memory, memory_limit
from specimg.stored_phase import StoredPhase

GIB = 1 << 30
PEAK_LIMIT_KIB = 1.5 * 2**20  # 1.5 GiB
TIME_LIMIT = 60.0
PIECE = 1 << 24


# ---------------------------------------------------------------------------- building hostile files fast
def deflate_runs(runs: list[tuple[int, int]]) -> tuple[bytes, int, int, int]:
    """A raw deflate stream of ``count`` × ``byte`` runs: (stream, crc32, adler32, size).

    Each 16 MiB piece is deflated once by a fresh compressor and ends in a full flush, so
    the piece can be repeated: the result is the stream zlib would make, ~1000:1."""
    parts, crc, adler, size = [], 0, 1, 0
    for byte, count in runs:
        full, rest = divmod(count, PIECE)
        block = bytes([byte]) * PIECE
        if full:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            parts.append((co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)) * full)
            for _ in range(full):
                crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
        if rest:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            parts.append(co.compress(block[:rest]) + co.flush(zlib.Z_FULL_FLUSH))
            crc, adler = zlib.crc32(block[:rest], crc), zlib.adler32(block[:rest], adler)
        size += count
    parts.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush())  # the final (empty) block
    return b"".join(parts), crc, adler, size


def zlib_runs(runs: list[tuple[int, int]]) -> bytes:
    stream, _, adler, _ = deflate_runs(runs)
    return b"\x78\xda" + stream + struct.pack(">I", adler)


def phase_png(path: Path, frames: int, *, sidecar: bool = False) -> Path:
    """The reported PNG: one mel band, n_fft 131072 (65537 bins per pixel), every bin present."""
    params = SpectrogramParams(sr=22050, n_fft=131072, hop_length=512, scale="mel", n_mels=1,
                               n_samples=(frames - 1) * 512)  # fmt: skip
    n_lin = 131072 // 2 + 1
    n = n_lin * frames
    block = struct.pack(">4sBBHII", b"SIph", 1, 16, 1, n_lin, frames) + zlib_runs(
        [(0xFF, 2 * ((n + 7) // 8)), (0, 4 * frames + 2 * n)]
    )
    meta = json.loads(params.to_json()) | {"version": 2}
    pixels = np.zeros((1, frames), np.uint16)
    if sidecar:
        write_png(path, pixels)
        path.with_name(path.name + ".json").write_text(json.dumps(meta | {"phase": base64.b64encode(block).decode()}))
    else:
        write_png(path, pixels, text=json.dumps(meta), chunks={b"spHS": block})
    return path


def npz_bomb(path: Path, shape: tuple[int, ...], dtype: str = "<f4") -> Path:
    """A .npz of one member ``a.npy`` of zeros, deflated ~1000:1 (written by hand: zipfile
    would deflate the gigabytes itself)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": dtype, "fortran_order": False, "shape": shape})
    header = head.getvalue()
    n_zeros = int(np.prod(shape)) * np.dtype(dtype).itemsize
    stream = deflate_runs([(0, n_zeros)])[0]
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    data, size = co.compress(header) + co.flush(zlib.Z_FULL_FLUSH) + stream, len(header) + n_zeros
    crc, zeros, left = zlib.crc32(header), bytes(PIECE), n_zeros
    while left:
        k = min(left, PIECE)
        crc, left = zlib.crc32(zeros[:k], crc), left - k
    name = b"a.npy"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(name),
                          0, 0, 0, 0, 0, 0) + name  # fmt: skip
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)
    return path


def blank_png(path: Path, height: int, width: int) -> Path:
    """An 8-bit gray PNG of zeros (filter byte 0 on every row), deflated ~1000:1."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib_runs([(0, height * (width + 1))])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def dataset(folder: Path, *, n_mels: int = 32, n_fft: int = 512, hop: int = 128, sr: int = 22050,
            tile: int = 64) -> Path:  # fmt: skip
    """A dataset description (layout version 1) with its calibration: all dataset decode needs."""
    params = SpectrogramParams(sr=sr, n_fft=n_fft, hop_length=hop, scale="mel", n_mels=n_mels, bit_depth=16)
    folder.mkdir(parents=True, exist_ok=True)
    desc = {"format": "specimg-dataset", "version": 1, "params": params.to_dict(),
            "tile": {"n_bins": n_mels, "n_frames": tile, "step_frames": tile}, "min_level_db": -80.0,
            "validation_fraction": 0.25, "seed": 0, "classes": ["a"], "audio_dir": "audio"}  # fmt: skip
    (folder / "specimg.json").write_text(json.dumps(desc))
    return folder


def stages(out: Path) -> list[Path]:
    return sorted(out.glob(STAGE_PREFIX + "*")) if out.is_dir() else []


# ---------------------------------------------------------------------------- capped subprocesses
@dataclass
class Capped:
    returncode: int
    stdout: str
    stderr: str
    peak_kib: int
    seconds: float

    def assert_bounded(self) -> None:
        assert self.peak_kib < PEAK_LIMIT_KIB, f"peak {self.peak_kib / 2**20:.2f} GiB\n{self.stderr[-2000:]}"
        assert self.seconds < TIME_LIMIT, f"took {self.seconds:.0f} s"


_CHILD = """
import atexit, resource, sys
peak_file = sys.argv.pop(1)
atexit.register(lambda: open(peak_file, "w").write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))
"""
_CLI = "from specimg.cli import main\nsys.argv[0] = 'specimg'\nmain()\n"
_API = """
import specimg, warnings
warnings.simplefilter("ignore")
try:
    {call}
    print("no error")
except specimg.SpecimgError as exc:
    print(type(exc).__name__ + ": " + str(exc))
"""


def capped(body: str, *args: object, cwd: Path, torch: bool = False) -> Capped:
    """``python -c body ARGS`` with its memory capped (module notes) and its peak RSS measured."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (2 * GIB, 2 * GIB))
        if not torch:
            resource.setrlimit(resource.RLIMIT_AS, (2 * GIB, 2 * GIB))

    peak_file = cwd / f".peak-{time.monotonic_ns()}"
    env = {k: v for k, v in os.environ.items() if k not in ("SPECIMG_MAX_MEMORY", "PYTHONWARNINGS")}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _CHILD + body, str(peak_file), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=2 * TIME_LIMIT, preexec_fn=limit, check=False)  # fmt: skip
    seconds = time.monotonic() - start
    peak = int(peak_file.read_text()) if peak_file.exists() else 10**12
    peak_file.unlink(missing_ok=True)
    return Capped(done.returncode, done.stdout, done.stderr, peak, seconds)


def assert_cli_error(ran: Capped, *fragments: str) -> str:
    assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
    assert ran.returncode == 1, f"exit {ran.returncode}\n{ran.stdout}\n{ran.stderr[-3000:]}"
    lines = ran.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("specimg: error: "), ran.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    ran.assert_bounded()
    return lines[0]


def assert_api_error(ran: Capped, kind: str, *fragments: str) -> str:
    assert ran.returncode == 0, ran.stderr[-3000:]
    line = ran.stdout.strip()
    assert line.startswith(kind + ": "), f"{line[:500]}\n{ran.stderr[-3000:]}"
    assert "\n" not in line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    ran.assert_bounded()
    return line


EXPANDS = f"expands at most {FILE_EXPANSION_LIMIT}:1"


# ---------------------------------------------------------------------------- the stored phase
@pytest.fixture(scope="module")
def phase_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("phase")
    phase_png(d / "phase.png", 4000)
    phase_png(d / "side.png", 4000, sidecar=True)
    return d


def test_the_reported_phase_png_is_560_kb_for_262_million_bins(phase_files: Path) -> None:
    size = (phase_files / "phase.png").stat().st_size
    assert 500_000 < size < 650_000, size


@pytest.mark.parametrize("name, where", [("phase.png", "the phase chunk of 'phase.png'"),
                                          ("side.png", "the phase in sidecar 'side.png.json'")])  # fmt: skip
def test_phase_block_of_65537_bins_per_pixel_is_refused(phase_files: Path, name: str, where: str) -> None:
    """Was 2.2 GiB and 43 s (the 9 B/bin estimate was under half the available memory)."""
    ran = capped(_CLI, "info", name, cwd=phase_files)
    assert_cli_error(ran, where, "n_fft=131072 gives 65537 per frame of a 1-row image", EXPANDS, "--max-memory")
    ran = capped(_API.format(call=f"specimg.load({name!r})"), cwd=phase_files)
    assert_api_error(ran, "ResourceError", where, "check that the file is the image you meant")
    ran = capped(_CLI, "decode", name, "out.wav", cwd=phase_files)  # refused by the decode's own estimate
    assert_cli_error(ran, "n_fft=131072")
    assert not (phase_files / "out.wav").exists()


def test_an_explicit_budget_lifts_the_expansion_rule(phase_files: Path) -> None:
    """The user vouches for the file: only the budget applies (here it is still too small)."""
    with memory_limit("1G"), pytest.raises(ResourceError) as ei:
        specimg.load(phase_files / "phase.png")
    assert "memory budget is 1.0 GiB" in str(ei.value) and EXPANDS not in str(ei.value)


def test_a_crafted_block_under_the_cap_is_read_within_bounds(tmp_path: Path) -> None:
    """1800 frames: 118 million bins, ~1 GiB estimated: read (a valid stream), below 1.5 GiB."""
    phase_png(tmp_path / "cap.png", 1800)
    code = _API.format(call="print(specimg.load('cap.png').phase.shape)")
    ran = capped(code, cwd=tmp_path)
    assert ran.returncode == 0 and "(1, 65537, 1800)" in ran.stdout and "no error" in ran.stdout, ran.stderr[-2000:]
    ran.assert_bounded()


def test_a_stream_longer_than_its_shape_is_cut_at_the_shape() -> None:
    """Nothing past the all-present size is inflated: 100 MB behind an 8-bin header fails at once."""
    p = SpectrogramParams(sr=8000, n_fft=8, n_samples=16)
    X = np.exp(1j * np.arange(15.0)).reshape(1, 5, 3)
    block = StoredPhase.from_stft(X, np.zeros((5, 3), np.uint16), p).to_bytes()
    start = time.perf_counter()
    with pytest.raises(FormatError, match="inflates to more than"):
        StoredPhase.from_bytes(block[:16] + zlib_runs([(0, 100 << 20)]), p, 3)
    assert time.perf_counter() - start < 2.0
    ph = StoredPhase.from_bytes(block, p, 3, source="x")  # a valid block still reads
    assert ph.present.dtype == bool and ph.codes.dtype == np.uint16


def test_check_file_memory_rule() -> None:
    cap = FILE_MEMORY_CAP
    check_file_memory(cap, 10 * cap, 1, "under the cap")  # any expansion below the cap
    try:
        check_file_memory(2 * cap, 2 * cap, 2 * cap // FILE_EXPANSION_LIMIT, "backed")  # 64:1 exactly
    except ResourceError as exc:  # a machine with less than 4 GiB available: the budget, not the rule
        assert EXPANDS not in str(exc)
    with memory_limit("1T"):
        check_file_memory(2 * cap, 2 * cap, 1, "vouched for")  # an explicit budget lifts the rule
    with pytest.raises(ResourceError, match=r"'f.png' \(x\) needs ~2.0 GiB .*expands at most 64:1.*fix it"):
        check_file_memory(2 * cap, 2 * cap, 2 * cap // FILE_EXPANSION_LIMIT - 1, "reading 'f.png' (x)", "fix it")


# ---------------------------------------------------------------------------- dataset decode
@pytest.fixture(scope="module")
def gan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("gan")
    dataset(d / "ds")
    torch = pytest.importorskip("torch")
    for name in ("pt", "png", "npz", "deep", "sparse"):
        (d / name).mkdir()
    torch.save(torch.zeros(1).expand(32, 10**7), d / "pt" / "x.pt")
    blank_png(d / "png" / "x.png", 32, 2 * 10**7)
    npz_bomb(d / "npz" / "x.npz", (50, 32, 250_000))
    return d


def test_the_reported_dataset_files_are_small(gan: Path) -> None:
    sizes = {k: (gan / k / f"x.{k}").stat().st_size for k in ("pt", "png", "npz")}
    assert sizes["pt"] < 2000 and sizes["png"] < 700_000 and sizes["npz"] < 1_700_000, sizes


@pytest.mark.parametrize("kind, fragment", [
    ("pt", "(tensors: 320,000,000 values)"),  # was 8 GB and 75 s
    ("png", "(20000000×32 L: 640,000,000 values)"),  # was 15.7 GB and 106 s
    ("npz", "(arrays: 400,000,000 values)"),  # inflated 1.6 GB before any check; ran > 180 s
])  # fmt: skip
def test_reported_dataset_inputs_are_refused_before_reading(gan: Path, kind: str, fragment: str) -> None:
    torch = kind == "pt"
    ran = capped(_CLI, "dataset", "decode", kind, f"out_{kind}", "--like", "ds", "--workers", "1", cwd=gan,
                 torch=torch)  # fmt: skip
    assert_cli_error(ran, f"reading '{kind}/x.{kind}'", fragment, EXPANDS)
    assert not stages(gan / f"out_{kind}") and not (gan / f"out_{kind}").exists()
    ran = capped(_API.format(call=f"specimg.dataset.decode_batch('{kind}/x.{kind}', 'ds')"), cwd=gan, torch=torch)
    assert_api_error(ran, "ResourceError", fragment, "check that the file is the output you meant")


def test_npz_members_are_judged_by_their_headers(tmp_path: Path) -> None:
    ds = dataset(tmp_path / "ds")
    liar = tmp_path / "liar.npz"
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as z:
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(head, {"descr": "|u1", "fortran_order": False, "shape": (64, 10**9)})
        z.writestr("a.npy", head.getvalue())  # claims 64 GB, holds none
        z.writestr("b.npy", b"\x93NUMPY" + bytes(100))
    with pytest.raises(ResourceError, match="64,000,000,000 values"):
        decode_batch(liar, ds, key="a")
    with pytest.raises(FormatError, match="liar.npz"):
        decode_batch(liar, ds, key="b")  # only b's header is read: broken
    with pytest.raises(FormatError, match="liar.npz"):
        decode_batch(liar, ds)  # all members: b's header fails before anything is inflated
    bytes_member = tmp_path / "raw.npz"
    with zipfile.ZipFile(bytes_member, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a", bytes(10**7))  # np.load would hand over all of it as bytes
    with pytest.raises(FormatError, match="member 'a' is not a .npy array"):
        decode_batch(bytes_member, ds)


def test_npy_of_a_billion_empty_images_is_refused(tmp_path: Path) -> None:
    ds = dataset(tmp_path / "ds")
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 32, 0)})
    (tmp_path / "v.npy").write_bytes(head.getvalue())
    start = time.perf_counter()
    with pytest.raises(ResourceError, match="v.npy"):
        decode_batch(tmp_path / "v.npy", ds)
    assert time.perf_counter() - start < 2.0


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def _deep_pt(path: Path, torch: Any, depth: int = 100_000) -> Path:
    """A .pt whose pickle nests ``depth`` lists (torch.save itself cannot write it)."""
    torch.save([], path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    pkl = next(n for n in members if n.endswith("data.pkl"))
    members[pkl] = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for n, data in members.items():
            z.writestr(n, data)
    return path


def test_pt_tensors_must_be_dense_cpu_and_shallow(tmp_path: Path, torch: Any) -> None:
    ds = dataset(tmp_path / "ds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(torch.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,)), tmp_path / "sparse.pt")
        torch.save(torch.quantize_per_tensor(torch.ones(4), 0.1, 0, torch.quint8), tmp_path / "q.pt")
    for name, match in (("sparse.pt", "sparse_coo tensor"), ("q.pt", "quantized tensor")):
        with pytest.raises(FormatError, match=match):
            decode_batch(tmp_path / name, ds)
    with pytest.raises(FormatError, match="nested more than 8 deep"):
        decode_batch(_deep_pt(tmp_path / "deep.pt", torch), ds)
    inner = [0.5] * 10**6
    torch.save([inner] * 2000, tmp_path / "shared.pt")  # 2·10⁹ numbers, 9 MB: the pickle memo
    with pytest.raises(ResourceError, match="2,000,000,000 values"):
        decode_batch(tmp_path / "shared.pt", ds)


def test_picture_height_is_checked_from_its_header(tmp_path: Path) -> None:
    """A tile taller than the dataset's fails on its header: its damaged pixel data is never decoded."""
    ds = dataset(tmp_path / "ds")
    buf = io.BytesIO()
    write_png(buf, np.zeros((40, 64), np.uint8))
    data = buf.getvalue()
    idat = data.index(b"IDAT")
    broken = data[: idat + 4] + bytes(8) + data[idat + 12 :]  # corrupt pixel data (and IDAT CRC)
    (tmp_path / "tall.png").write_bytes(broken)
    with pytest.raises(specimg.ParameterError, match="40 pixels high but the dataset's tiles have n_bins=32"):
        decode_batch(tmp_path / "tall.png", ds)


# ---------------------------------------------------------------------------- staging folders
def _tiles(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.save(folder / "tiles.npy", (rng.random((n, 1, 32, 64)) * 1.6 - 0.9).astype(np.float32))
    return folder


def test_a_failed_or_interrupted_decode_leaves_no_staging_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    ds, src, out = dataset(tmp_path / "ds"), _tiles(tmp_path / "in", 3), tmp_path / "out"
    out.mkdir()
    import specimg.dataset.decode as decode_module

    real, calls = decode_module.write_audio, []

    def interrupted(path: Path, *args: Any, **kwargs: Any) -> None:
        calls.append(path)
        assert stages(out), "the staging folder exists while the run writes"
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(path, *args, **kwargs)

    monkeypatch.setattr(decode_module, "write_audio", interrupted)
    with pytest.raises(KeyboardInterrupt):
        decode_dir(src, out, dataset=ds, n_iter=0, subtype="FLOAT")
    assert not stages(out) and not list(out.iterdir())
    monkeypatch.setattr(decode_module, "write_audio", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        decode_dir(src, out, dataset=ds, n_iter=0)
    assert not list(out.iterdir())


def test_a_killed_run_is_cleaned_by_the_next(tmp_path: Path) -> None:
    """SIGKILL (as the OOM killer) leaves the staging folder; the next run removes it."""
    ds, src, out = dataset(tmp_path / "ds"), _tiles(tmp_path / "in", 40), tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "SPECIMG_MAX_MEMORY"}
    proc = subprocess.Popen([sys.executable, "-m", "specimg", "dataset", "decode", str(src), str(out), "--like", str(ds),
                             "--workers", "1", "--n-iter", "3000", "--subtype", "FLOAT"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not stages(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        left = stages(out)
        assert left and proc.poll() is None, "the decode ended before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert stages(out) == left and left[0].name.startswith(f"{STAGE_PREFIX}{proc.pid}-")
    written = decode_dir(src, out, dataset=ds, n_iter=0, subtype="FLOAT")
    assert len(written) == 40 and not stages(out)


def test_only_stages_of_gone_processes_are_removed(tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        names = {
            "live": f"{STAGE_PREFIX}{live.pid}-abc", "dead": f"{STAGE_PREFIX}{dead.pid}-abc",
            "mine": f"{STAGE_PREFIX}{os.getpid()}-abc", "old": f"{STAGE_PREFIX}x1y2z3", "new": f"{STAGE_PREFIX}q9w8e7",
        }  # fmt: skip
        for name in names.values():
            (tmp_path / name).mkdir()
            (tmp_path / name / "a.wav").write_bytes(b"")
        long_ago = time.time() - UNOWNED_STALE_SECONDS - 60
        os.utime(tmp_path / names["old"], (long_ago, long_ago))
        (tmp_path / f"{STAGE_PREFIX}file").write_text("not a folder")
        removed = {p.name for p in remove_stale_stages(tmp_path)}
        assert removed == {names["dead"], names["old"]}
        assert all((tmp_path / names[k]).is_dir() for k in ("live", "mine", "new"))
    finally:
        live.kill()
        live.wait()


# ---------------------------------------------------------------------------- fuzz: training inputs
FUZZ = settings(
    max_examples=80, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
EDITS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=6)

_RNG = np.random.default_rng(19)
TILES = (_RNG.random((2, 1, 8, 16)) * 1.8 - 0.95).astype(np.float32)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None = None) -> bytes:
    b = bytearray(data)
    for pos, value in edits:
        b[pos % len(b)] = value
    return bytes(b[:cut] if cut is not None else b)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _rezip(members: dict[str, bytes], compression: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _pt_members() -> dict[str, bytes]:
    import torch

    buf = io.BytesIO()
    torch.save({"a": torch.from_numpy(TILES), "b": [torch.from_numpy(TILES[0])]}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return {n: z.read(n) for n in z.namelist()}


def _grid_png() -> bytes:
    u8 = np.rint((TILES[:, 0] + 1) * 127.5).astype(np.uint8)
    grid = np.zeros((2 + 2 * (8 + 2), 2 + 2 * (16 + 2)), np.uint8)  # 2 × 2 cells, padding 2
    for k in range(4):
        r, c = divmod(k, 2)
        grid[2 + r * 10 : 10 + r * 10, 2 + c * 18 : 18 + c * 18] = u8[k % 2]
    buf = io.BytesIO()
    write_png(buf, grid)
    return buf.getvalue()


def _png_chunks(data: bytes) -> list[list[bytes]]:
    out, i = [], 8
    while i + 8 <= len(data):
        n = struct.unpack(">I", data[i : i + 4])[0]
        out.append([data[i + 4 : i + 8], data[i + 8 : i + 8 + n]])
        i += 12 + n
    return out


def _png_with_crcs(chunks: list[list[bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d)) for k, d in chunks
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dataset(tmp_path_factory.mktemp("tiny") / "ds", n_mels=8, n_fft=64, hop=16, sr=8000, tile=16)


def _bounded(run: Any) -> None:
    """``run()`` succeeds or raises a SpecimgError, quickly and within 1.5 GiB."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            run()
        except SpecimgError:
            pass
    assert time.perf_counter() - start < 10.0, "a mutated input took too long"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak <= max(before, PEAK_LIMIT_KIB), f"a mutated input took the process to {peak / 2**20:.2f} GiB"


def _decode_folder(folder: Path, tiny: Path, **kwargs: Any) -> None:
    out = folder.parent / (folder.name + "_out")
    try:
        _bounded(lambda: decode_dir(folder, out, dataset=tiny, n_iter=0, subtype="FLOAT", **kwargs))
    finally:
        assert not stages(out), "a staging folder was left behind"


NPY = _npy(TILES)


@FUZZ
@given(edits=EDITS, cut=st.none() | st.integers(0, len(NPY)))
def test_mutated_npy(tmp_path_factory: Any, tiny: Path, edits: list[tuple[int, int]], cut: int | None) -> None:
    path = tmp_path_factory.mktemp("npy") / "x.npy"
    path.write_bytes(_mutate(NPY, edits, cut))
    _bounded(lambda: decode_batch(path, tiny, n_iter=0))


@FUZZ
@given(edits=EDITS, inner=st.booleans(), stored=st.booleans(), cut=st.none() | st.integers(0, 4096))
def test_mutated_npz(tmp_path_factory: Any, tiny: Path, edits: list[tuple[int, int]], inner: bool, stored: bool,
                     cut: int | None) -> None:  # fmt: skip
    """Raw bytes (the zip structure, its CRCs), or the .npy members re-zipped with valid CRCs."""
    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    members = {"a.npy": NPY, "b.npy": _npy(TILES[:1, 0])}
    if inner:
        data = _rezip({k: _mutate(v, edits, cut) if k == "a.npy" else v for k, v in members.items()}, compression)
    else:
        data = _mutate(_rezip(members, compression), edits, cut)
    folder = tmp_path_factory.mktemp("npz")
    (folder / "x.npz").write_bytes(data)
    _decode_folder(folder, tiny)


@FUZZ
@given(edits=EDITS, pickle_only=st.booleans())
def test_mutated_pt(tmp_path_factory: Any, tiny: Path, torch: Any, edits: list[tuple[int, int]],
                    pickle_only: bool) -> None:  # fmt: skip
    """Raw bytes of a torch zip, or its data.pkl mutated and re-zipped (past the CRC checks)."""
    members = _pt_members()
    if pickle_only:
        pkl = next(n for n in members if n.endswith("data.pkl"))
        data = _rezip({**members, pkl: _mutate(members[pkl], edits)}, zipfile.ZIP_STORED)
    else:
        data = _mutate(_rezip(members, zipfile.ZIP_STORED), edits)
    folder = tmp_path_factory.mktemp("pt")
    (folder / "x.pt").write_bytes(data)
    _decode_folder(folder, tiny)
    _bounded(lambda: decode_batch(folder / "x.pt", tiny, n_iter=0, key="a"))


GRID = _grid_png()


@FUZZ
@given(edits=EDITS, chunk=st.none() | st.integers(0, 3), cut=st.none() | st.integers(0, len(GRID)))
def test_mutated_grid_picture(tmp_path_factory: Any, tiny: Path, edits: list[tuple[int, int]], chunk: int | None,
                              cut: int | None) -> None:  # fmt: skip
    """Raw bytes, or one chunk's content (header, pixel rows inflated) with valid CRCs; cut as a 2 × 2 grid."""
    if chunk is None:
        data = _mutate(GRID, edits, cut)
    else:
        chunks = _png_chunks(GRID)
        k = chunk % len(chunks)
        if chunks[k][0] == b"IDAT":
            chunks[k][1] = zlib.compress(_mutate(zlib.decompress(chunks[k][1]), edits))
        elif chunks[k][1]:
            chunks[k][1] = _mutate(chunks[k][1], edits)
        data = _png_with_crcs(chunks)
    folder = tmp_path_factory.mktemp("grid")
    (folder / "x.png").write_bytes(data)
    _decode_folder(folder, tiny, grid=(2, 2))
