"""The functions a rule file can call, as SymPy objects built from their definitions.

User functions (`function σ(t) = 1/(1+exp(-t))`) and the built-in logistic σ and
softplus become SymPy `Function` subclasses whose derivative (`fdiff`) is SymPy's `diff`
of the *body*. So σ'(t) is derived from σ's definition, never looked up in a table, and a
rule such as σ' = σ(1−σ) is checked against what differentiation actually gives.
`expand_definitions` replaces every such call by its body before zero-testing.

Piecewise functions (ReLU, hard-tanh, max, a user's `x if x > 0 else 0.01 x`) are
`Cases`: SymPy's `Piecewise` with one change, the derivative. A derivative by x keeps a
condition that does not involve x exactly (moving x never crosses it); a condition that
does is kept in its *interior*, and on its tie the derivative is a `Kink` marker, never
0 or 1 by convention. Where a region fixes the pieces (`derive.regions`), a Kink becomes
a value (`derive.kinks.resolve`): on a tie that holds on an open set (a "flat tie":
max(x, relu(x)) for x > 0) the function is its tie piece there, so the derivative is that
piece's; on an isolated tie it is decided by one-sided limits (`derive.kinks.tie_value`):
the common value, NaN where there is none (relu'(0): a kink), or `UndecidedTie`. A Kink
is not NaN, so Kink·0 = 0: the chain-rule factor of an argument constant on an open set
(relu(u) where u ≡ 0) removes it, as the derivative of a constant is 0.
"""

from __future__ import annotations

from typing import Any

import sympy as sp


def _interior(cond):
    """The open part of a condition: where it holds with some room (x ≥ 0 → x > 0)."""
    cond = sp.to_nnf(cond) if isinstance(cond, sp.logic.boolalg.Boolean) and not cond.is_Relational else cond
    if cond in (sp.true, sp.false):
        return cond
    if isinstance(cond, (sp.Ge, sp.Gt)):
        return sp.Gt(cond.lhs, cond.rhs)
    if isinstance(cond, (sp.Le, sp.Lt)):
        return sp.Lt(cond.lhs, cond.rhs)
    if isinstance(cond, sp.Eq):
        return sp.false  # a hyperplane has no interior
    if isinstance(cond, (sp.And, sp.Or)):
        return type(cond)(*[_interior(c) for c in cond.args])
    return cond  # Ne: already open


class TieFunction(sp.Lambda):
    """The function a `Kink` is about, s ↦ F(s): a substitution never touches its own s
    (a Kink inside another's function may bind the same variable)."""

    def _xreplace(self, rule):
        if self in rule:
            return rule[self], True
        rule = {k: v for k, v in rule.items() if k not in self.variables}
        if not rule:
            return self, False
        new, changed = self.expr._xreplace(rule)
        return (type(self)(self.signature, new), True) if changed else (self, False)


class Kink(sp.Function):
    """F′(p) on a tie of one of the conditions of a `Cases` F: args (Lambda(s, F(s)), p).
    Never evaluated on its own; see the module doc and `derive.kinks.tie_value`."""

    nargs = 2

    @classmethod
    def eval(cls, function, point):
        return None

    def _eval_derivative(self, x):
        function, point = self.args
        (s,), body = function.variables, function.expr
        return Kink(TieFunction(s, sp.diff(body, s)), point) * sp.diff(point, x)

    def _eval_is_real(self):
        return True

    def _latex(self, printer):
        return r"\text{(at a tie: decided per region)}"

    _derive_latex = _latex  # derive.latex's printer

    def _sympystr(self, printer):
        return "(at a tie)"


class WrittenKink(Kink):
    """A `Kink` of a derivative written as a function in a rule (relu'(x)), not taken by
    `diff`: x·relu'(x) is not a derivative of anything, so a factor 0 never makes it exist
    at the tie (`derive.kinks`); what is derived from it by `diff` is a plain Kink."""


def written(e: sp.Expr) -> sp.Expr:
    """`e` (a derivative f⁽ⁿ⁾(u) as written) with its exposed Kinks made `WrittenKink`s."""
    if type(e) is Kink:
        return WrittenKink(*e.args)
    if isinstance(e, (Kink, UndecidedTie)) or not e.args or not e.has(Kink):
        return e
    return e.func(*[written(a) for a in e.args])


