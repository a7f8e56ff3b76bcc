"""Time limits: run a piece of work in a forked child that can be stopped at the limit.

SymPy is pure Python and can run for a very long time on a harmless-looking input; a
thread cannot be stopped, a child process can. The work reports through `send`, so what
it found before the limit (numeric evidence, a count of steps done) is not lost.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field


class _Done:
    """The marker a child sends when its work has returned."""


@dataclass
class LimitedRun:
    """What a limited run sent, whether it returned in time, and how it ended."""

    messages: list = field(default_factory=list)
    completed: bool = False
    timed_out: bool = False
    exitcode: int | None = None
    seconds: float = 0.0


def run_limited(work, timeout: float) -> LimitedRun:
    """Call `work(send)` in a forked child for at most `timeout` seconds.

    `send(message)` passes any picklable message back; they arrive in order in
    `LimitedRun.messages`. The child is killed at the limit."""
    mp = multiprocessing.get_context("fork")
    receiver, sender = mp.Pipe(duplex=False)
    done = _Done()

    def child():
        receiver.close()
        try:
            work(sender.send)
            sender.send(done)
        finally:
            sender.close()

    run = LimitedRun()
    started = time.perf_counter()
    process = mp.Process(target=child, daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            remaining = started + timeout - time.perf_counter()
            if remaining <= 0 or not receiver.poll(remaining):
                run.timed_out = remaining <= 0 or time.perf_counter() - started >= timeout
                break
            try:
                message = receiver.recv()
            except EOFError:  # the child died without finishing
                break
            if isinstance(message, _Done):
                run.completed = True
                break
            run.messages.append(message)
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    run.exitcode = process.exitcode
    run.seconds = time.perf_counter() - started
    return run
