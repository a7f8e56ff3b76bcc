"""LaTeX spellings in rule files: what each LaTeX command stands for.

The grammar (grammar/derive.lark) lexes a LaTeX spelling as the very token its Unicode form
gives (`\\odot` is a HADAMARD token like `⊙`, `\\sum` a SIGMA like `Σ`, `^\\top` a TRANSPOSE
like `ᵀ`); `normalise_tokens` then rewrites the text of the tokens whose text matters later
(names, primes, LaTeX parentheses) to that Unicode form, keeping each token's position, so
every later stage sees one spelling and every error still points into the text as written.
`unknown_command` explains a command the grammar does not know, or one written wrongly.
"""

from __future__ import annotations

import re
import unicodedata

from lark import Token

# \delta → δ. \Sigma is the sum sign, as Σ is. \phi and \varphi are one letter φ, \epsilon and
# \varepsilon one letter ε (as a keyboard types them, and as derive.latex prints φ and ε).
GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "φ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
# \hat{y} → ŷ: y with a combining accent, a name of its own.
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0304", "tilde": "\u0303",
           "widetilde": "\u0303", "check": "\u030c"}
# Font commands change how a name looks, not what it is: \mathbf{W} is W.
FONTS = ("mathbf", "mathrm", "mathit", "mathsf", "mathtt", "mathcal", "boldsymbol", "bm", "operatorname",
         "text", "textrm", "textit", "textbf", "mbox")
# Operator names: \log is the built-in log.
OPERATORS = ("log", "ln", "exp", "tanh", "max", "min")
# The other commands, by the Unicode token they stand for (for messages and the README).
SYMBOLS = {
    "cdot": "·", "times": "×", "ast": "*", "odot": "⊙", "circ": "∘", "sum": "Σ", "Sigma": "Σ",
    "partial": "∂", "nabla": "∇", "top": "ᵀ", "intercal": "ᵀ", "|": "‖", "Vert": "‖", "lVert": "‖",
    "rVert": "‖", "prime": "′", "frac": "/", "dfrac": "/", "tfrac": "/", "sqrt": "sqrt",
}
# Commands that are blank (spacing and delimiter sizes).
BLANK = ("quad", "qquad", "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
         "biggl", "biggr", "Biggl", "Biggr", "limits", "nolimits", "displaystyle", "textstyle")
# How a command that takes arguments is written.
USAGE = {
    "frac": r"\frac{a}{b}, \frac{\partial C}{\partial w}", "dfrac": r"\dfrac{a}{b}", "tfrac": r"\tfrac{a}{b}",
    "sqrt": r"\sqrt{x}", "nabla": r"\nabla_a C or \nabla_{a^L} C (the gradient ∂C/∂a)",
    **{name: rf"\{name}{{y}} (one letter)" for name in ACCENTS},
    **{name: rf"\{name}{{W}}^l (one name inside the braces, scripts outside)" for name in FONTS},
    "prime": r"f^\prime(x) or f'(x)", "top": r"W^\top", "intercal": r"W^\intercal",
    "left": r"\left( … \right) or \left[ … \right]", "right": r"\left( … \right) or \left[ … \right]",
}

KNOWN = set(GREEK) | set(ACCENTS) | set(FONTS) | set(OPERATORS) | set(SYMBOLS) | set(BLANK)

_LPAR, _RPAR = "(", ")"
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_PRIME = re.compile(r"['′]|\\prime")


def _name(text: str) -> str:
    """The Unicode name a NAME or FUNC_NAME token spells: `\\mathbf{\\hat{y}}` → ŷ,
    `\\operatorname{hard\\sigma}` → hardσ, `\\mathrm{d}J` → dJ (the grammar has checked the form)."""
    out, i = [], 0
    while i < len(text):
        command = _COMMAND.match(text, i)
        if command is None:
            if not text[i].isspace():
                out.append(text[i])
            i += 1
            continue
        word, i = command.group(1), command.end()
        if word in GREEK:
            out.append(GREEK[word])
        elif word in OPERATORS:
            out.append(word)
        else:  # a font or an accent: its argument is the braced group that follows
            start = text.index("{", i)
            depth, end = 0, start
            for end in range(start, len(text)):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                if depth == 0:
                    break
            inner, i = _name(text[start + 1:end]), end + 1
            out.append(unicodedata.normalize("NFC", inner + ACCENTS[word]) if word in ACCENTS else inner)
    return "".join(out)


def normalise_tokens(stream):
    """Post-lexer step: LaTeX-spelled names, primes and parentheses get their Unicode text
    (positions kept); every other token passes unchanged."""
    for token in stream:
        if token.type in ("NAME", "FUNC_NAME") and "\\" in token.value:
            token = Token.new_borrow_pos(token.type, _name(token.value), token)
        elif token.type == "PRIMES" and "\\" in token.value:
            token = Token.new_borrow_pos(token.type, "'" * len(_PRIME.findall(token.value)), token)
        elif token.type == "TEX_OPEN":
            token = Token.new_borrow_pos("LPAR", _LPAR, token)
        elif token.type == "TEX_CLOSE":
            token = Token.new_borrow_pos("RPAR", _RPAR, token)
        yield token


# Terminals every lexer state must accept (the post-lexer turns them into what the parser expects).
ALWAYS_ACCEPT = ("TEX_OPEN", "TEX_CLOSE")


def command_at(text: str, index: int) -> str | None:
    """The LaTeX command starting at `index` of `text` (`frac` for `\\frac{…}`), if one does."""
    match = _COMMAND.match(text, index)
    return match.group(1) if match else None


def known_summary() -> str:
    return (r"Greek letters \alpha … \omega, \Gamma … \Omega; \cdot \times \odot \circ \partial \nabla \sum "
            r"\top \| \prime; \frac{a}{b} \sqrt{x}; \log \exp \tanh \max \min; fonts \mathbf{W} \boldsymbol{\delta} "
            r"\operatorname{softmax} \mathrm{d}; accents \hat{y} \bar{x} \tilde{x}; \left( \right) and spacing "
            r"\, \; \! \quad ~")


def unknown_command(command: str) -> str:
    """The message for a LaTeX command at a place the lexer could not read it."""
    if command == "[" or command == "]":
        return "\\[ … \\] is a display-math delimiter: write the formula alone"
    if command not in KNOWN:
        return f"unknown LaTeX command \\{command}; derive knows {known_summary()}"
    usage = USAGE.get(command)
    if usage is not None:
        return f"\\{command} cannot be read here; write {usage}"
    return f"\\{command} cannot stand here"