class UndecidedTie(sp.Function):
    """A derivative on a tie that one-sided limits did not decide: never shown 0, no number."""

    nargs = 1

    def _eval_derivative(self, x):
        return UndecidedTie(sp.Derivative(self.args[0], x)) if self.args[0].has(x) else sp.Integer(0)

    def _latex(self, printer):
        return r"\text{(at a tie: undecided)}"

    _derive_latex = _latex

    def _sympystr(self, printer):
        return "(at a tie: undecided)"


def exact_derivative(function: sp.Lambda, point: sp.Expr) -> sp.Expr:
    """The derivative of each piece of F = Lambda(s, Cases(…)) with F's own (exact) conditions,
    at `point`: F′ where the piece F selects holds on an open set around."""
    (s,), body = function.variables, function.expr
    # a piece that is itself a derivative on this tie (F = f′, its tie piece Kink(f, s)) is
    # f's tie piece's derivative on the same open set
    body = body.replace(lambda e: isinstance(e, Kink) and e.args[1] == s, lambda e: exact_derivative(e.args[0], s))
    if not isinstance(body, sp.Piecewise):
        return sp.diff(body, s).xreplace({s: point})
    return Cases(*[(sp.diff(value, s), cond) for value, cond in body.args]).xreplace({s: point})


def _interior_in(cond, x):
    """`_interior` for the comparisons that involve x; the others stay exact."""
    cond = sp.to_nnf(cond) if isinstance(cond, sp.logic.boolalg.Boolean) and not cond.is_Relational else cond
    if cond in (sp.true, sp.false) or x not in cond.free_symbols:
        return cond
    if isinstance(cond, (sp.And, sp.Or)):
        return type(cond)(*[_interior_in(c, x) for c in cond.args])
    return _interior(cond)


class Cases(sp.Piecewise):
    """A piecewise function whose derivative by x is a `Kink` on the ties of the conditions
    that involve x (and exact where no condition involves x).

    >>> x, c = sp.symbols("x c", real=True)
    >>> relu = Cases((x, x > 0), (0, True))
    >>> relu.diff(x).args[:2]
    ((1, x > 0), (0, x < 0))
    >>> Cases((c * x, x >= 1), (0, True)).diff(c)
    Cases((x, x >= 1), (0, True))
    """

    def _eval_derivative(self, x):
        if not any(x in cond.free_symbols for _, cond in self.args):
            return Cases(*[(sp.diff(value, x), cond) for value, cond in self.args])
        pieces: list = []
        earlier: list = []
        for value, cond in self.args:
            region = sp.And(_interior_in(cond, x), *[_interior_in(sp.Not(c), x) for c in earlier])
            pieces.append((sp.diff(value, x), region))
            earlier.append(cond)
        s = _bound_variable(self, x)
        pieces.append((Kink(TieFunction(s, self.xreplace({x: s})), x), True))
        return Cases(*pieces)


def not_real(value) -> bool:
    """Is `value` surely not a finite real number (I, x + I, log(-1), 1/0 → zoo, 0/0 → nan)?
    Such a value has no place in a comparison: SymPy refuses to build one."""
    value = sp.sympify(value)
    return bool(value.has(sp.zoo, sp.nan, sp.oo, -sp.oo)) or value.is_extended_real is False


def describe_not_real(value) -> str:
    """How to name a value that is not a real number in a message."""
    value = sp.sympify(value)
    if value.has(sp.nan):
        return "undefined (0/0)"
    if value.has(sp.zoo):
        return "complex infinity (a division by 0, or log(0))"
    if value.has(sp.oo, -sp.oo):
        return "infinite"
    return f"{sp.sstr(value)}, not a real number"


NOT_REAL_HINT = ("a condition compares real numbers: keep the arguments of sqrt at least 0 and of log above 0, "
                 "and every divisor away from 0")


def is_not_real_comparison(error: TypeError) -> bool:
    """Is this SymPy's refusal to compare a value that is not real (or NaN)?"""
    text = str(error)
    return text.startswith("Invalid comparison of non-real") or text.startswith("Invalid NaN comparison")


