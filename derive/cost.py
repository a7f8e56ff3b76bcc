"""What backpropagation saves: forward passes and operation counts, per declared network.

Finite differences need a forward pass per parameter perturbation: P + 1 passes one-sided
((C(θ + h eᵢ) − C(θ)) / h) or 2P central; backprop needs one forward and one backward pass
for all P partials at once. Operation counts are SymPy's `count_ops` of the derived
expressions, with defined functions (σ, relu, …) unfolded to their bodies: the forward
pass is every node's definition, the backward pass every local partial ∂c/∂n on an edge
that leads to the loss, plus one multiply and one add per edge to accumulate the adjoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .graphs import build_functions, compile_network
from .model import Document


@dataclass(frozen=True)
class Cost:
    network: str
    sizes: tuple
    parameters: int  # P: the entries of every Wˡ and bˡ (and γˡ, for PReLU-like activations)
    forward_ops: int
    backward_ops: int

    @property
    def one_sided_passes(self) -> int:
        return self.parameters + 1

    @property
    def central_passes(self) -> int:
        return 2 * self.parameters

    @property
    def backprop_ops(self) -> int:
        return self.forward_ops + self.backward_ops


def network_cost(net, functions) -> Cost:
    """The cost of the gradient of a network's loss at its declared sizes."""
    compiled = compile_network(net, net.sizes, functions)
    g = compiled.graph
    ops = lambda e: int(sp.count_ops(g.expanded(e)))  # noqa: E731
    forward = sum(ops(n.definition) for n in g.nodes.values() if n.definition is not None)
    backward = 0
    for parent in g.nodes:
        for child in g.children[parent]:
            if g.reaches(child, "C"):
                backward += ops(g.local_partial(child, parent)) + 2  # the partial, then adj += adj_c · partial
    parameters = sum(1 for key in g.input_keys() if key[0] in ("W", "b", "γ"))
    return Cost(net.name, net.sizes, parameters, forward, backward)


def document_costs(doc: Document) -> list:
    """One `Cost` per network of a document, in declaration order.

    >>> from derive.model import load
    >>> doc = load("network n {\\n layers 2, 2, 1\\n activation σ\\n loss C = ½‖y − aᴸ‖²\\n}")
    >>> c = document_costs(doc)[0]
    >>> c.parameters, c.one_sided_passes, c.central_passes
    (9, 10, 18)
    """
    functions = build_functions(doc.functions)
    return [network_cost(net, functions) for net in doc.networks.values()]


def render_costs(costs: list, filename: str) -> str:
    """A table: per network, passes and operations for finite differences and for backprop."""
    if not costs:
        return f"{filename}: no network declared"
    head = ("network", "sizes", "params P", "FD one-sided: passes, ops", "FD central: passes, ops",
            "backprop: passes, ops", "ops ratio central/backprop")
    rows = []
    for c in costs:
        rows.append((c.network, ",".join(map(str, c.sizes)), str(c.parameters),
                     f"{c.one_sided_passes} (P+1), {c.one_sided_passes * c.forward_ops}",
                     f"{c.central_passes} (2P), {c.central_passes * c.forward_ops}",
                     f"1 forward + 1 backward, {c.forward_ops} + {c.backward_ops}",
                     f"{c.central_passes * c.forward_ops / c.backprop_ops:.1f}×"))
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([f"{filename}:", line(head)] + [line(r) for r in rows])
