"""docker-compose.yml, checked without a Docker engine.

Each ``check_*`` function takes the loaded compose file (a dict, as ``yaml.safe_load`` gives it:
anchors and ``<<`` merges resolved, ``${...}`` interpolation not) and returns a list of problems;
the last tests feed them a broken file to show they can fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from grantflow.settings import SEARCH_ATTRIBUTES, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
PREFIX = "GRANTFLOW_"
SETTING_FIELDS = frozenset(Settings.model_fields)

Compose = Mapping[str, Any]


# ── reading a compose file ──────────────────────────────────────────────────────────────


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def services(compose: Compose) -> dict[str, dict[str, Any]]:
    return {name: service or {} for name, service in (compose.get("services") or {}).items()}


def environment_of(service: Mapping[str, Any]) -> dict[str, str | None]:
    """A service's ``environment`` in either form: ``[KEY=value, KEY]`` or ``{KEY: value}``."""
    environment = service.get("environment") or {}
    if isinstance(environment, Mapping):
        return {str(k): None if v is None else str(v) for k, v in environment.items()}
    result: dict[str, str | None] = {}
    for entry in environment:
        key, sep, value = str(entry).partition("=")
        result[key] = value if sep else None
    return result


def _keys_in(node: Any) -> Iterator[str]:
    """Every mapping key anywhere below ``node`` (for ``x-`` extension blocks)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key)
            yield from _keys_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys_in(item)


def grantflow_variables(compose: Compose) -> list[tuple[str, str]]:
    """``(where, KEY)`` for every ``GRANTFLOW_*`` key: service environments and ``x-`` blocks."""
    found = [
        (f"services.{name}", key)
        for name, service in services(compose).items()
        for key in environment_of(service)
        if key.startswith(PREFIX)
    ]
    for block, value in compose.items():
        if str(block).startswith("x-"):
            found += [(str(block), key) for key in _keys_in(value) if key.startswith(PREFIX)]
    return found


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """``{dependency: condition}`` from the list form or the map form of ``depends_on``."""
    dependencies = service.get("depends_on") or {}
    if isinstance(dependencies, Mapping):
        return {
            str(name): (spec or {}).get("condition", "service_started")
            for name, spec in dependencies.items()
        }
    return {str(name): "service_started" for name in dependencies}


def host_of(address: str) -> str:
    """The host of ``host:port`` or of a URL (``postgresql+asyncpg://user:pw@host:5432/db``)."""
    if "://" in address:
        return urlsplit(address).hostname or ""
    return address.rsplit(":", 1)[0] if ":" in address else address


# ── the checks ──────────────────────────────────────────────────────────────────────────


def check_settings(compose: Compose, fields: frozenset[str] = SETTING_FIELDS) -> list[str]:
    """Every ``GRANTFLOW_*`` variable set in the file is a field of ``Settings``."""
    return [
        f"{where}: {key} is not a grantflow setting"
        for where, key in grantflow_variables(compose)
        if key.removeprefix(PREFIX).lower() not in fields
    ]


def check_interpolations(text: str, fields: frozenset[str] = SETTING_FIELDS) -> list[str]:
    """``${GRANTFLOW_*}`` taken from the host's environment are settings too."""
    names = re.findall(r"(?<!\$)\$\{(" + PREFIX + r"\w+?)(?:[:?}-])", text)
    return [
        f"${{{name}}} is not a grantflow setting"
        for name in sorted(set(names))
        if name.removeprefix(PREFIX).lower() not in fields
    ]


def check_dependencies(compose: Compose) -> list[str]:
    """Every ``depends_on`` names a service of the file."""
    known = services(compose)
    return [
        f"services.{name} depends on {dependency}, which is not a service"
        for name, service in known.items()
        for dependency in depends_on(service)
        if dependency not in known
    ]


def check_health_conditions(compose: Compose) -> list[str]:
    """``condition: service_healthy`` only on services that have a healthcheck."""
    known = services(compose)
    return [
        f"services.{name} waits for {dependency} to be healthy, but it has no healthcheck"
        for name, service in known.items()
        for dependency, condition in depends_on(service).items()
        if condition == "service_healthy"
        and dependency in known
        and not (known[dependency].get("healthcheck") or {}).get("test")
    ]


def check_images(compose: Compose) -> list[str]:
    """Every service is built here or runs an image with a pinned tag (not ``latest``)."""
    problems = []
    for name, service in services(compose).items():
        image = service.get("image")
        if image is None:
            if "build" not in service:
                problems.append(f"services.{name} has neither an image nor a build")
            continue
        if "@sha256:" in str(image):
            continue
        last = str(image).rsplit("/", 1)[-1]
        tag = last.partition(":")[2]
        if not tag:
            problems.append(f"services.{name}: image {image} has no tag")
        elif tag == "latest":
            problems.append(f"services.{name}: image {image} is not pinned (latest)")
    return problems


def check_builds(compose: Compose, base: Path = ROOT) -> list[str]:
    """Every build context exists and holds its Dockerfile."""
    problems = []
    for name, service in services(compose).items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        if "dockerfile_inline" in build:
            continue
        dockerfile = base / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
        if not dockerfile.is_file():
            problems.append(f"services.{name}: no {dockerfile.relative_to(base)}")
    return problems


def check_addresses(compose: Compose, service: str = "worker") -> list[str]:
    """The service reaches Temporal, its database and SMTP at services of the file."""
    known = services(compose)
    if service not in known:
        return [f"no service {service}"]
    environment = environment_of(known[service])
    problems = []
    for variable in ("TEMPORAL_ADDRESS", "DATABASE_URL", "SMTP_HOST"):
        value = environment.get(PREFIX + variable)
        if not value:
            problems.append(f"services.{service}: {PREFIX}{variable} is not set")
        elif (host := host_of(value)) not in known:
            problems.append(f"services.{service}: {PREFIX}{variable} points at {host!r}")
    return problems


def check_volumes(compose: Compose) -> list[str]:
    """Named volumes used by services are declared under the top-level ``volumes``."""
    declared = set(compose.get("volumes") or {})
    problems = []
    for name, service in services(compose).items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, Mapping):
                if volume.get("type", "volume") != "volume":
                    continue
                source = volume.get("source")
            else:
                source = str(volume).split(":", 1)[0] if ":" in str(volume) else None
            if not source or source.startswith((".", "/", "~", "$")):
                continue  # anonymous volume, bind mount or interpolated path
            if source not in declared:
                problems.append(f"services.{name}: volume {source} is not declared")
    return problems


