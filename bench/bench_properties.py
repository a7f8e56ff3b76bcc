"""Property-based soundness bench: thousands of random rules, none may get a false verdict.

Run from the repository root:

    python bench/bench_properties.py                        # 5,000 rule cases + interval cases, 2 workers
    python bench/bench_properties.py --cases 300 --jobs 1   # a quick run
    python bench/bench_properties.py --seed 7 --timeout 10 --depth 3 --failures failures.txt

Random expression trees over derive's scalar functions (tests/strategies.py, hypothesis)
give three properties:

* equal: an equal form produced outside derive (SymPy's derivative of the tree printed back
  into derive's syntax, second derivatives, rewrites done on the tree, SymPy's own form of
  the tree) must be proved, or undecided; refuted is a *false refuted*.
* perturbed: the same forms perturbed (+ t/97, × (1 + 1/1000), a sign flipped inside, a
  factor dropped, arguments swapped), kept only when 50-digit evaluation shows the two
  sides really differ, must be refuted, or undecided; proved is a *false proved*.
* interval: derive.numeric's interval enclosure of the tree at exact points must contain
  mpmath's 100-digit value of the tree.

`--cases N` is the number of rule cases (equal and perturbed, half each, generated until
N have been checked); interval cases are N/2 trees (or `--intervals M`) at 1–3 points each,
the tree's value and its derivative by its first variable (against mpmath's numerical
derivative at 100 digits). The table counts
verdicts per property and kind; the exit code is 1 on any false verdict or an enclosure
that misses the true value. Error verdicts are allowed by the property but listed (each is
a bug in derive worth reporting), with the smallest rule that gave each message.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "tests"))
sys.path.insert(0, _HERE)

import bench_common  # noqa: E402  (after the path is set; first: it puts this checkout's derive on the path)
import strategies as S  # noqa: E402


def _settings(n: int):
    return settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))


SLOW = 60  # seconds for generating one case and finding its truth, before it is skipped


class _Slow(BaseException):  # not swallowed by an `except Exception` inside SymPy
    pass


def _too_slow(signum, frame):
    raise _Slow


def run_rules(n: int, seed_value: int, timeout: float, depth: int, out, kinds=S.KINDS) -> None:
    """Check rule cases until `n` have been checked, writing one JSON line per case.
    (Hypothesis runs a fixed number of examples; some are skipped, so it runs again, with
    the next seed, for the rest.)"""
    checked = [0]
    signal.signal(signal.SIGALRM, _too_slow)

    def one(data):
        perturbed = data.draw(st.booleans())
        signal.alarm(SLOW)  # SymPy can take minutes on a rare tree (diff, evalf): skip those
        case = None
        try:
            case = data.draw(S.perturbed_cases(depth, kinds) if perturbed else S.equal_cases(depth, kinds))
            truth = S.differ(case) if case is not None else None
        except _Slow:
            out.write(json.dumps({"property": "perturbed" if perturbed else "equal", "kind": "(any)",
                                  "outcome": "generator too slow", "text": case.text if case else ""},
                                 ensure_ascii=False) + "\n")
            return
        finally:
            signal.alarm(0)
        if case is None:
            return
        if truth is None or (case.expect == "refuted" and truth is False):
            return  # defined nowhere sampled, or the perturbation changed nothing
        record = {"property": "perturbed" if perturbed else "equal", "kind": case.kind, "how": case.how,
                  "text": case.text}
        if case.expect == "proved" and truth is True:  # the generator's rewrite is wrong: not derive's fault
            record.update(outcome="generator bug")
        else:
            started = time.perf_counter()
            limit = int(3 * timeout) + 30
            signal.alarm(limit)
            try:
                v = S.verdict(case, timeout)
                record.update(outcome=S.outcome(case, v), how_verdict=v.how, detail=v.detail[:400])
            except _Slow:  # check_source parses and compiles in this process, outside the rule's limit
                record.update(outcome="error", how_verdict="hang",
                              detail=f"no verdict after {limit} s (time limit {timeout:g} s per rule)")
            except Exception as e:  # noqa: BLE001 - bad input on a valid rule is a bug to report
                record.update(outcome="error", how_verdict="exception", detail=f"{type(e).__name__}: {e}"[:400])
            finally:
                signal.alarm(0)
            record["seconds"] = time.perf_counter() - started
            checked[0] += 1
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()

    round_ = 0
    while checked[0] < n:
        remaining = n - checked[0]
        seed(seed_value + 7919 * round_)(_settings(remaining + remaining // 2 + 1)(given(st.data())(one)))()
        round_ += 1


def run_intervals(n: int, seed_value: int, depth: int, out) -> None:
    signal.signal(signal.SIGALRM, _too_slow)

    @seed(seed_value)
    @_settings(n)
    @given(S.interval_cases(depth))
    def body(case):
        tree, pts = case
        started = time.perf_counter()
        var = S.variables_of(tree)[:1]
        for p in pts:
            for by in [None] + var:  # the tree's value, and its derivative by its first variable
                signal.alarm(SLOW)
                try:
                    result, detail = S.enclosure(tree, p, var=by)
                except _Slow:  # derive's evaluation of the tree, in this process, without a limit
                    result, detail = "error", f"hang: no value after {SLOW} s"
                except Exception as e:  # noqa: BLE001
                    result, detail = "error", f"{type(e).__name__}: {e}"
                finally:
                    signal.alarm(0)
                kind = ("piecewise" if S.has_piece(tree) else "smooth") + (", derivative" if by else ", value")
                record = {"property": "interval", "kind": kind, "outcome": result, "detail": detail[:400],
                          "text": (f"diff({S.dsl(tree)}, {by})" if by else S.dsl(tree)) + " at "
                          + ", ".join(f"{k}={v}" for k, v in p.items()),
                          "seconds": (time.perf_counter() - started) / len(pts) / (1 + len(var))}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()

    body()


def worker(args) -> None:
    with open(args.out, "w", encoding="utf-8") as out:
        run_rules(args.cases, args.seed, args.timeout, args.depth, out, tuple(args.kinds.split(",")))
        intervals = args.cases // 2 if args.intervals is None else args.intervals
        if intervals > 0:
            run_intervals(intervals, args.seed + 1, args.depth, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000, help="rule cases in all (default 5000)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per rule (default 20)")
    parser.add_argument("--depth", type=int, default=3, help="tree depth (default 3)")
    parser.add_argument("--intervals", type=int, help="trees for the interval property (default: cases / 2)")
    parser.add_argument("--kinds", default=",".join(S.KINDS),
                        help=f"rule kinds, comma-separated (default all: {','.join(S.KINDS)})")
    parser.add_argument("--failures", help="write every false verdict, error and missed enclosure here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)  # a worker's JSON lines
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    bench_common.print_environment()
    started = time.perf_counter()
    share = [args.cases // args.jobs + (i < args.cases % args.jobs) for i in range(args.jobs)]
    with tempfile.TemporaryDirectory() as folder:
        outputs, procs = [], []
        for i, k in enumerate(share):
            if k <= 0 and not args.intervals:
                continue
            outputs.append(os.path.join(folder, f"worker{i}.jsonl"))
            procs.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", "--cases", str(k),
                                           "--seed", str(args.seed + 1000 * i), "--timeout", str(args.timeout),
                                           "--depth", str(args.depth), "--kinds", args.kinds,
                                           *(["--intervals", str(-(-args.intervals // args.jobs))]
                                             if args.intervals is not None else []),
                                           "--out", outputs[-1]]))
        failed = [p.wait() for p in procs]
        records = []
        for path in outputs:
            with open(path, encoding="utf-8") as f:
                records += [json.loads(line) for line in f]
    if any(failed):
        sys.exit(f"a worker failed (exit codes {failed})")
    report(records, time.perf_counter() - started, args)


def report(records: list, wall: float, args) -> None:
    rows: dict = defaultdict(Counter)
    seconds: dict = defaultdict(float)
    for r in records:
        key = (r["property"], r["kind"])
        rows[key][r["outcome"]] += 1
        seconds[key] += r.get("seconds", 0.0)
    order = {"equal": 0, "perturbed": 1, "interval": 2}
    table, totals = [], defaultdict(Counter)
    for key in sorted(rows, key=lambda k: (order[k[0]], k[1])):
        c = rows[key]
        totals[key[0]].update(c)
        if key[0] == "interval":
            table.append([key[0], key[1], str(sum(c.values())), f"{c['contained']} contained",
                          f"{c['undefined'] + c['derive undefined']} undefined", "-", "-",
                          str(c["error"] + c["unsupported"]), "-", str(c["NOT CONTAINED"]),
                          f"{seconds[key]:.1f}"])
            continue
        cases = sum(v for k, v in c.items() if k not in ("generator bug", "generator too slow"))
        table.append([key[0], key[1], str(cases), str(c["proved"]), str(c["refuted"]), str(c["undecided"]),
                      str(c["undefined"]), str(c["error"]), str(c["false proved"]), str(c["false refuted"]),
                      f"{seconds[key]:.1f}"])
    headers = ["property", "kind", "cases", "proved | contained", "refuted | undefined", "undecided", "undefined",
               "error", "false proved", "false refuted | missed", "seconds"]
    bench_common.print_table(headers, table, left_columns=2)
    false_proved = sum(t["false proved"] for t in totals.values())
    false_refuted = sum(t["false refuted"] for t in totals.values())
    missed = totals["interval"]["NOT CONTAINED"]
    rule_cases = sum(sum(v for k, v in totals[p].items() if k not in ("generator bug", "generator too slow"))
                     for p in ("equal", "perturbed"))
    generator = sum(t["generator bug"] for t in totals.values())
    slow = sum(t["generator too slow"] for t in totals.values())
    print(f"\n{rule_cases} rule cases, {sum(totals['interval'].values())} interval evaluations, "
          f"{wall:.0f} s wall clock ({args.jobs} workers, timeout {args.timeout:g} s per rule, seed {args.seed}): "
          f"{false_proved} false proved, {false_refuted} false refuted, {missed} enclosures missing the value"
          + (f"; {generator} generator bugs (an 'equal' rewrite that was not)" if generator else "")
          + (f"; {slow} cases skipped, SymPy too slow generating them (> {SLOW} s)" if slow else ""))
    interesting = [r for r in records if r["outcome"] in ("false proved", "false refuted", "error", "NOT CONTAINED",
                                                          "derive defined where the tree is not", "unsupported")]
    by_message: dict = {}
    for r in interesting:
        message = r["outcome"] + ": " + r.get("detail", "").split("\n")[0][:120]
        if message not in by_message or len(r["text"]) < len(by_message[message]["text"]):
            by_message[message] = r
    if by_message:
        counts = Counter(r["outcome"] + ": " + r.get("detail", "").split("\n")[0][:120] for r in interesting)
        print("\nNot proved-or-refuted-as-expected, by message (count, then the shortest case):")
        for message, r in sorted(by_message.items(), key=lambda kv: -counts[kv[0]]):
            print(f"  {counts[message]:5d}  {message}\n         {r['text'].strip()}".replace("\n", "\n         "))
    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as f:
            for r in interesting:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if false_proved or false_refuted or missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
