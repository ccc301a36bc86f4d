"""The application form, generated from :class:`models.application.ApplicationForm`.

The pydantic model is the one definition of an application: this module walks its fields
(types, constraints, descriptions) into :class:`Field` specs the template renders, turns the
posted form back into the model's shape, and words validation errors per field path in the
programme's language. Labels and hints live in one small table keyed by field path.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, EmailStr, ValidationError

from grantflow.definitions import field_path
from grantflow.formatting import format_applicant_type, format_money
from models.application import ApplicationForm
from models.programme import PUBLIC_APPLICANT_TYPES, Programme

Language = Literal["de", "en"]
Widget = Literal["text", "textarea", "email", "number", "amount", "checkbox", "select", "lines"]

LABELS: dict[str, dict[Language, str]] = {
    "applicant": {"de": "Antragsteller", "en": "Applicant"},
    "applicant.name": {"de": "Name der Organisation", "en": "Name of the organisation"},
    "applicant.type": {"de": "Art des Antragstellers", "en": "Type of applicant"},
    "applicant.contact": {"de": "Ansprechperson", "en": "Contact person"},
    "applicant.contact.name": {"de": "Name", "en": "Name"},
    "applicant.contact.email": {"de": "E-Mail-Adresse", "en": "Email address"},
    "applicant.contact.phone": {"de": "Telefon", "en": "Phone"},
    "applicant.address": {"de": "Anschrift", "en": "Postal address"},
    "applicant.population": {"de": "Einwohnerzahl", "en": "Population"},
    "title": {"de": "Titel des Vorhabens", "en": "Title of the project"},
    "summary": {"de": "Kurzbeschreibung des Vorhabens", "en": "Summary of the project"},
    "goals": {"de": "Ziele", "en": "Goals"},
    "partners": {"de": "Partner", "en": "Partners"},
    "requested_amount": {"de": "Beantragter Betrag", "en": "Amount requested"},
    "council_resolution": {
        "de": "Ein Beschluss des Gemeinderats bzw. Kreistags liegt vor",
        "en": "A resolution of the council backs this application",
    },
    "attachments": {"de": "Anlagen", "en": "Attachments"},
}

HINTS: dict[str, dict[Language, str]] = {
    "goals": {"de": "Ein Ziel pro Zeile.", "en": "One goal per line."},
    "partners": {"de": "Ein Partner pro Zeile.", "en": "One partner per line."},
    "council_resolution": {
        "de": "Für Gemeinden, Landkreise und Gemeindeverwaltungsverbände erforderlich.",
        "en": "Required for municipalities, districts and administrative associations.",
    },
    "attachments": {
        "de": "PDF, PNG, JPEG, ODT oder DOCX, höchstens {limit} je Datei.",
        "en": "PDF, PNG, JPEG, ODT or DOCX, at most {limit} per file.",
    },
}

ATTACHMENT_KINDS: dict[str, dict[Language, str]] = {
    "council_resolution": {
        "de": "Beschluss des Gemeinderats bzw. Kreistags",
        "en": "Council resolution",
    },
    "other": {"de": "Weitere Unterlage", "en": "Further document"},
}

ATTACHMENTS = "attachments"
"""The field filled by file uploads, not by typing."""


@dataclass
class Field:
    """One input of the form (or a fieldset, when ``children`` is set)."""

    path: str
    label: str
    widget: Widget | None = None
    required: bool = False
    hint: str | None = None
    attributes: dict[str, str | int] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + self.path.replace(".", "-").replace("_", "-")

    def leaves(self) -> list[Field]:
        if not self.children:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]


@dataclass
class Upload:
    """One file input for an attachment kind."""

    kind: str
    label: str
    required: bool

    @property
    def name(self) -> str:
        return f"{ATTACHMENTS}.{self.kind}"

    @property
    def id(self) -> str:
        return "f-attachments-" + self.kind.replace("_", "-")


def label(path: str, language: Language) -> str:
    """The label of ``path``; a field missing from the table still gets a readable one."""
    known = LABELS.get(path)
    if known:
        return known[language]
    return path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def fields(programme: Programme) -> list[Field]:
    """Every field of the application form except the attachments, in model order."""
    return _fields(ApplicationForm, "", programme)


def _fields(model: type[BaseModel], prefix: str, programme: Programme) -> list[Field]:
    result = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if path == ATTACHMENTS:
            continue
        language: Language = programme.language
        annotation, optional = _unwrap(info.annotation)
        spec = Field(
            path=path,
            label=label(path, language),
            required=info.is_required() and not optional,
            hint=_hint(path, language, info.description),
        )
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            spec.children = _fields(annotation, f"{path}.", programme)
        else:
            _widget(spec, annotation, info.metadata, programme)
        result.append(spec)
    return result


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``str | None`` → ``(str, True)``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0], len(args) < len(get_args(annotation))
    return annotation, False


def _hint(path: str, language: Language, description: str | None) -> str | None:
    known = HINTS.get(path)
    return known[language] if known else description


def _widget(spec: Field, annotation: Any, metadata: list[Any], programme: Programme) -> None:
    """Choose the input for a field from its type, and HTML constraints from its metadata."""
    language = programme.language
    for item in metadata:
        if isinstance(item, annotated_types.MinLen) and item.min_length:
            spec.attributes["minlength"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            spec.attributes["maxlength"] = item.max_length
        elif isinstance(item, annotated_types.Ge):
            spec.attributes["min"] = str(item.ge)
    if annotation is bool:
        spec.widget, spec.required = "checkbox", False
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        spec.widget = "select"
        spec.options = [
            (t.value, format_applicant_type(t.value, language))
            for t in programme.eligible_applicant_types
        ]
    elif annotation is Decimal:
        spec.widget = "amount"
        cap = format_money(
            programme.funding.max_per_participant, language, programme.funding.currency
        )
        spec.hint = spec.hint or (
            f"In {programme.funding.currency}, höchstens {cap}."
            if language == "de"
            else f"In {programme.funding.currency}, at most {cap}."
        )
    elif annotation is int:
        spec.widget = "number"
    elif get_origin(annotation) is list:
        spec.widget, spec.required = "lines", False
    elif annotation is EmailStr:
        spec.widget = "email"
    elif int(spec.attributes.get("maxlength", 0)) > 300:
        spec.widget = "textarea"
    else:
        spec.widget = "text"


def uploads(programme: Programme) -> list[Upload]:
    """One file input per attachment kind: the definition's required ones, a council
    resolution when public bodies may apply, and one further document."""
    language = programme.language
    required = {
        a.kind: a.applicant_types is None for a in programme.eligibility.required_attachments
    }
    kinds = list(required)
    if set(programme.eligible_applicant_types) & PUBLIC_APPLICANT_TYPES:
        kinds.append("council_resolution")
    kinds.append("other")
    result, seen = [], set()
    for kind in kinds:
        if kind in seen:
            continue
        seen.add(kind)
        words = ATTACHMENT_KINDS.get(kind)
        name = words[language] if words else kind.replace("_", " ").capitalize()
        result.append(Upload(kind=kind, label=name, required=required.get(kind, False)))
    return result


# --- reading a posted form ------------------------------------------------------------------


def parse(posted: dict[str, str], programme: Programme) -> dict[str, Any]:
    """The posted inputs (named by field path) in the shape of ``ApplicationForm``.

    Empty inputs are left out (so a missing required field is reported as missing), lists are
    read one entry per line, a checkbox is true when sent, amounts may be written the German
    or the English way.
    """
    data: dict[str, Any] = {}
    for spec in (leaf for top in fields(programme) for leaf in top.leaves()):
        raw = posted.get(spec.path, "")
        value: Any
        if spec.widget == "checkbox":
            value = raw not in ("", "0", "false", "off")
        elif spec.widget == "lines":
            value = [line.strip() for line in raw.splitlines() if line.strip()]
        elif not raw.strip():
            _put(data, spec.path, None, parents_only=True)
            continue
        elif spec.widget == "amount":
            value = parse_amount(raw, programme.language)
        else:
            value = raw
        _put(data, spec.path, value)
    return data


def _put(data: dict[str, Any], path: str, value: Any, *, parents_only: bool = False) -> None:
    """Set ``value`` at a dotted ``path``; the enclosing objects exist either way, so that a
    fieldset left empty is reported field by field."""
    *parents, name = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    if not parents_only:
        data[name] = value


def parse_amount(raw: str, language: Language) -> str:
    """``40.000,50 €`` (de) or ``40,000.50`` (en) → ``40000.50``; anything else unchanged."""
    text = re.sub(r"[\s€$£]|EUR|CHF", "", raw)
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
    elif "," in text:
        decimal_mark = "," if language == "de" or re.search(r",\d{1,2}$", text) else "."
    elif language == "de" and re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        decimal_mark = ","
    else:
        decimal_mark = "."
    thousands = "." if decimal_mark == "," else ","
    return text.replace(thousands, "").replace(decimal_mark, ".")


# --- errors per field -------------------------------------------------------------------------

MESSAGES: dict[str, dict[Language, str]] = {
    "missing": {"de": "Bitte ausfüllen.", "en": "Please fill in this field."},
    "string_too_short": {
        "de": "Bitte mindestens {min_length} Zeichen eingeben.",
        "en": "Please enter at least {min_length} characters.",
    },
    "string_too_long": {
        "de": "Bitte höchstens {max_length} Zeichen eingeben.",
        "en": "Please enter at most {max_length} characters.",
    },
    "greater_than": {
        "de": "Der Wert muss größer als {gt} sein.",
        "en": "The value must be greater than {gt}.",
    },
    "greater_than_equal": {
        "de": "Der Wert muss mindestens {ge} sein.",
        "en": "The value must be at least {ge}.",
    },
    "number": {"de": "Bitte eine Zahl eingeben.", "en": "Please enter a number."},
    "decimal_places": {
        "de": "Bitte höchstens zwei Nachkommastellen angeben.",
        "en": "Please use at most two decimal places.",
    },
    "email": {
        "de": "Bitte eine gültige E-Mail-Adresse eingeben.",
        "en": "Please enter a valid email address.",
    },
    "choice": {
        "de": "Bitte eine der angebotenen Möglichkeiten wählen.",
        "en": "Please choose one of the options offered.",
    },
    "invalid": {"de": "Die Angabe ist ungültig.", "en": "This value is not valid."},
}

_NUMBER_ERRORS = {"int_parsing", "decimal_parsing", "int_from_float", "decimal_type", "int_type"}
_DECIMAL_PLACES = {"decimal_max_places", "decimal_max_digits", "decimal_whole_digits"}


def errors_by_field(error: ValidationError, language: Language) -> dict[str, str]:
    """field path → the first problem with it, worded for the person in ``language``."""
    result: dict[str, str] = {}
    for item in error.errors(include_url=False):
        location = tuple(part for part in item["loc"] if not isinstance(part, int))
        path = field_path(location)
        if path not in result:
            result[path] = _message(item, language)
    return result


def _message(item: Any, language: Language) -> str:
    kind, context = item["type"], item.get("ctx") or {}
    if kind in MESSAGES and kind not in ("number", "email", "choice", "invalid"):
        return MESSAGES[kind][language].format(**context)
    if kind in _NUMBER_ERRORS:
        return MESSAGES["number"][language]
    if kind in _DECIMAL_PLACES:
        return MESSAGES["decimal_places"][language]
    if kind == "enum":
        return MESSAGES["choice"][language]
    if kind == "value_error" and "email" in str(item.get("msg", "")).lower():
        return MESSAGES["email"][language]
    return MESSAGES["invalid"][language]


def not_admitted(data: dict[str, Any], programme: Programme) -> dict[str, str]:
    """An applicant type the programme does not admit (the select offers only admitted ones)."""
    chosen = (data.get("applicant") or {}).get("type")
    admitted = {t.value for t in programme.eligible_applicant_types}
    if chosen is not None and chosen not in admitted:
        return {"applicant.type": MESSAGES["choice"][programme.language]}
    return {}
