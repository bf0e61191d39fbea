"""Where the per-file jobs of a build run: this process, a local process pool, or a Dask cluster.

:func:`run` hands every :class:`~specimg.dataset.tiling.Job` to
:func:`~specimg.dataset.tiling.build_file` and each record, as it finishes, to a callback.
Every worker computes with one BLAS thread, so the mel projection rounds the same way
wherever a file is analysed (pool, Dask, or in-process).

Ctrl-C and the local pools (:func:`process_pool`, the build's): the workers ignore SIGINT,
so only this process acts on it. From before the first worker starts until the last one
is gone, SIGINT here is recorded instead of raised (a ``KeyboardInterrupt`` raised inside
the fork hooks or a finalizer would be printed as "Exception ignored" and lost, and a
worker forked before ignoring it would die and break the pool), and raised at the next
point where this process waits for the workers. The pool is then stopped: queued jobs
cancelled, the workers sent SIGTERM (a job in hand unwinds, its atomic writes removing
their ``.part`` files, then the worker exits; a worker between jobs, or sending a result
back, finishes the message and exits on the pool's sentinel, taking no further job: dying
mid-message left the parent's pool waiting forever for the rest) and waited for. A Ctrl-C seen while the
pool stops for any reason, a ``BrokenProcessPool`` included, ends as ``KeyboardInterrupt``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeVar

import numpy as np

from ..errors import ParameterError, SpecimgError
from ..params import SpectrogramParams
from ..resources import SIGINT_SEEN
from ..spectral import magnitude
from .tiling import Job, build_file, one_line, warm

__all__ = ["dask_executor", "process_pool", "run", "run_window", "single_blas_thread"]

_BLAS_LOCK = threading.Lock()
_SINGLE_THREADED = False  # BLAS limited to one thread for the rest of this (worker) process
_BLAS_LIMITS: Any = None

_BUSY = threading.Event()  # set while a pool worker runs a job
_STOPPING = threading.Event()  # set in a pool worker that got SIGTERM between jobs
#: Seconds :meth:`_Pool.stop` gives the workers to end after SIGTERM before it kills them.
STOP_GRACE = 10.0
_PARENT: list[int] = []  # the build's pid, seen by a pool worker when it started
_T = TypeVar("_T")


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
    with _Pool(n) as pool:
        _drain(pool, build_file, jobs, 2 * n, finished)


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

    pool = executor if isinstance(executor, _Pool) else None
    try:
        refill()
        while pending:  # a local pool: SIGINT is recorded, and looked at here at least every 0.1 s
            done, still = cf.wait(pending, timeout=None if pool is None else 0.1, return_when=cf.FIRST_COMPLETED)
            pending.clear()
            pending.update(still)
            if pool is not None:
                pool.check_interrupt()
            for fut in done:
                finished(fut.result())
            refill()
    except BaseException:
        if pool is not None:  # the pool cancels its own futures: one thread marks them (module notes)
            pool.stop()
            raise
        for fut in pending:
            fut.cancel()
        with contextlib.suppress(Exception):
            try:
                executor.shutdown(wait=False, cancel_futures=True)
            except TypeError:  # Dask's ClientExecutor has no cancel_futures
                executor.shutdown(wait=False)
        raise


class _DeferredSigint:
    """SIGINT recorded instead of raised, until :meth:`restore` (only in the main thread,
    where Python runs signal handlers; not when SIGINT is ignored, as under ``nohup``)."""

    def __init__(self) -> None:
        self.hit = False
        self.previous: Any = None
        self.installed = threading.current_thread() is threading.main_thread() and signal.getsignal(
            signal.SIGINT
        ) not in (signal.SIG_IGN, None)
        if self.installed:
            self.previous = signal.signal(signal.SIGINT, self.record)

    def record(self, signum: int, frame: Any) -> None:
        self.hit = True

    def restore(self) -> bool:
        """Put the previous handler back; whether SIGINT came meanwhile."""
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)
            self.installed = False
        return self.hit


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back in this thread: a worker started now begins with it blocked, until
    its initializer has set it to be ignored (then unblocks it)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Pool(cf.ProcessPoolExecutor):
    """The local process pool: Ctrl-C at any moment stops it cleanly (module notes)."""

    def __init__(self, workers: int) -> None:
        self._sigint = _DeferredSigint()  # before any worker exists: one forked now inherits it
        try:
            super().__init__(max_workers=workers, initializer=_init_pool_worker)
        except BaseException:
            self._sigint.restore()
            raise

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> cf.Future[_T]:
        with _sigint_blocked():  # workers start in submit
            return super().submit(_in_pool_worker, fn, *args, **kwargs)

    def check_interrupt(self) -> None:
        """KeyboardInterrupt if SIGINT came since the pool was made, or reached the ``specimg``
        command earlier without stopping it (:data:`specimg.resources.SIGINT_SEEN`)."""
        if self._sigint.hit or SIGINT_SEEN.is_set():
            raise KeyboardInterrupt

    def stop(self) -> None:
        """Cancel the queued jobs, send the workers SIGTERM and wait for them (and for the pool's threads).

        A worker that is still alive :data:`STOP_GRACE` seconds later is killed: one blocked
        handing a result to a pool that has stopped reading (it found another worker gone).
        Then this process's end of the result pipe is closed, so that a result cut short
        by the kill ends the pool's wait for the rest of it.
        """
        processes: dict[Any, Any] = {}
        with contextlib.suppress(RuntimeError):  # the pool's thread changed the dict meanwhile: it is stopping them
            processes = dict(getattr(self, "_processes", None) or {})
        # shutdown(wait=False) below drops the pool's references to its thread and queues: keep them
        manager = getattr(self, "_executor_manager_thread", None)
        results = getattr(self, "_result_queue", None)
        for process in processes.values():
            with contextlib.suppress(Exception):
                process.terminate()
        # The pool's own thread cancels the queued futures (cancelling them from here races
        # with it marking them broken, which raises InvalidStateError in that thread).
        self.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + STOP_GRACE
        for process in processes.values():
            with contextlib.suppress(Exception):
                process.join(max(deadline - time.monotonic(), 0.0))
        for process in processes.values():
            with contextlib.suppress(Exception):
                if process.is_alive():
                    process.kill()
                    process.join(5.0)
        with contextlib.suppress(Exception):  # the pipe's write end the workers used (concurrent.futures' SimpleQueue)
            results._writer.close()  # type: ignore[union-attr]
        if manager is not None:  # the pool's thread: done once it has seen every worker end
            manager.join()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> Literal[False]:
        try:
            if exc_type is None:
                self.shutdown(wait=True)
            else:
                self.stop()
        finally:
            interrupted = self._sigint.restore()
        if interrupted and not isinstance(exc, KeyboardInterrupt):  # a BrokenProcessPool it caused, or none
            raise KeyboardInterrupt from None
        return False


def _run_on_dask_worker(job: Job) -> dict[str, Any]:
    _limit_blas()
    return build_file(job)


class _Stopped(BaseException):
    """SIGTERM in a pool worker running a job: the parent stops the pool (module notes)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    if _BUSY.is_set():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the pool's own SIGTERM must not cut the unwinding short
        raise _Stopped  # unwind the job: its with-blocks remove their temporary files
    # Idle, or handing a result back: exiting here could cut a result in half (the parent's
    # pool then waits forever for the rest of the message) or die holding the lock of the
    # queue the workers share. The pool's shutdown sends this worker its sentinel, on
    # which it exits; a job still queued for it is refused (_in_pool_worker).
    _STOPPING.set()


def _in_pool_worker(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``fn(*args, **kwargs)`` in a pool worker: refused once orphaned or stopped, unwound when stopped during it."""
    if _STOPPING.is_set() or (_PARENT and os.getppid() != _PARENT[0]):
        os._exit(1)  # stopped, or orphaned (the build is gone): take no job still queued for it
    try:
        _BUSY.set()
        return fn(*args, **kwargs)
    except _Stopped:
        os._exit(1)  # the job has unwound
    finally:
        _BUSY.clear()


def _init_pool_worker() -> None:
    """Process pool initializer: one BLAS thread, Ctrl-C left to the parent, SIGTERM ends
    the job in hand cleanly, and exit once the parent is gone (killed with -9, say) and the
    file in hand is finished: an orphaned worker would otherwise wait for work forever."""
    _limit_blas()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it started this worker
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
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
    left to the parent, exit once orphaned.

    Use it in a ``with`` block and hand it to :func:`run_window`: a Ctrl-C at any moment,
    the pool's start-up included, then stops the workers and leaves the block as one
    ``KeyboardInterrupt`` (module notes).
    """
    return _Pool(workers)


def run_window(executor: Any, fn: Callable[[Any], Any], items: Iterable[Any], window: int,
               finished: Callable[[Any], None]) -> None:  # fmt: skip
    """Submit ``fn(item)`` for every item, at most ``window`` in flight (items are drawn lazily),
    and hand each result to ``finished`` in this process as it completes; on any error the
    rest is cancelled and the error raised."""
    _drain(executor, fn, items, window, finished)


def single_blas_thread() -> None:
    """One BLAS thread in this process for good (call it at the start of a job run on Dask)."""
    _limit_blas()
