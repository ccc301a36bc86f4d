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
from grantflow.i18n import N_, t
from models.application import ApplicationForm
from models.programme import PUBLIC_APPLICANT_TYPES, Programme

Language = Literal["de", "en"]
Widget = Literal["text", "textarea", "email", "number", "amount", "checkbox", "select", "lines"]

LABELS: dict[str, str] = {
    "applicant": N_("Applicant"),
    "applicant.name": N_("Name of the organisation"),
    "applicant.type": N_("Type of applicant"),
    "applicant.contact": N_("Contact person"),
    "applicant.contact.name": N_("Name"),
    "applicant.contact.email": N_("Email address"),
    "applicant.contact.phone": N_("Phone"),
    "applicant.address": N_("Postal address"),
    "applicant.population": N_("Population"),
    "title": N_("Title of the project"),
    "summary": N_("Summary of the project"),
    "goals": N_("Goals"),
    "partners": N_("Partners"),
    "requested_amount": N_("Amount requested"),
    "council_resolution": N_("A resolution of the council backs this application"),
    "attachments": N_("Attachments"),
}

HINTS: dict[str, str] = {
    "goals": N_("One goal per line."),
    "partners": N_("One partner per line."),
    "council_resolution": N_(
        "Required for municipalities, districts and administrative associations."
    ),
    "attachments": N_("PDF, PNG, JPEG, ODT or DOCX, at most %(limit)s per file."),
}

ATTACHMENT_KINDS: dict[str, str] = {
    "council_resolution": N_("Council resolution"),
    "other": N_("Further document"),
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
        return t(language, known)
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
    return t(language, known) if known else description


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
        spec.hint = spec.hint or t(
            language,
            "In %(currency)s, at most %(cap)s.",
            currency=programme.funding.currency,
            cap=cap,
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
        name = t(language, words) if words else kind.replace("_", " ").capitalize()
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

MESSAGES: dict[str, str] = {
    "missing": N_("Please fill in this field."),
    "string_too_short": N_("Please enter at least %(min_length)s characters."),
    "string_too_long": N_("Please enter at most %(max_length)s characters."),
    "greater_than": N_("The value must be greater than %(gt)s."),
    "greater_than_equal": N_("The value must be at least %(ge)s."),
    "number": N_("Please enter a number."),
    "decimal_places": N_("Please use at most two decimal places."),
    "email": N_("Please enter a valid email address."),
    "choice": N_("Please choose one of the options offered."),
    "invalid": N_("This value is not valid."),
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
        return t(language, MESSAGES[kind], **context)
    if kind in _NUMBER_ERRORS:
        return t(language, MESSAGES["number"])
    if kind in _DECIMAL_PLACES:
        return t(language, MESSAGES["decimal_places"])
    if kind == "enum":
        return t(language, MESSAGES["choice"])
    if kind == "value_error" and "email" in str(item.get("msg", "")).lower():
        return t(language, MESSAGES["email"])
    return t(language, MESSAGES["invalid"])


def not_admitted(data: dict[str, Any], programme: Programme) -> dict[str, str]:
    """An applicant type the programme does not admit (the select offers only admitted ones)."""
    chosen = (data.get("applicant") or {}).get("type")
    admitted = {t.value for t in programme.eligible_applicant_types}
    if chosen is not None and chosen not in admitted:
        return {"applicant.type": t(programme.language, MESSAGES["choice"])}
    return {}
