"""derive: a symbolic derivation checker for neural-network calculus.

Declare a network, a loss or a computation graph in a .deriv file; derive computes every
partial derivative with SymPy and checks each hand-stated rule: proved, refuted with a
counterexample, or undecided.

Public names: `check_file`, `check_source` (→ `Report`, a list of `Verdict`),
`assert_rule`, `assert_proved` (for test functions), `Counterexample`, `Scope` (over what a
verdict was reached), `DeriveError`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# The public names are imported on first use, not here: the pytest plugin
# (derive.pytest_plugin) is loaded by every pytest run in an environment where derive is
# installed, and importing SymPy would add most of a second to each of them.
_PUBLIC = {
    "check_file": "api",
    "check_source": "api",
    "assert_rule": "api",
    "assert_proved": "api",
    "Report": "api",
    "Verdict": "verify",
    "Counterexample": "verify",
    "Scope": "scope",
    "DeriveError": "errors",
}

__all__ = ["check_file", "check_source", "assert_rule", "assert_proved", "Report", "Verdict", "Counterexample",
           "Scope", "DeriveError", "__version__"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value  # later lookups do not come back here
    return value


def __dir__() -> list:
    return sorted({*globals(), *_PUBLIC})
