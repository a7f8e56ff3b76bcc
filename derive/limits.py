"""Limits: one table of how much derive will take on, and the means to enforce it.

* `LIMITS`: sizes too large to check are refused at once, as bad input naming the limit
  (`refuse`), before any SymPy work: the model reads this table while it builds, the
  CLI, the API and the pytest plugin all go through the model.
* `seconds`: what a time limit may be (a positive finite number of seconds, at most
  `LIMITS["timeout_s"]`, or none).
* `run_limited`: a piece of work in a forked child that is stopped at its time limit,
  with its address space capped (`LIMITS["memory_mb"]` beyond what the parent holds);
  the work reports through `send`, so what it found before the limit is not lost, and an
  error in the child comes back as a message, never as a traceback on stderr.
* `time_box`: a time limit on the work done in this process (parsing, validation,
  compiling), which cannot be moved into a child because its result stays here. The
  time spent waiting for limited children does not count against it: they have limits
  of their own.

SymPy is pure Python and can run for a very long time on a harmless-looking input; a
thread cannot be stopped, a child process can, and the main thread can be interrupted.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field

from .errors import DeriveDeclarationError, DeriveError, Pos

# The one table of limits. Every number is what derive will check; beyond it the input
# is refused with a message naming the limit (the key below).
LIMITS = {
    "file_bytes": 1_000_000,  # size of one rule file
    "digits": 1000,  # digits of one number written in a file
    "nesting": 120,  # depth of one expression's parse tree (terms of a long sum count too)
    "size": 10_000,  # one layer width, one `size` or one dimension of an input
    "entries": 10_000,  # entries of one quantity (a weight matrix W^l: n^l × n^(l-1))
    "scalars": 20_000,  # scalar quantities of one network (at one size set) or one graph
    "instances": 10_000,  # values a rule's or a declaration's quantifiers take together
    "memory_mb": 2048,  # memory a rule check may add to what derive holds before it
    "timeout_s": 1_000_000,  # one time limit in seconds (--timeout); longer: `none`, no limit
}


def refuse(what: str, value: int, limit: str, pos: Pos | None) -> DeriveError:
    """Bad input: `what` (e.g. "layer 1 would have 23520 weights") exceeds the limit `limit`."""
    return DeriveDeclarationError(f"too large to check: {what} {value}, more than the limit of {LIMITS[limit]} "
                                  f"({limit} in derive.limits.LIMITS)", pos)


def within(value: int, limit: str, what: str, pos: Pos | None) -> int:
    """`value`, or raise `refuse(...)` when it exceeds `LIMITS[limit]`."""
    if value > LIMITS[limit]:
        raise refuse(what, value, limit, pos)
    return value


def seconds(text) -> float | None:
    """A time limit: a positive finite number of seconds, at most `LIMITS["timeout_s"]`, or
    "none" (no limit: None). Raises ValueError with a message saying what is expected."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "none"):
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"not a number of seconds: {text!r} (a positive number, or none for no limit)") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"a time limit must be a positive finite number of seconds (or none for no limit), "
                         f"not {text!r}")
    if value > LIMITS["timeout_s"]:  # a timer cannot be set that far ahead; none is what is meant
        raise ValueError(f"a time limit is at most {LIMITS['timeout_s']} seconds (timeout_s in "
                         f"derive.limits.LIMITS), not {text!r}: write none for no limit")
    return value


# ---------------------------------------------------------------- work in a child


class _Done:
    """The marker a child sends when its work has returned."""


@dataclass(frozen=True)
class ChildError:
    """The marker a child sends when its work raised: the exception's type, message and traceback."""

    kind: str
    message: str
    traceback: str = ""

    @property
    def out_of_memory(self) -> bool:
        return self.kind == "MemoryError"


@dataclass
class LimitedRun:
    """What a limited run sent, whether it returned in time, and how it ended."""

    messages: list = field(default_factory=list)
    completed: bool = False
    timed_out: bool = False
    exitcode: int | None = None
    seconds: float = 0.0
    error: ChildError | None = None  # the work raised this (it was not completed)


def _address_space() -> int | None:
    """Bytes of address space this process holds now (Linux), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _cap_memory(extra_mb: float | None) -> None:
    """Cap this (child) process's address space at what it holds plus `extra_mb`."""
    if not extra_mb:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    held = _address_space()
    if held is None:
        return
    cap = held + int(extra_mb * 1024 * 1024)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def run_limited(work, timeout: float, memory_mb: float | None = None) -> LimitedRun:
    """Call `work(send)` in a forked child for at most `timeout` seconds, its address
    space capped at what this process holds plus `memory_mb` (default `LIMITS["memory_mb"]`;
    0: no cap).

    `send(message)` passes any picklable message back; they arrive in order in
    `LimitedRun.messages`. The child is killed at the limit. An exception in the work is
    sent back as `LimitedRun.error` and never printed."""
    mp = multiprocessing.get_context("fork")
    receiver, sender = mp.Pipe(duplex=False)
    done = _Done()
    extra = LIMITS["memory_mb"] if memory_mb is None else memory_mb

    def child():
        receiver.close()
        try:
            _cap_memory(extra)
            work(sender.send)
            sender.send(done)
        except BaseException as e:  # noqa: BLE001 - reported through the pipe: a child never prints a traceback
            with contextlib.suppress(BaseException):
                text = "" if isinstance(e, MemoryError) else traceback.format_exc(limit=5)
                sender.send(ChildError(type(e).__name__, str(e), text))
        finally:
            with contextlib.suppress(BaseException):
                sender.close()

    run = LimitedRun()
    started = time.perf_counter()
    with _paused_time_box():
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
                if isinstance(message, ChildError):
                    run.error = message
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


# ---------------------------------------------------------------- work in this process


class TimeLimitExceeded(BaseException):
    """Raised in the main thread when a `time_box` runs out. A BaseException, so that no
    `except Exception` in the work can swallow it."""


_REPEAT = 0.1  # seconds between alarms once a time box has run out
_boxes = [0]  # how many time boxes are active in this process (run_limited pauses them)


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_box(timeout: float | None, filename: str = "<input>"):
    """Limit the work done in this process inside the block to `timeout` seconds
    (None: no limit). At the limit, a `DeriveError` naming the file and the limit.

    Works in the main thread (it uses SIGALRM); elsewhere, or when another alarm is
    already set (pytest-timeout, say), the block runs without this limit."""
    if timeout is None or not _usable() or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    armed = [True]

    def alarm(signum, frame):
        if armed[0]:
            raise TimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, alarm)
    # Repeating: an exception raised where Python cannot raise it (a finalizer, a weakref
    # callback) is dropped, so the alarm comes again until the work is stopped.
    _boxes[0] += 1
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout, _REPEAT)
        yield
    except TimeLimitExceeded:
        armed[0] = False
        raise DeriveError(f"reading, validating and compiling this file took longer than the time limit "
                          f"of {timeout:g} s (--timeout)", filename=filename) from None
    finally:
        armed[0] = False
        _boxes[0] -= 1
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _paused_time_box():
    """Stop this process's time box while a limited child works (it has its own limit)."""
    if not _boxes[0] or not _usable():
        yield
        return
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining <= 0:
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, remaining, interval)
