"""Random expression trees over derive's scalar function set, for property-based tests.

Shared by tests/test_properties.py (a bounded, derandomised sample in CI) and
bench/bench_properties.py (thousands of cases). Nothing here is derive: a tree is a nested
tuple, and from it this module builds, each by its own route,

* its text in derive's syntax (`dsl`), fully parenthesised;
* a SymPy expression (`to_sympy`) built node by node (never by parsing text: no rule text
  reaches `sympify`), with derive's piecewise functions written through |·|
  (relu(u) = (u + |u|)/2, max(a, b) = (a + b + |a − b|)/2, …) so that nothing of derive's
  `Cases` is shared;
* its value at an exact point with mpmath at 100 digits (`value`), the functions written
  from their textbook definitions.

SymPy expressions are printed back into derive's syntax by `sympy_dsl` (|w| as sqrt(w²),
sign(w) as w/sqrt(w²)), so "SymPy's derivative of the tree" is an equal form produced
outside derive. `Case`s pair such forms into rule files: equal ones (to be proved, never
refuted) and perturbed ones (to be refuted, never proved), the latter kept only when
high-precision evaluation shows the two sides really differ somewhere.

Tree nodes:
    ("var", name) · ("num", Fraction) · ("neg", a) · ("add"|"sub"|"mul"|"div", a, b) ·
    ("pow", a, n) with a whole n · ("f", name, a) for a one-argument function ·
    ("f2", name, a, γ) for lrelu/elu with a constant slope γ · ("max"|"min", a, b)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import sympy as sp
from hypothesis import strategies as st

UNARY = ("exp", "log", "sqrt", "tanh", "σ", "softplus", "erf", "relu", "hardtanh", "hardσ", "swish", "gelu")
SLOPED = ("lrelu", "elu")
PIECEWISE = {"relu", "hardtanh", "hardσ", "lrelu", "elu", "max", "min"}
NEEDS_POSITIVE = {"log", "sqrt"}
VARIABLES = ("x", "y", "w")

# ---------------------------------------------------------------- generation

_CONSTANTS = [Fraction(n) for n in (1, 2, 3, -1, -2)] + [Fraction(1, 2), Fraction(3, 2), Fraction(-1, 3),
                                                       Fraction(2, 5), Fraction(7, 4)]
_SLOPES = [Fraction(1, 100), Fraction(1, 10), Fraction(1, 2), Fraction(2), Fraction(-1, 5)]


def _leaf(names):
    return st.one_of(st.sampled_from(names).map(lambda n: ("var", n)),  # variables first: shrinks to x
                     st.sampled_from(names).map(lambda n: ("var", n)),
                     st.sampled_from(_CONSTANTS).map(lambda c: ("num", c)))


@st.composite
def positive(draw, names, depth):
    """A tree positive wherever it is defined (an argument for log, sqrt or a denominator);
    now and then a bare variable, positive on half the line only."""
    kind = draw(st.integers(0, 6))
    if kind == 6:
        return ("var", draw(st.sampled_from(names)))
    u = draw(trees(names, depth))
    c = ("num", draw(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(2)])))
    return [("add", c, ("pow", u, 2)), ("f", "exp", u), ("f", "σ", u), ("f", "softplus", u),
            ("add", c, ("f", "exp", u)), ("add", ("pow", u, 2), c)][kind]


@st.composite
def trees(draw, names=("x",), depth=3, top=False):
    """A random expression tree over `names`, at most `depth` operators deep (`top`: not a
    bare leaf)."""
    if depth <= 0 or (not top and draw(st.integers(0, 3)) == 0):
        return draw(_leaf(names))
    kind = draw(st.sampled_from(("add", "mul", "f", "sub", "neg", "pow", "div", "max", "min", "f2")))
    sub = trees(names, depth - 1)
    if kind in ("add", "sub", "mul", "max", "min"):
        return (kind, draw(sub), draw(sub))
    if kind == "neg":
        return ("neg", draw(sub))
    if kind == "pow":
        return ("pow", draw(sub), draw(st.sampled_from((2, 3, -1))))
    if kind == "div":
        return ("div", draw(sub), draw(positive(names, depth - 1)))
    if kind == "f2":
        return ("f2", draw(st.sampled_from(SLOPED)), draw(sub), draw(st.sampled_from(_SLOPES)))
    name = draw(st.sampled_from(UNARY))
    return ("f", name, draw(positive(names, depth - 1) if name in NEEDS_POSITIVE else sub))


def variables_of(tree) -> list:
    found: list = []

    def walk(t):
        if t[0] == "var":
            if t[1] not in found:
                found.append(t[1])
        else:
            for a in t[1:]:
                if isinstance(a, tuple):
                    walk(a)
    walk(tree)
    return sorted(found)


def has_piece(tree) -> bool:
    if tree[0] in ("max", "min") or (tree[0] in ("f", "f2") and tree[1] in PIECEWISE):
        return True
    return any(has_piece(a) for a in tree[1:] if isinstance(a, tuple))


def size(tree) -> int:
    return 1 + sum(size(a) for a in tree[1:] if isinstance(a, tuple))


# ---------------------------------------------------------------- derive's syntax


def number_dsl(c: Fraction) -> str:
    text = str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"
    return text if c.denominator == 1 and c >= 0 else f"({text})"


def dsl(t) -> str:
    """The tree in derive's syntax, every operation in parentheses."""
    kind = t[0]
    if kind == "var":
        return t[1]
    if kind == "num":
        return number_dsl(t[1])
    if kind == "neg":
        return f"(-{dsl(t[1])})"
    if kind in ("add", "sub", "mul", "div"):
        op = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[kind]
        return f"({dsl(t[1])} {op} {dsl(t[2])})"
    if kind == "pow":
        return f"({dsl(t[1])})^{{{t[2]}}}"
    if kind == "f":
        return f"{t[1]}({dsl(t[2])})"
    if kind == "f2":
        return f"{t[1]}({dsl(t[2])}, {number_dsl(t[3])})"
    if kind in ("max", "min"):
        return f"{kind}({dsl(t[1])}, {dsl(t[2])})"
    raise ValueError(kind)


