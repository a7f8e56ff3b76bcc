"""limits.py: work in a child process, stopped at its time limit, its messages kept."""

import os
import signal
import time

import pytest

from derive.errors import DeriveError
from derive.limits import LIMITS, run_limited, seconds, time_box

# Parsed and compiled in milliseconds; checked in far more than a second (a 10-term multinomial to the 15th).
SLOW = "rule slow: ((x+y+z+w)^2)^15 = (x^2+y^2+z^2+w^2+2x y+2x z+2x w+2y z+2y w+2z w)^15\n"


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


# ---------------------------------------------------------------- what a child reports


def test_an_exception_in_the_child_comes_back_as_a_message_and_prints_nothing(capfd):
    def work(send):
        send("started")
        raise ValueError("broken on purpose")

    run = run_limited(work, timeout=30)
    assert not run.completed and run.messages == ["started"]
    assert run.error.kind == "ValueError" and run.error.message == "broken on purpose"
    assert "broken on purpose" in run.error.traceback
    out, err = capfd.readouterr()
    assert "Traceback" not in err and "Process ForkProcess" not in err and err == ""


def test_the_child_address_space_is_capped():
    run = run_limited(lambda send: send(len(bytearray(8 * 1024 ** 3))), timeout=60, memory_mb=200)
    assert not run.completed and run.error is not None and run.error.out_of_memory


def test_a_rule_that_hits_the_memory_cap_is_undecided_with_memory_limit(monkeypatch):
    from derive.api import check_source

    monkeypatch.setitem(LIMITS, "memory_mb", 60)
    [v] = check_source("rule r: 2^(10^9) = 0", "big.deriv", timeout=60)  # 2^(10^9) alone takes 125 MB
    assert (v.verdict, v.how) == ("undecided", "memory limit")
    assert "memory limit of 60 MB" in v.detail and not v.ok


# ---------------------------------------------------------------- time limits


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "-1", "0", "0.0", "abc", "", "1e400", "-0"])
def test_a_time_limit_must_be_a_positive_finite_number(text):
    with pytest.raises(ValueError, match="seconds"):
        seconds(text)


def test_a_time_limit_may_be_none_or_positive():
    assert seconds("none") is None and seconds("None") is None and seconds(None) is None
    assert seconds("2.5") == 2.5 and seconds(1e-3) == 1e-3


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "10"])
def test_the_api_refuses_a_bad_time_limit(timeout):
    from derive.api import check_source

    with pytest.raises((ValueError, TypeError)):
        check_source("rule r: t = t", timeout=timeout)


def test_the_time_limit_covers_compiling(monkeypatch):
    from derive.api import check_source

    monkeypatch.setitem(LIMITS, "entries", 100_000)
    monkeypatch.setitem(LIMITS, "scalars", 100_000)
    text = "network n {\n layers 150, 150\n also layers none\n activation σ\n loss C = ½‖y − aᴸ‖²\n}\n"
    started = time.perf_counter()
    with pytest.raises(DeriveError, match="longer than the time limit of 0.2 s") as e:
        check_source(text, "big.deriv", timeout=0.2)
    assert time.perf_counter() - started < 1.5
    assert str(e.value).startswith("big.deriv: error:")


def test_the_time_box_is_paused_while_rules_are_checked_in_children():
    from derive.api import check_source

    # each rule runs into its own 1 s limit; three of them take 3 s, yet the file is fine
    text = SLOW + SLOW.replace("slow", "slow2") + SLOW.replace("slow", "slow3")
    verdicts = check_source(text, "slow.deriv", timeout=1)
    assert [(v.verdict, v.how) for v in verdicts] == [("undecided", "time limit")] * 3


def test_a_time_box_raises_a_located_error_and_restores_the_alarm():
    with pytest.raises(DeriveError, match="f.deriv: error: .*time limit of 0.05 s"):
        with time_box(0.05, "f.deriv"):
            while True:
                pass
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler, None)


# ---------------------------------------------------------------- sizes refused at once

NET = "network n {{\n layers {sizes}\n activation σ\n loss C = ½‖y − aᴸ‖²\n{rest}}}\n"


@pytest.mark.parametrize("text, limit, where", [
    (NET.format(sizes="1000, 1000", rest=""), "entries", "2:2"),
    (NET.format(sizes="784, 30, 10", rest=""), "entries", "2:2"),  # MNIST's 784, 30, 10: W¹ has 23520 entries
    (NET.format(sizes="2, 1000000", rest=""), "size", "2:12"),
    (NET.format(sizes="2, 3, 2\n also layers 5000, 3, 2", rest=""), "entries", "3:2"),
    (NET.format(sizes="90, 90, 90, 90", rest=""), "scalars", "2:2"),
    (NET.format(sizes="2, 3, 2", rest=" rule q: for l in 1..1000000000: a^l = a^l\n"), "instances", "5:10"),
    ("graph g {\n size T = 1000000\n input x[T]\n y = x_1\n rule r: y = y\n}\n", "size", "2:2"),
    ("graph g {\n input W[1000,1000]\n y = W_{1,1}\n rule r: y = y\n}\n", "entries", "2:8"),
    ("graph g {\n input W[99,99], V[99,99], U[99,99]\n y = W_{1,1}\n rule r: y = y\n}\n", "scalars", "2:28"),
    ("graph g {\n size T = 9000\n for t in 1..T: for s in 1..T: h^t = 1\n rule r: 1 = 1\n}\n", "instances", "3:17"),
    ("graph g {\n input x\n y = x\n rule r: for i in 1..200: for j in 1..200: y = y\n}\n", "instances", "4:27"),
])
def test_sizes_too_large_to_check_are_refused_at_once_naming_the_limit(text, limit, where):
    from derive.api import check_source

    started = time.perf_counter()
    with pytest.raises(DeriveError) as e:
        check_source(text, "big.deriv", timeout=None)
    assert time.perf_counter() - started < 5
    message = str(e.value)
    assert message.startswith(f"big.deriv:{where}: error: too large to check")
    assert f"limit of {LIMITS[limit]} ({limit} in derive.limits.LIMITS)" in message and message.endswith("^")


def test_the_limits_keep_the_shipped_sizes_and_the_benches():
    from derive.model import load

    load(NET.format(sizes="4, 8, 8, 4", rest=""))  # bench_bp's largest
    load(NET.format(sizes="100, 100", rest=""))  # W¹ with exactly LIMITS["entries"] entries
    load("graph g {\n size N = 16\n input x[N], w[5]\n y = Σ_{k=1}^{5} w_k x_k\n rule r: y = y\n}\n")


@pytest.mark.parametrize("text, where", [
    ("rule s: Σ_{k=1}^{1000000000} k x = x\n", "1:9"),
    ("graph g {\n size T = 5000\n input x\n y = Σ_{t=1}^{3 T} x\n rule r: y = y\n}\n", "4:6"),
])
def test_a_sum_of_too_many_terms_is_refused_at_once(text, where):
    from derive.api import check_source

    with pytest.raises(DeriveError) as e:
        check_source(text, "big.deriv", timeout=None)
    assert str(e.value).startswith(f"big.deriv:{where}: error: too large to check: a sum")
