"""`grantflow demo`: the example programme in demo time, and `make run`'s live demo."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activities.records import RecordActivities
from grantflow.client import send_update, support_workflow_id
from grantflow.definitions import load_programme
from grantflow.dev.demo import EXAMPLE
from grantflow.dev.demo_time import demo_programme, schedule, span
from grantflow.dev.mailcatcher import read_mailbox
from models.application import ApplicationForm
from models.call import Phase
from models.programme import Programme
from models.records import ParticipantsRecord, RegisterProgramme, StoreApplication
from models.support import ReviewReport, SubmitReport, SupportInput
from tests.conftest import free_port
from tests.dev.test_stack import BIN, port_open, wait_for_line
from tests.scenario import application
from worker import build_worker
from workflows.support import ProcessSupportWorkflow

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def moments(p: Programme) -> list[datetime]:
    """Every moment of the definition, in the order the definition gives them."""
    t = p.timeline
    return [
        p.local(t.publication),
        p.local(t.application_deadline),
        p.local(t.application_deadline) + p.days(t.formal_check_days),
        p.local(t.jury_deadline),
        p.support_begins(),
        *(p.milestone_due(m) for m in p.milestones),
        p.support_ends(),
        p.local(t.closing_meeting) - p.days(p.closing_meeting.invite_days_before),
        p.local(t.closing_meeting),
        span(p)[1],
    ]


@pytest.mark.parametrize("minutes", [2, 15, 60])
def test_every_moment_moves_into_the_window_in_order_and_proportion(minutes):
    original = load_programme(EXAMPLE)
    demo = demo_programme(original, NOW, minutes, "0600", lead=timedelta(seconds=30))

    assert demo.id == "integration-bw-2020-demo-0600"
    assert demo.references == original.references
    # validated again like any definition (the model validator ran on construction)
    assert Programme.model_validate(demo.model_dump()) == demo
    before, after = moments(original), moments(demo)
    start, end = NOW + timedelta(seconds=30), NOW + timedelta(minutes=minutes)
    assert after[0] == start and abs(after[-1] - end) < timedelta(milliseconds=1)
    assert all(start <= m <= end + timedelta(milliseconds=1) for m in after)
    indices = range(len(before))
    assert sorted(indices, key=before.__getitem__) == sorted(indices, key=after.__getitem__)
    # proportions: each step's share of the whole stays (months are 365.25/12 days in demo time)
    whole_before, whole_after = before[-1] - before[0], after[-1] - after[0]
    for b, a in zip(before, after, strict=True):
        assert abs((b - before[0]) / whole_before - (a - after[0]) / whole_after) < 0.005
    # durations in days follow the clock: a definition day lasts the scaled seconds
    seconds = demo.clock.seconds_per_day
    assert seconds == pytest.approx(86400 * whole_after / whole_before)
    assert demo.days(demo.timeline.acceptance_period_days) == timedelta(seconds=14 * seconds)
    deadline = demo.local(demo.timeline.application_deadline)
    assert demo.days_before(deadline, 2) == deadline - timedelta(seconds=2 * seconds)


def test_real_time_programmes_keep_their_calendar():
    p = load_programme(EXAMPLE)
    assert p.clock is None
    assert p.days(3) == timedelta(days=3)
    due = p.local(p.timeline.application_deadline)
    assert p.days_before(due, 2).isoformat() == "2020-03-04T09:00:00+01:00"
    assert p.milestone_due(p.milestones[1]).isoformat() == "2020-11-01T00:00:00+01:00"
    assert p.support_ends().isoformat() == "2022-05-01T00:00:00+02:00"


def test_schedule_lists_the_demo_in_wall_clock_order():
    demo = demo_programme(load_programme(EXAMPLE), NOW, 15, "0600")
    events = schedule(demo)
    assert [m for m, _ in events] == sorted(m for m, _ in events)
    assert events[0][1].startswith("call published")
    assert all(NOW < m <= NOW + timedelta(minutes=15) for m, _ in events)


def test_a_window_shorter_than_the_lead_is_refused_with_the_option_named():
    with pytest.raises(ValueError, match="--minutes"):
        demo_programme(load_programme(EXAMPLE), NOW, 0.25, "0600")


def phase_of(database, programme_id: str) -> str | None:
    return one(database, "SELECT phase FROM programmes WHERE id LIKE ?", f"{programme_id}%")


def one(database, query: str, *parameters: str) -> Any:
    if not database.exists():
        return None
    with sqlite3.connect(database) as connection:
        row = connection.execute(query, parameters).fetchone()
    return row[0] if row else None


def test_make_run_demo_passes_intake_jury_decision_and_acceptance(tmp_path):
    temporal, ui, smtp, portal = free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "GRANTFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
        "GRANTFLOW_TEMPORAL_UI_PORT": str(ui),
        "GRANTFLOW_SMTP_PORT": str(smtp),
        "GRANTFLOW_PORTAL_PORT": str(portal),
        "GRANTFLOW_PORTAL_BASE_URL": f"http://127.0.0.1:{portal}",
        "GRANTFLOW_TASK_QUEUE": "grantflow-demo-test",
    }
    env.pop("GRANTFLOW_PORTAL_MANAGERS", None)
    stack = subprocess.Popen(
        [str(BIN / "grantflow"), "dev", "--demo", "--minutes", "5", "--lead", "5"],
        cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    database = tmp_path / ".grantflow" / "grantflow.db"
    seen: list[str] = []
    try:
        banner = wait_for_line(stack, "Try ", seconds=90)
        assert f"http://127.0.0.1:{portal}/mailbox" in banner
        assert "programmleitung@fuehrungsakademie.example / " in banner
        demo = wait_for_line(stack, "Schedule:", seconds=60)
        assert f"http://127.0.0.1:{ui}/namespaces/default/workflows?query=" in demo
        assert "integration-bw-2020-demo-" in demo

        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            phase = phase_of(database, "integration-bw-2020-demo-")
            if phase and (not seen or seen[-1] != phase):
                seen.append(phase)
            if phase in (Phase.SUPPORT, Phase.MEETING, Phase.CLOSED):
                break
            time.sleep(0.1)
        assert Phase.SUPPORT in seen, seen
        order = list(Phase)
        assert [order.index(Phase(p)) for p in seen] == sorted(order.index(Phase(p)) for p in seen)
        types = {m["X-Grantflow-Type"] for m in read_mailbox(tmp_path / ".grantflow" / "mail")}
        # the simulated jury scored through its links, the awardees accepted through theirs
        assert one(database, "SELECT count(*) FROM scores") > 0
        accepted = "SELECT count(*) FROM applications WHERE status = 'accepted'"
        assert one(database, accepted) > 0
        for kind in (
            "call_announcement",
            "application_receipt",
            "jury_invitation",
            "selection_proposal",
            "award_letter",
            "award_confirmation",
            "participants_final",
        ):
            assert kind in types, (kind, sorted(types))
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            rest, _ = stack.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
            raise
    assert stack.returncode == 0, rest
    assert not any(port_open(p) for p in (temporal, ui, smtp, portal))


async def test_support_under_a_demo_clock_waits_for_a_late_review_and_completes(
    dev_env, settings, sessions, smtp, pdf_executor
):
    """Support on real timers in demo time: the final report, submitted before the end and
    reviewed only after it, keeps the participant's support open until the review lands."""
    example = load_programme(EXAMPLE)
    final = next(m for m in example.milestones if m.key == "final")
    short = example.model_copy(update={"milestones": [final]})
    now = datetime.now(UTC)
    programme = demo_programme(short, now, 0.5, uuid.uuid4().hex[:6], lead=timedelta(seconds=1))
    reference = f"{programme.references}-0001"
    records = RecordActivities(sessions)
    await records.register_programme(RegisterProgramme(programme=programme, at=now))
    form = ApplicationForm.model_validate(application(1))
    await records.store_application(
        StoreApplication(
            programme_id=programme.id, reference=reference, form=form, submitted_at=now
        )
    )
    await records.store_participants(
        ParticipantsRecord(programme_id=programme.id, references=[reference], at=now)
    )
    due = programme.milestone_due(programme.milestones[0])
    assert programme.support_begins() < due - programme.days(final.opens_days_before) < due
    async with build_worker(dev_env.client, settings, sessions, pdf_executor):
        handle = await dev_env.client.start_workflow(
            ProcessSupportWorkflow.run,
            SupportInput(programme=programme, reference=reference, organisation="Stadt Balingen"),
            id=support_workflow_id(programme.id, reference),
            task_queue=settings.task_queue,
        )
        opens = due - programme.days(final.opens_days_before)
        await asyncio.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()) + 0.2)
        await send_update(
            handle,
            ProcessSupportWorkflow.submit_report,
            SubmitReport(milestone="final", progress="Leitbild beschlossen, Netzwerk trägt sich."),
        )
        # past the end of support: still open, waiting for the review (not spinning)
        end = programme.support_ends()
        await asyncio.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 1)
        status = await handle.query(ProcessSupportWorkflow.status)
        assert status.outcome == "active"
        await send_update(
            handle,
            ProcessSupportWorkflow.review_report,
            ReviewReport(milestone="final", decision="accept"),
        )
        outcome = await asyncio.wait_for(handle.result(), timeout=30)
    assert outcome.outcome == "completed" and outcome.reports_accepted == 1