# ---------------------------------------------------------------- SymPy, independently

SYMBOLS = {n: sp.Symbol(n, real=True) for n in VARIABLES + ("t",)}


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def _clip01(v):
    """min(max(v, 0), 1) = (|v| − |v − 1| + 1)/2."""
    return (sp.Abs(v) - sp.Abs(v - 1) + 1) / 2


_SYMPY_UNARY = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh, "erf": sp.erf,
    "σ": _sigmoid,
    "softplus": lambda u: sp.log(1 + sp.exp(u)),
    "swish": lambda u: u * _sigmoid(u),
    "gelu": lambda u: u / 2 * (1 + sp.erf(u / sp.sqrt(2))),
    "relu": lambda u: (u + sp.Abs(u)) / 2,
    "hardtanh": lambda u: (sp.Abs(u + 1) - sp.Abs(u - 1)) / 2,
    "hardσ": lambda u: _clip01(u / 4 + sp.Rational(1, 2)),
}


def to_sympy(t) -> sp.Expr:
    """The tree as a SymPy expression, node by node."""
    kind = t[0]
    if kind == "var":
        return SYMBOLS[t[1]]
    if kind == "num":
        return sp.Rational(t[1].numerator, t[1].denominator)
    if kind == "neg":
        return -to_sympy(t[1])
    if kind in ("add", "sub", "mul", "div"):
        a, b = to_sympy(t[1]), to_sympy(t[2])
        return {"add": a + b, "sub": a - b, "mul": a * b}[kind] if kind != "div" else a / b
    if kind == "pow":
        return to_sympy(t[1]) ** t[2]
    if kind == "f":
        return _SYMPY_UNARY[t[1]](to_sympy(t[2]))
    if kind == "f2":
        u, g = to_sympy(t[2]), sp.Rational(t[3].numerator, t[3].denominator)
        if t[1] == "lrelu":  # u if u > 0 else γu
            return ((1 + g) * u + (1 - g) * sp.Abs(u)) / 2
        return (u + sp.Abs(u)) / 2 + g * (sp.exp((u - sp.Abs(u)) / 2) - 1)  # elu: relu(u) + γ(exp(min(u,0)) − 1)
    if kind in ("max", "min"):
        a, b = to_sympy(t[1]), to_sympy(t[2])
        return (a + b + (1 if kind == "max" else -1) * sp.Abs(a - b)) / 2
    raise ValueError(kind)


