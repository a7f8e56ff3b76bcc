"""The functions a rule file can call, as SymPy objects built from their definitions.

User functions (`function σ(t) = 1/(1+exp(-t))`) and the built-in logistic σ and
softplus become SymPy `Function` subclasses whose derivative (`fdiff`) is SymPy's `diff`
of the *body*. So σ'(t) is derived from σ's definition, never looked up in a table, and a
rule such as σ' = σ(1−σ) is checked against what differentiation actually gives.
`expand_definitions` replaces every such call by its body before zero-testing.
"""

from __future__ import annotations

import sympy as sp

_LOGISTIC_T = sp.Symbol("t", real=True)

# Built-in functions with an elementary definition (others are SymPy's own: exp, log,
# sqrt, tanh, whose derivatives SymPy knows).
BUILTIN_BODIES = {
    "σ": ((_LOGISTIC_T,), 1 / (1 + sp.exp(-_LOGISTIC_T))),
    "softplus": ((_LOGISTIC_T,), sp.log(1 + sp.exp(_LOGISTIC_T))),
}
BUILTIN_ALIASES = {"sigma": "σ", "ln": "log"}
SYMPY_FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh}


def _defined_function(name: str, params: tuple, body: sp.Expr) -> type:
    """A SymPy Function class for `name(params) = body`, differentiable through its body."""

    def fdiff(self, argindex=1):
        derivative = sp.diff(body, params[argindex - 1])
        return derivative.xreplace(dict(zip(params, self.args)))

    return type(name, (sp.Function,), {"nargs": len(params), "fdiff": fdiff, "_derive_definition": (params, body)})


class FunctionTable:
    """Name → callable on SymPy scalars, for one rule file."""

    def __init__(self) -> None:
        self._classes: dict[str, type] = {}
        for name, (params, body) in BUILTIN_BODIES.items():
            self._classes[name] = _defined_function(name, params, body)

    def define(self, name: str, params: tuple, body: sp.Expr) -> None:
        """Add (or shadow a built-in with) a user function."""
        self._classes[name] = _defined_function(name, params, body)

    def canonical(self, name: str) -> str:
        if name in self._classes:
            return name
        return BUILTIN_ALIASES.get(name, name)

    def has(self, name: str) -> bool:
        name = self.canonical(name)
        return name in self._classes or name in SYMPY_FUNCTIONS

    def apply(self, name: str, args: list, primes: int = 0) -> sp.Expr:
        """f(args), or its `primes`-th derivative at args (functions of one variable)."""
        name = self.canonical(name)
        fn = self._classes.get(name) or SYMPY_FUNCTIONS[name]
        if primes == 0:
            return fn(*args)
        u = sp.Dummy("u", real=True)
        return sp.diff(fn(u), u, primes).xreplace({u: args[0]})

    def expand_definitions(self, expr: sp.Expr) -> sp.Expr:
        """Replace every call of a defined function by its body (innermost first)."""
        defined = tuple(self._classes.values())
        if not any(expr.has(c) for c in defined):
            return expr

        def unfold(e):
            if isinstance(e, defined):
                params, body = type(e)._derive_definition
                return body.xreplace(dict(zip(params, e.args)))
            return None

        previous = None
        while previous != expr:  # bodies may call other defined functions
            previous = expr
            expr = expr.replace(lambda e: isinstance(e, defined), lambda e: unfold(e))
        return expr
