"""Reading applications from the record for letters and emails (the 'application view')."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from models.messages import Address
from models.orm import Application, Contact, EligibilityResult, Organisation


class ApplicationLookup:
    """Application views by reference: what templates may show of an application."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def views(self, programme_id: str, references: list[str]) -> list[dict[str, Any]]:
        """Views in the order of ``references``; an unknown reference is a non-retryable error."""
        if not references:
            return []
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Application, Organisation, Contact, EligibilityResult)
                    .join(Organisation, Application.organisation_id == Organisation.id)
                    .join(Contact, Application.contact_id == Contact.id)
                    .outerjoin(
                        EligibilityResult, EligibilityResult.application_id == Application.id
                    )
                    .where(
                        Application.programme_id == programme_id,
                        Application.reference.in_(references),
                    )
                )
            ).all()
        found = {row[0].reference: view(*row) for row in rows}
        missing = [r for r in references if r not in found]
        if missing:
            raise ApplicationError(
                f"Programme {programme_id}: no application {', '.join(missing[:5])} in the record",
                type="UnknownApplication",
                non_retryable=True,
            )
        return [found[r] for r in references]


def view(
    application: Application,
    organisation: Organisation,
    contact: Contact,
    eligibility: EligibilityResult | None,
) -> dict[str, Any]:
    body = application.body
    return {
        "reference": application.reference,
        "title": application.title,
        "summary": body.get("summary", ""),
        "goals": body.get("goals", []),
        "partners": body.get("partners", []),
        "requested_amount": str(application.requested_amount),
        "council_resolution": bool(body.get("council_resolution")),
        "attachments": body.get("attachments", []),
        "submitted_at": application.submitted_at.isoformat(),
        "status": application.status,
        "organisation": {
            "name": organisation.name,
            "type": organisation.type,
            "address": organisation.address,
            "population": organisation.population,
        },
        "contact": {"name": contact.name, "email": contact.email, "phone": contact.phone},
        "eligibility": None
        if eligibility is None
        else {"eligible": eligibility.eligible, "reasons": list(eligibility.reasons)},
    }


def postal_address(application_view: dict[str, Any]) -> Address:
    """The letter's address field: organisation, contact (z. Hd.), street and town."""
    organisation, contact = application_view["organisation"], application_view["contact"]
    lines = [contact["name"]]
    if organisation.get("address"):
        lines += [part.strip() for part in organisation["address"].split(",") if part.strip()]
    return Address(name=organisation["name"], lines=lines)
