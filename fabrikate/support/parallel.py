"""Run slow external work (helm, git, hooks) on a bounded thread pool.

    outcomes = run_parallel(render, nodes, jobs=4)
    first_failure(outcomes)  # raise the first exception, in input order

    with Pool(jobs=4) as pool:          # work handed over as it is found
        future = pool.submit(render, node)
        ...
        pool.wait()

Results come back in input order, so nothing downstream depends on timing. Each call runs in
the context (``contextvars``) of the code that submitted it. An interrupt (SIGINT, SIGTERM)
cancels queued work and kills running commands before it propagates.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Any, TypeVar

from fabrikate.support.interrupts import check_interrupted, stop_all

__all__ = ["Pool", "first_failure", "run_parallel"]

T = TypeVar("T")
R = TypeVar("R")


class Pool:
    """At most ``jobs`` calls at once, submitted over time; with one job they run inline.
    Queued calls start costliest first (``cost``; equal costs in the order submitted), so the
    longest work does not come last and leave the other workers idle.

    Leaving the block waits for running work; an interrupt cancels what is queued and kills
    running commands instead, and another exception cancels what is queued.
    """

    def __init__(self, jobs: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=jobs) if jobs > 1 else None
        self._futures: list[Future[Any]] = []
        # (-cost, order, the submitter's context, fn, args, future)
        self._queue: list[
            tuple[float, int, contextvars.Context, Callable[..., Any], tuple[Any, ...], Future[Any]]
        ] = []
        self._lock = threading.Lock()
        self._order = itertools.count()

    def submit(self, fn: Callable[..., R], *args: Any, cost: float = 0.0) -> Future[R | Exception]:
        """Call ``fn(*args)``; its future holds the result or the ``Exception`` it raised."""
        future: Future[R | Exception] = Future()
        if self._executor is None:
            future.set_result(_call(fn, *args))
        else:
            queued = (-cost, next(self._order), contextvars.copy_context(), fn, args, future)
            with self._lock:
                heapq.heappush(self._queue, queued)
            self._executor.submit(self._run_next)  # one worker turn for each call queued
        self._futures.append(future)
        return future

    def _run_next(self) -> None:
        """Run the costliest call queued."""
        with self._lock:
            if not self._queue:  # canceled
                return
            _, _, context, fn, args, future = heapq.heappop(self._queue)
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(context.run(_call, fn, *args))
        except BaseException as exc:  # nobody may wait forever for its answer
            future.set_exception(exc)
            raise

    def _cancel_queued(self) -> None:
        with self._lock:
            for *_, future in self._queue:
                future.cancel()
            self._queue.clear()

    def wait(self) -> None:
        """Wait for everything submitted so far."""
        wait(self._futures)

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._executor is None:
            return
        if exc is not None and not isinstance(exc, Exception):  # an interrupt
            self._cancel_queued()
            self._executor.shutdown(wait=False, cancel_futures=True)
            stop_all()
        else:
            if exc is not None:
                self._cancel_queued()
            self._executor.shutdown(wait=True, cancel_futures=exc is not None)


def run_parallel(fn: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R | Exception]:
    """``fn`` over ``items`` with at most ``jobs`` at once; each outcome is a result or the
    ``Exception`` it raised."""
    with Pool(min(jobs, len(items))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        pool.wait()
    return [future.result() for future in futures]


def _call(fn: Callable[..., R], *args: Any) -> R | Exception:
    check_interrupted()
    try:
        return fn(*args)
    except Exception as exc:  # collected: the caller decides what a failure means
        return exc


def first_failure(outcomes: Sequence[R | Exception]) -> list[R]:
    """The results, or the first exception among them raised."""
    for item in outcomes:
        if isinstance(item, Exception):
            raise item
    return list(outcomes)  # type: ignore[arg-type]