def check_configs(compose: Compose) -> list[str]:
    """Configs used by services are declared; inline contents escape ``$`` as ``$$``."""
    declared = compose.get("configs") or {}
    problems = []
    for name, service in services(compose).items():
        for config in service.get("configs") or []:
            source = config.get("source") if isinstance(config, Mapping) else str(config)
            if source not in declared:
                problems.append(f"services.{name}: config {source} is not declared")
    for name, config in declared.items():
        content = (config or {}).get("content")
        if content is not None and "$" in content.replace("$$", ""):
            problems.append(f"configs.{name}: a lone $ would be interpolated by Compose")
    return problems


CHECKS = [
    check_settings,
    check_dependencies,
    check_health_conditions,
    check_images,
    check_builds,
    check_addresses,
    check_volumes,
    check_configs,
]


# ── the real file ───────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_compose_file_passes(check: Any, compose: dict[str, Any]) -> None:
    assert check(compose) == []


def test_interpolated_variables_are_settings() -> None:
    assert check_interpolations(COMPOSE_FILE.read_text(encoding="utf-8")) == []


def test_grantflow_processes_share_one_configuration(compose: dict[str, Any]) -> None:
    env = compose["x-grantflow-env"]
    assert len(grantflow_variables(compose)) > len(env)  # the check sees the services too
    for name in ("migrate", "worker"):
        assert environment_of(services(compose)[name]) == environment_of({"environment": env})


def test_worker_starts_after_migration_and_temporal_setup(compose: dict[str, Any]) -> None:
    worker = depends_on(services(compose)["worker"])
    assert worker["migrate"] == "service_completed_successfully"
    assert worker["temporal-setup"] == "service_completed_successfully"
    assert depends_on(services(compose)["migrate"])["postgres"] == "service_healthy"
    assert services(compose)["migrate"]["command"] == ["grantflow", "db", "upgrade"]
    assert services(compose)["worker"]["command"] == ["python", "worker.py"]


def test_documents_live_on_a_named_volume(compose: dict[str, Any]) -> None:
    worker = services(compose)["worker"]
    documents_dir = environment_of(worker)[PREFIX + "DOCUMENTS_DIR"]
    assert f"documents:{documents_dir}" in worker["volumes"]
    assert "documents" in compose["volumes"]


