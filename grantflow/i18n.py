"""The one text catalogue: every word a person reads, through gettext (Babel).

Source strings are English and live where they are used: in Python as ``t(language, "…")``,
``tn(language, "…", "…", n)`` or ``N_("…")`` (a marker for tables translated later), in
templates as ``{% trans %}…{% endtrans %}`` / ``_("…")``. ``make messages`` extracts them into
``grantflow/locale/<language>/LC_MESSAGES/grantflow.po``; the ``.mo`` files are compiled when
the package is built or installed, never committed. ``tests/core/test_catalogue.py`` fails when a
message lacks a translation in either language.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
DOMAIN = "grantflow"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

log = logging.getLogger(__name__)


def catalogue_path(language: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of ``language``; an unknown language gets the default one.

    An installed package reads the ``.mo`` compiled at build time; a checkout whose ``.po`` is
    newer (or never compiled) compiles it in memory, so an edited catalogue is read at once.
    """
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    po, mo = catalogue_path(language), catalogue_path(language, ".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    if not po.exists():
        raise FileNotFoundError(f"no text catalogue for {language!r}: {po} is missing")
    return Translations(io.BytesIO(compile_catalogue(po)), domain=DOMAIN)


def compile_catalogue(po: Path) -> bytes:
    """The ``.mo`` bytes of one ``.po`` file (fuzzy entries left out, as msgfmt does)."""
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def t(language: str, message: str, /, **params: Any) -> str:
    """``message`` in ``language``; ``%(name)s`` placeholders filled from ``params``."""
    text = translations(language).gettext(message)
    return text % params if params else text


def tn(language: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The plural form for ``n`` (``%(n)s`` is available in both forms)."""
    text = translations(language).ngettext(singular, plural, n)
    return text % {"n": n, **params}


class Words(Exception):
    """An error whose message is a catalogue message: ``str()`` gives the English source (for
    logs and tracebacks), :meth:`words` the reader's language (where a person reads it)."""

    def __init__(self, message: str, /, **params: Any) -> None:
        self.message, self.params = message, params
        super().__init__(message % params if params else message)

    def words(self, language: str) -> str:
        return t(language, self.message, **self.params)


def said(error: BaseException, language: str) -> str:
    """An error's message for a person: in ``language`` when it is :class:`Words`."""
    return error.words(language) if isinstance(error, Words) else str(error)


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue without translating it (translate with ``t``)."""
    return message


def _language(context: Context) -> str:
    return str(context.get("language") or DEFAULT_LANGUAGE)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_language(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_language(context)).ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, ctxt: str, message: str) -> str:
    return translations(_language(context)).pgettext(ctxt, message)


@pass_context
def _npgettext(context: Context, ctxt: str, singular: str, plural: str, n: int) -> str:
    return translations(_language(context)).npgettext(ctxt, singular, plural, n)


def install(environment: Environment) -> Environment:
    """Adds ``{% trans %}`` and ``_()`` to a Jinja2 environment, in the template's ``language``.

    The language is the render context's ``language`` variable (the default one without it).
    New-style gettext: placeholders are ``%(name)s`` and always formatted, so a literal percent
    sign is written ``%%``.
    """
    environment.add_extension("jinja2.ext.i18n")
    environment.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    return environment


# Extraction: what `make messages` and tests/core/test_catalogue.py read from the source.

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("activities", "grantflow", "models", "portal", "templates", "workflows")
KEYWORDS_EXTRA = {"t": (2,), "tn": (2, 3), "Nn_": (1, 2)}
# A header that stays the same from run to run, so catalogues merge line by line.
HEADER: dict[str, Any] = {
    "domain": DOMAIN,
    "project": "grantflow",
    "version": "1",
    "copyright_holder": "grantflow",
    "msgid_bugs_address": "",
    "creation_date": datetime(2026, 1, 1, tzinfo=UTC),
    "revision_date": datetime(2026, 1, 1, tzinfo=UTC),
    "charset": "utf-8",
    "fuzzy": False,
}


def extract(root: Path = ROOT) -> Any:
    """Every message in the source (Python and templates), as a Babel catalogue template."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (root / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, **KEYWORDS_EXTRA}
    template = Catalog(**HEADER)

    def wanted(directory: str) -> bool:
        relative = Path(directory).relative_to(root).parts
        return relative[0] in SOURCE_DIRS and not any(
            part.startswith((".", "_")) for part in relative
        )

    found = extract_from_dir(
        root,
        method_map,
        options_map,
        keywords=keywords,
        strip_comment_tags=True,
        directory_filter=wanted,
    )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update_catalogues(root: Path = ROOT) -> None:
    """``make messages``: brings every ``.po`` in line with the source (new entries empty)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    template = extract(root)
    for language in LANGUAGES:
        po = root / catalogue_path(language).relative_to(ROOT)
        if po.exists():
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language, domain=DOMAIN)
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, **HEADER)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        with po.open("wb") as handle:
            write_po(handle, catalog, ignore_obsolete=True, width=100, include_lineno=False)
        missing = sum(1 for message in catalog if message.id and not message.string)
        print(f"{po.relative_to(root)}: {len(catalog)} messages, {missing} untranslated")


if __name__ == "__main__":
    update_catalogues()
