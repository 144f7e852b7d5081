"""The one pool: outcomes in input order, failures as values, one job runs inline."""

from __future__ import annotations

import threading
import time

import pytest

from fabrikate.support.parallel import Pool, first_failure, run_parallel


def test_outcomes_come_back_in_input_order_whatever_the_timing() -> None:
    def slow_first(n: int) -> int:
        time.sleep(0.05 * (3 - n))
        return n * 10

    assert run_parallel(slow_first, [0, 1, 2], jobs=3) == [0, 10, 20]


def test_failures_are_outcomes_and_first_failure_raises_the_first() -> None:
    def check(n: int) -> int:
        if n % 2:
            raise ValueError(f"odd {n}")
        return n

    outcomes = run_parallel(check, [0, 1, 2, 3], jobs=2)
    assert outcomes[0] == 0 and outcomes[2] == 2
    assert [str(o) for o in outcomes if isinstance(o, ValueError)] == ["odd 1", "odd 3"]
    with pytest.raises(ValueError, match="odd 1"):
        first_failure(outcomes)
    assert first_failure([1, 2]) == [1, 2]


def test_one_job_runs_inline_and_more_run_at_once() -> None:
    with Pool(1) as pool:
        inline = pool.submit(threading.get_ident)
    assert inline.result() == threading.get_ident()
    barrier = threading.Barrier(3, timeout=10)
    with Pool(3) as pool:  # three calls that only finish together: they ran at the same time
        futures = [pool.submit(barrier.wait) for _ in range(3)]
        pool.wait()
    assert sorted(f.result() for f in futures) == [0, 1, 2]


def test_leaving_the_pool_waits_for_running_work() -> None:
    done: list[int] = []
    with Pool(2) as pool:
        pool.submit(lambda: (time.sleep(0.1), done.append(1)))
    assert done == [1]


def test_queued_calls_start_costliest_first() -> None:
    names = ("short", "none", "long", "mid", "tie")
    started: list[str] = []
    all_started = threading.Event()

    def start(name: str) -> None:
        started.append(name)
        if len(started) == len(names):
            all_started.set()

    first, second = threading.Event(), threading.Event()
    with Pool(2) as pool:
        pool.submit(first.wait, 10)  # both workers busy while the calls queue up
        pool.submit(second.wait, 10)
        for name, cost in zip(names, (1.0, 0.0, 9.0, 5.0, 5.0), strict=True):
            pool.submit(start, name, cost=cost)
        first.set()  # one worker takes the queued calls, one at a time
        assert all_started.wait(10)
        second.set()
    assert started == ["long", "mid", "tie", "short", "none"]
