"""What every phase of the programme workflow shares: the call's state, entering a phase,
continuing as new, letters to applicants, and the words of ``details`` and ``status``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.reads import ReadActivities
    from activities.records import RecordActivities
    from grantflow.status_words import deadline_words, facts_words, phase_words
    from models.call import (
        BUSY,
        CallState,
        DeadlineKind,
        Entry,
        Facts,
        Phase,
        ProgrammeInput,
        ProgrammeStatus,
    )
    from models.messages import DocumentKind, MessageType, Recipient
    from models.records import Brief, BriefsRequest, PhaseRecord
    from workflows.base import GRANT_PHASE, GRANT_PROGRAMME, ProgrammeSteps

UPDATES_PER_RUN = 1500
"""Continue as new before Temporal's cap of 2,000 updates per run, with room to spare."""
PHASES = list(Phase)


class ProgrammeCore(ProgrammeSteps):
    """The state and the helpers every phase of ``ProgrammeWorkflow`` uses."""

    state: CallState
    continued: bool  # this run continues an earlier one (continue as new)
    updates_this_run: int
    moving: bool  # continuing as new: new updates wait for the next run
    sending_receipts: bool

    # --- phases --------------------------------------------------------------------------

    async def enter(self, phase: Phase) -> None:
        """Enter ``phase``: search attributes, the record, the details. A run that continues
        an earlier one is already in the phase it continues."""
        if self.continued and self.state.phase == phase:
            return
        self.state.phase = phase
        workflow.upsert_search_attributes(
            [GRANT_PROGRAMME.value_set(self.programme.id), GRANT_PHASE.value_set(phase.value)]
        )
        await self.record(
            RecordActivities.record_phase,
            PhaseRecord(programme_id=self.programme.id, phase=phase.value, at=workflow.now()),
        )
        self.show_details()

    def before(self, phase: Phase) -> bool:
        return PHASES.index(self.state.phase) < PHASES.index(phase)

    # --- continue as new ------------------------------------------------------------------

    def should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self.updates_this_run >= UPDATES_PER_RUN
        )

    async def continue_as_new(self) -> None:
        """Hand compact state to a fresh run once every handler has finished."""
        self.moving = True
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self.sending_receipts
        )
        workflow.continue_as_new(ProgrammeInput(programme=self.programme, state=self.state))

    def refuse_while_moving(self) -> None:
        """While the run hands over to a new one, updates are turned away to be retried."""
        if self.moving:
            raise ApplicationError(self.say("busy"), type=BUSY)

    # --- applications ---------------------------------------------------------------------

    def application_deadline(self) -> datetime:
        return self.state.deadline

    def entry(self, reference: str) -> Entry:
        entry = self.state.entries.get(reference)
        if entry is None:
            raise ValueError(self.say("unknown_application", reference=reference))
        return entry

    def references(self, *statuses: str) -> list[str]:
        return [r for r, e in self.state.entries.items() if e.status in statuses]

    async def receipts_sent(self) -> None:
        """Until every receipt has gone out (``IntakePhase.send_receipts`` sends them)."""
        await workflow.wait_condition(
            lambda: not self.state.receipts_due and not self.sending_receipts
        )

    async def briefs(self, references: list[str]) -> list[Brief]:
        if not references:
            return []
        return await self.read(
            ReadActivities.application_briefs,
            BriefsRequest(programme_id=self.programme.id, references=references),
        )

    async def send_letters(
        self,
        kind: MessageType,
        references: list[str],
        per_recipient: Callable[[str], dict[str, Any]] | None = None,
        document: bool = True,
    ) -> None:
        """A letter (PDF, the document kind of the same name) to each applicant in
        ``references`` and an email with it."""
        if not references:
            return
        recipients = []
        for reference in references:
            extra = per_recipient(reference) if per_recipient else {}
            attachments = []
            if document:
                request = self.document(
                    DocumentKind(kind),
                    key=f"{kind}/{reference}",
                    reference=reference,
                    applications=[reference],
                    letter=self.letter_head(kind, reference),
                    **extra,
                )
                attachments.append(await self.attachment(request, f"{kind}-{reference}.pdf"))
            recipients.append(
                Recipient(application=reference, context=extra, attachments=attachments)
            )
        await self.send(kind, kind, recipients)

    # --- what an operator sees ------------------------------------------------------------

    def next_date(self, phase: Phase) -> tuple[DeadlineKind, datetime] | None:
        """The next date ``phase`` waits for: (what, when). Each phase module answers for its
        own phases and hands the others on (``super()``)."""
        return None

    def facts(self, phase: Phase, counts: dict[str, int]) -> Facts | None:
        """Where ``phase`` stands, as a key and numbers; each phase module answers for its own."""
        return None

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {"received": len(self.state.entries)}
        for entry in self.state.entries.values():
            counts[entry.status] = counts.get(entry.status, 0) + 1
        counts["scores"] = sum(len(s) for s in self.state.scores.values())
        counts["conflicts"] = sum(len(c) for c in self.state.conflicts.values())
        return counts

    def next_deadline(self) -> tuple[DeadlineKind | None, datetime | None]:
        """The next date an operator waits for: (what, when)."""
        upcoming = self.next_date(self.state.phase)
        return upcoming if upcoming is not None else (None, None)

    def details(self) -> str:
        """The status in words, in the programme's language (what operators see in Temporal)."""
        language, phase = self.programme.language, self.state.phase
        facts = facts_words(language, self.facts(phase, self.counts()))
        kind, when = self.next_deadline()
        text = f"{self.programme.id}: {phase_words(language, phase)}"
        text += f" – {facts}" if facts else ""
        if kind and when:
            text += f"; {deadline_words(language, kind)} {self.when(when)}"
        return text

    def show_details(self) -> None:
        workflow.set_current_details(self.details())

    @workflow.query
    def status(self) -> ProgrammeStatus:
        kind, when = self.next_deadline()
        counts = self.counts()
        return ProgrammeStatus(
            programme=self.programme.id,
            language=self.programme.language,
            phase=self.state.phase,
            counts=counts,
            next_deadline=when,
            next_deadline_kind=kind,
            facts=self.facts(self.state.phase, counts),
        )
