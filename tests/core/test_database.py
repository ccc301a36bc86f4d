"""Migrations own the schema; un-migrated databases are refused; the audit log only grows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, select, update
from sqlalchemy.exc import DBAPIError

import worker
from grantflow import db
from grantflow.settings import Settings
from models.orm import AuditEntry, Base


async def _tables(url: str) -> set[str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_creates_every_table_and_downgrade_removes_them(empty_database_url):
    expected = set(Base.metadata.tables)
    assert len(expected) == 22  # 0003 manager_sessions, 0004 staged_applications, 0005 pending

    await asyncio.to_thread(db.upgrade, empty_database_url)
    assert await _tables(empty_database_url) == expected | {"alembic_version"}

    await asyncio.to_thread(db.downgrade, empty_database_url, "base")
    assert await _tables(empty_database_url) <= {"alembic_version"}

    await asyncio.to_thread(db.upgrade, empty_database_url)  # and up again
    assert await _tables(empty_database_url) == expected | {"alembic_version"}


async def test_migrated_schema_matches_the_orm(engine):
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert differences == []


async def test_unmigrated_database_is_refused_with_a_clear_message(empty_database_url):
    engine = db.create_engine(empty_database_url)
    try:
        with pytest.raises(db.DatabaseNotReady) as raised:
            await db.ensure_migrated(engine)
        assert "has no grantflow schema" in str(raised.value)
        assert "grantflow db upgrade" in str(raised.value)
        german = raised.value.words("de")  # what `grantflow db check` prints in German
        assert "hat kein grantflow-Schema" in german and "grantflow db upgrade" in german

        await asyncio.to_thread(db.upgrade, empty_database_url)
        await db.ensure_migrated(engine)  # no error once migrated
    finally:
        await engine.dispose()


async def test_worker_refuses_to_start_on_an_unmigrated_database(empty_database_url, tmp_path):
    settings = Settings(_env_file=None, database_url=empty_database_url, data_dir=tmp_path)
    with pytest.raises(db.DatabaseNotReady):
        await worker.run(settings, asyncio.Event())


async def test_audit_log_is_append_only(sessions):
    async with sessions() as session:
        session.add(
            AuditEntry(
                occurred_at=datetime.now(UTC), programme_id="p", actor="manager",
                action="eligibility_overridden", subject="INT2020-0001", details={"reason": "x"},
            )
        )  # fmt: skip
        await session.commit()
    for statement in (update(AuditEntry).values(action="changed"), delete(AuditEntry)):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
                await session.commit()
    async with sessions() as session:
        (entry,) = (await session.scalars(select(AuditEntry))).all()
    assert entry.action == "eligibility_overridden"


async def test_audit_log_may_only_be_redacted(sessions):
    """The retention purge may replace free texts and addresses of an entry, marking it
    redacted; what happened, when, in which programme and to what stays as it was."""
    async with sessions() as session:
        session.add(
            AuditEntry(
                occurred_at=datetime.now(UTC), programme_id="p", actor="jury@example.org",
                action="conflict_declared", subject="INT2020-0001",
                details={"reason": "Nachbarin von Frau X"},
            )
        )  # fmt: skip
        await session.commit()
    refused = [
        update(AuditEntry).values(details={"reason": "[…]"}),  # not marked as a redaction
        update(AuditEntry).values(action="changed", details={"redacted": True}),
        update(AuditEntry).values(subject="INT2020-0002", details={"redacted": True}),
        update(AuditEntry).values(programme_id="q", details={"redacted": True}),
    ]
    for statement in refused:
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
                await session.commit()
    async with sessions() as session:
        await session.execute(
            update(AuditEntry).values(actor="[…]", details={"reason": "[…]", "redacted": True})
        )
        await session.commit()
    async with sessions() as session:
        (entry,) = (await session.scalars(select(AuditEntry))).all()
    assert (entry.action, entry.subject, entry.actor) == (
        "conflict_declared",
        "INT2020-0001",
        "[…]",
    )
    assert entry.details == {"reason": "[…]", "redacted": True}
