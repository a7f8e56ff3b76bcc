"""derive: a symbolic derivation checker for neural-network calculus.

Declare a network, a loss or a computation graph in a .deriv file; derive computes every
partial derivative with SymPy and checks each hand-stated rule: proved, refuted with a
counterexample, or undecided.
"""

__version__ = "0.1.0"

from .api import Report, check_file, check_source  # noqa: E402
from .errors import DeriveError  # noqa: E402
from .verify import Counterexample, Verdict  # noqa: E402

__all__ = ["check_file", "check_source", "Report", "Verdict", "Counterexample", "DeriveError", "__version__"]