class Unprintable(Exception):
    """A SymPy node with no spelling in derive's syntax (Piecewise, Heaviside, …)."""


def sympy_dsl(e) -> str:
    """A SymPy expression printed in derive's syntax (|w| as sqrt(w^2), sign(w) as w/sqrt(w^2))."""
    if e.is_Symbol:
        return e.name
    if e.is_Integer:
        return str(e) if e >= 0 else f"({e})"
    if e.is_Rational:
        return f"({e.p}/{e.q})"
    if e is sp.pi:
        return "π"
    if e is sp.E:
        return "exp(1)"
    if e.is_Add:
        return "(" + " + ".join(sympy_dsl(a) for a in e.args) + ")"
    if e.is_Mul:
        return "(" + " * ".join(sympy_dsl(a) for a in e.args) + ")"
    if e.is_Pow:
        base, exponent = e.args
        if exponent == sp.S.Half:
            return f"sqrt({sympy_dsl(base)})"
        if exponent == -sp.S.Half:
            return f"(1/sqrt({sympy_dsl(base)}))"
        if exponent.is_Integer:
            return f"({sympy_dsl(base)})^{{{exponent}}}"
        if exponent.is_Rational:
            return f"({sympy_dsl(base)})^{{{exponent.p}/{exponent.q}}}"
        raise Unprintable(f"power {exponent}")
    if isinstance(e, sp.exp):
        return f"exp({sympy_dsl(e.args[0])})"
    for cls, name in ((sp.log, "log"), (sp.erf, "erf"), (sp.tanh, "tanh")):
        if isinstance(e, cls):
            return f"{name}({sympy_dsl(e.args[0])})"
    if isinstance(e, sp.Abs):
        return f"sqrt(({sympy_dsl(e.args[0])})^{{2}})"
    if isinstance(e, sp.sign):
        w = sympy_dsl(e.args[0])
        return f"({w}/sqrt(({w})^{{2}}))"
    raise Unprintable(type(e).__name__)


# ---------------------------------------------------------------- mpmath, independently


class NoValue(Exception):
    """The tree has no real value at this point."""


def _mp_unary(name, u):
    mp = mpmath.mp
    if name == "exp":
        return mp.exp(u)
    if name == "log":
        if u <= 0:
            raise NoValue
        return mp.log(u)
    if name == "sqrt":
        if u < 0:
            raise NoValue
        return mp.sqrt(u)
    if name == "tanh":
        return mp.tanh(u)
    if name == "erf":
        return mp.erf(u)
    if name == "σ":
        return 1 / (1 + mp.exp(-u))
    if name == "softplus":
        return mp.log1p(mp.exp(u))
    if name == "swish":
        return u / (1 + mp.exp(-u))
    if name == "gelu":
        return u / 2 * (1 + mp.erf(u / mp.sqrt(2)))
    if name == "relu":
        return u if u > 0 else mp.mpf(0)
    if name == "hardtanh":
        return max(mp.mpf(-1), min(u, mp.mpf(1)))
    if name == "hardσ":
        return max(mp.mpf(0), min(u / 4 + mp.mpf(1) / 2, mp.mpf(1)))
    raise ValueError(name)


def _mp(t, env):
    mp = mpmath.mp
    kind = t[0]
    if kind == "var":
        return env[t[1]]
    if kind == "num":
        return mp.mpf(t[1].numerator) / t[1].denominator
    if kind == "neg":
        return -_mp(t[1], env)
    if kind in ("add", "sub", "mul", "div"):
        a, b = _mp(t[1], env), _mp(t[2], env)
        if kind == "div":
            if b == 0:
                raise NoValue
            return a / b
        return {"add": a + b, "sub": a - b, "mul": a * b}[kind]
    if kind == "pow":
        a = _mp(t[1], env)
        if a == 0 and t[2] < 0:
            raise NoValue
        return a ** t[2]
    if kind == "f":
        return _mp_unary(t[1], _mp(t[2], env))
    if kind == "f2":
        u, g = _mp(t[2], env), mp.mpf(t[3].numerator) / t[3].denominator
        if u > 0:
            return u
        return g * u if t[1] == "lrelu" else g * (mp.exp(u) - 1)
    if kind in ("max", "min"):
        a, b = _mp(t[1], env), _mp(t[2], env)
        return max(a, b) if kind == "max" else min(a, b)
    raise ValueError(kind)