def test_database_url_matches_the_read_model_service(compose: dict[str, Any]) -> None:
    url = urlsplit(environment_of(services(compose)["worker"])[PREFIX + "DATABASE_URL"] or "")
    postgres = environment_of(services(compose)[url.hostname or ""])
    assert url.scheme == "postgresql+asyncpg"
    assert url.username == postgres["POSTGRES_USER"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]


def test_temporal_setup_registers_grantflows_search_attributes(compose: dict[str, Any]) -> None:
    setup = environment_of(services(compose)["temporal-setup"])
    pairs = dict(pair.split("=") for pair in (setup["SEARCH_ATTRIBUTES"] or "").split())
    assert pairs == SEARCH_ATTRIBUTES
    worker = environment_of(services(compose)["worker"])
    for variable in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"):
        assert setup[PREFIX + variable] == worker[PREFIX + variable]


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".venv", ".grantflow", ".git", "test-artifacts", ".env"):
        assert entry in ignored


# ── the checks can fail ─────────────────────────────────────────────────────────────────


def test_environment_of_reads_list_and_map_forms() -> None:
    listed = {"environment": ["GRANTFLOW_SMTP_HOST=mail", "GRANTFLOW_SMTP_PORT", "A=b=c"]}
    assert environment_of(listed) == {
        "GRANTFLOW_SMTP_HOST": "mail",
        "GRANTFLOW_SMTP_PORT": None,
        "A": "b=c",
    }
    assert environment_of({"environment": {"GRANTFLOW_SMTP_PORT": 1025}}) == {
        "GRANTFLOW_SMTP_PORT": "1025"
    }


BROKEN = """
x-env: &env
  GRANTFLOW_TEMPORAL_ADRESS: temporal:7233
services:
  worker:
    build: {context: nowhere}
    environment:
      - GRANTFLOW_DATABASE_URL=postgresql+asyncpg://u:p@db:5432/x
      - GRANTFLOW_SMTP_HOST=mail
      - GRANTFLOW_NO_SUCH_SETTING=1
    depends_on: [db, ui]
    volumes: [documents:/data, ./local:/local]
    configs: [script]
  ui:
    image: temporalio/ui:latest
    environment: *env
    depends_on:
      cache: {condition: service_healthy}
  cache:
    image: redis
  bare: {}
configs:
  inline:
    content: echo $HOME
"""


@pytest.fixture
def broken() -> dict[str, Any]:
    return yaml.safe_load(BROKEN)


def test_unknown_variables_are_reported(broken: dict[str, Any]) -> None:
    assert check_settings(broken) == [
        "services.worker: GRANTFLOW_NO_SUCH_SETTING is not a grantflow setting",
        "services.ui: GRANTFLOW_TEMPORAL_ADRESS is not a grantflow setting",
        "x-env: GRANTFLOW_TEMPORAL_ADRESS is not a grantflow setting",
    ]
    text = "url: ${GRANTFLOW_DATABASE_URL:-x} ${GRANTFLOW_LINK_SECRETS} $${GRANTFLOW_NOPE}"
    assert check_interpolations(text) == ["${GRANTFLOW_LINK_SECRETS} is not a grantflow setting"]


def test_missing_dependencies_are_reported(broken: dict[str, Any]) -> None:
    assert check_dependencies(broken) == ["services.worker depends on db, which is not a service"]
    assert check_health_conditions(broken) == [
        "services.ui waits for cache to be healthy, but it has no healthcheck"
    ]


def test_unpinned_images_and_missing_builds_are_reported(
    broken: dict[str, Any], tmp_path: Path
) -> None:
    assert check_images(broken) == [
        "services.ui: image temporalio/ui:latest is not pinned (latest)",
        "services.cache: image redis has no tag",
        "services.bare has neither an image nor a build",
    ]
    assert check_builds(broken, tmp_path) == ["services.worker: no nowhere/Dockerfile"]


def test_addresses_outside_the_file_are_reported(broken: dict[str, Any]) -> None:
    assert check_addresses(broken) == [
        "services.worker: GRANTFLOW_TEMPORAL_ADDRESS is not set",
        "services.worker: GRANTFLOW_DATABASE_URL points at 'db'",
        "services.worker: GRANTFLOW_SMTP_HOST points at 'mail'",
    ]


def test_undeclared_volumes_and_configs_are_reported(broken: dict[str, Any]) -> None:
    assert check_volumes(broken) == ["services.worker: volume documents is not declared"]
    assert check_configs(broken) == [
        "services.worker: config script is not declared",
        "configs.inline: a lone $ would be interpolated by Compose",
    ]
