"""The rooms of DESIGN.md ("Rooms and who may enter them"), checked on every import line.

Each Python file belongs to a room; it may import only from the rooms listed for it. The CLI
is a package without an import circle: its command modules never import the module that
assembles them (``grantflow.cli.main``), and each imports on its own.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

OUTER = {"portal", "cli", "dev"}
"""Rooms nobody below imports: only the CLI, the dev tools (and tests) may enter them."""

INNER = {"core", "client", "models", "workflows", "activities"}

ALLOWED: dict[str, set[str]] = {
    "models": {"models", "core"},
    "core": {"core", "models"},
    "migrations": {"core", "models"},
    # workflows call activities by method reference (the activity classes are imported for that)
    "workflows": {"workflows", "models", "core", "activities"},
    "activities": {"activities", "models", "core"},
    "client": {"client", "core", "models", "workflows"},
    "worker": {"worker", "core", "client", "models", "workflows", "activities"},
    "portal": {"portal", "core", "client", "models", "workflows", "activities"},
    "dev": {"dev", *INNER, "worker", "portal"},
    "cli": {"cli", "dev", *INNER, "worker", "portal"},
}


def room(module: str) -> str | None:
    """The room of a dotted module name; None for the standard library and third parties."""
    parts = module.split(".")
    top = parts[0]
    if top in ("models", "workflows", "activities", "portal", "worker", "migrations"):
        return top
    if top != "grantflow":
        return None
    if len(parts) == 1:
        return "core"  # the package itself (``from grantflow import x`` is resolved below)
    return {"client": "client", "cli": "cli", "dev": "dev"}.get(parts[1], "core")


def sources() -> list[Path]:
    files = [ROOT / "worker.py"]
    for folder in ("models", "workflows", "activities", "grantflow", "portal", "migrations"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (``from a import b`` counts as ``a.b`` when b is a module),
    also inside functions and ``workflow.unsafe.imports_passed_through()`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_of(path).rpartition(".")[0] if path.name != "__init__.py" else module_of(path)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*candidate.split("."))
                ).is_dir()
                found.append((node.lineno, candidate if is_module else base))
    return found


def test_every_file_is_in_a_room():
    assert all(room(module_of(path)) for path in sources())


def test_every_import_stays_in_the_rooms_it_may_enter():
    trespasses = []
    for path in sources():
        own = room(module_of(path))
        assert own is not None
        for line, module in imports(path):
            target = room(module)
            if target is None or target in ALLOWED[own]:
                continue
            trespasses.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {module}")
    assert trespasses == []


def test_nothing_below_imports_the_outer_rooms():
    """models, workflows, activities, the core and the client never reach the CLI, the portal
    or the dev tools (the table above says so too; this says it in one line)."""
    for own, allowed in ALLOWED.items():
        if own not in OUTER | {"worker"}:
            assert not allowed & OUTER, own


def test_the_cli_has_no_import_circle():
    """Command modules import the shared helpers, never the assembling module nor a circle."""
    cli = ROOT / "grantflow" / "cli"
    graph: dict[str, set[str]] = {}
    for path in sorted(cli.glob("*.py")):
        name = module_of(path)
        graph[name] = {m for _, m in imports(path) if m.startswith("grantflow.cli")}
        if name != "grantflow.cli.main":
            assert "grantflow.cli.main" not in graph[name], f"{name} imports the assembler"
    assert graph["grantflow.cli"] <= set(), "grantflow/cli/__init__.py stays empty of imports"

    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, f"import circle: {' → '.join((*trail, name))}"
        if name in done:
            return
        for target in graph.get(name, ()):
            visit(target, (*trail, name))
        done.add(name)

    for name in graph:
        visit(name, ())


ISOLATED = """
import importlib, json, sys
OURS = {"grantflow", "models", "workflows", "activities", "portal", "worker", "templates",
        "migrations"}
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.partition(".")[0] in OURS]:
        del sys.modules[loaded]  # third-party packages stay loaded; ours start afresh
    try:
        importlib.import_module(name)
    except Exception as error:
        failures.append(f"{name}: {error!r}")
print(json.dumps(failures))
"""


@pytest.mark.slow
def test_every_cli_module_imports_on_its_own():
    """Each module first, with none of grantflow's modules loaded: none needs another one
    imported before it (what an import circle would show)."""
    modules = [module_of(p) for p in sorted((ROOT / "grantflow" / "cli").glob("*.py"))]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", ISOLATED, *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == []
