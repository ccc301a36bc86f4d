"""Decision and acceptance: the ranking proposed to the managers, their approval, award
letters with an acceptance period, free seats offered down the waitlist, the final list."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from grantflow.formatting import format_money
    from models.call import (
        ApproveSelection,
        AwardResponse,
        CallResult,
        DeadlineKind,
        Facts,
        FactsKind,
        Phase,
        Proposal,
        RankedApplication,
    )
    from models.messages import DocumentKind, MessageType, Recipient
    from models.records import Cause, DecisionRecord, ParticipantsRecord, StatusRecord
    from workflows.selection import award_limit, commitment, fits, propose, rank

from workflows.phases.core import ProgrammeCore  # sandboxed: workflow code

Lists = tuple[list[str], list[str], list[str]]
"""Selected, waitlist, rejected."""


class DecisionPhase(ProgrammeCore):
    """DECISION until the managers approve; ACCEPTANCE until every offer is answered."""

    proposal_lists: Lists | None
    ranking_rows: list[RankedApplication]
    approved: bool
    wake: bool  # set when an offer closes: the acceptance looks again

    async def decide(self) -> None:
        """Rank, propose to the managers and wait for their approval."""
        await self.enter(Phase.DECISION)
        self.ranking_rows = rank(
            self.programme, self.state.entries, self.references("eligible"), self.state.scores
        )
        self.state.ranking = [row.reference for row in self.ranking_rows]
        self.proposal_lists = propose(self.programme, self.state.entries, self.ranking_rows)
        await self.send_proposal()
        self.show_details()
        await workflow.wait_condition(lambda: self.approved and workflow.all_handlers_finished())

    async def offer_awards(self) -> None:
        """Award letters to the selected; rejection letters; waitlist notices."""
        await self.enter(Phase.ACCEPTANCE)
        for reference in self.state.selected:
            await self.offer(reference, moved_up=False)
        await self.send_letters(MessageType.REJECTION_LETTER, self.references("rejected"))
        await self.send_letters(
            MessageType.WAITLIST_NOTICE,
            self.state.waitlist,
            per_recipient=lambda r: {"position": self.state.waitlist.index(r) + 1},
        )

    async def await_acceptance(self) -> None:
        """Offers lapse after their period; a free seat goes to the next on the waitlist."""
        while True:
            await self.fill_free_seats()
            offered = self.references("offered")
            if not offered:
                break
            now = workflow.now()
            next_expiry = min(self.state.entries[r].offer_deadline for r in offered)
            self.wake = False
            await self.wait_until(
                lambda: self.wake,
                within=next_expiry - now,
                summary=self.waiting_for("offer"),
            )
            for reference in offered:
                entry = self.state.entries[reference]
                if entry.status == "offered" and workflow.now() > entry.offer_deadline:
                    await self.close_offer(reference, "lapsed")
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def conclude(self) -> CallResult:
        """The final list of participants, recorded and sent to the managers."""
        participants = self.references("accepted")
        self.state.participants = participants
        await self.record(
            RecordActivities.store_participants,
            ParticipantsRecord(
                programme_id=self.programme.id, references=participants, at=workflow.now()
            ),
        )
        await self.send_letters(MessageType.WAITLIST_CLOSED, self.state.waitlist, document=False)
        await self.send(
            MessageType.PARTICIPANTS_FINAL,
            "participants_final",
            self.managers(),
            participants=await self.ranking_table(participants),
            declined=len(self.references("declined", "lapsed")),
            moved_up=sum(1 for r in participants if self.state.entries[r].moved_up),
        )
        self.show_details()
        return CallResult(
            programme=self.programme.id,
            participants=participants,
            awarded=self.state.selected,
            waitlisted=self.state.waitlisted,
            rejected=self.references("rejected"),
            declined=self.references("declined", "lapsed"),
            moved_up=[r for r, e in self.state.entries.items() if e.moved_up],
            committed=self.committed(participants),
            counts=self.counts(),
        )

    def committed(self, references: list[str]) -> Decimal:
        """What ``references`` bind of the budget."""
        return sum(
            (commitment(self.programme, self.state.entries[r]) for r in references), Decimal(0)
        )

    async def send_proposal(self) -> None:
        selected, waitlist, _ = self.proposal_lists
        rows = await self.ranking_table(selected + waitlist)
        context = {
            "selected": rows[: len(selected)],
            "waitlist": rows[len(selected) :],
            "ineligible_count": len(self.references("ineligible")),
            "budget_committed": str(self.committed(selected)),
        }
        await self.send_document(
            MessageType.SELECTION_PROPOSAL,
            "selection_proposal",
            self.managers(),
            self.document(DocumentKind.RANKING, key="ranking", **context),
            self.file_name("ranking"),
            **context,
        )

    async def ranking_table(self, references: list[str]) -> list[dict[str, Any]]:
        """Rows for rankings and lists: rank, reference, title, organisation, score, amount."""
        rows = {row.reference: row for row in self.ranking_rows}
        briefs = {b.reference: b for b in await self.briefs(references)}
        return [
            {
                **briefs[r].model_dump(),
                "rank": rows[r].rank,
                "score": str(rows[r].score),
                "reviews": rows[r].reviews,
                "amount": str(rows[r].amount),
            }
            for r in references
        ]

    async def offer(self, reference: str, moved_up: bool) -> None:
        """An award letter with its own acceptance period."""
        entry = self.state.entries[reference]
        period = self.programme.timeline.acceptance_period_days
        if self.programme.clock is not None:
            entry.offer_deadline = workflow.now() + self.programme.days(period)
        else:
            local_today = workflow.now().astimezone(self.programme.zone).date()
            last_day = local_today + timedelta(days=period)
            entry.offer_deadline = datetime.combine(last_day, time(23, 59, 59), self.programme.zone)
        entry.status, entry.moved_up = "offered", moved_up
        await self.record(
            RecordActivities.record_status,
            StatusRecord(
                programme_id=self.programme.id,
                reference=reference,
                status="offered",
                at=workflow.now(),
                cause=Cause.moved_up if moved_up else None,
            ),
        )
        await self.send_letters(
            MessageType.AWARD_LETTER,
            [reference],
            per_recipient=lambda _r: {
                "acceptance_deadline": entry.offer_deadline.isoformat(),
                "moved_up": moved_up,
                "amount": str(commitment(self.programme, entry)),
            },
        )

    async def close_offer(self, reference: str, outcome: str, reason: str | None = None) -> None:
        self.state.entries[reference].status = outcome
        self.updates_this_run += outcome != "lapsed"
        self.wake = True
        await self.record(
            RecordActivities.record_status,
            StatusRecord(
                programme_id=self.programme.id,
                reference=reference,
                status=outcome,
                at=workflow.now(),
                actor="system" if outcome == "lapsed" else "applicant",
                note=reason,
            ),
        )
        await self.send(
            MessageType.AWARD_CONFIRMATION,
            f"award_{outcome}/{reference}",
            [Recipient(application=reference)],
            accepted=outcome == "accepted",
            lapsed=outcome == "lapsed",
        )
        self.show_details()

    async def fill_free_seats(self) -> None:
        """Offer free seats to the waitlist in rank order, within seats and budget."""
        for reference in list(self.state.waitlist):
            holding = self.references("offered", "accepted")
            if not fits(self.programme, self.state.entries, holding, reference):
                continue
            self.state.waitlist.remove(reference)
            await self.offer(reference, moved_up=True)

    # --- updates --------------------------------------------------------------------------

    @workflow.update
    async def approve_selection(self, request: ApproveSelection) -> list[str]:
        """Apply the managers' moves (each with a reason) and record the decision."""
        selected, waitlist, rejected = self.moved(request)
        self.state.selected, self.state.waitlist = selected, waitlist
        self.state.waitlisted = list(waitlist)
        for reference in selected:
            self.state.entries[reference].status = "selected"
        for reference in waitlist:
            self.state.entries[reference].status = "waitlist"
        for reference in rejected:
            self.state.entries[reference].status = "rejected"
        self.updates_this_run += 1
        await self.record(
            RecordActivities.store_decisions,
            DecisionRecord(
                programme_id=self.programme.id,
                ranking=self.ranking_rows,
                selected=selected,
                waitlist=waitlist,
                rejected=rejected,
                moves=request.moves,
                actor=request.actor,
                at=workflow.now(),
            ),
        )
        self.approved = True
        return selected

    @approve_selection.validator
    def validate_approval(self, request: ApproveSelection) -> None:
        self.refuse_while_moving()
        if self.state.phase != Phase.DECISION or self.proposal_lists is None or self.approved:
            raise ValueError(self.say("no_proposal"))
        self.moved(request)  # raises ValueError when the result breaks seats or budget

    @workflow.update
    async def accept_award(self, response: AwardResponse) -> None:
        await self.close_offer(response.reference, "accepted", response.reason)

    @accept_award.validator
    def validate_acceptance(self, response: AwardResponse) -> None:
        self.refuse_while_moving()
        self.require_open_offer(response.reference)

    @workflow.update
    async def decline_award(self, response: AwardResponse) -> None:
        await self.close_offer(response.reference, "declined", response.reason)

    @decline_award.validator
    def validate_decline(self, response: AwardResponse) -> None:
        self.refuse_while_moving()
        self.require_open_offer(response.reference)

    @workflow.query
    def proposal(self) -> Proposal | None:
        """The selection proposal, or the approved selection; None before the jury has ended."""
        if self.proposal_lists is None:
            return None
        if self.approved:
            lists = self.state.selected, self.state.waitlist, self.references("rejected")
        else:
            lists = self.proposal_lists
        selected, waitlist, rejected = lists
        return Proposal(
            approved=self.approved,
            selected=list(selected),
            waitlist=list(waitlist),
            rejected=list(rejected),
            ranking=self.ranking_rows,
        )

    def moved(self, request: ApproveSelection) -> Lists:
        """The proposal with the managers' moves applied, checked against seats and budget."""
        selected, waitlist, rejected = (list(part) for part in self.proposal_lists)
        for move in request.moves:
            reference = move.reference
            for part in (selected, waitlist, rejected):
                if reference in part:
                    part.remove(reference)
                    break
            else:
                raise ValueError(self.say("move_unknown", reference=reference))
            (selected if move.to == "selected" else waitlist).append(reference)
        order = {r: i for i, r in enumerate(self.state.ranking)}
        selected.sort(key=order.__getitem__)
        waitlist.sort(key=order.__getitem__)
        limit = award_limit(self.programme)
        if len(selected) > limit:
            raise ValueError(self.say("over_seats", count=len(selected), limit=limit))
        committed = self.committed(selected)
        funding = self.programme.funding
        if committed > funding.total_budget:
            money = self.programme.language, funding.currency
            raise ValueError(
                self.say(
                    "over_budget",
                    committed=format_money(committed, *money),
                    budget=format_money(funding.total_budget, *money),
                )
            )
        return selected, waitlist, rejected

    def require_open_offer(self, reference: str) -> None:
        entry = self.entry(reference)
        if entry.status != "offered":
            raise ValueError(self.say("not_offered", reference=reference))
        if workflow.now() > entry.offer_deadline:
            raise ValueError(
                self.say("offer_expired", reference=reference, when=self.when(entry.offer_deadline))
            )

    # --- what an operator sees ------------------------------------------------------------

    def next_date(self, phase: Phase) -> tuple[DeadlineKind, datetime] | None:
        if phase == Phase.ACCEPTANCE:
            offers = [
                e.offer_deadline
                for e in self.state.entries.values()
                if e.status == "offered" and e.offer_deadline
            ]
            return (DeadlineKind.ACCEPTANCE, min(offers)) if offers else None
        return super().next_date(phase)

    def facts(self, phase: Phase, counts: dict[str, int]) -> Facts | None:
        if phase == Phase.DECISION:
            kind = FactsKind.PROPOSAL_APPROVED if self.approved else FactsKind.PROPOSAL_PENDING
            return Facts(kind=kind)
        if phase == Phase.ACCEPTANCE:
            accepted, offered = counts.get("accepted", 0), counts.get("offered", 0)
            waitlist = len(self.state.waitlist)
            values = {"accepted": accepted, "offered": offered, "waitlist": waitlist}
            return Facts(kind=FactsKind.ACCEPTANCE, values=values)
        return super().facts(phase, counts)
