"""cost.py: passes and operation counts, finite differences against backprop."""

from derive.cost import document_costs, render_costs
from derive.model import load

NET = "network n {{\n layers {sizes}\n activation {f}\n loss C = ½‖y − aᴸ‖²\n}}\n"


def test_parameter_count_and_passes_follow_the_sizes():
    (cost,) = document_costs(load(NET.format(sizes="4, 8, 8, 4", f="σ")))
    assert cost.parameters == 4 * 8 + 8 + 8 * 8 + 8 + 8 * 4 + 4
    assert (cost.one_sided_passes, cost.central_passes) == (cost.parameters + 1, 2 * cost.parameters)


def test_operation_counts_grow_with_the_network_and_backprop_beats_central_differences():
    small, large = (document_costs(load(NET.format(sizes=s, f="σ")))[0] for s in ("2, 2, 1", "4, 8, 8, 4"))
    assert 0 < small.forward_ops < large.forward_ops and 0 < small.backward_ops < large.backward_ops
    assert large.central_passes * large.forward_ops > 10 * large.backprop_ops


def test_render_lists_every_network():
    doc = load(NET.format(sizes="2, 2, 1", f="σ")
               + NET.format(sizes="2, 1", f="relu").replace("network n", "network m"))
    text = render_costs(document_costs(doc), "f.deriv")
    assert text.splitlines()[0] == "f.deriv:"
    assert [line.split()[0] for line in text.splitlines()[2:]] == ["n", "m"]
    assert render_costs([], "g.deriv") == "g.deriv: no network declared"


def test_prelu_slopes_count_as_parameters():
    (sigmoid,) = document_costs(load(NET.format(sizes="2, 3, 2", f="σ")))
    (prelu,) = document_costs(load(NET.format(sizes="2, 3, 2", f="prelu")))
    assert prelu.parameters == sigmoid.parameters + 3 + 2
