"""Dates and amounts the way a German (or English) letter writes them; Jinja2 filters."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from grantflow import i18n
from grantflow.i18n import N_, t

TEMPLATES = Path(str(files("templates")))
"""The templates (emails, documents, portal pages): package data, found wherever installed."""

LOCALES = {language: Locale.parse(language) for language in i18n.LANGUAGES}
"""Babel's locales, their month names read once at import (workflows format dates too)."""
for _locale in LOCALES.values():
    _locale.months  # noqa: B018 - loads the locale data outside any workflow


APPLICANT_TYPES = {
    "municipality": N_("Municipality"),
    "district": N_("District"),
    "administrative_association": N_("Administrative association"),
    "association": N_("Association"),
    "foundation": N_("Foundation"),
    "company": N_("Company"),
}
"""Who may apply, as a letter names them (translated when formatted)."""


def format_applicant_type(value: str, language: str = "de") -> str:
    """``municipality`` → ``Gemeinde/Stadt`` (``Municipality``); an unknown type as it is."""
    key = str(value)
    return t(language, APPLICANT_TYPES[key]) if key in APPLICANT_TYPES else key


def _as_date(value: date | datetime | str) -> date | datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def format_date(value: date | datetime | str, language: str = "de", style: str = "short") -> str:
    """``06.03.2020`` / ``6 March 2020``; ``style='long'`` gives ``6. März 2020`` in German."""
    day = _as_date(value)
    if language == "de":
        if style == "long":
            return babel_format_date(day, "d. MMMM y", locale=LOCALES["de"])
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return babel_format_date(day, "d MMMM y", locale=LOCALES["en"])


def format_datetime(
    value: datetime | str, language: str = "de", timezone: str | None = None
) -> str:
    """``06.03.2020, 23:59 Uhr`` / ``6 March 2020, 23:59``, in the programme's time zone."""
    moment = _as_date(value)
    assert isinstance(moment, datetime)
    if timezone and moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    suffix = " Uhr" if language == "de" else ""
    return f"{format_date(moment, language)}, {clock}{suffix}"


def format_money(
    amount: Decimal | float | int | str, language: str = "de", currency: str = "EUR"
) -> str:
    """``40.000,00 €`` / ``€40,000.00``."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    text = f"{value:,.2f}"
    symbol = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}.get(currency, currency)
    if language == "de":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        return f"{text} {symbol}"
    return f"{symbol}{text}" if len(symbol) == 1 else f"{symbol} {text}"


def template_environment(subfolder: str) -> Environment:
    """A Jinja2 environment over ``templates/<subfolder>``: autoescaped HTML, strict variables,
    and the text catalogue (``{% trans %}``, ``_()``) in the render context's ``language``."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES / subfolder),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        date=format_date,
        datetime=format_datetime,
        money=format_money,
        applicant_type=format_applicant_type,
    )
    return i18n.install(environment)


ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def without_addresses(text: str) -> str:
    """``text`` with email addresses blanked (``…@…``): failures, current details and error
    columns are no place for personal data."""
    return ADDRESS.sub("…@…", text)
