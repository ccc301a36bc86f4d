"""A second, English grant programme from publication to close-out, without a code change.

``programmes/neighbourhood-fund-2024.yaml`` differs from the example programme in everything
the definition controls: money instead of moderation, twelve months instead of 24, other
milestones (two of them dates without a report), other reminder and escalation days, five
seats, two jury members and two criteria, English, Europe/London, an evening celebration.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
from calendar import monthrange
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from typer.testing import CliRunner

from grantflow.cli.main import app
from grantflow.client import Refused, meeting_workflow_id, send_update, support_workflow_id
from grantflow.dev.mailcatcher import read_mailbox
from grantflow.formatting import format_date
from models.call import ApproveSelection, AwardResponse, Phase, ProgrammeInput, SubmitScore
from models.meeting import Rsvp
from models.orm import AuditEntry, Document
from models.support import EndSupport, LogSupport, ReviewReport, SubmitReport
from tests.e2e.test_call import _assignments, _proposal, _until, submit
from tests.scenario import ROOT, after, application, mail_by_type, programme_at
from worker import build_worker
from workflows.base import GRANT_PHASE
from workflows.meeting import NetworkMeetingWorkflow
from workflows.programme import ProgrammeWorkflow
from workflows.support import ProcessSupportWorkflow

SECOND = ROOT / "programmes" / "neighbourhood-fund-2024.yaml"
GERMAN = re.compile(
    r"[äöüßÄÖÜ]|\b(Sehr geehrte|Mit freundlichen|Bericht|Förder|Prozessbegleitung|Teilnahme"
    r"|Netzwerk|Einladung|Erinnerung|Frist|Uhr|bitte)\b",
    re.IGNORECASE,
)
GROUPS = [
    ("Harehills Community Garden", "association", 15000),
    ("Bramley Baths Swimming Club", "association", 12000),
    ("Chapeltown Youth Music Trust", "foundation", 15000),
    ("Armley Repair Café Group", "association", 10000),
    ("Kirkstall Allotment Society", "association", 15000),
    ("Holbeck Reading Circle", "association", 14000),
]


def grant_application(index: int) -> dict[str, Any]:
    """An English application by a neighbourhood group (the example form, reworded)."""
    name, kind, amount = GROUPS[index]
    form = application(index, name=name, type=kind, amount=amount, council_resolution=False)
    slug = name.split()[0].lower()
    form["applicant"].update(
        address=f"{index + 1} High Street, Leeds LS{index + 4}",
        contact={"name": f"Project lead {index}", "email": f"lead@{slug}.example"},
    )
    form.update(
        title=f"{name}: neighbours working together",
        summary="Residents run a weekly open session, train volunteers and share what they "
        "learn with other groups in the neighbourhood.",
        goals=["Weekly open sessions", "Ten trained volunteers"],
        partners=["Leeds Library"],
        attachments=[{"name": "constitution.pdf", "kind": "constitution"}],
    )
    return form


def report(milestone: str) -> SubmitReport:
    return SubmitReport(
        milestone=milestone,
        progress="Twelve open sessions held, volunteers trained.",
        activities="Open sessions, a volunteer day",
        people_reached=85,
        next_steps="Plan the summer programme",
    )


def payout(day, amount: int) -> LogSupport:
    return LogSupport(day=day, amount=Decimal(amount), note="Payout request", actor="participant")


def test_second_definition_is_valid():
    result = CliRunner().invoke(app, ["programme", "validate", str(SECOND)])
    assert result.exit_code == 0, result.output
    assert "neighbourhood-fund-2024" in result.output and "5 seats" in result.output
    assert "£75,000.00 grant" in result.output


async def test_english_grant_programme_from_publication_to_close_out(
    time_skipping_env, settings, sessions, smtp, pdf_executor
):
    env = time_skipping_env
    programme = programme_at(await env.get_current_time(), SECOND)
    t, zone = programme.timeline, programme.zone
    managers = [str(m.email) for m in programme.organiser.managers]
    progress, final = (m for m in programme.milestones if m.report)
    assert [m.key for m in programme.milestones if not m.report] == ["launch", "visit"]

    async with build_worker(env.client, settings, sessions, pdf_executor):
        handle = await env.client.start_workflow(
            ProgrammeWorkflow.run,
            ProgrammeInput(programme=programme),
            id=f"programme-{programme.id}",
            task_queue=settings.task_queue,
        )
        # The call: six groups apply; both jurors score every application; five seats.
        await env.sleep(after(programme.local(t.publication), await env.get_current_time()))
        refs = [await submit(handle, grant_application(i)) for i in range(len(GROUPS))]
        assert refs[0] == "NNF24-0001"
        deadline = programme.local(t.application_deadline)
        await env.sleep(
            after(deadline + timedelta(days=t.formal_check_days), await env.get_current_time())
        )
        await _until(handle, lambda s: s.phase == Phase.JURY)
        assignments: dict[str, list[str]] = {}
        for _ in range(300):
            if len(assignments := await _assignments(sessions, None)) == len(refs):
                break
            await asyncio.sleep(0.05)
        assert all(len(members) == 2 for members in assignments.values())  # reviews: all
        for reference, members in assignments.items():
            mark = 3 if reference == refs[5] else 8
            for member in members:
                await send_update(
                    handle,
                    ProgrammeWorkflow.submit_score,
                    SubmitScore(
                        member=member,
                        reference=reference,
                        scores={c.key: mark for c in programme.criteria},
                    ),
                )
        await _proposal(handle)
        await send_update(handle, ProgrammeWorkflow.approve_selection, ApproveSelection())
        await _until(handle, lambda s: s.counts.get("offered") == 5)
        participants = refs[:5]
        for reference in participants:
            if reference == participants[-1]:  # the operator's view, in English
                assert re.fullmatch(
                    rf"{programme.id}: acceptance of awards – 4 accepted, 1 open, 1 on the "
                    r"waiting list; acceptance deadline \d{1,2} \w+ \d{4}, 23:59",
                    await _details(handle),
                )
            await send_update(
                handle, ProgrammeWorkflow.accept_award, AwardResponse(reference=reference)
            )
        await _until(handle, lambda s: s.phase == Phase.SUPPORT)

        def support(reference):
            return env.client.get_workflow_handle(support_workflow_id(programme.id, reference))

        on_time, late, revised, silent, leaver = participants

        # Payout requests against the grant: 80 % warns the managers, beyond 100 % is refused.
        start = datetime.combine(t.support_start, time(9), zone)
        await env.sleep(after(start, await env.get_current_time(), timedelta(hours=2)))
        totals = [
            await send_update(
                support(on_time),
                ProcessSupportWorkflow.log_support,
                payout(t.support_start, amount),
                result_type=Decimal,
            )
            for amount in (6000, 6000)
        ]
        assert totals == [Decimal(6000), Decimal(12000)]
        summary = await (await support(on_time).describe()).static_summary()
        assert summary == f"grant {on_time} ({programme.id})"
        # Four milestones due at support start + 1, 5, 8 and 12 months, 00:00 London time.
        plan = await support(silent).query(ProcessSupportWorkflow.status)
        months = [
            (m.due.year - t.support_start.year) * 12 + m.due.month - t.support_start.month
            for m in plan.milestones
        ]
        assert months == [1, 5, 8, 12] and plan.cap == Decimal(10000)
        assert [m.report for m in plan.milestones] == [False, True, False, True]
        for milestone in plan.milestones:
            local = milestone.due.astimezone(zone)
            last_day = monthrange(local.year, local.month)[1]  # 31 Jan + 1 month: 28/29 Feb
            assert (local.day, local.time()) == (min(t.support_start.day, last_day), time(0))
        with pytest.raises(Refused, match=r"exceeds the cap: £12,000.00 of £15,000.00"):
            await send_update(
                support(on_time),
                ProcessSupportWorkflow.log_support,
                payout(t.support_start, 3001),
            )
        with pytest.raises(Refused, match="days: days are booked for process support only"):
            await send_update(
                support(on_time),
                ProcessSupportWorkflow.log_support,
                payout(t.support_start, 3000).model_copy(update={"days": Decimal(2)}),
            )
        assert await send_update(
            support(on_time),
            ProcessSupportWorkflow.log_support,
            payout(t.support_start, 3000),
            result_type=Decimal,
        ) == Decimal(15000)
        # A grant's cap is the amount awarded: £12,000 for the group that asked for less.
        for amount in (5000, 5000):
            await send_update(
                support(late), ProcessSupportWorkflow.log_support, payout(t.support_start, amount)
            )
        with pytest.raises(Refused, match=r"£2,001.00 exceeds the cap: £10,000.00 of £12,000.00"):
            await send_update(
                support(late), ProcessSupportWorkflow.log_support, payout(t.support_start, 2001)
            )

        # The progress report (month 5): on time, late, after a revision, never; a withdrawal.
        due = programme.milestone_due(progress)
        with pytest.raises(Refused, match="can be submitted from"):
            await send_update(
                support(on_time), ProcessSupportWorkflow.submit_report, report(progress.key)
            )
        with pytest.raises(Refused, match="No report is due"):
            await send_update(
                support(on_time), ProcessSupportWorkflow.submit_report, report("launch")
            )
        await env.sleep(after(due - timedelta(days=5), await env.get_current_time()))
        for reference in (on_time, revised, leaver):
            await send_update(
                support(reference), ProcessSupportWorkflow.submit_report, report(progress.key)
            )
        for reference in (on_time, leaver):
            await send_update(
                support(reference),
                ProcessSupportWorkflow.review_report,
                ReviewReport(milestone=progress.key, decision="accept", actor=managers[0]),
            )
        await send_update(
            support(revised),
            ProcessSupportWorkflow.review_report,
            ReviewReport(
                milestone=progress.key,
                decision="request_revision",
                comment="Please add the attendance figures.",
                new_due=due + timedelta(days=14),
                actor=managers[0],
            ),
        )
        await env.sleep(after(due + timedelta(days=8), await env.get_current_time()))
        # The operator's view of a participant, in English and in money.
        assert await _details(support(silent)) == (
            f"{silent}: grant; Progress report due on {format_date(due, 'en')} – overdue for "
            "5 days; budget £0.00 of £10,000.00"
        )  # as of the last reminder (due + 5 days)
        for reference in (late, revised):
            await send_update(
                support(reference), ProcessSupportWorkflow.submit_report, report(progress.key)
            )
            await send_update(
                support(reference),
                ProcessSupportWorkflow.review_report,
                ReviewReport(milestone=progress.key, decision="accept"),
            )
        await send_update(
            support(leaver),
            ProcessSupportWorkflow.withdraw,
            EndSupport(reason="The group has dissolved.", actor="participant"),
        )
        assert await _details(support(leaver)) == f"{leaver}: grant ended (withdrawn)"
        with pytest.raises(Refused, match="has already ended"):
            await send_update(
                support(leaver), ProcessSupportWorkflow.log_support, payout(t.support_start, 100)
            )

        # The final report (month 12): on time for all but the silent one.
        due = programme.milestone_due(final)
        await env.sleep(after(due - timedelta(days=5), await env.get_current_time()))
        for reference in (on_time, late, revised):
            await send_update(
                support(reference), ProcessSupportWorkflow.submit_report, report(final.key)
            )
            await send_update(
                support(reference),
                ProcessSupportWorkflow.review_report,
                ReviewReport(milestone=final.key, decision="accept"),
            )

        # The celebration evening: invitations 28 days ahead, answers, reminders 10 and 1 day.
        meeting = env.client.get_workflow_handle(meeting_workflow_id(programme.id))
        evening = programme.local(t.closing_meeting)
        await env.sleep(after(evening - timedelta(days=20), await env.get_current_time()))
        for answer in (
            Rsvp(invitee=on_time, attending=True, persons=3, notes="Step-free access, please"),
            Rsvp(invitee=late, attending=False),
            Rsvp(invitee=str(programme.jury[0].email), attending=True),
            Rsvp(invitee=managers[0], attending=True),
        ):
            await send_update(meeting, NetworkMeetingWorkflow.rsvp, answer)
        assert (await _details(meeting)).endswith(
            "9 invited, 3 attending, 1 declined, 5 not answered"
        )
        result = await handle.result()
        histories = {r: await support(r).fetch_history() for r in (silent, revised)}
        meeting_history = await meeting.fetch_history()
        programme_history = await handle.fetch_history()
        described = await handle.describe()
        if os.environ.get("GRANTFLOW_RECORD_HISTORIES"):
            folder = ROOT / "tests" / "histories"
            for kind, history in (
                ("programme", programme_history),
                ("support", histories[revised]),
                ("meeting", meeting_history),
            ):
                (folder / f"{kind}--neighbourhood-fund.json").write_text(history.to_json())

    # Outcomes and the final figures.
    outcomes = {o.reference: o for o in result.support}
    assert {r: o.outcome for r, o in outcomes.items()} == {
        on_time: "completed",
        late: "completed",
        revised: "completed",
        silent: "completed",
        leaver: "withdrawn",
    }
    assert outcomes[on_time].budget_used == Decimal(15000)
    assert outcomes[late].budget_used == Decimal(10000)
    assert outcomes[silent].escalations == 2 and outcomes[silent].overdue_reminders == 4
    assert outcomes[late].overdue_reminders == 1
    assert outcomes[revised].revisions_requested == 1
    assert result.committed == Decimal(15000 + 12000 + 15000 + 10000 + 15000)
    assert result.waitlisted == [refs[5]]
    assert result.meeting.invited == 5 + 2 + 2
    assert (result.meeting.attending, result.meeting.persons) == (3, 5)
    assert described.typed_search_attributes[GRANT_PHASE] == "CLOSED"

    mails = read_mailbox(settings.mail_dir)
    by_type = mail_by_type(settings.mail_dir)
    final_mail = _only(mails, "final_report")
    body = _text(final_mail)
    for line in (
        "Participants: 5 (completed: 4, withdrawn: 1, terminated: 0)",
        "Reports accepted: 7 of 9 due",
        "Revisions requested: 1",
        "Reminders about overdue reports: 5",
        "Escalations to the programme management: 2",
        "Budget committed: £67,000.00",
        "Funds drawn down: £25,000.00",
        "Network meeting: 3 attending of 9 invited, 5 people",
    ):
        assert line in body, line

    # Every message is English: subjects, bodies and attachment names.
    for message in mails:
        kind = message["X-Grantflow-Type"]
        for text in (message["Subject"], _text(message), *_attachment_names(message)):
            assert not GERMAN.search(text), (kind, GERMAN.search(text), text[:300])
    documents = _pdf_texts(mails)
    assert {"final-report.pdf", "attendance-list.pdf", "progress-progress.pdf"} <= set(documents)
    assert f"support-plan-{on_time}.pdf" in documents
    assert f"certificate-of-participation-{silent}.pdf" in documents
    for name, text in documents.items():
        assert not GERMAN.search(text), (name, GERMAN.search(text), text[:300])
    assert "Certificate of participation" in documents[f"certificate-of-participation-{silent}.pdf"]
    assert "Progress report" in documents[f"support-plan-{on_time}.pdf"]
    english = {
        "call_announcement": "Call for applications: Northern Neighbourhood Fund (round 3)",
        "application_receipt": "has been received",
        "jury_invitation": "Jury: 6 applications to assess",
        "selection_proposal": "Selection proposal: 5 selected, 1 on the waiting list",
        "award_letter": "Award of funding for your application",
        "waitlist_notice": "position 1 on the waiting list",
        "waitlist_closed": "waiting list closed",
        "participants_final": "Participants confirmed: 5 of 5 places",
        "support_kickoff": "Funding starts on",
        "budget_warning": "80% of the funding used: Harehills Community Garden",
        "milestone_notice": "Milestone “Project launch event”",
        "report_due_reminder": "Report due in 10 days: “Progress report”",
        "report_received": "Report received: “Progress report”",
        "report_accepted": "Report accepted: “Progress report”",
        "report_revision_requested": "Revision requested: “Progress report”",
        "report_overdue_reminder": "Report overdue: “Progress report”",
        "report_escalation": "Report 20 days overdue",
        "progress_digest": "Reports “Progress report”",
        "support_ended": "Funding ended early",
        "participation_certificate": "Certificate of participation",
        "meeting_invitation": "Invitation: Neighbourhood Fund Celebration Evening",
        "meeting_reminder": "Neighbourhood Fund Celebration Evening",
        "meeting_attendance_list": "Attendance list Neighbourhood Fund Celebration Evening: "
        "3 attending, 5 people",
        "meeting_thanks": "Thank you for taking part",
        "final_report": "Final report: 5 participants, 7 reports accepted",
    }
    for kind, words in english.items():
        assert any(words in m["Subject"] for m in mails if m["X-Grantflow-Type"] == kind), kind

    # What the workflows wait for and do, as operators see it in Temporal, is English too.
    summaries = [
        text
        for history in (*histories.values(), meeting_history, programme_history)
        for text in await _summaries(history, env.client.data_converter)
    ]
    assert not [text for text in summaries if GERMAN.search(text)]
    for words in (
        "Report reminder",
        "Escalation",
        "Start of the grant",
        "Progress digest",
        "Email report_escalation, recipients: 2",
        "Document participation_certificate",
    ):
        assert any(text.startswith(words) for text in summaries), words

    # Reminders, notices and escalations follow the definition's days, at 09:00 London time.
    contact = {r: grant_application(i)["applicant"]["contact"]["email"] for i, r in enumerate(refs)}
    sent = await _sends(histories[silent], zone, env.client.data_converter)
    expected = []
    for milestone in programme.milestones:
        day = programme.milestone_due(milestone).date()
        if not milestone.report:
            expected.append((day, "milestone_notice"))
            continue
        expected += [
            (day - timedelta(days=10), "report_due_reminder"),
            (day + timedelta(days=5), "report_overdue_reminder"),
            (day + timedelta(days=12), "report_overdue_reminder"),
            (day + timedelta(days=20), "report_escalation"),
        ]
    reminders = [
        (moment.date(), kind)
        for moment, kind in sent
        if kind != "support_kickoff" and kind != "participation_certificate"
    ]
    assert reminders == sorted(expected)
    timed = {kind for _, kind in expected}
    assert {moment.time() for moment, kind in sent if kind in timed} == {time(9)}
    # The revised report's new due date (14 days later) brings its own reminder 10 days before.
    revised_due = programme.milestone_due(progress).date() + timedelta(days=4)
    assert (revised_due, "report_due_reminder") in [
        (m.date(), k) for m, k in await _sends(histories[revised], zone, env.client.data_converter)
    ]
    assert by_type["report_due_reminder"][contact[revised]] == 2 + 1
    assert by_type["report_due_reminder"][contact[on_time]] == 2
    assert by_type["report_overdue_reminder"] == Counter({contact[silent]: 4, contact[late]: 1})
    assert by_type["report_escalation"] == Counter({m: 2 for m in managers})
    assert by_type["milestone_notice"][contact[leaver]] == 1  # launch only; gone by the visit
    assert sum(by_type["milestone_notice"].values()) == 5 + 4
    assert by_type["budget_warning"] == Counter({m: 2 for m in managers})
    assert any(
        "83% of the funding used: Bramley Baths" in m["Subject"]
        and "Remaining: £2,000.00" in _text(m)
        for m in mails
    )
    assert sum(by_type["support_ended"].values()) == 1 + len(managers)
    assert "support_kickoff" in by_type and by_type["support_kickoff"].total() == 5

    # Digests after each report's due date plus its grace days; certificates; the meeting.
    assert by_type["progress_digest"] == Counter({m: 2 for m in managers})
    assert by_type["participation_certificate"] == Counter(
        {contact[r]: 1 for r in (on_time, late, revised, silent)}
    )
    assert by_type["meeting_invitation"].total() == 9
    assert by_type["meeting_reminder"].total() == 8 + 8  # everyone but the one who declined
    assert by_type["meeting_attendance_list"] == Counter({str(programme.organiser.email): 1})
    assert by_type["meeting_thanks"].total() == 3
    invitation = next(m for m in mails if m["X-Grantflow-Type"] == "meeting_invitation")
    ics = next(p for p in invitation.iter_attachments() if p.get_content_type() == "text/calendar")
    calendar = ics.get_content()
    assert "TZID=Europe/London" in calendar and "Leeds Civic Hall" in calendar
    meeting_sends = await _sends(meeting_history, zone, env.client.data_converter)
    invited_on = {m.date() for m, k in meeting_sends if k == "meeting_invitation"}
    assert invited_on == {(evening - timedelta(days=28)).date()}
    reminded = sorted({(m.date(), m.time()) for m, k in meeting_sends if k == "meeting_reminder"})
    assert [d for d, _ in reminded] == [
        (evening - timedelta(days=10)).date(),
        (evening - timedelta(days=1)).date(),
    ]
    sends = await _sends(programme_history, zone, env.client.data_converter)
    digest_days = [m.date() for m, k in sends if k == "progress_digest"]
    assert digest_days == [
        programme.milestone_due(progress).date() + timedelta(days=progress.grace_days),
        programme.milestone_due(final).date() + timedelta(days=final.grace_days),
    ]

    async with sessions() as session:
        kinds = Counter((await session.scalars(select(Document.kind))).all())
        phases = [
            e.details["to"]
            for e in await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "phase_changed")
                .order_by(AuditEntry.id)
            )
        ]
    assert kinds["participation_certificate"] == 4 and kinds["final_report"] == 1
    assert kinds["progress_digest"] == 2 and kinds["attendance_list"] == 1
    assert kinds["support_plan"] == 5
    assert phases[-3:] == ["SUPPORT", "MEETING", "CLOSED"]


# --- helpers ---------------------------------------------------------------------------------


def _only(mails: list[EmailMessage], kind: str) -> EmailMessage:
    [message] = [m for m in mails if m["X-Grantflow-Type"] == kind][:1]
    return message


def _text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def _details(handle) -> str:
    """The current details an operator sees for a workflow."""
    query = "__temporal_workflow_metadata"
    return (await handle.query(query, result_type=WorkflowMetadata)).current_details


async def _summaries(history, converter) -> list[str]:
    """The summaries of a workflow's timers (sleeps, waits with a timeout) and activities, as
    an operator reads them through the codec (they are stored encrypted)."""
    kinds = (EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    payloads = [
        event.user_metadata.summary
        for event in history.events
        if event.event_type in kinds and event.user_metadata.summary.data
    ]
    return await converter.decode(payloads, [str] * len(payloads))


def _pdf_texts(mails: list[EmailMessage]) -> dict[str, str]:
    """Attached file name → the text of the PDF, once per name."""
    texts = {}
    for message in mails:
        for part in message.iter_attachments():
            name = part.get_filename() or ""
            if name.endswith(".pdf") and name not in texts:
                pages = PdfReader(io.BytesIO(part.get_content())).pages
                texts[name] = "\n".join(page.extract_text() for page in pages)
    return texts


def _attachment_names(message: EmailMessage) -> list[str]:
    return [part.get_filename() or "" for part in message.iter_attachments()]


async def _sends(history, zone, converter) -> list[tuple[datetime, str]]:
    """(local time, message type) of every email batch a workflow scheduled, in order (the
    batches are stored encrypted: read through the codec)."""
    result = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attributes = event.activity_task_scheduled_event_attributes
        if attributes.activity_type.name != "send_emails":
            continue
        [payload] = await converter.payload_codec.decode([attributes.input.payloads[0]])
        batch = json.loads(payload.data)
        moment = event.event_time.ToDatetime(tzinfo=UTC).astimezone(zone)
        result.append((moment.replace(second=0, microsecond=0), batch["message_type"]))
    return result