def value(tree, point: dict, dps: int = 100):
    """The tree's value at `point` (name → Fraction) to `dps` digits, or None where it has none."""
    with mpmath.workdps(dps):
        env = {n: mpmath.mpf(v.numerator) / v.denominator for n, v in point.items()}
        try:
            v = _mp(tree, env)
        except (NoValue, ZeroDivisionError, OverflowError):
            return None
        return v if mpmath.isfinite(v) else None


def derivative_value(tree, point: dict, var: str, dps: int = 100):
    """∂tree/∂var at `point` to `dps` digits (mpmath's numerical differentiation, with its
    own extra precision), or None where the tree has no value nearby."""
    with mpmath.workdps(dps):
        env = {n: mpmath.mpf(v.numerator) / v.denominator for n, v in point.items()}
        try:
            d = mpmath.diff(lambda h: _mp(tree, {**env, var: h}), env[var])
        except (NoValue, ZeroDivisionError, OverflowError):
            return None
        return d if mpmath.isfinite(d) else None


def sympy_value(expr: sp.Expr, point: dict, dps: int = 50):
    """A SymPy expression's value at an exact point (name → Fraction), or None."""
    subs = {SYMBOLS[n]: sp.Rational(v.numerator, v.denominator) for n, v in point.items()}
    try:
        v = expr.xreplace(subs).evalf(dps)
    except (ZeroDivisionError, ValueError, TypeError):
        return None
    if not v.is_number or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I) or not v.is_real:
        return None
    with mpmath.workdps(dps):  # mpf() rounds to the working precision
        return mpmath.mpf(sp.Float(v, dps)._mpf_)


def points(names, count: int, seed: int) -> list:
    """`count` exact points in [-2, 2] (tenths and a few thirds), reproducible from `seed`."""
    import random
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        out.append({n: Fraction(rng.randint(-20, 20), 10) + Fraction(rng.choice((0, 0, 1)), 3) for n in names})
    return out


# ---------------------------------------------------------------- rewrites (equal forms, on the tree)


def _one(*args):
    return ("num", Fraction(1))