def not_real_value(error: TypeError) -> str:
    """The value SymPy refused to compare (`is_not_real_comparison`), described."""
    text = str(error)
    if text.startswith("Invalid NaN comparison"):
        return describe_not_real(sp.nan)
    shown = text.removeprefix("Invalid comparison of non-real ").strip()
    return "complex infinity (a division by 0, or log(0))" if shown == "zoo" else f"{shown}, not a real number"


class NotReal(ValueError):
    """A comparison (a condition, max, min, a piecewise function) given a side that is not
    a real number: `value` is that side."""

    def __init__(self, value):
        super().__init__(f"a comparison of {describe_not_real(value)}")
        self.value = value


def compare(op: str, left, right):
    """`left op right` (op one of > >= < <=), or NotReal naming a side that is not real."""
    for side in (left, right):
        if not_real(side):
            raise NotReal(side)
    relation = {">": sp.Gt, ">=": sp.Ge, "<": sp.Lt, "<=": sp.Le}[op]
    try:
        return relation(left, right)
    except TypeError as e:
        if is_not_real_comparison(e):
            raise NotReal(left if not_real(left) else right) from None
        raise


# The variables Kinks bind: one per nesting level, so that the same derivative taken twice
# is the same expression (and cancels), while a Kink inside another's function binds its own.
_LEVELS = tuple(sp.Dummy(f"s{k}", real=True) for k in range(32))


def _bound_variable(expr: sp.Expr, x: sp.Symbol) -> sp.Symbol:
    used = [_LEVELS.index(v) for v in (expr.atoms(sp.Dummy) | {x}) if v in _LEVELS]
    for k in expr.atoms(Kink):
        used.append(_LEVELS.index(k.args[0].variables[0]))
    return _LEVELS[1 + max(used, default=-1)]


def maximum(args: list) -> sp.Expr:
    """max(a, b, …) as nested `Cases`; ties are boundaries (a `Kink` in a derivative).

    >>> a, b = sp.symbols("a b", real=True)
    >>> maximum([a, b, sp.Integer(0)]).subs({a: -1, b: 2}), maximum([a, b]).diff(a).subs({a: 1, b: 1}).func
    (2, Kink)
    """
    result = args[0]
    for a in args[1:]:
        result = Cases((result, result > a), (a, True)) if result != a else result
    return result


def minimum(args: list) -> sp.Expr:
    """min(a, b, …) as nested `Cases`."""
    result = args[0]
    for a in args[1:]:
        result = Cases((result, result < a), (a, True)) if result != a else result
    return result


_LOGISTIC_T = sp.Symbol("t", real=True)
_GAMMA = sp.Symbol("γ", real=True)
_T = _LOGISTIC_T
_SIGMOID = 1 / (1 + sp.exp(-_T))

# Built-in functions with an elementary definition (others are SymPy's own: exp, log,
# sqrt, tanh, erf, whose derivatives SymPy knows). γ is a second argument (a slope).
BUILTIN_BODIES = {
    "σ": ((_T,), _SIGMOID),
    "softplus": ((_T,), sp.log(1 + sp.exp(_T))),
    "relu": ((_T,), Cases((_T, _T > 0), (0, True))),
    "lrelu": ((_T, _GAMMA), Cases((_T, _T > 0), (_GAMMA * _T, True))),
    "prelu": ((_T, _GAMMA), Cases((_T, _T > 0), (_GAMMA * _T, True))),  # γ learned: ∂/∂γ is meant
    "elu": ((_T, _GAMMA), Cases((_T, _T > 0), (_GAMMA * (sp.exp(_T) - 1), True))),
    # hard-logistic: σ's tangent at 0 (slope σ'(0) = 1/4) clipped to [0, 1]; hard-tanh: t clipped to [−1, 1]
    "hardσ": ((_T,), Cases((0, _T < -2), (_T / 4 + sp.Rational(1, 2), _T < 2), (1, True))),
    "hardtanh": ((_T,), Cases((-1, _T < -1), (_T, _T < 1), (1, True))),
    "swish": ((_T,), _T * _SIGMOID),
    "gelu": ((_T,), _T / 2 * (1 + sp.erf(_T / sp.sqrt(2)))),
    "gelutanh": ((_T,), _T / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (_T + sp.Rational(44715, 1000000) * _T**3)))),
}
BUILTIN_ALIASES = {"sigma": "σ", "ln": "log", "ReLU": "relu", "leakyrelu": "lrelu", "PReLU": "prelu", "ELU": "elu",
                   "hardsigmoid": "hardσ", "hardlogistic": "hardσ", "silu": "swish", "SiLU": "swish", "GELU": "gelu"}
