"""``grantflow data export|erase``: a person's data from the command line (GDPR Art. 15, 17)."""

from __future__ import annotations

import asyncio
import zipfile

from sqlalchemy import select
from typer.testing import CliRunner

from grantflow.cli.main import app as cli
from grantflow.settings import get_settings
from models.orm import Contact
from tests.activities.test_data_rights import granted


async def test_cli_exports_to_a_file_and_refuses_to_erase_a_grant(
    settings, sessions, tmp_path, monkeypatch
):
    programme_id, grant = await granted(sessions, settings)
    monkeypatch.setenv("GRANTFLOW_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GRANTFLOW_DOCUMENTS_DIR", str(settings.documents_dir))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        out = tmp_path / "export" / f"{grant}.zip"
        result = await asyncio.to_thread(
            runner.invoke, cli, ["data", "export", programme_id, grant, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        with zipfile.ZipFile(out) as archive:
            assert "index.json" in archive.namelist()
            assert any(n.startswith(f"rows/applications/{grant}") for n in archive.namelist())

        refused = await asyncio.to_thread(
            runner.invoke, cli, ["data", "erase", programme_id, grant, "--yes"]
        )
        assert refused.exit_code == 1
        assert "retention duty" in refused.output and "10 years" in refused.output

        unknown = await asyncio.to_thread(
            runner.invoke, cli, ["data", "erase", programme_id, "nobody@x.example", "--yes"]
        )
        assert unknown.exit_code == 2 and "Nothing is stored" in unknown.output
    finally:
        get_settings.cache_clear()
    async with sessions() as session:
        names = list(await session.scalars(select(Contact.name)))
    assert "Engagementbeauftragte 3" in names
