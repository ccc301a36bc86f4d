"""Reading definition files: YAML → pydantic model, or every problem with its field path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from models.application import ApplicationForm
from models.programme import Programme, cross_field_problems

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DefinitionError(Exception):
    """A definition or application that cannot be used; ``problems`` names every field."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping, or a DefinitionError that says what is wrong with it."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(source, [Problem("", "file not found")]) from None
    except IsADirectoryError:
        raise DefinitionError(source, [Problem("", "is a folder, not a file")]) from None
    except UnicodeDecodeError:
        raise DefinitionError(source, [Problem("", "is not UTF-8 text")]) from None
    except OSError as error:
        raise DefinitionError(source, [Problem("", f"cannot be read: {error.strerror}")]) from None
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str = "<input>") -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = error.problem or error.context or "invalid YAML"
        raise DefinitionError(source, [Problem("", f"not valid YAML: {where}{what}")]) from None
    except yaml.YAMLError as error:
        raise DefinitionError(source, [Problem("", f"not valid YAML: {error}")]) from None
    if data is None:
        raise DefinitionError(source, [Problem("", "the file is empty")])
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise DefinitionError(source, [Problem("", f"must be a mapping of fields, not a {kind}")])
    return data


def field_path(location: tuple[Any, ...]) -> str:
    """``('milestones', 2, 'month')`` → ``milestones[2].month``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def problems_of(error: ValidationError) -> list[Problem]:
    """Every error of a pydantic validation as field path + message a person understands."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        location = tuple(
            part for part in item["loc"] if not (isinstance(part, str) and "[" in part)
        )
        path = field_path(location)
        if item["type"] == "cross_field":
            problems += [Problem(p, m) for p, m in item["ctx"]["problems"]]
        elif item["type"] == "extra_forbidden":
            problems.append(Problem(path, "unknown field (not part of the format; check spelling)"))
        elif item["type"] == "missing":
            problems.append(Problem(path, "required field is missing"))
        else:
            message = item["msg"].removeprefix("Value error, ")
            value = item.get("input")
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
                message = f"{message} (got {shown})"
            problems.append(Problem(path, message))
    return problems


def _partial_cross_problems(data: dict[str, Any]) -> list[Problem]:
    """Cross-field rules over the top-level fields that are valid on their own."""
    parts = SimpleNamespace()
    for name, field in Programme.model_fields.items():
        if name not in data:
            continue
        annotation = field.annotation
        if field.metadata:
            annotation = Annotated[annotation, *field.metadata]
        adapter = TypeAdapter(annotation)
        try:
            setattr(parts, name, adapter.validate_python(data[name]))
        except ValidationError:
            continue
    return [Problem(p, m) for p, m in cross_field_problems(parts)]


def validate(model: type[M], data: dict[str, Any], source: str = "<input>") -> M:
    """``model`` from ``data`` or a DefinitionError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = problems_of(error)
        if model is Programme and not any(e["type"] == "cross_field" for e in error.errors()):
            known = {(p.path, p.message) for p in problems}
            problems += [
                p for p in _partial_cross_problems(data) if (p.path, p.message) not in known
            ]
        raise DefinitionError(source, problems) from None


def load_programme(path: Path) -> Programme:
    return validate(Programme, read_yaml(path), str(path))


def load_application(path: Path) -> ApplicationForm:
    return validate(ApplicationForm, read_yaml(path), str(path))
