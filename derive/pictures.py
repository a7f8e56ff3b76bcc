"""Pictures of what a file declares, drawn by Graphviz (the python `graphviz` package
writes the DOT text; the `dot` program lays it out as SVG or PDF).

- A computation graph: one box per input and per operation, an edge for each dependency,
  labelled with the local derivative ∂child/∂parent; each box shows its definition, its
  forward value and the backward derivative ∂J/∂n of the output J (where the inputs have
  values; symbolic expressions otherwise). J = 3(a + bc) at a = 5, b = 3, c = 2 shows
  u = 6, v = 11, J = 33 and ∂J/∂a = 3, ∂J/∂b = 6, ∂J/∂c = 9.
- A network: the layer graph x → z¹ → a¹ → … → aᴸ → C (with y), and δ flowing back
  (dashed): ∂C/∂aᴸ, δˡ = ∂C/∂aˡ ⊙ f′(zˡ), ∂C/∂aˡ⁻¹ = (Wˡ)ᵀδˡ.

Values come from the compiled graph itself (`derive.graphs`), exactly where the inputs
are exact: forward values by substitution, derivatives by the chain rule expanded in full.
"""

from __future__ import annotations

import graphviz
import sympy as sp
from sympy.printing.str import StrPrinter

from .functions import Kink
from .graphs import Compiled, build_functions, compile_graph
from .model import Document, Graph, Network