REWRITES = {
    # name: (applies to node?, rewrite)
    "commute": (lambda t: t[0] in ("add", "mul", "max", "min"), lambda t: (t[0], t[2], t[1])),
    "distribute": (lambda t: t[0] == "mul" and t[2][0] in ("add", "sub"),
                   lambda t: (t[2][0], ("mul", t[1], t[2][1]), ("mul", t[1], t[2][2]))),
    "σ→exp": (lambda t: t[:2] == ("f", "σ"),
              lambda t: ("div", ("num", Fraction(1)), ("add", ("num", Fraction(1)), ("f", "exp", ("neg", t[2]))))),
    "tanh→σ": (lambda t: t[:2] == ("f", "tanh"),
               lambda t: ("sub", ("mul", ("num", Fraction(2)), ("f", "σ", ("mul", ("num", Fraction(2)), t[2]))),
                          ("num", Fraction(1)))),
    "exp(a+b)": (lambda t: t[:2] == ("f", "exp") and t[2][0] == "add",
                 lambda t: ("mul", ("f", "exp", t[2][1]), ("f", "exp", t[2][2]))),
    "log(exp u)": (lambda t: t[:2] == ("f", "log") and t[2][:2] == ("f", "exp"), lambda t: t[2][2]),
    "u→log(exp u)": (lambda t: t[0] in ("var", "add", "mul"), lambda t: ("f", "log", ("f", "exp", t))),
    "relu→max": (lambda t: t[:2] == ("f", "relu"), lambda t: ("max", t[2], ("num", Fraction(0)))),
    "min→−max": (lambda t: t[0] == "min", lambda t: ("neg", ("max", ("neg", t[1]), ("neg", t[2])))),
    "max→relu": (lambda t: t[0] == "max", lambda t: ("add", t[2], ("f", "relu", ("sub", t[1], t[2])))),
    "softplus": (lambda t: t[:2] == ("f", "softplus"),
                 lambda t: ("f", "log", ("add", ("num", Fraction(1)), ("f", "exp", t[2])))),
    "softplus(−u)": (lambda t: t[:2] == ("f", "softplus"), lambda t: ("add", t[2], ("f", "softplus", ("neg", t[2])))),
    "swish": (lambda t: t[:2] == ("f", "swish"), lambda t: ("mul", t[2], ("f", "σ", t[2]))),
    "gelu": (lambda t: t[:2] == ("f", "gelu"),
             lambda t: ("mul", ("div", t[2], ("num", Fraction(2))),
                        ("add", ("num", Fraction(1)),
                         ("f", "erf", ("div", t[2], ("f", "sqrt", ("num", Fraction(2)))))))),
    "hardtanh": (lambda t: t[:2] == ("f", "hardtanh"),
                 lambda t: ("max", ("num", Fraction(-1)), ("min", t[2], ("num", Fraction(1))))),
    "hardσ": (lambda t: t[:2] == ("f", "hardσ"),
              lambda t: ("max", ("num", Fraction(0)), ("min", ("num", Fraction(1)),
                                                       ("add", ("div", t[2], ("num", Fraction(4))),
                                                        ("num", Fraction(1, 2)))))),
    "lrelu": (lambda t: t[:2] == ("f2", "lrelu"),
              lambda t: ("add", ("max", t[2], ("num", Fraction(0))),
                         ("mul", ("num", t[3]), ("min", t[2], ("num", Fraction(0)))))),
    "elu": (lambda t: t[:2] == ("f2", "elu"),
            lambda t: ("add", ("f", "relu", t[2]),
                       ("mul", ("num", t[3]), ("sub", ("f", "exp", ("min", t[2], ("num", Fraction(0)))),
                                               ("num", Fraction(1)))))),
    "σ(−u)": (lambda t: t[:2] == ("f", "σ"), lambda t: ("sub", ("num", Fraction(1)), ("f", "σ", ("neg", t[2])))),
    "square": (lambda t: t[0] == "pow" and t[2] == 2, lambda t: ("mul", t[1], t[1])),
    "cube": (lambda t: t[0] == "pow" and t[2] == 3, lambda t: ("mul", ("mul", t[1], t[1]), t[1])),
    "a−b": (lambda t: t[0] == "sub", lambda t: ("add", t[1], ("mul", ("num", Fraction(-1)), t[2]))),
    "a/b": (lambda t: t[0] == "div", lambda t: ("mul", t[1], ("pow", t[2], -1))),
}


def _nodes(t, path=()):
    yield path, t
    for i, a in enumerate(t[1:], start=1):
        if isinstance(a, tuple):
            yield from _nodes(a, path + (i,))


def _replace(t, path, new):
    if not path:
        return new
    i = path[0]
    return t[:i] + (_replace(t[i], path[1:], new),) + t[i + 1:]


@st.composite
def rewritten(draw, tree, steps=(1, 3)):
    """(tree after 1–3 equal-preserving rewrites, names of the rewrites)."""
    done = []
    for _ in range(draw(st.integers(*steps))):
        options = [(path, name) for path, node in _nodes(tree) for name, (applies, _) in REWRITES.items()
                   if applies(node)]
        if not options:
            break
        path, name = draw(st.sampled_from(options))
        node = dict(_nodes(tree))[path]
        tree = _replace(tree, path, REWRITES[name][1](node))
        done.append(name)
    return tree, done


# ---------------------------------------------------------------- perturbations (different forms)