SYMPY_FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh, "erf": sp.erf}
VARIADIC_FUNCTIONS = {"max": maximum, "min": minimum}


def _defined_function(name: str, params: tuple, body: sp.Expr) -> type:
    """A SymPy Function class for `name(params) = body`, differentiable through its body."""

    def fdiff(self, argindex=1):
        derivative = sp.diff(body, params[argindex - 1])
        return derivative.xreplace(dict(zip(params, self.args)))

    return type(name, (sp.Function,), {"nargs": len(params), "fdiff": fdiff, "_derive_definition": (params, body)})


class Generic(sp.Function):
    """f(…) or one of its derivatives, for a function with no body (`function f(t)`): any
    differentiable function. Opaque: SymPy's chain rule goes through `fdiff`, which gives the
    derivative class (f′, ∂₂f, …). Each derivative is one class per (name, orders), mixed
    partials in one order, so two equal derivatives are one expression (f′(g(x)) is f′(g(x))
    however it was reached, never a Derivative or Subs). `derive.zero.opaque_calls` makes each
    call at each argument an independent real symbol for the zero test."""

    _derive_generic: tuple = ()  # (name, orders): orders[i] derivatives by argument i

    def fdiff(self, argindex=1):
        name, orders = self._derive_generic
        more = tuple(k + (i == argindex - 1) for i, k in enumerate(orders))
        return generic_function(name, more)(*self.args)

    def _eval_is_real(self):
        return True  # a real function of real arguments

    def _latex(self, printer, exp=None):
        name, orders = self._derive_generic
        if len(orders) == 1:
            head = name + ("'" * orders[0] if orders[0] <= 3 else f"^{{({orders[0]})}}")
        else:
            head = "".join(f"\\partial_{{{i + 1}}}" * k for i, k in enumerate(orders)) + " " + name
        args = ", ".join(printer._print(a) for a in self.args)
        return f"{head}\\left({args}\\right)" + (f"^{{{exp}}}" if exp is not None else "")

    _derive_latex = _latex  # derive.latex's printer


_GENERIC: dict = {}
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def generic_function(name: str, orders: tuple) -> type:
    """The class of name's derivative of `orders` (all 0: name itself), one per (name, orders)."""
    key = (name, tuple(orders))
    if key not in _GENERIC:
        if len(orders) == 1:
            shown = name + "′" * orders[0] if orders[0] <= 3 else f"{name}^({orders[0]})"
        else:
            shown = "".join(f"∂{str(i + 1).translate(_SUBSCRIPTS)}" * k for i, k in enumerate(orders)) + name
        _GENERIC[key] = type(shown, (Generic,), {"nargs": len(orders), "_derive_generic": key})
    return _GENERIC[key]


