"""``grantflow manager``: managers' portal logins (hashes for ``GRANTFLOW_PORTAL_MANAGERS``)."""

from __future__ import annotations

from typing import Annotated

import typer

from grantflow.cli.common import INVALID, fail

app = typer.Typer(help="Programme managers' portal logins.", no_args_is_help=True)


MIN_PASSWORD = 12


@app.command("hash-password")
def hash_password(
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for when not given (hidden, twice).",
        ),
    ],
) -> None:
    """Print the argon2 hash of a password, for GRANTFLOW_PORTAL_MANAGERS ({"email": "hash"})."""
    from argon2 import PasswordHasher

    if len(password) < MIN_PASSWORD:
        raise fail(f"--password: use at least {MIN_PASSWORD} characters", INVALID)
    print(PasswordHasher().hash(password))
