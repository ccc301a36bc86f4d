"""Every word a person reads comes from the catalogue: no German in Python string literals.

German is the language most of our words are read in; a German phrase in a Python literal is a
word that bypassed the catalogue (``grantflow/locale``). Docstrings and comments are for
developers and not checked. English source strings are the catalogue's keys and are found by
``tests/test_catalogue.py``'s extraction instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("activities", "grantflow", "models", "portal", "workflows", "worker.py")
GERMAN = re.compile(
    r"[äöüÄÖÜß„]|\b(der|die|das|und|nicht|Sie|Ihre?|Ihnen|für|wurde|wird|werden|ist|bereits"
    r"|oder|mit|eine?|zum|zur|bitte|Bewerbung|Frist)\b"
)
ALLOWED = {
    # what simulated people type (town names, reports): data, not words of grantflow
    "grantflow/dev/simulate.py",
    "grantflow/dev/demo.py",
    # folds "ß" when comparing organisation names
    "models/application.py",
}


def literals(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node.lineno, node.value


def python_files():
    for name in CHECKED:
        path = ROOT / name
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def test_no_german_words_in_python_literals():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}"
        for path in python_files()
        if str(path.relative_to(ROOT)) not in ALLOWED
        for line, text in literals(path)
        if GERMAN.search(text)
    ]
    assert found == [], "move these words to the catalogue (grantflow/i18n.py):\n" + "\n".join(
        found
    )