@st.composite
def perturbed_tree(draw, tree, var):
    """(a tree that should differ from `tree`, how it was changed)."""
    nodes = list(_nodes(tree))
    muls = [(p, n) for p, n in nodes if n[0] == "mul"]
    swappable = [(p, n) for p, n in nodes if n[0] in ("sub", "div") and n[1] != n[2]]
    how = draw(st.sampled_from(["+ t/97", "× (1 + 1/1000)", "flip a sign"]
                               + (["drop a factor"] if muls else []) + (["swap arguments"] if swappable else [])))
    if how == "+ t/97":
        return ("add", tree, ("div", ("var", var), ("num", Fraction(97)))), how
    if how == "× (1 + 1/1000)":
        return ("mul", tree, ("num", Fraction(1001, 1000))), how
    if how == "flip a sign":
        path, node = draw(st.sampled_from(nodes))
        return _replace(tree, path, ("neg", node)), how
    if how == "drop a factor":
        path, node = draw(st.sampled_from(muls))
        return _replace(tree, path, node[draw(st.sampled_from((1, 2)))]), how
    path, node = draw(st.sampled_from(swappable))
    return _replace(tree, path, (node[0], node[2], node[1])), how


@st.composite
def perturbed_sympy(draw, expr: sp.Expr, var: str):
    """(a SymPy expression that should differ from `expr`, how it was changed)."""
    how = draw(st.sampled_from(["+ t/97", "× (1 + 1/1000)", "flip a sign"]))
    if how == "+ t/97":
        return expr + SYMBOLS[var] / 97, how
    if how == "× (1 + 1/1000)":
        return expr * sp.Rational(1001, 1000), how
    inner = sorted({a for a in sp.preorder_traversal(expr) if not a.is_Atom}, key=sp.default_sort_key)
    if not inner:
        return -expr, how
    target = draw(st.sampled_from(inner))
    return expr.xreplace({target: -target}), how


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    """A rule file with one rule, what it must be (`expect`: "proved" or "refuted") and the
    two sides as SymPy expressions built outside derive (for the ground truth)."""

    kind: str  # e.g. "derivative", "rewrite", "second derivative"
    expect: str
    text: str
    lhs: sp.Expr
    rhs: sp.Expr
    names: list
    how: str = ""
    meta: dict = field(default_factory=dict)
    sides: tuple | None = None  # (left, right) as trees or ("pieces", first, op, c, second), when known

    def __str__(self) -> str:
        return f"[{self.kind}{', ' + self.how if self.how else ''}] expected {self.expect}:\n{self.text}"


def _printable(expr, limit=900):
    try:
        text = sympy_dsl(expr)
    except Unprintable:
        return None
    return text if len(text) <= limit else None


KINDS = ("derivative", "partial", "second derivative", "rewrite", "sympy form", "tie", "cases")


