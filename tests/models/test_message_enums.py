"""Message types and document kinds: the enums and docs/messages.md name the same ones."""

from __future__ import annotations

import re

from models.messages import DocumentKind, MessageType
from tests.paths import ROOT

DOC = (ROOT / "docs" / "messages.md").read_text(encoding="utf-8")


def documented_message_types() -> set[str]:
    """The first cell of every row of the tables headed ``| type | to | …``."""
    types, in_table = set(), False
    for line in DOC.splitlines():
        if line.startswith("| type |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (cell := re.match(r"\| `([a-z_]+)` \|", line)):
            types.add(cell.group(1))
    return types


def documented_document_kinds() -> set[str]:
    """Every `kind` in the paragraphs that begin ``Document kinds:``."""
    kinds: set[str] = set()
    for paragraph in DOC.split("\n\n"):
        if paragraph.startswith("Document kinds:"):
            kinds |= set(re.findall(r"`([a-z_]+)`", paragraph))
    return kinds


def test_every_message_type_is_documented_and_every_documented_one_is_known():
    assert {t.value for t in MessageType} == documented_message_types()


def test_every_document_kind_is_documented_and_every_documented_one_is_known():
    assert {k.value for k in DocumentKind} == documented_document_kinds()


def test_every_message_type_and_document_kind_has_its_templates():
    for message_type in MessageType:
        for part in ("subject", "txt", "html"):
            path = ROOT / "templates" / "email" / f"{message_type}.{part}"
            assert path.is_file(), path
    for kind in DocumentKind:
        assert (ROOT / "templates" / "documents" / f"{kind}.html").is_file(), kind


def test_values_are_the_strings_on_the_wire():
    assert MessageType.AWARD_LETTER == "award_letter"
    assert f"{MessageType.JURY_INVITATION}/3" == "jury_invitation/3"
    assert DocumentKind("ranking") is DocumentKind.RANKING
