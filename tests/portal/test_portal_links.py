"""The pages behind the signed links, on the real dev server: jury, award, RSVP, report.

Links are taken from the emails the worker sent (caught over SMTP); the portal runs in the
test's event loop (ASGI) against the same Temporal server, database and mail folder.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from activities.records import RecordActivities
from grantflow.client import meeting_workflow_id, send_update, support_workflow_id
from grantflow.definitions import load_programme
from grantflow.dev.mailcatcher import read_mailbox
from grantflow.links import LinkSigner
from models.application import ApplicationForm
from models.call import (
    ApproveSelection,
    Phase,
    ProgrammeInput,
    SubmitApplication,
    SubmitReceipt,
    SubmitScore,
)
from models.meeting import Invitee, MeetingInput
from models.orm import Application, MeetingRsvp, MilestoneReport, Score, UsedLink
from models.records import ParticipantsRecord, RegisterProgramme, StoreApplication
from models.support import ReviewReport, SupportInput
from portal.app import create_app
from tests.e2e.test_call import _assignments
from tests.scenario import EXAMPLE, application, with_timeline
from tests.workflows.test_call_updates import wait_for_phase
from worker import build_worker
from workflows.meeting import NetworkMeetingWorkflow
from workflows.programme import ProgrammeWorkflow
from workflows.support import ProcessSupportWorkflow

LINK = re.compile(r"http://portal\.test/l/[A-Za-z0-9_\-.]+")


@asynccontextmanager
async def portal(settings, temporal_client) -> AsyncIterator[httpx.AsyncClient]:
    """The portal app with its lifespan, reached in-process over ASGI."""

    async def connect():
        return temporal_client

    app = create_app(settings, client_factory=connect)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield client


def portal_settings(settings):
    return settings.model_copy(update={"portal_base_url": "http://portal.test"})


async def emailed_links(mail_dir, message_type: str, to: str | None = None, count: int = 1):
    """The link in each email of ``message_type`` (to ``to``), waiting until they arrived."""
    for _ in range(300):
        found = []
        for message in read_mailbox(mail_dir):
            if message["X-Grantflow-Type"] != message_type:
                continue
            if to and message["X-Envelope-To"] != to:
                continue
            text = message.get_body(("plain",)).get_content()
            found.append((message["X-Envelope-To"], LINK.search(text).group(0)))
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {message_type} email arrived")


def other_spellings(token: str) -> list[str]:
    """``token`` with each other value of the spare bits in its signature's last character:
    itsdangerous accepts them all as the same signature."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare = (len(token.rpartition(".")[2]) * 6) % 8
    first = alphabet.index(token[-1]) & ~((1 << spare) - 1)
    spellings = [token[:-1] + alphabet[first | k] for k in range(1 << spare)]
    return [s for s in spellings if s != token]


def path(url: str) -> str:
    return url.removeprefix("http://portal.test")


async def count(sessions, table, *where) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where))


async def start_call(dev_env, settings):
    programme = with_timeline(
        load_programme(EXAMPLE),
        datetime.now(UTC),
        publication=timedelta(minutes=-1),
        application_deadline=timedelta(seconds=4),
        jury_deadline=timedelta(hours=2),
        formal_check_days=0,
    )
    programme = programme.model_copy(update={"id": f"links-{uuid.uuid4().hex[:8]}"})
    handle = await dev_env.client.start_workflow(
        ProgrammeWorkflow.run,
        ProgrammeInput(programme=programme),
        id=f"programme-{programme.id}",
        task_queue=settings.task_queue,
    )
    return programme, handle


