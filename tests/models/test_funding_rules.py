"""Rules that depend on the form of funding live on ``Funding``; child workflow ids in one place."""

from __future__ import annotations

from decimal import Decimal

from models.programme import Funding
from workflows.ids import meeting_workflow_id, support_workflow_id


def funding(form: str) -> Funding:
    return Funding(
        currency="EUR",
        form=form,
        max_per_participant=Decimal("20000"),
        total_budget=Decimal("100000"),
    )


def test_process_support_is_in_kind_moderated_booked_in_days_and_binds_the_cap():
    support = funding("process_support")
    assert support.in_kind and support.moderated and support.books_days
    assert support.seat_commitment(Decimal("5000")) == Decimal("20000")


def test_a_grant_is_paid_out_unmoderated_and_binds_the_request():
    grant = funding("grant")
    assert not grant.in_kind and not grant.moderated and not grant.books_days
    assert grant.seat_commitment(Decimal("5000")) == Decimal("5000")


def test_child_workflow_ids():
    assert support_workflow_id("INT2020", "INT2020-0007") == "support-INT2020-INT2020-0007"
    assert meeting_workflow_id("INT2020") == "meeting-INT2020"
