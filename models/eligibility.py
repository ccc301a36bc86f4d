"""The formal check (Formalprüfung): rules from the definition, reasons in its language."""

from __future__ import annotations

from typing import Any

from grantflow.formatting import format_applicant_type, format_money
from grantflow.i18n import N_, t
from models.application import ApplicationForm
from models.programme import PUBLIC_APPLICANT_TYPES, Programme

REASONS: dict[str, str] = {
    "applicant_type": N_("Applicants of the type '%(type)s' are not eligible in this programme."),
    "amount_cap": N_("The requested amount of %(amount)s exceeds the maximum of %(cap)s."),
    "council_resolution": N_(
        "Public applicants need a resolution of their council; none was declared."
    ),
    "required_field": N_("The field '%(field)s' is missing."),
    "required_attachment": N_("The required attachment '%(kind)s' is missing."),
}
"""Why an application is formally ineligible (English source; see grantflow.i18n)."""


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
        reasons.append(t(language, REASONS[code], **values))

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
