"""Run slow external work (helm, git, hooks) on a bounded thread pool.

    outcomes = run_parallel(render, nodes, jobs=4)
    first_failure(outcomes)  # raise the first exception, in input order

Results come back in input order, so nothing downstream depends on timing. An interrupt
(SIGINT, SIGTERM) cancels queued work and kills running commands before it propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from fabrikate.process import check_interrupted, stop_all

__all__ = ["first_failure", "run_parallel"]

T = TypeVar("T")
R = TypeVar("R")


def run_parallel(fn: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R | Exception]:
    """``fn`` over ``items`` with at most ``jobs`` at once; each outcome is a result or the
    ``Exception`` it raised."""
    jobs = max(1, min(jobs, len(items)))
    if jobs == 1:
        return [_call(fn, item) for item in items]
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(_call, fn, item) for item in items]
        wait(futures)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all()
        raise
    pool.shutdown()
    return [future.result() for future in futures]


def _call(fn: Callable[[T], R], item: T) -> R | Exception:
    check_interrupted()
    try:
        return fn(item)
    except Exception as exc:  # collected: the caller decides what a failure means
        return exc


def first_failure(outcomes: Sequence[R | Exception]) -> list[R]:
    """The results, or the first exception among them raised."""
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return list(outcomes)  # type: ignore[arg-type]
