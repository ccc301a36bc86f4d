"""The formal check (Formalprüfung): rules from the definition, reasons in its language."""

from __future__ import annotations

from typing import Any

from grantflow.formatting import format_applicant_type, format_money
from models.application import ApplicationForm
from models.programme import PUBLIC_APPLICANT_TYPES, Programme

REASONS: dict[str, dict[str, str]] = {
    "applicant_type": {
        "de": "Antragsteller der Art „{type}“ sind in diesem Programm nicht antragsberechtigt.",
        "en": "Applicants of the type '{type}' are not eligible in this programme.",
    },
    "amount_cap": {
        "de": "Der beantragte Betrag von {amount} übersteigt die Höchstförderung von {cap}.",
        "en": "The requested amount of {amount} exceeds the maximum of {cap}.",
    },
    "council_resolution": {
        "de": "Für öffentliche Antragsteller ist ein Beschluss des Gemeinderats bzw. Kreistags "
        "erforderlich; er liegt nicht vor.",
        "en": "Public applicants need a resolution of their council; none was declared.",
    },
    "required_field": {
        "de": "Die Angabe „{field}“ fehlt.",
        "en": "The field '{field}' is missing.",
    },
    "required_attachment": {
        "de": "Die erforderliche Anlage „{kind}“ fehlt.",
        "en": "The required attachment '{kind}' is missing.",
    },
}


def _value(form: ApplicationForm, path: str) -> Any:
    value: Any = form
    for part in path.split("."):
        value = getattr(value, part, None)
    return value


def formal_check(programme: Programme, form: ApplicationForm) -> list[str]:
    """Why ``form`` is formally ineligible (empty when eligible), in the programme language."""
    language, funding = programme.language, programme.funding
    reasons: list[str] = []

    def reason(code: str, **values: Any) -> None:
        reasons.append(REASONS[code][language].format(**values))

    applicant_type = form.applicant.type
    if applicant_type not in programme.eligible_applicant_types:
        reason("applicant_type", type=format_applicant_type(applicant_type, language))
    if form.requested_amount > funding.max_per_participant:
        reason(
            "amount_cap",
            amount=format_money(form.requested_amount, language, funding.currency),
            cap=format_money(funding.max_per_participant, language, funding.currency),
        )
    if applicant_type in PUBLIC_APPLICANT_TYPES and not form.council_resolution:
        reason("council_resolution")
    for path in programme.eligibility.required_fields:
        if _value(form, path) in (None, "", []):
            reason("required_field", field=path)
    kinds = {attachment.kind for attachment in form.attachments}
    for required in programme.eligibility.required_attachments:
        applies = required.applicant_types is None or applicant_type in required.applicant_types
        if applies and required.kind not in kinds:
            reason("required_attachment", kind=required.kind)
    return reasons
