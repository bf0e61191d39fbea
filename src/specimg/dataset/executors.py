"""Where the per-file jobs of a build run: this process, a local process pool, or a Dask cluster.

:func:`run` hands every :class:`~specimg.dataset.tiling.Job` to
:func:`~specimg.dataset.tiling.build_file` and each record, as it finishes, to a callback.
Every worker computes with one BLAS thread, so the mel projection rounds the same way
wherever a file is analysed (pool, Dask, or in-process).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import ParameterError, SpecimgError
from ..params import SpectrogramParams
from ..spectral import magnitude
from .tiling import Job, build_file, one_line, warm

__all__ = ["dask_executor", "process_pool", "run", "run_window", "single_blas_thread"]

_BLAS_LOCK = threading.Lock()
_SINGLE_THREADED = False  # BLAS limited to one thread for the rest of this (worker) process
_BLAS_LIMITS: Any = None

_BUSY = threading.Event()  # set while a pool worker runs a job
_PARENT: list[int] = []  # the build's pid, seen by a pool worker when it started


def _limit_blas() -> None:
    """One BLAS thread in this process, for good: a worker runs one file per CPU, and the
    mel projection must round the same way in every worker (pool, Dask, or in-process)."""
    global _SINGLE_THREADED, _BLAS_LIMITS
    with _BLAS_LOCK:
        if _SINGLE_THREADED:
            return
        with contextlib.suppress(ImportError):
            from threadpoolctl import threadpool_limits

            _BLAS_LIMITS = threadpool_limits(limits=1)
        _SINGLE_THREADED = True


def _preload(params: SpectrogramParams) -> None:
    """Run the analysis once on a few zeros, here: librosa imports its modules lazily on
    first use and compiles numba code then (about a CPU-second), which forked workers
    then inherit instead of each paying for it."""
    import librosa

    warm(params)
    y = np.zeros(2 * params.n_fft)
    magnitude(y, params, dtype=np.float32)
    librosa.resample(y, orig_sr=2 * params.sr, target_sr=params.sr)


def run(jobs: list[Job], workers: int | None, dask: tuple[Any, int] | None,
        finished: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
    """Run :func:`~specimg.dataset.tiling.build_file` on every job and hand each record to ``finished``.

    Parameters
    ----------
    jobs : list of Job
    workers : int > 0 or None
        Processes of the local pool; None → ``os.cpu_count()``; 1 (or a single job) runs
        in this process. Ignored with ``dask``.
    dask : (executor, int) or None
        From :func:`dask_executor`: run there, with that many jobs in flight.
    finished : callable
        Called in this process with every record, in the order the jobs finish.
    """
    if not jobs:
        return
    if dask is not None:
        executor, window = dask
        _drain(executor, _run_on_dask_worker, jobs, window, finished)
        return
    _preload(jobs[0].params)
    n = min(workers or os.cpu_count() or 1, len(jobs))
    if n == 1:
        limits: Any = contextlib.nullcontext()
        if not _SINGLE_THREADED:
            with contextlib.suppress(ImportError):
                from threadpoolctl import threadpool_limits

                limits = threadpool_limits(limits=1)  # restored afterwards: this is the caller's process
        with limits:
            for job in jobs:
                finished(build_file(job))
        return
    with cf.ProcessPoolExecutor(max_workers=n, initializer=_init_pool_worker) as pool:
        _drain(pool, _run_in_pool_worker, jobs, 2 * n, finished)


def _drain(executor: Any, fn: Callable[[Job], dict[str, Any]], jobs: Iterable[Job], window: int,
           finished: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
    """Submit jobs keeping at most ``window`` in flight; hand each record to ``finished``."""
    todo = iter(jobs)
    pending: set[cf.Future] = set()

    def refill() -> None:
        while len(pending) < window:
            job = next(todo, None)
            if job is None:
                return
            pending.add(executor.submit(fn, job))

    try:
        refill()
        while pending:
            done, still = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            pending.clear()
            pending.update(still)
            for fut in done:
                finished(fut.result())
            refill()
    except BaseException:
        for fut in pending:
            fut.cancel()
        with contextlib.suppress(Exception):
            try:
                executor.shutdown(wait=False, cancel_futures=True)
            except TypeError:  # Dask's ClientExecutor has no cancel_futures
                executor.shutdown(wait=False)
        raise


def _run_on_dask_worker(job: Job) -> dict[str, Any]:
    _limit_blas()
    return build_file(job)


def _run_in_pool_worker(job: Job) -> dict[str, Any]:
    if _PARENT and os.getppid() != _PARENT[0]:
        os._exit(1)  # orphaned: the build is gone, take no job still queued for it
    _BUSY.set()
    try:
        return build_file(job)
    finally:
        _BUSY.clear()


def _init_pool_worker() -> None:
    """Process pool initializer: one BLAS thread, Ctrl-C left to the parent, and exit once
    the parent is gone (killed with -9, say) and the file in hand is finished: an orphaned
    worker would otherwise wait for work forever."""
    _limit_blas()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    _PARENT[:] = [parent]

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        while _BUSY.is_set():
            time.sleep(0.05)
        os._exit(1)

    threading.Thread(target=watch, name="specimg-parent-watch", daemon=True).start()


def dask_executor(scheduler: Any, stack: contextlib.ExitStack) -> tuple[Any, int]:
    """(executor, jobs to keep in flight) for a Dask scheduler address, Client or cluster.

    A Client made here is closed by ``stack``.

    Raises
    ------
    ParameterError
        If ``scheduler`` is a malformed address.
    SpecimgError
        If Dask's ``distributed`` is not installed or the scheduler cannot be reached.
    """
    try:
        import distributed
    except ImportError:
        raise SpecimgError(
            f"scheduler={scheduler!r} needs Dask's distributed package: pip install 'specimg[dask]'"
        ) from None
    if isinstance(scheduler, distributed.Client):
        client = scheduler
    else:
        address = scheduler if isinstance(scheduler, str) else getattr(scheduler, "scheduler_address", scheduler)
        try:
            if isinstance(address, str):  # a malformed address makes Client hang for a minute
                from distributed.comm import get_address_host

                try:
                    get_address_host(address)
                except (ValueError, TypeError) as exc:
                    raise ParameterError(
                        f"scheduler={address!r} is not a scheduler address like tcp://host:8786 ({one_line(exc)})"
                    ) from None
            client = distributed.Client(address, set_as_default=False, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise SpecimgError(f"cannot connect to the Dask scheduler {address!r}: {one_line(exc)}") from None
        stack.callback(client.close)
    threads = sum(client.nthreads().values()) or 1
    return client.get_executor(pure=False), 2 * threads


# ---------------------------------------------------------------------------- for other per-item jobs (decoding)
def process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A local process pool whose workers behave as the build's: one BLAS thread, Ctrl-C
    left to the parent, exit once orphaned."""
    return cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_pool_worker)


def run_window(executor: Any, fn: Callable[[Any], Any], items: Iterable[Any], window: int,
               finished: Callable[[Any], None]) -> None:  # fmt: skip
    """Submit ``fn(item)`` for every item, at most ``window`` in flight (items are drawn lazily),
    and hand each result to ``finished`` in this process as it completes; on any error the
    rest is cancelled and the error raised."""
    _drain(executor, fn, items, window, finished)


def single_blas_thread() -> None:
    """One BLAS thread in this process for good (call it at the start of a job run on Dask)."""
    _limit_blas()
