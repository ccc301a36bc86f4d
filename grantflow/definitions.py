"""Reading definition files: YAML → pydantic model, or every problem with its field path."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from grantflow.i18n import N_
from grantflow.validation_words import Problem, words
from models.application import ApplicationForm
from models.programme import Programme, cross_field_problems

__all__ = ["DefinitionError", "Problem", "load_application", "load_programme", "validate"]

M = TypeVar("M", bound=BaseModel)


class DefinitionError(Exception):
    """A definition or application that cannot be used; ``problems`` names every field."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


class _DuplicateKey(yaml.constructor.ConstructorError):
    def __init__(self, key: Any, mark: yaml.Mark) -> None:
        super().__init__(None, None, f"key {key!r} appears twice", mark)
        self.key = key


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _whole(source: str, message: str, /, **params: Any) -> DefinitionError:
    """A problem with the file as a whole (no field path)."""
    return DefinitionError(source, [Problem("", message, params)])


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping, or a DefinitionError that says what is wrong with it."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _whole(source, N_("file not found")) from None
    except IsADirectoryError:
        raise _whole(source, N_("is a folder, not a file")) from None
    except UnicodeDecodeError:
        raise _whole(source, N_("is not UTF-8 text")) from None
    except OSError as error:
        raise _whole(source, N_("cannot be read: %(reason)s"), reason=error.strerror) from None
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str = "<input>") -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = {"line": mark.line + 1, "column": mark.column + 1} if mark else None
        if isinstance(error, _DuplicateKey) and where:
            message = N_(
                "not valid YAML: line %(line)s, column %(column)s: key %(key)s appears twice"
            )
            raise _whole(source, message, key=repr(error.key), **where) from None
        # PyYAML's own description of the problem (English, from the library)
        what = error.problem or error.context or "invalid YAML"
        if where:
            message = N_("not valid YAML: line %(line)s, column %(column)s: %(what)s")
            raise _whole(source, message, what=what, **where) from None
        raise _whole(source, N_("not valid YAML: %(what)s"), what=what) from None
    except yaml.YAMLError as error:
        raise _whole(source, N_("not valid YAML: %(what)s"), what=str(error)) from None
    if data is None:
        raise _whole(source, N_("the file is empty"))
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise _whole(source, N_("must be a mapping of fields, not a %(kind)s"), kind=kind)
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
    """Every error of a pydantic validation as field path + message (see ``validation_words``);
    the place that shows them puts them into the reader's language (``Problem.words``)."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        location = tuple(
            part for part in item["loc"] if not (isinstance(part, str) and "[" in part)
        )
        if item["type"] == "cross_field":
            problems += item["ctx"]["problems"]
        else:
            problems.append(words(item, field_path(location)))
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
    return cross_field_problems(parts)


def validate(model: type[M], data: dict[str, Any], source: str = "<input>") -> M:
    """``model`` from ``data`` or a DefinitionError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = problems_of(error)
        if model is Programme and not any(e["type"] == "cross_field" for e in error.errors()):
            known = {str(p) for p in problems}
            problems += [p for p in _partial_cross_problems(data) if str(p) not in known]
        raise DefinitionError(source, problems) from None


def load_programme(path: Path) -> Programme:
    return validate(Programme, read_yaml(path), str(path))


def load_application(path: Path) -> ApplicationForm:
    return validate(ApplicationForm, read_yaml(path), str(path))