async def test_jury_scores_and_an_awardee_accepts_through_the_emailed_links(
    dev_env, settings, sessions, smtp, pdf_executor
):
    settings = portal_settings(settings)
    signer = LinkSigner.from_settings(settings)
    async with (
        build_worker(dev_env.client, settings, sessions, pdf_executor),
        portal(settings, dev_env.client) as web,
    ):
        programme, handle = await start_call(dev_env, settings)
        await wait_for_phase(handle, Phase.OPEN)
        references = []
        for i in range(2):
            receipt = await send_update(
                handle,
                ProgrammeWorkflow.submit_application,
                SubmitApplication(form=application(i)),
                result_type=SubmitReceipt,
            )
            references.append(receipt.reference)
        await wait_for_phase(handle, Phase.JURY, seconds=60)

        # --- the jury member's page, from the invitation -----------------------------------
        for _ in range(300):
            if len(assignments := await _assignments(sessions, None)) == 2:
                break
            await asyncio.sleep(0.05)
        member = sorted(assignments[references[0]])[0]
        [(_, url)] = await emailed_links(settings.mail_dir, "jury_invitation", to=member)
        assert member not in url
        page = await web.get(path(url))
        assert page.status_code == 200
        assigned = sorted(r for r, ms in assignments.items() if member in ms)
        for reference in assigned:
            assert reference in page.text
        for criterion in programme.criteria:
            assert f'name="score-{criterion.key}"' in page.text
            assert f'<label for="{assigned[0]}-{criterion.key}">' in page.text
        assert "/dossier/" in page.text
        dossier = re.search(r'href="(/l/[^"]+/dossier/\d+)"', page.text).group(1)
        pdf = await web.get(dossier)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

        # A score out of range: the field is named, nothing is stored.
        first = programme.criteria[0]
        bad = {f"score-{c.key}": "3" for c in programme.criteria} | {f"score-{first.key}": "99"}
        answer = await web.post(
            path(url), data={"action": "score", "reference": assigned[0], **bad}
        )
        assert answer.status_code == 400
        assert f'id="{assigned[0]}-{first.key}-error"' in answer.text
        assert f"0 bis {first.max}" in answer.text
        assert await count(sessions, Score) == 0

        for reference in assigned:
            good = {f"score-{c.key}": str(min(4, c.max)) for c in programme.criteria}
            answer = await web.post(
                path(url), data={"action": "score", "reference": reference, **good}
            )
            assert answer.status_code == 303, answer.text
        assert await count(sessions, Score) == len(assigned)
        status = await handle.query(ProgrammeWorkflow.status)
        assert status.counts["scores"] == len(assigned)
        assert "Bewertung ist gespeichert" in (await web.get(f"{path(url)}?done=score")).text

        # The rest of the jury scores on the command line's way; the managers approve.
        for reference, members in assignments.items():
            for other in members:
                if other != member:
                    await send_update(
                        handle,
                        ProgrammeWorkflow.submit_score,
                        SubmitScore(
                            member=other,
                            reference=reference,
                            scores={c.key: 3 for c in programme.criteria},
                        ),
                    )
        await wait_for_phase(handle, Phase.DECISION)
        for _ in range(100):
            if await handle.query(ProgrammeWorkflow.proposal):
                break
            await asyncio.sleep(0.1)
        await send_update(handle, ProgrammeWorkflow.approve_selection, ApproveSelection())

        # --- the award letter's link ----------------------------------------------------------
        letters = await emailed_links(settings.mail_dir, "award_letter", count=2)
        url = letters[0][1]
        token = url.rpartition("/l/")[2]
        reference = signer.verify(token, "award").subject
        other_reference = next(r for r in references if r != reference)
        page = await web.get(path(url))
        assert page.status_code == 200
        assert 'value="accept"' in page.text and 'value="decline"' in page.text

        # Tampered and expired links: refused, nothing changed.
        tampered = path(url)[:-2] + ("AA" if not path(url).endswith("AA") else "BB")
        refused = await web.post(tampered, data={"action": "accept"})
        assert refused.status_code == 403 and "nicht gültig" in refused.text
        expired = signer.sign(
            "award", programme.id, other_reference, datetime.now(UTC) - timedelta(minutes=1)
        )
        refused = await web.post(f"/l/{expired}", data={"action": "accept"})
        assert refused.status_code == 410 and "abgelaufen" in refused.text
        jury_link = signer.sign(
            "jury", programme.id, signer.person(member), datetime.now(UTC) + timedelta(hours=1)
        )
        refused = await web.post(f"/l/{jury_link}", data={"action": "accept"})
        assert refused.status_code == 403 and "nicht gedacht" in refused.text
        status = await handle.query(ProgrammeWorkflow.status)
        assert status.counts.get("accepted", 0) == 0 and status.counts["offered"] == 2

        # Accept through the link: the workflow shows it, the page says so.
        answer = await web.post(path(url), data={"action": "accept"})
        assert answer.status_code == 303
        status = await handle.query(ProgrammeWorkflow.status)
        assert status.counts["accepted"] == 1 and status.counts["offered"] == 1
        shown = await web.get(answer.headers["location"])
        assert "angenommen" in shown.text and 'value="accept"' not in shown.text

        # Used again (accept or decline): refused, nothing changed.
        for action in ("accept", "decline"):
            again = await web.post(path(url), data={"action": action})
            assert again.status_code == 410 and "bereits verwendet" in again.text
        # Its other spellings (the spare bits of the signature's last character) are the
        # same link: used too.
        for spelling in other_spellings(path(url)):
            again = await web.post(spelling, data={"action": "decline"})
            assert again.status_code == 410 and "bereits verwendet" in again.text
        status = await handle.query(ProgrammeWorkflow.status)
        assert status.counts["accepted"] == 1 and status.counts.get("declined", 0) == 0
        async with sessions() as session:
            stored = await session.scalar(
                select(Application.status).where(Application.reference == reference)
            )
        assert stored == "accepted"
        assert await count(sessions, UsedLink) == 1
        await handle.terminate("test finished")


