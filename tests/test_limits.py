"""limits.py: work in a child process, stopped at its time limit, its messages kept."""

import os
import time

from derive.limits import run_limited


def test_completed_work_returns_its_messages_in_order():
    run = run_limited(lambda send: [send(i) for i in range(3)], timeout=30)
    assert run.completed and not run.timed_out
    assert run.messages == [0, 1, 2]


def test_runaway_work_is_stopped_at_the_limit_and_keeps_what_it_sent():
    def work(send):
        send("started")
        time.sleep(60)

    started = time.perf_counter()
    run = run_limited(work, timeout=0.5)
    assert run.timed_out and not run.completed
    assert run.messages == ["started"]
    assert time.perf_counter() - started < 10


def test_a_child_that_dies_is_neither_completed_nor_timed_out():
    run = run_limited(lambda send: os._exit(3), timeout=30)
    assert not run.completed and not run.timed_out and run.exitcode == 3
