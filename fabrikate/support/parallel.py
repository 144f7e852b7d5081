"""Run slow external work (helm, git, hooks) on a bounded thread pool.

    outcomes = run_parallel(render, nodes, jobs=4)
    first_failure(outcomes)  # raise the first exception, in input order

    with Pool(jobs=4) as pool:          # work handed over as it is found
        future = pool.submit(render, node)
        ...
        pool.wait()

Results come back in input order, so nothing downstream depends on timing. An interrupt
(SIGINT, SIGTERM) cancels queued work and kills running commands before it propagates.
"""

from __future__ import annotations

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

    Leaving the block waits for running work; an interrupt cancels what is queued and kills
    running commands instead, and another exception cancels what is queued.
    """

    def __init__(self, jobs: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=jobs) if jobs > 1 else None
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R | Exception]:
        """Call ``fn(*args)``; its future holds the result or the ``Exception`` it raised."""
        if self._executor is None:
            future: Future[R | Exception] = Future()
            future.set_result(_call(fn, *args))
        else:
            future = self._executor.submit(_call, fn, *args)
        self._futures.append(future)
        return future

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
            self._executor.shutdown(wait=False, cancel_futures=True)
            stop_all()
        else:
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
