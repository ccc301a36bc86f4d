"""``grantflow manager``: managers' portal logins (hashes for ``GRANTFLOW_PORTAL_MANAGERS``)."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import INVALID, fail, lang
from grantflow.i18n import t

app = typer.Typer(help=t(lang(), "Programme managers' portal logins."), no_args_is_help=True)


MIN_PASSWORD = 12


@app.command(
    "hash-password",
    help=t(
        lang(),
        'Print the argon2 hash of a password, for GRANTFLOW_PORTAL_MANAGERS ({"email": "hash"}).',
    ),
)
def hash_password(
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help=t(lang(), "Asked for when not given (hidden, twice)."),
        ),
    ],
) -> None:
    from argon2 import PasswordHasher

    if len(password) < MIN_PASSWORD:
        raise fail(t(lang(), "--password: use at least %(n)s characters", n=MIN_PASSWORD), INVALID)
    print(PasswordHasher().hash(password))
