"""Validation problems as catalogue words, put into the viewer's language where they are shown.

A validator raises :class:`Invalid` (a ``ValueError``) with a source string marked ``N_`` and
its parameters; :func:`words` turns a pydantic error (our own or one of pydantic's built-in
types, by its ``type`` and ``ctx``) into a :class:`Problem` that keeps the message and its
parameters apart. Only the place that shows a problem (``grantflow programme validate``, the
managers' start page, the portal forms, a refusal) calls :meth:`Problem.words` with the reader's
language; ``str(problem)`` is the English source, for logs and exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grantflow.i18n import N_, Words, t, tn


class Invalid(Words, ValueError):
    """A problem with a value: a catalogue message (``%(name)s`` placeholders) and its values."""


@dataclass(frozen=True)
class Plural:
    """A message with a singular and a plural form, chosen by the parameter ``count``."""

    singular: str
    plural: str
    count: str


def Nn_(singular: str, plural: str, count: str) -> Plural:
    """Marks a message with plural forms for the catalogue (like ``N_``)."""
    return Plural(singular, plural, count)


@dataclass(frozen=True)
class Problem:
    """One problem with its field path (``milestones[2].month``; empty for the whole file)."""

    path: str
    message: str | Plural
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    got: str | None = None
    """The value that was given, as shown after the message (``(got 'fr')``)."""

    def words(self, language: str) -> str:
        """The message in ``language``, without the field path."""
        params = in_language(language, self.params)
        if isinstance(self.message, Plural):
            message = self.message
            text = tn(language, message.singular, message.plural, params[message.count], **params)
        else:
            text = t(language, self.message, **params)
        if self.got is None:
            return text
        return t(language, "%(problem)s (got %(value)s)", problem=text, value=self.got)

    def line(self, language: str) -> str:
        """``path: message`` in ``language`` (the message alone for the whole file)."""
        return f"{self.path}: {self.words(language)}" if self.path else self.words(language)

    def __str__(self) -> str:
        return self.line("en")


# Pydantic's built-in error types → our words. The parameters are the error's ``ctx`` (pydantic's
# own names); ``expected`` lists are rebuilt by ``_choices`` so that "or" is translated too.
BUILT_IN: dict[str, str | Plural] = {
    "missing": N_("required field is missing"),
    "extra_forbidden": N_("unknown field (not part of the format; check spelling)"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": Nn_(
        "String should have at least %(min_length)s character",
        "String should have at least %(min_length)s characters",
        "min_length",
    ),
    "string_too_long": Nn_(
        "String should have at most %(max_length)s character",
        "String should have at most %(max_length)s characters",
        "max_length",
    ),
    "string_pattern_mismatch": N_("String should match pattern '%(pattern)s'"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than %(gt)s"),
    "greater_than_equal": N_("Input should be greater than or equal to %(ge)s"),
    "less_than": N_("Input should be less than %(lt)s"),
    "less_than_equal": N_("Input should be less than or equal to %(le)s"),
    "too_short": Nn_(
        "List should have at least %(min_length)s item, not %(actual_length)s",
        "List should have at least %(min_length)s items, not %(actual_length)s",
        "min_length",
    ),
    "too_long": Nn_(
        "List should have at most %(max_length)s item, not %(actual_length)s",
        "List should have at most %(max_length)s items, not %(actual_length)s",
        "max_length",
    ),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary (a mapping of fields)"),
    "model_attributes_type": N_("Input should be a valid dictionary (a mapping of fields)"),
    "literal_error": N_("Input should be %(expected)s"),
    "enum": N_("Input should be %(expected)s"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, %(error)s"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, %(error)s"),
    "date_from_datetime_inexact": N_(
        "Datetimes provided to dates should have zero time - e.g. be exact dates"
    ),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime, %(error)s"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date, %(error)s"),
    "timezone_aware": N_("Input should have timezone info"),
    "decimal_type": N_("Decimal input should be an integer, float, string or Decimal object"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "decimal_max_digits": Nn_(
        "Decimal input should have no more than %(max_digits)s digit in total",
        "Decimal input should have no more than %(max_digits)s digits in total",
        "max_digits",
    ),
    "decimal_max_places": Nn_(
        "Decimal input should have no more than %(decimal_places)s decimal place",
        "Decimal input should have no more than %(decimal_places)s decimal places",
        "decimal_places",
    ),
    "decimal_whole_digits": Nn_(
        "Decimal input should have no more than %(whole_digits)s digit before the decimal point",
        "Decimal input should have no more than %(whole_digits)s digits before the decimal point",
        "whole_digits",
    ),
    "email": N_("value is not a valid email address"),
    "invalid": N_("the value is not valid"),
}
"""Every built-in type we know; another type gets ``invalid`` (pydantic's English is not ours)."""

OR = N_("%(choices)s or %(last)s")


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str) else str(value)


def words(item: Mapping[str, Any], path: str) -> Problem:
    """A pydantic error (one item of ``ValidationError.errors()``) as a :class:`Problem`."""
    kind, context = item["type"], dict(item.get("ctx") or {})
    error = context.get("error")
    if kind == "value_error" and isinstance(error, Invalid):
        return Problem(path, error.message, error.params)
    if kind in ("missing", "extra_forbidden"):
        return Problem(path, BUILT_IN[kind])
    if kind == "value_error" and "email" in str(item.get("msg", "")).lower():
        kind = "email"
    elif kind not in BUILT_IN:
        kind = "invalid"
    params = {key: _plain(value) for key, value in context.items()}
    if isinstance(error, Exception):
        params["error"] = str(error)
    if kind in ("literal_error", "enum"):
        params["expected"] = Choices(str(context.get("expected", "")))
    return Problem(path, BUILT_IN[kind], params, _shown(item.get("input")))


def _shown(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        shown = repr(value)
        return shown if len(shown) <= 60 else shown[:57] + "..."
    return None


@dataclass(frozen=True)
class Choices:
    """Pydantic's ``'a', 'b' or 'c'``, whose "or" is said in the reader's language."""

    expected: str

    def words(self, language: str) -> str:
        head, separator, last = self.expected.rpartition(" or ")
        if not separator:
            return self.expected
        return t(language, OR, choices=head, last=last)


@dataclass(frozen=True)
class Phrase:
    """A parameter that is a catalogue message itself (marked ``N_`` where it is written)."""

    text: str

    def words(self, language: str) -> str:
        return t(language, self.text)


def in_language(language: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters that are words themselves (:class:`Phrase`, :class:`Choices`) in ``language``."""
    return {
        key: value.words(language) if isinstance(value, Phrase | Choices) else value
        for key, value in params.items()
    }