_SUP = str.maketrans("0123456789+-Ll", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ᴸˡ")
_BACK = "#b22222"  # backward quantities: derivatives


class GraphPicture:
    """A Graphviz drawing; shows itself in Jupyter (`_repr_svg_`) and saves as SVG/PDF/PNG/DOT.

    >>> from derive.model import load
    >>> doc = load("graph J {\\n input a = 5, b = 3, c = 2\\n u = b c\\n v = a + u\\n J = 3 v\\n}")
    >>> "∂J/∂b = 6" in picture(doc).source
    True
    """

    def __init__(self, digraph: graphviz.Digraph, title: str):
        self.digraph = digraph
        self.title = title

    @property
    def source(self) -> str:
        """The DOT text (needs no program)."""
        return self.digraph.source

    def render(self, fmt: str = "svg") -> bytes:
        """Laid out by `dot`; raises graphviz.ExecutableNotFound when `dot` is missing."""
        return self.digraph.pipe(format=fmt)

    def svg(self) -> str:
        return self.render("svg").decode("utf-8")

    def save(self, path) -> None:
        """Write to `path`; the format follows its suffix (.svg, .pdf, .png, .dot)."""
        from pathlib import Path

        path = Path(path)
        fmt = path.suffix.lstrip(".").lower() or "svg"
        if fmt in ("dot", "gv"):
            path.write_text(self.source, encoding="utf-8")
        else:
            path.write_bytes(self.render(fmt))

    def _repr_svg_(self) -> str:
        return self.svg()


def _number(value: sp.Expr, functions) -> str:
    """Exact where rational, 6 significant digits where a number, else the expression."""
    if value.is_Rational:
        return str(value)
    if not value.free_symbols:
        return f"{float(functions.expand_definitions(value).evalf(20)):.6g}"
    return _expr(value)


class _TextPrinter(StrPrinter):
    """Plain text for labels; a piecewise value as the file writes one (a if c else b).
    Pieces whose value is NaN or a `Kink` (the derivative on a boundary: a kink, a tie) are left out."""

    def _print_Piecewise(self, expr):
        pieces = [(e, c) for e, c in expr.args if e is not sp.nan and not isinstance(e, Kink)]
        text = self._print(pieces[-1][0]) if pieces[-1][1] == sp.true else \
            f"{self._print(pieces[-1][0])} if {self._print(pieces[-1][1])}"
        for e, c in reversed(pieces[:-1]):
            text = f"{self._print(e)} if {self._print(c)} else {text}"
        return f"({text})"

    # SymPy's printer skips a parent's method for a renamed subclass of a Function.
    _print_Cases = _print_Piecewise


def _expr(value: sp.Expr) -> str:
    return _TextPrinter().doprint(value).replace("**", "^").replace("*", "·")


def _graph_picture(graph: Graph, compiled: Compiled) -> GraphPicture:
    g = compiled.graph
    keys = list(g.nodes)
    output = keys[-1]
    out_label = g.nodes[output].label
    given = {g.nodes[k].symbol: sp.Rational(v.numerator, v.denominator) for k, v in compiled.given.items()}
    dot = graphviz.Digraph(graph.name, graph_attr={"rankdir": "LR", "label": f"graph {graph.name}", "labelloc": "t",
                                                   "fontname": "Helvetica"},
                           node_attr={"shape": "box", "style": "rounded", "fontname": "Helvetica"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "10"})
    for k in keys:
        node = g.nodes[k]
        lines = []
        if node.definition is None:
            value = compiled.given.get(k)
            lines.append(f"{node.label}" + (f" = {value}" if value is not None else " (input)"))
        else:
            lines.append(f"{node.label} = {_expr(node.definition)}")
            forward = node.base.xreplace(given)
            if not forward.free_symbols:
                lines.append(f"= {_number(forward, g.functions)}")
        if k != output and g.reaches(k, output):
            derivative = _derivative(g, output, k).xreplace(given)
            lines.append(f"∂{out_label}/∂{node.label} = {_number(derivative, g.functions)}")
        elif k == output:
            lines.append(f"∂{out_label}/∂{out_label} = 1")
        dot.node(str(k), "\n".join(lines), color="black" if node.definition is None else "#1f4e79")
    for k in keys:
        for parent in g.nodes[k].parents:
            local = g.local_partial(k, parent)
            dot.edge(str(parent), str(k), label=f"∂{g.nodes[k].label}/∂{g.nodes[parent].label} = {_expr(local)}",
                     fontcolor=_BACK)
    return GraphPicture(dot, f"graph {graph.name}")


def _derivative(g, target, source) -> sp.Expr:
    """∂target/∂source with every chain-rule step done, in base coordinates."""
    expr = g.d(target, source)
    last = expr
    for step in g.derive_partials(expr):
        last = step
    return last


def _sup(value) -> str:
    return str(value).translate(_SUP)


def _network_picture(net: Network) -> GraphPicture:
    L = net.depth
    dot = graphviz.Digraph(net.name, graph_attr={"rankdir": "LR", "label": f"network {net.name}: forward (solid) "
                                                 f"and δ flowing back (dashed)", "labelloc": "t",
                                                 "fontname": "Helvetica"},
                           node_attr={"shape": "ellipse", "fontname": "Helvetica"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "10"})
    loss = net.loss_name
    dot.node("a0", f"x = a⁰\n∈ ℝ{_sup(net.sizes[0])}", shape="box")
    for layer in range(1, L + 1):
        n = net.sizes[layer]
        fn = net.activations[layer - 1]
        dot.node(f"z{layer}", f"z{_sup(layer)} ∈ ℝ{_sup(n)}\nδ{_sup(layer)} = ∂{loss}/∂z{_sup(layer)}")
        dot.node(f"a{layer}", f"a{_sup(layer)} = {fn}(z{_sup(layer)})")
        dot.edge(f"a{layer - 1}", f"z{layer}", label=f"W{_sup(layer)}a{_sup(layer - 1)} + b{_sup(layer)}")
        dot.edge(f"z{layer}", f"a{layer}", label=fn)
    dot.node("y", "y", shape="box")
    dot.node("C", f"{loss}", shape="doublecircle")
    dot.edge(f"a{L}", "C")
    dot.edge("y", "C")
    back = {"style": "dashed", "color": _BACK, "fontcolor": _BACK, "constraint": "false"}
    dot.edge("C", f"a{L}", label=f"∂{loss}/∂a{_sup('L')}", **back)
    for layer in range(L, 0, -1):
        f = net.activations[layer - 1]
        prime = "σ′" if f in ("σ", "sigma") else f"{f}′"
        dot.edge(f"a{layer}", f"z{layer}", label=f"δ{_sup(layer)} = ∂{loss}/∂a{_sup(layer)} ⊙ {prime}(z{_sup(layer)})"
                 if f != "softmax" else f"δ{_sup(layer)} = Jᵀ ∂{loss}/∂a{_sup(layer)}", **back)
        if layer > 1:
            dot.edge(f"z{layer}", f"a{layer - 1}", label=f"(W{_sup(layer)})ᵀδ{_sup(layer)}", **back)
    return GraphPicture(dot, f"network {net.name}")


def picture(doc: Document, graph: str | None = None, rule: str | None = None) -> GraphPicture:
    """The picture of one block of `doc`: the graph or network named `graph`, the block
    holding the rule named `rule`, or else the first block. Raises LookupError when there
    is no such block (or the rule is a scalar rule, which has no graph)."""
    name = graph
    if rule is not None:
        found = [r for r in doc.all_rules() if r.name == rule]
        if not found:
            raise LookupError(f"no rule named '{rule}'")
        if found[0].context is None:
            raise LookupError(f"rule '{rule}' is a scalar rule: it belongs to no graph or network")
        name = found[0].context
    if name is None:
        blocks = sorted([*doc.graphs.values(), *doc.networks.values()], key=lambda b: (b.pos.line, b.pos.column))
        if not blocks:
            raise LookupError("the file declares no graph and no network")
        name = blocks[0].name
    if name in doc.graphs:
        functions = build_functions(doc.functions)
        return _graph_picture(doc.graphs[name], compile_graph(doc.graphs[name], functions))
    if name in doc.networks:
        return _network_picture(doc.networks[name])
    known = ", ".join([*doc.graphs, *doc.networks]) or "none"
    raise LookupError(f"no graph or network named '{name}' (known: {known})")


def pictures(doc: Document) -> list:
    """A picture of every graph and network of `doc`, in file order."""
    blocks = sorted([*doc.graphs.values(), *doc.networks.values()], key=lambda b: (b.pos.line, b.pos.column))
    return [picture(doc, graph=b.name) for b in blocks]


__all__ = ["GraphPicture", "picture", "pictures"]