class FunctionTable:
    """Name → callable on SymPy scalars, for one rule file."""

    def __init__(self) -> None:
        self._classes: dict[str, type] = {}
        self._compares: dict[type, bool] = {}  # a function class → does its body compare (see `compares`)
        self.differentiates = False  # does some user function's body take a derivative (f(x) = diff(…))?
        for name, (params, body) in BUILTIN_BODIES.items():
            self._classes[name] = _defined_function(name, params, body)

    def define(self, name: str, params: tuple, body: sp.Expr) -> None:
        """Add (or shadow a built-in with) a user function. |e| in the body (sqrt(t²) is
        |t| to SymPy) becomes piecewise, so its kink is a boundary (see `derive.kinks`)."""
        from .kinks import without_abs

        self._classes[name] = _defined_function(name, params, without_abs(body))

    def define_generic(self, name: str, arity: int) -> None:
        """Add a function with no body (`function f(t)`): any differentiable function (`Generic`)."""
        self._classes[name] = generic_function(name, (0,) * arity)

    def has_generic(self) -> bool:
        """Does the table hold a function with no body (no numeric value)?"""
        return any(issubclass(c, Generic) for c in self._classes.values())

    def canonical(self, name: str) -> str:
        if name in self._classes:
            return name
        return BUILTIN_ALIASES.get(name, name)

    def has(self, name: str) -> bool:
        name = self.canonical(name)
        return name in self._classes or name in SYMPY_FUNCTIONS or name in VARIADIC_FUNCTIONS

    def arity(self, name: str) -> int | None:
        """How many arguments a function takes (None: any number)."""
        name = self.canonical(name)
        if name in self._classes:
            return int(min(self._classes[name].nargs))  # type: ignore[attr-defined]
        return None if name in VARIADIC_FUNCTIONS else 1

    def apply(self, name: str, args: list, primes: int = 0) -> sp.Expr:
        """f(args), or its `primes`-th derivative at args by the first argument (the others,
        such as the slope γ of lrelu(t, γ), held fixed)."""
        name = self.canonical(name)
        if name in VARIADIC_FUNCTIONS and name not in self._classes:
            # Constants compared as values, not as unevaluated calls (σ(2) < 3), which SymPy's
            # Piecewise cannot always decide.
            args = [self.expand_definitions(a) if getattr(a, "is_number", False) else a for a in args]
            return VARIADIC_FUNCTIONS[name](list(args))
        fn = self._classes.get(name) or SYMPY_FUNCTIONS[name]
        if primes == 0:
            definition = getattr(fn, "_derive_definition", None)
            if definition is not None and definition[1].has(sp.Piecewise) and args \
                    and all(getattr(a, "is_number", False) for a in args):
                # A piecewise function at numbers is its piece's value: left as a call, SymPy
                # cannot compare it (max(-1, lrelu(-1, 1/10)) recursed for minutes).
                params, body = definition
                return self.expand_definitions(body.xreplace(dict(zip(params, args))))
            return fn(*args)
        u = sp.Dummy("u", real=True)
        derivative = sp.diff(fn(u, *args[1:]), u, primes)
        at = written(derivative.xreplace({u: args[0]}))
        if isinstance(fn, type) and issubclass(fn, Generic):
            return at  # f′(a): opaque, at any argument
        if getattr(args[0], "is_number", False) and not any(getattr(a, "free_symbols", None) for a in args[1:]):
            # At a number: does the derivative exist there? (a kink, a tie, sqrt at 0 …)
            from .kinks import needs_limits, value_of_derivative

            body = self.expand_definitions(fn(u, *args[1:]))
            if needs_limits(body, self.expand_definitions(at)):
                return value_of_derivative(body, u, sp.sympify(args[0]), primes)
        return at

    def compares(self, name: str) -> bool:
        """Does `name` compare its arguments (max, min, a piecewise body such as relu's)?"""
        name = self.canonical(name)
        if name in VARIADIC_FUNCTIONS and name not in self._classes:
            return True
        fn = self._classes.get(name)
        if fn is None or issubclass(fn, Generic):
            return False
        if fn not in self._compares:
            _, body = fn._derive_definition  # type: ignore[attr-defined]
            self._compares[fn] = bool(self.expand_definitions(body).has(sp.Piecewise))
        return self._compares[fn]

    def expand_definitions(self, expr: sp.Expr) -> sp.Expr:
        """Replace every call of a defined function by its body (innermost first)."""
        defined = tuple(c for c in self._classes.values() if not issubclass(c, Generic))
        if not any(expr.has(c) for c in defined):
            return expr

        def unfold(e: Any) -> Any:
            if isinstance(e, defined):
                params, body = type(e)._derive_definition  # type: ignore[attr-defined]
                return body.xreplace(dict(zip(params, e.args)))  # type: ignore[attr-defined]
            return None

        previous = None
        while previous != expr:  # bodies may call other defined functions
            previous = expr
            expr = expr.replace(lambda e: isinstance(e, defined), lambda e: unfold(e))
        return expr