async def test_an_invitee_answers_the_meeting_invitation_through_its_link(
    dev_env, settings, sessions, smtp, pdf_executor
):
    """A programme in its last weeks: the meeting is the day after tomorrow."""

    settings = portal_settings(settings)
    now = datetime.now(UTC)
    base = load_programme(EXAMPLE)
    programme = with_timeline(
        base,
        now - timedelta(days=800),
        publication=timedelta(0),
        application_deadline=timedelta(days=5),
        jury_deadline=timedelta(days=10),
    )
    timeline = programme.timeline.model_copy(
        update={"closing_meeting": (now + timedelta(days=2)).replace(microsecond=0)}
    )
    programme = programme.model_copy(
        update={"id": f"meeting-{uuid.uuid4().hex[:8]}", "timeline": timeline}
    )
    programme = type(programme).model_validate(programme.model_dump(mode="json"))
    await RecordActivities(sessions).register_programme(
        RegisterProgramme(programme=programme, at=now)
    )
    moderator = programme.moderators[0]
    email = str(moderator.email).lower()
    async with (
        build_worker(dev_env.client, settings, sessions, pdf_executor),
        portal(settings, dev_env.client) as web,
    ):
        handle = await dev_env.client.start_workflow(
            NetworkMeetingWorkflow.run,
            MeetingInput(
                programme=programme,
                invitees=[Invitee(key=email, role="moderator", name=moderator.name, email=email)],
            ),
            id=meeting_workflow_id(programme.id),
            task_queue=settings.task_queue,
        )
        [(_, url)] = await emailed_links(settings.mail_dir, "meeting_invitation", to=email)
        assert email not in url
        page = await web.get(path(url))
        assert page.status_code == 200
        assert programme.closing_meeting.title in page.text
        assert '<label for="persons">' in page.text and '<label for="notes">' in page.text

        # Missing answer and too many persons: named next to the fields, nothing recorded.
        answer = await web.post(path(url), data={"action": "rsvp", "persons": "30"})
        assert answer.status_code == 400
        assert 'id="attending-error"' in answer.text and 'id="persons-error"' in answer.text
        assert await count(sessions, MeetingRsvp) == 0

        answer = await web.post(
            path(url),
            data={"action": "rsvp", "attending": "yes", "persons": "2", "notes": "vegetarisch"},
        )
        assert answer.status_code == 303, answer.text
        result = await handle.query(NetworkMeetingWorkflow.attendance_query)
        assert (result.attending, result.persons) == (1, 2)
        async with sessions() as session:
            row = await session.scalar(select(MeetingRsvp))
        assert (row.email, row.attending, row.persons, row.notes) == (
            email,
            True,
            2,
            "vegetarisch",
        )
        shown = await web.get(answer.headers["location"])
        assert "Ihre Antwort ist gespeichert" in shown.text and "Sie nehmen teil" in shown.text
        await handle.terminate("test finished")


