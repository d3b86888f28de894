"""Crash-isolated parallel calls: local worker processes or a Dask cluster.

:mod:`gridv2g.batch` (whole scenarios) and :mod:`gridv2g.siting.swarm` (screening evaluations,
each worker holding a compiled model) run their calls through one of two runners with one
interface, ``runner.run(fn, calls, done)``: ``calls`` is a list of ``(key, args)``, and
``done(key, result)`` is called as each ``fn(*args)`` finishes (in the order they finish).

A call that kills its worker process (a native crash, ``os._exit``) fails alone, on either
runner: its result is a :class:`WorkerLost` naming the cause, and the calls in flight with it
are re-run. Locally (:class:`ProcessRunner`), a dying worker breaks the whole pool and fails
every unfinished call: those are re-run one at a time in a pool of one process (a crash can
then only be the call's own), a call that kills it too is retried once in a fresh one, then
reported. On Dask (:class:`DaskRunner`), the scheduler retries a call whose worker died among
the others (once on a local cluster, whose ``allowed-failures`` is set to 1; the remote
scheduler's own setting otherwise), then errs it with ``KilledWorker``; it is then run alone
on the cluster and reported if it kills its worker again.

A local pool's workers die with their parent (:func:`die_with_parent`: a ``kill -9`` of the
parent takes them along); a local Dask cluster listens on loopback only.

This module sits low in the layers (tests/test_layers.py): it imports nothing of gridv2g but
its errors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from gridv2g.errors import GridV2GError

Calls = Iterable[tuple[Hashable, tuple]]
Done = Callable[[Hashable, object], None]


@dataclass(frozen=True)
class WorkerLost:
    """The result of a call that killed its worker process every time it ran (or whose
    worker the cluster lost): ``reason`` says which and how often."""

    reason: str


def die_with_parent() -> None:
    """Worker initializer: on Linux, the kernel kills this worker when its parent dies (a
    ``kill -9`` of a batch left its pool workers running for good, ~370 MB each)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before the call took effect
            os._exit(1)


def _start_worker(initializer, initargs) -> None:
    die_with_parent()
    if initializer is not None:
        initializer(*initargs)


class ProcessRunner:
    """Local worker processes: one pool kept from run to run (replaced after a crash), each
    process set up by ``initializer(*initargs)`` when it starts. An exception ``fn`` raises
    propagates; a worker's death is reported (module docstring)."""

    def __init__(self, workers: int, initializer: Callable | None = None, initargs: tuple = ()):
        self.workers = max(int(workers), 1)
        self.initializer, self.initargs = initializer, tuple(initargs)
        self.pool: ProcessPoolExecutor | None = None

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            initializer=_start_worker,
            initargs=(self.initializer, self.initargs),
        )

    def run(self, fn: Callable, calls: Calls, done: Done) -> None:
        calls = list(calls)
        if not calls:
            return
        if self.pool is None:
            self.pool = self._new_pool(self.workers)
        left = []  # calls in flight (or queued) when a worker process died
        futures = {self.pool.submit(fn, *args): (key, args) for key, args in calls}
        for future in as_completed(futures):
            key, args = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                # one call killed its worker, and the pool fails every unfinished one: those
                # are re-run below, one at a time
                left.append((key, args))
                continue
            done(key, result)
        if not left:
            return
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None  # broken: the next run starts a new one
        solo = None
        try:
            for key, args in left:
                # alone in its process, a crash can only be its own: retried once, then
                # reported
                for attempt in (1, 2):
                    solo = solo or self._new_pool(1)
                    try:
                        result = solo.submit(fn, *args).result()
                        break
                    except BrokenProcessPool as exc:
                        solo.shutdown(wait=True)
                        solo = None
                        result = WorkerLost(f"worker process died ({attempt} attempts): {exc}")
                done(key, result)
        finally:
            if solo is not None:
                solo.shutdown(wait=True)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _dask():
    try:
        import dask
        import dask.distributed
    except ImportError:
        raise GridV2GError(
            'Dask is not installed: pip install "gridv2g[dask]", or run without --dask'
        ) from None
    return dask, dask.distributed


class DaskRunner:
    """A Dask cluster: ``address`` of a running scheduler, or None for a local cluster of
    ``workers`` processes (one thread each) started here and closed by :meth:`close`, every
    service on 127.0.0.1 (``dashboard_address`` None: no dashboard). ``client`` is the
    connection (e.g. to register worker plugins). Any error of a call other than its worker's
    death comes back as a :class:`WorkerLost` too (Dask re-raises a task's own errors like
    the cluster's; the callers' functions return their failures as results)."""

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        dashboard_address: str | None = None,
    ):
        dask, distributed = _dask()
        self.cluster = None
        if address is None:
            # set for this cluster only (its scheduler reads them when it starts): a task
            # whose worker died is retried once, then errs with KilledWorker (Dask's default,
            # 3, costs four worker restarts per crashing call); and where the scheduler
            # queues tasks (more than twice the threads) a worker holds one per thread, not
            # two: a dying worker's tasks are all blamed for its death
            settings = {
                "distributed.scheduler.allowed-failures": 1,
                "distributed.scheduler.worker-saturation": 1.0,
            }
            with dask.config.set(settings):
                # every service on loopback: Dask's dashboard defaults to all interfaces
                self.cluster = distributed.LocalCluster(
                    n_workers=max(int(workers or os.cpu_count() or 1), 1),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=dashboard_address,
                )
            address = self.cluster.scheduler_address
        try:
            self.client = distributed.Client(address)
        except BaseException:
            if self.cluster is not None:
                self.cluster.close()
            raise
        self.address = address

    def run(self, fn: Callable, calls: Calls, done: Done) -> None:
        from dask.distributed import KilledWorker, as_completed

        client = self.client

        def lost(exc) -> WorkerLost:
            return WorkerLost(f"worker lost: {exc!r}")

        left = []  # calls erred with KilledWorker while others ran
        futures = {client.submit(fn, *args, pure=False): (key, args) for key, args in calls}
        for future in as_completed(list(futures)):
            key, args = futures.pop(future)
            try:
                result = future.result()
            except KilledWorker:
                # the scheduler blames every task a dying worker held, the innocent ones
                # queued beside the crashing one too: each is re-run alone below
                left.append((key, args))
                continue
            except Exception as exc:  # e.g. the connection to the scheduler lost
                result = lost(exc)
            finally:
                # a result held on a worker that dies is computed again: drop it now
                future.release()
            done(key, result)
        for key, args in left:
            # alone on the cluster, a worker's death can only be this call's own
            future = client.submit(fn, *args, pure=False)
            try:
                result = future.result()
            except KilledWorker as exc:
                result = WorkerLost(
                    f"worker process died ({exc.allowed_failures + 1} attempts alone): Dask "
                    f"KilledWorker, last on {exc.last_worker.address}"
                )
            except Exception as exc:
                result = lost(exc)
            finally:
                future.release()
            done(key, result)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
                self.cluster = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
