"""Database access: async engine, sessions, and the Alembic migrations that own the schema."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from grantflow.i18n import N_, Words

MIGRATIONS = Path(str(files("migrations")))
"""The Alembic migrations that own the schema: package data, found wherever installed."""


class DatabaseNotReady(Words, RuntimeError):
    """The database is unreachable or its schema is not at the code's migration head."""


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite files get their folder created and foreign keys switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """The migrations' configuration (``alembic.ini`` is for the ``alembic`` command only)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (blocking; call from a thread inside a loop)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return heads[0]


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        has_table = await connection.run_sync(
            lambda sync: sync.dialect.has_table(sync, "alembic_version")
        )
        if not has_table:
            return None
        return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Refuse to run against a database whose schema is not the one this code expects."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        current = await current_revision(engine)
    except (DBAPIError, OSError) as error:
        message = N_("Cannot reach the database at %(where)s: %(error)s")
        raise DatabaseNotReady(message, where=where, error=str(error)) from error
    head = head_revision()
    if current is None:
        message = N_(
            "The database at %(where)s has no grantflow schema; this version of grantflow needs "
            "revision %(head)s. Run `grantflow db upgrade` first."
        )
        raise DatabaseNotReady(message, where=where, head=head)
    if current != head:
        message = N_(
            "The database at %(where)s is at revision %(current)s; this version of grantflow "
            "needs revision %(head)s. Run `grantflow db upgrade` first."
        )
        raise DatabaseNotReady(message, where=where, current=current, head=head)
