"""The ``grantflow`` command: programme managers' and operators' front door.

Each command group builds its own Typer app in its own module; this module only assembles
them (the console script is ``grantflow.cli.main:app``).
"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.markup import escape

from grantflow import validation_words
from grantflow.cli import (
    award,
    data,
    database,
    deadline,
    decision,
    dev,
    eligibility,
    intake,
    jury,
    mail,
    manager,
    meeting,
    processes,
    programme,
    purge,
    rehearsal,
    report,
    support,
)
from grantflow.cli.common import INVALID, err, lang, speak_help
from grantflow.dev.secrets import use_dev_payload_key
from grantflow.i18n import t

speak_help(lang())

app = typer.Typer(
    help=t(lang(), "grantflow: public funding programmes as durable workflows."),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.command("simulate", help=rehearsal.SIMULATE_HELP)(rehearsal.simulate)
app.command("dev", help=dev.DEV_HELP)(dev.dev)
app.command("demo", help=dev.DEMO_HELP)(dev.demo)
app.command("portal", help=processes.PORTAL_HELP)(processes.run_portal)
app.command("worker", help=processes.WORKER_HELP)(processes.run_worker)
app.command("codec-server", help=processes.CODEC_SERVER_HELP)(processes.run_codec_server)
app.command("codec-key", help=processes.CODEC_KEY_HELP)(processes.codec_key)
app.command("apply", help=intake.APPLY_HELP)(intake.apply)
app.command("withdraw", help=intake.WITHDRAW_HELP)(intake.withdraw)

app.add_typer(programme.app, name="programme")
app.add_typer(database.app, name="db")
app.add_typer(data.app, name="data")
app.add_typer(mail.app, name="mail")
app.add_typer(jury.app, name="jury")
app.add_typer(decision.app, name="decision")
app.add_typer(award.app, name="award")
app.add_typer(deadline.app, name="deadline")
app.add_typer(eligibility.app, name="eligibility")
app.add_typer(manager.app, name="manager")
app.add_typer(report.app, name="report")
app.add_typer(support.app, name="support")
app.add_typer(meeting.app, name="meeting")
app.add_typer(purge.app, name="purge")


def main() -> None:
    """The console script: the commands, with settings that cannot be read refused by name."""
    try:
        use_dev_payload_key()
        app()
    except ValidationError as error:
        for problem in error.errors():
            name = "GRANTFLOW_" + "_".join(str(part) for part in problem["loc"]).upper()
            words = validation_words.words(problem, name).words(lang())
            message = t(lang(), "Setting %(name)s: %(problem)s", name=name, problem=words)
            err.print(f"[red]✗[/red] {escape(message)}")
        raise SystemExit(INVALID) from None


if __name__ == "__main__":
    main()
