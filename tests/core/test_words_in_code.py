"""Every word a person reads comes from the catalogue: no sentences in Python string literals.

German is the language most of our words are read in; a German phrase in a Python literal is a
word that bypassed the catalogue (``grantflow/locale``). An English sentence outside the
catalogue's markers (``t``, ``tn``, ``N_``, ``Nn_``) is one too: the English source strings are
the catalogue's keys and must be marked to be extracted. Docstrings, comments, field
descriptions, assertion messages and log calls are for developers and not checked.
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


SENTENCE = re.compile(r"\b[A-Za-z][a-z']+ [a-z']{2,} [a-z']{2,}\b")
"""Three words in a row, as in a sentence (not an identifier, a path, SQL or a media type)."""
MARKERS = {"N_", "Nn_", "t", "tn", "pgettext", "ngettext", "gettext"}
LOGS = {"debug", "info", "warning", "error", "exception", "critical"}
LOGGERS = {"log", "logger", "logging"}
INTERNAL = {
    # Errors that mean a bug in grantflow or a broken installation, never a person's input: read
    # by a developer in a traceback or a Temporal failure, like an assertion message.
    ("activities/documents.py", "Stored document path escapes the documents folder"),
    ("activities/documents.py", "'{}' is the base layout, not a document kind"),
    ("activities/documents.py", "No document template for kind"),
    ("activities/notifications.py", "No email template {} for message type"),
    ("activities/notifications.py", "Email template for {} ({}) failed"),
    ("activities/lookup.py", "Programme {}: no application {} in the record"),
    ("activities/records.py", "Programme {}: no application {} in the record"),
    ("grantflow/i18n.py", "no text catalogue for"),
    ("grantflow/links.py", "unknown link purpose"),
    ("models/messages.py", "a recipient needs an email or an application reference"),
    ("workflows/selection.py", "the moderators' total capacity is smaller than the participants"),
    ("activities/records.py", "{}: the staged application {} is missing or altered"),
    ("grantflow/codec.py", "no payload key"),
    ("grantflow/codec_server.py", "the codec token must have at least 32 bytes"),
    # The codec server's answer to the Web UI or the temporal CLI (a protocol error body).
    ("grantflow/codec_server.py", "payload does not decrypt"),
    ("models/call.py", "either form or staged"),
    # WeasyPrint's refused fetches: a template that reaches outside is a bug (it logs them).
    ("activities/documents.py", "refused: only files of the templates folder"),
    ("activities/documents.py", "refused: not a file of the templates folder"),
    # A process without the keys it needs: the CLI says it from the catalogue (cli/common.py),
    # the portal and worker refuse to start before (Settings.require_production_secrets); what is
    # left is read by an operator in the worker's log or a workflow task failure.
    ("grantflow/client.py", "GRANTFLOW_PAYLOAD_KEYS is not set"),
    ("grantflow/codec.py", "payload encrypted with key {}, which this process does not have"),
    # A tampered link: the person sees the catalogue's "link not valid" page (portal/signed.py).
    ("grantflow/links.py", "compressed payloads are not accepted"),
    # Starlette's own error texts, matched to recognise them (portal/body_limit.py).
    ("portal/body_limit.py", "Too many files"),
    ("portal/body_limit.py", "Too many fields"),
    # Protocol and markup, not words: an SMTP reply, a Content-Security-Policy, a command line.
    ("grantflow/dev/mailcatcher.py", "250 Message accepted for delivery"),
    ("portal/mailbox.py", "default-src 'none'"),
    ("portal/protection.py", "img-src 'self' data:"),
    ("grantflow/dev/stack.py", "grantflow mail check --to"),
}


def _name(function: ast.expr) -> str:
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else ""


def _is_log(call: ast.Call) -> bool:
    function = call.func
    if not (isinstance(function, ast.Attribute) and function.attr in LOGS):
        return False
    return _name(function.value) in LOGGERS


def sentences(path: Path):
    """String literals (an f-string as a whole, ``{}`` for its values) that are not for the
    catalogue's extraction or for developers, with their line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()

    def skip(node: ast.AST) -> None:
        skipped.update(id(sub) for sub in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr):
            skip(node.value)  # docstrings, also those of attributes
        elif isinstance(node, ast.Call) and (_name(node.func) in MARKERS or _is_log(node)):
            skip(node)
        elif isinstance(node, ast.keyword) and node.arg == "description":
            skip(node.value)
        elif isinstance(node, ast.Assert) and node.msg is not None:
            skip(node.msg)
        elif isinstance(node, ast.JoinedStr):
            skipped.update(id(value) for value in node.values)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if SENTENCE.search(text):
            yield node.lineno, text


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


def test_no_sentences_outside_the_catalogue_in_python_literals():
    found = [
        f"{relative}:{line}: {text[:70]!r}"
        for path in python_files()
        for relative in [str(path.relative_to(ROOT))]
        for line, text in sentences(path)
        if not any(relative == where and text.startswith(start) for where, start in INTERNAL)
        and not (relative in ALLOWED and GERMAN.search(text))
    ]
    assert found == [], (
        "mark these for the catalogue (t/tn in the reader's language, N_ where they are shown "
        "later; grantflow.i18n.Words or grantflow.validation_words.Invalid for errors):\n"
        + "\n".join(found)
    )


def test_the_sentence_check_finds_what_bypasses_the_catalogue(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import logging\n"
        "log = logging.getLogger(__name__)\n"
        "def f(x, language):\n"
        '    """A docstring is for developers."""\n'
        '    log.warning("a log line is for developers")\n'
        '    assert x, "an assertion is for developers"\n'
        '    t(language, "the catalogue has this one")\n'
        '    N_("and this one")\n'
        '    raise ValueError(f"the value {x} is not valid")\n'
        'HELP = "Show this message and exit."\n',
        encoding="utf-8",
    )
    assert sorted(line for line, _ in sentences(sample)) == [9, 10]