@st.composite
def equal_cases(draw, depth=3, kinds=KINDS):
    """An equal form produced outside derive, as a rule that must be proved (or undecided)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "cases":
        return draw(_cases_case(depth))
    if kind in ("derivative", "second derivative"):
        tree = draw(trees(("t",), depth, top=True))
        expr = to_sympy(tree)
        order = 1 if kind == "derivative" else 2
        d = sp.diff(expr, SYMBOLS["t"], order)
        right = _printable(d)
        if right is None:
            return None
        text = f"function f(t) = {dsl(tree)}\nrule r: f{chr(39) * order}(t) = {right}\n"
        return Case(kind, "proved", text, d, d, ["t"], meta={"tree": tree})
    names = VARIABLES[:draw(st.integers(1, 3))]
    tree = draw(trees(names, depth, top=True))
    names = variables_of(tree)
    if not names:
        return None
    expr = to_sympy(tree)
    if kind == "partial":
        var = draw(st.sampled_from(names))
        d = sp.diff(expr, SYMBOLS[var])
        right = _printable(d)
        if right is None:
            return None
        return Case(kind, "proved", f"rule r: diff({dsl(tree)}, {var}) = {right}\n", d, d, names,
                    meta={"tree": tree})
    if kind == "tie":  # a comparison whose two sides are equal everywhere (written differently)
        other, done = draw(rewritten(tree))
        if not done or other == tree:
            return None
        form = draw(st.integers(0, 2))
        left = [("max", tree, other), ("min", tree, other), ("f", "relu", ("sub", tree, other))][form]
        right = [other, tree, ("num", Fraction(0))][form]
        return Case(kind, "proved", f"rule r: {dsl(left)} = {dsl(right)}\n", to_sympy(left), to_sympy(right), names,
                    how=", ".join(done), meta={"tree": left, "other": right}, sides=(left, right))
    if kind == "rewrite":
        other, done = draw(rewritten(tree))
        if not done or other == tree:
            return None
        return Case(kind, "proved", f"rule r: {dsl(tree)} = {dsl(other)}\n", expr, to_sympy(other), names,
                    how=", ".join(done), meta={"tree": tree, "other": other}, sides=(tree, other))
    right = _printable(expr)
    if right is None:
        return None
    return Case(kind, "proved", f"rule r: {dsl(tree)} = {right}\n", expr, expr, names, meta={"tree": tree})


_COMPLEMENT = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_RELATION = {">": sp.Gt, ">=": sp.Ge, "<": sp.Lt, "<=": sp.Le}


def _piecewise_text(name, first, op, c, second) -> str:
    return f"function {name}(x) = {dsl(first)} if x {op} {number_dsl(c)} else {dsl(second)}\n"


def _piecewise_sympy(first, op, c, second):
    x = SYMBOLS["x"]
    return sp.Piecewise((to_sympy(first), _RELATION[op](x, sp.Rational(c.numerator, c.denominator))),
                        (to_sympy(second), True))


@st.composite
def _cases_case(draw, depth):
    """Two piecewise functions written with complementary conditions (pieces swapped):
    equal everywhere, the boundary point included."""
    first, second = draw(trees(("x",), depth - 1)), draw(trees(("x",), depth - 1))
    op = draw(st.sampled_from(tuple(_COMPLEMENT)))
    c = draw(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(-1), Fraction(1)]))
    text = (_piecewise_text("g", first, op, c, second) + _piecewise_text("h", second, _COMPLEMENT[op], c, first)
            + "rule r: g(x) = h(x)\n")
    return Case("cases", "proved", text, _piecewise_sympy(first, op, c, second),
                _piecewise_sympy(second, _COMPLEMENT[op], c, first), ["x"],
                meta={"pieces": (first, op, c, second), "points": [{"x": c}]},
                sides=(("pieces", first, op, c, second), ("pieces", second, _COMPLEMENT[op], c, first)))


@st.composite
def _perturbed_cases_case(draw, base):
    """The second function with its boundary moved to the other piece (`<` for `<=`), which
    changes the value at the boundary point only, or a piece perturbed."""
    first, op, c, second = base.meta["pieces"]
    h_op, h_first, h_second, how = _COMPLEMENT[op], second, first, "boundary moved"
    if draw(st.booleans()):
        h_op = {">": ">=", ">=": ">", "<": "<=", "<=": "<"}[h_op]
    else:
        h_first, how = draw(perturbed_tree(second, "x"))
    text = (_piecewise_text("g", first, op, c, second) + _piecewise_text("h", h_first, h_op, c, h_second)
            + "rule r: g(x) = h(x)\n")
    return Case("cases", "refuted", text, base.lhs, _piecewise_sympy(h_first, h_op, c, h_second), ["x"], how=how,
                meta=base.meta, sides=(base.sides[0], ("pieces", h_first, h_op, c, h_second)))


@st.composite
def perturbed_cases(draw, depth=3, kinds=KINDS):
    """A perturbed form, as a rule that must be refuted (or undecided); None when the
    perturbation happens to change nothing."""
    base = draw(equal_cases(depth, kinds))
    if base is None:
        return None
    var = base.names[0]
    if base.kind == "cases":
        return draw(_perturbed_cases_case(base))
    if "other" in base.meta:
        other, how = draw(perturbed_tree(base.meta["other"], var))
        left = base.text.split(" = ", 1)[0]
        text = f"{left} = {dsl(other)}\n"
        rhs = to_sympy(other)
        sides = (base.sides[0], other) if base.sides else None
    else:
        sides = None
        rhs, how = draw(perturbed_sympy(base.rhs, var))
        right = _printable(rhs)
        if right is None:
            return None
        text = base.text.rsplit(" = ", 1)[0] + f" = {right}\n"
    return Case(base.kind, "refuted", text, base.lhs, rhs, base.names, how=how, meta=base.meta, sides=sides)


def _side_value(side, point: dict):
    if side[0] == "pieces":
        _, first, op, c, second = side
        x = point["x"]
        holds = {">": x > c, ">=": x >= c, "<": x < c, "<=": x <= c}[op]
        return value(first if holds else second, point, 60)
    return value(side, point, 60)


def differ(case: Case, count: int = 8, seed: int = 1) -> bool | None:
    """Do the case's two sides differ at some exact point (50 digits, clearly above rounding)?
    True: yes; False: they agree wherever both are defined; None: defined nowhere sampled."""
    defined = False
    for p in case.meta.get("points", []) + points(case.names, count, seed):
        if case.sides is not None:  # the trees as written (SymPy would simplify (−x)/x to −1)
            lv, rv = _side_value(case.sides[0], p), _side_value(case.sides[1], p)
        else:
            lv, rv = sympy_value(case.lhs, p), sympy_value(case.rhs, p)
        if lv is None or rv is None:
            continue
        defined = True
        with mpmath.workdps(50):
            if abs(lv - rv) > mpmath.mpf("1e-25") * max(1, abs(lv), abs(rv)):
                return True
    return False if defined else None


@st.composite
def interval_cases(draw, depth=3):
    """(tree, exact points) for the interval-enclosure property."""
    names = VARIABLES[:draw(st.integers(1, 3))]
    tree = draw(trees(names, depth, top=True))
    names = variables_of(tree) or ["x"]
    pts = [{n: Fraction(draw(st.integers(-40, 40)), draw(st.sampled_from((1, 3, 7, 10, 20)))) for n in names}
           for _ in range(draw(st.integers(1, 3)))]
    return tree, pts


# ---------------------------------------------------------------- running derive on them
# (derive is imported here only: everything above is independent of it)


def verdict(case: Case, timeout: float | None = 20.0):
    """derive's Verdict for the case's single rule (check_source; `timeout` per rule)."""
    from derive.api import check_source
    return next(iter(check_source(case.text, "property.deriv", timeout=timeout)))


def outcome(case: Case, v) -> str:
    """"false proved" / "false refuted" (the property fails) or the plain verdict."""
    if case.expect == "refuted" and v.verdict == "proved":
        return "false proved"
    if case.expect == "proved" and v.verdict == "refuted":
        return "false refuted"
    return v.verdict


def derive_expression(tree, var: str | None = None):
    """derive's own SymPy expression for the tree, or for its derivative by `var` (functions
    unfolded, as the checker evaluates claims), and derive's variable symbols, name → Symbol."""
    from derive.model import load
    from derive.verify import CompiledDocument, _claims
    text = dsl(tree) if var is None else f"diff({dsl(tree)}, {var})"
    doc = load(f"rule r: {text} = 0\n", "property.deriv")
    compiled = CompiledDocument(doc).scalar
    variables: dict = {}
    claim = _claims(doc.all_rules()[0], compiled, variables)[0]
    return compiled.graph.expanded(claim.lhs), variables


