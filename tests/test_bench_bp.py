"""bench/bench_bp.py works: derive proves BP1–BP4 at tiny sizes, a network beyond derive's
limits is a row saying it was refused (and which limit), not the end of the run. Nothing
here is timed."""

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "bench", "bench_bp.py")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        spec = importlib.util.spec_from_file_location("bench_bp", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.join(ROOT, "bench"))
    return module


def test_the_refused_network_names_its_limit(bench):
    assert bench.refusal((784, 30, 10)) == "entries"  # W¹ has 23 520 entries
    assert bench.refusal((2, 3, 2)) == ""
    assert (16, 32, 32, 10) in bench.DEFAULT_SIZES and (784, 30, 10) in bench.DEFAULT_SIZES


def test_script_proves_tiny_networks_and_reports_a_refused_one():
    args = [sys.executable, SCRIPT, "--skip-naive", "--sizes", "2,2,1", "--sizes", "784,30,10"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.startswith("[")}
    assert rows["[2,2,1]"][1] == "9" and float(rows["[2,2,1]"][2]) > 0
    assert rows["[784,30,10]"][1:4] == ["23860", "refused", "refused"]
    assert "[784,30,10] by the limit 'entries'" in done.stdout