async def test_a_participant_reports_through_the_kickoff_link_and_sees_the_review(
    dev_env, settings, sessions, smtp, pdf_executor
):
    """Support began five and a half months ago: the first interim report is open now."""

    settings = portal_settings(settings)
    now = datetime.now(UTC)
    programme = with_timeline(
        load_programme(EXAMPLE),
        now - timedelta(days=182),
        publication=timedelta(0),
        application_deadline=timedelta(days=5),
        jury_deadline=timedelta(days=10),
    )
    programme = programme.model_copy(update={"id": f"support-{uuid.uuid4().hex[:8]}"})
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    reference = f"{programme.references}-0001"
    form = ApplicationForm.model_validate(application(0))
    await records.store_application(
        StoreApplication(
            programme_id=programme.id, reference=reference, form=form, submitted_at=now
        )
    )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=[reference], at=now)
    )
    interim = next(m for m in programme.milestones if m.key == "interim-1")
    contact = str(form.applicant.contact.email)
    async with (
        build_worker(dev_env.client, settings, sessions, pdf_executor),
        portal(settings, dev_env.client) as web,
    ):
        handle = await dev_env.client.start_workflow(
            ProcessSupportWorkflow.run,
            SupportInput(
                programme=programme,
                reference=reference,
                organisation=form.applicant.name,
                moderator=0,
            ),
            id=support_workflow_id(programme.id, reference),
            task_queue=settings.task_queue,
        )
        [(_, url)] = await emailed_links(settings.mail_dir, "support_kickoff", to=contact)
        for _ in range(300):
            moderator_mail = [
                m
                for m in read_mailbox(settings.mail_dir)
                if m["X-Grantflow-Type"] == "support_kickoff" and m["X-Envelope-To"] != contact
            ]
            if moderator_mail:
                break
            await asyncio.sleep(0.1)
        assert moderator_mail and not LINK.search(
            moderator_mail[0].get_body(("plain",)).get_content()
        )

        page = await web.get(path(url))
        assert page.status_code == 200
        assert interim.title in page.text and 'name="milestone" value="interim-1"' in page.text
        assert '<label for="progress">' in page.text

        too_short = await web.post(
            path(url), data={"action": "report", "milestone": "interim-1", "progress": "kurz"}
        )
        assert too_short.status_code == 400
        assert 'id="progress-error"' in too_short.text and "mindestens 10 Zeichen" in too_short.text
        status = await handle.query(ProcessSupportWorkflow.status)
        assert next(m for m in status.milestones if m.key == "interim-1").status != "submitted"

        answer = await web.post(
            path(url),
            data={
                "action": "report",
                "milestone": "interim-1",
                "progress": "Runder Tisch gegründet, Bestandsaufnahme abgeschlossen.",
                "activities": "Drei Workshops",
                "people_reached": "120",
                "next_steps": "Leitbild entwerfen",
            },
        )
        assert answer.status_code == 303, answer.text
        status = await handle.query(ProcessSupportWorkflow.status)
        assert next(m for m in status.milestones if m.key == "interim-1").status == "submitted"
        shown = await web.get(answer.headers["location"])
        assert "Bericht ist eingegangen" in shown.text and "Noch nicht geprüft" in shown.text

        # Sent again: the workflow refuses, its words are shown, nothing changes.
        again = await web.post(
            path(url),
            data={
                "action": "report",
                "milestone": "interim-1",
                "progress": "Noch einmal gesendet.",
            },
        )
        assert again.status_code == 409
        assert "liegt bereits zur Prüfung vor" in again.text and "nichts geändert" in again.text
        async with sessions() as session:
            stored = await session.scalar(select(MilestoneReport.content))
        assert stored["progress"].startswith("Runder Tisch")

        await send_update(
            handle,
            ProcessSupportWorkflow.review_report,
            ReviewReport(
                milestone="interim-1",
                decision="request_revision",
                comment="Bitte die Zahl der Beteiligten aufschlüsseln.",
                new_due=now + timedelta(days=20),
            ),
        )
        shown = await web.get(path(url))
        assert "Bitte die Zahl der Beteiligten aufschlüsseln." in shown.text
        assert "Überarbeitung erbeten" in shown.text
        assert 'name="milestone" value="interim-1"' in shown.text  # open again for the revision
        await handle.terminate("test finished")


async def test_broken_links_get_a_clear_page_in_the_programme_language(settings, sessions):
    """Without Temporal: nothing is sent for a link that is refused."""
    settings = portal_settings(settings)
    signer = LinkSigner.from_settings(settings)
    now = datetime.now(UTC)
    programme = load_programme(EXAMPLE).model_copy(
        update={"id": f"en-{uuid.uuid4().hex[:8]}", "language": "en"}
    )
    await RecordActivities(sessions).register_programme(
        RegisterProgramme(programme=programme, at=now)
    )
    member = str(programme.jury[0].email)

    async def no_temporal():
        raise AssertionError("a refused link must not reach Temporal")

    app = create_app(settings, client_factory=no_temporal)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
        ) as web,
    ):
        jury = signer.sign("jury", programme.id, signer.person(member), now + timedelta(days=1))
        page = await web.get(f"/l/{jury}")
        assert page.status_code == 200 and 'lang="en"' in page.text
        assert "Your jury page" in page.text and "No applications are assigned" in page.text

        tampered = await web.get(f"/l/{jury[:-3]}xyz")
        assert tampered.status_code == 403
        assert "nicht gültig" in tampered.text and "not valid" in tampered.text

        expired = signer.sign("jury", programme.id, signer.person(member), now - timedelta(days=1))
        for response in (
            await web.get(f"/l/{expired}"),
            await web.post(f"/l/{expired}", data={"action": "score", "reference": "X"}),
        ):
            assert response.status_code == 410 and "This link has expired" in response.text

        for action in ("accept", "rsvp", "delete-everything"):
            wrong = await web.post(f"/l/{jury}", data={"action": action})
            assert wrong.status_code == 403 and "not meant for this" in wrong.text

        stranger = signer.sign(
            "jury", programme.id, signer.person("x@example.org"), now + timedelta(days=1)
        )
        assert (await web.get(f"/l/{stranger}")).status_code == 403
        scored = await web.post(f"/l/{stranger}", data={"action": "score", "reference": "X"})
        assert scored.status_code == 403
        nowhere = signer.sign("award", "no-such-programme", "X-0001", now + timedelta(days=1))
        assert (await web.get(f"/l/{nowhere}")).status_code == 403
    assert await count(sessions, Score) == 0 and await count(sessions, UsedLink) == 0