def enclosure(tree, point: dict, dps: int = 60, var: str | None = None):
    """("contained" | "undefined" | "derive undefined" | "NOT CONTAINED" | "derive defined
    where the tree is not", detail): derive.numeric's interval enclosure of the tree (or of
    its derivative by `var`) at the exact `point` against mpmath's 100-digit value of the
    tree itself (or mpmath's numerical derivative of it)."""
    from derive import numeric
    true = value(tree, point, 100) if var is None else derivative_value(tree, point, var, 100)
    expr, variables = derive_expression(tree, var)
    with numeric.precision(numeric.IV, dps):
        env = {sym: numeric.exact(point[name], numeric.IV) for name, sym in variables.items()}
    try:
        iv = numeric.value_at(expr, env, dps, numeric.IV)
    except numeric.Unsupported as e:
        return "unsupported", str(e)
    if true is None:
        return ("undefined", "") if iv is None else ("derive defined where the tree is not", str(iv))
    if iv is None:
        return "derive undefined", ""
    with mpmath.workdps(110):  # the 100-digit value is itself rounded: allow for that, no more
        slack = mpmath.mpf(10) ** (-90 if var is None else -60) * max(1, abs(true))
        inside = mpmath.mpf(iv.a.a) - slack <= true <= mpmath.mpf(iv.b.b) + slack
    return ("contained", "") if inside else ("NOT CONTAINED", f"{iv} ∌ {mpmath.nstr(true, 30)}")
