"""`make run`'s stack as a person uses it: start, check mail, Ctrl-C, nothing left running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from grantflow.dev.mailcatcher import read_mailbox
from tests.conftest import free_port

BIN = Path(sys.executable).parent


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_line(process: subprocess.Popen, needle: str, seconds: float) -> str:
    seen = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not printed within {seconds}s:\n{seen}")


def test_stack_starts_delivers_mail_and_stops_everything(tmp_path):
    temporal, ui, smtp, portal = free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "GRANTFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
        "GRANTFLOW_TEMPORAL_UI_PORT": str(ui),
        "GRANTFLOW_SMTP_PORT": str(smtp),
        "GRANTFLOW_PORTAL_PORT": str(portal),
        "GRANTFLOW_PORTAL_BASE_URL": f"http://127.0.0.1:{portal}",
        "GRANTFLOW_TASK_QUEUE": "grantflow-stack-test",
        "GRANTFLOW_CODEC_PORT": str(free_port()),
    }
    stack = subprocess.Popen(
        [str(BIN / "grantflow"), "dev"],
        cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        banner = wait_for_line(stack, "Try ", seconds=90)
        assert f"http://127.0.0.1:{ui}" in banner
        assert f"127.0.0.1:{smtp}" in banner and ".grantflow/mail" in banner
        assert port_open(ui) and port_open(temporal) and port_open(portal)
        assert f"http://127.0.0.1:{portal}/mailbox" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{portal}/mailbox", timeout=10) as page:
            assert page.status == 200  # the development mailbox is on in the dev stack

        attributes = subprocess.run(
            [str(BIN / "temporal"), "operator", "search-attribute", "list",
             "--address", f"127.0.0.1:{temporal}"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        for name in ("GrantProgramme", "GrantPhase", "GrantParticipant"):
            assert name in attributes

        schedule = subprocess.run(
            [str(BIN / "temporal"), "schedule", "describe", "--schedule-id",
             "grantflow-retention-purge", "--address", f"127.0.0.1:{temporal}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert schedule.returncode == 0, schedule.stderr  # the daily retention purge
        assert "PurgeWorkflow" in schedule.stdout

        check = subprocess.run(
            [str(BIN / "grantflow"), "mail", "check", "--to", "test@gemeinde.example"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        (mail,) = read_mailbox(tmp_path / ".grantflow" / "mail")
        assert mail["To"] == "test@gemeinde.example"
        assert (tmp_path / ".grantflow" / "temporal.db").exists()
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            rest, _ = stack.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
            raise
    assert stack.returncode == 0, rest
    assert "stopped" in rest
    assert not any(port_open(port) for port in (temporal, ui, smtp, portal))


def test_the_stack_encrypts_with_its_own_key_and_the_web_ui_decodes(tmp_path, monkeypatch):
    from grantflow.dev.secrets import secrets_file, use_dev_payload_key
    from grantflow.dev.stack import codec_endpoint, dev_server_command, development
    from grantflow.settings import Settings, get_settings

    monkeypatch.delenv("GRANTFLOW_PAYLOAD_KEYS", raising=False)
    monkeypatch.delenv("GRANTFLOW_CODEC_TOKEN", raising=False)
    settings, _ = development(Settings(_env_file=None, data_dir=tmp_path / "data"))
    again, _ = development(Settings(_env_file=None, data_dir=tmp_path / "data"))
    [(key_id, key)] = settings.payload_keys.items()
    assert again.payload_keys[key_id].get_secret_value() == key.get_secret_value()
    token = settings.codec_token.get_secret_value()
    assert len(token) >= 32 and oct(secrets_file(settings).stat().st_mode)[-3:] == "600"

    command = dev_server_command(settings)
    endpoint = command[command.index("--ui-codec-endpoint") + 1]
    assert endpoint == codec_endpoint(settings) == f"http://127.0.0.1:8081/{token}"

    # A command beside the stack (same folder) encrypts with the stack's key.
    monkeypatch.setenv("GRANTFLOW_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        use_dev_payload_key()
        assert get_settings().payload_keys[key_id].get_secret_value() == key.get_secret_value()
    finally:
        monkeypatch.delenv("GRANTFLOW_PAYLOAD_KEYS", raising=False)
        get_settings.cache_clear()
