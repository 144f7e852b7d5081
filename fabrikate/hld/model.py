"""Component definitions: ``component.yaml`` / ``component.json`` read into frozen dataclasses.

    component, diagnostics = load_component(Path("examples/trivia"))
    print(component.name, [sub.name for sub in component.subcomponents])

Loading validates against ``schemas/component.schema.json``, applies Fabrikate's defaults and
legacy migrations (``generator``, ``repositories``), and remembers the file and line of every
component so later errors can point there.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fabrikate.errors import Diagnostic, InputError, Location
from fabrikate.hld.layout import check_name
from fabrikate.support.suggest import close_matches, edits
from fabrikate.support.yamlio import Locator, duplicate_warnings, parse_json, parse_yaml, read_text

__all__ = [
    "COMPONENT_FILES",
    "METHODS",
    "TYPES",
    "Component",
    "component_file",
    "load_component",
    "parse_component",
    "schema",
    "unknown_key",
]

COMPONENT_FILES = ("component.yaml", "component.json")
TYPES = ("component", "helm", "static")
METHODS = ("", "local", "git", "helm", "http")
FIELDS = (
    "name",
    "type",
    "generator",
    "hooks",
    "source",
    "method",
    "path",
    "version",
    "branch",
    "repositories",
    "subcomponents",
)


@dataclass(frozen=True, slots=True)
class Component:
    """One component as written, after defaults and legacy migration."""

    name: str
    type: str = "component"
    method: str = ""
    source: str = ""
    path: str = ""
    version: str = ""
    branch: str = ""
    hooks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subcomponents: tuple[Component, ...] = ()
    where: Locator | None = field(default=None, compare=False, repr=False)  # its file
    keypath: tuple[str | int, ...] = field(default=(), compare=False, repr=False)  # in the file

    @property
    def location(self) -> Location | None:
        """Where the component is written; the line is looked up on first use."""
        if self.where is None:
            return None
        return (
            self.where.at(list(self.keypath)) if self.keypath else Location(self.where.file, 1, 1)
        )

    @property
    def is_directory(self) -> bool:
        """A directory subcomponent points at a folder with its own definition (spec §2.4)."""
        return self.type == "component"

    def hook(self, event: str) -> tuple[str, ...]:
        """The commands of one hook event."""
        return self.hooks.get(event, ())


SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@functools.cache
def schema_text(kind: str) -> str:
    """The JSON Schema of ``component``, ``config`` or ``record`` files, as text."""
    return (SCHEMAS / f"{kind}.schema.json").read_text()


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``component``, ``config`` or ``record`` files."""
    return json.loads(schema_text(kind))


@functools.cache
def _validator(kind: str) -> Any:
    """jsonschema's validator: slow to import, but it lists every error."""
    import jsonschema

    return jsonschema.Draft7Validator(schema(kind))


@functools.cache
def _fast_check(kind: str) -> Any:
    """The precompiled check of ``kind`` (``check_source``, shipped in ``hld/checks/``): says
    only whether data is valid, in microseconds, and imports nothing."""
    check = importlib.import_module(f"fabrikate.hld.checks.{kind}").validate

    def valid(data: Any) -> bool:
        try:
            check(data)
        except ValueError:  # the check's _Invalid
            return False
        return True

    return valid


CHECK_KINDS = ("component", "config")
_GENERATED_IMPORTS = (
    "from decimal import Decimal",
    "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException",
)
_CHECK_HEADER = """\
# Generated from fabrikate/schemas/{kind}.schema.json by fastjsonschema: do not edit.
# Regenerate with `python scripts/schema-checks`; tests/unit/hld/test_model.py checks it is current.
# fmt: off
# ruff: noqa
# mypy: ignore-errors


class _Invalid(ValueError):
    def __init__(self, message, *args, **details):
        super().__init__(message)


class Decimal:  # no parsed YAML or JSON value is one
    pass


JsonSchemaValueException = JsonSchemaValuesException = _Invalid
"""


def check_source(kind: str) -> str:
    """The source of ``hld/checks/<kind>.py``: fastjsonschema's code for the schema, with
    stand-ins for the names it imports."""
    import fastjsonschema

    source = fastjsonschema.compile_to_code(schema(kind), detailed_exceptions=False)
    lines = [line for line in source.splitlines() if line not in _GENERATED_IMPORTS]
    if any(line.startswith(("import ", "from ")) for line in lines):
        raise RuntimeError(f"fastjsonschema's code for {kind} imports more: update check_source")
    return _CHECK_HEADER.format(kind=kind) + "\n".join(lines) + "\n"


def schema_errors(kind: str, data: Any, text: str, file: str) -> list[Any]:
    """The schema's errors for ``data`` (jsonschema ``ValidationError``s), sorted by path.

    The precompiled check runs first, so only an invalid file pays for importing jsonschema.
    """
    if _fast_check(kind)(data):
        return []
    return sorted(_validator(kind).iter_errors(data), key=lambda e: list(e.absolute_path))


def component_file(directory: Path) -> Path | None:
    """The definition file of a component folder: ``component.yaml``, else ``component.json``."""
    for name in COMPONENT_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def load_component(
    directory: Path, *, lenient: bool = False, name: str | None = None
) -> tuple[Component, list[Diagnostic]]:
    """Load the component defined in ``directory``; raise ``InputError`` when it is invalid.

    ``lenient`` returns the problems of a file that parses as diagnostics instead of raising
    (``fab validate`` goes on with what could be read). An empty definition is an empty
    component named ``name`` (the parent's name for it), else after its folder.
    """
    path = component_file(directory)
    if path is None:
        raise InputError(
            f"no component.yaml or component.json in {directory}",
            location=Location(str(directory)),
        )
    diagnostics: list[Diagnostic] = []
    if path.name == "component.yaml" and (directory / "component.json").is_file():
        diagnostics.append(
            Diagnostic(
                "warning",
                "both component.yaml and component.json exist; using component.yaml",
                Location(str(path)),
            )
        )
    component, problems = parse_component(read_text(path), str(path))
    errors = [p for p in problems if p.level == "error"]
    if errors and not lenient:
        raise errors[0].as_error()
    if any(p.code == "empty-component" for p in problems):
        component = replace(component, name=name or os.path.basename(os.path.abspath(directory)))
    return component, diagnostics + problems


def parse_component(text: str, file: str) -> tuple[Component, list[Diagnostic]]:
    """Parse and check a component definition; return it with every problem found.

    An empty or comment-only file is an empty component, as in Fabrikate (spec §2.1), with a
    warning; it has no name of its own (``load_component`` gives it one).
    """
    data, where = _parse(text, file)
    if data is None and not file.endswith(".json"):
        message = "empty definition: an empty component (no subcomponents, no output)"
        empty = Diagnostic("warning", message, Location(file, 1, 1), code="empty-component")
        return Component(name="", where=where), [empty]
    problems = _check(data, where)
    # A mistyped key is an error, but what was read is still a component (validate goes on).
    if any(p.level == "error" and p.code != "unknown-key" for p in problems):
        return Component(name=""), problems
    component = _build(data or {}, where, (), problems)
    return component, problems


def _parse(text: str, file: str) -> tuple[Any, Locator]:
    if file.endswith(".json"):
        data = parse_json(text, file)
        return (_fold_json_keys(data) if isinstance(data, dict) else data), Locator(text, file)
    data, duplicates = parse_yaml(text, file, strings=True)
    where = Locator(text, file)
    where.duplicates = duplicates
    return data, where


def _fold_json_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Match known keys case-insensitively, as Go's encoding/json did for Fabrikate."""
    folded: dict[str, Any] = {}
    for key, value in data.items():
        known = next((f for f in FIELDS if f.lower() == key.lower()), key)
        if known == "subcomponents" and isinstance(value, list):
            value = [_fold_json_keys(v) if isinstance(v, dict) else v for v in value]
        folded[known] = value
    return folded


def _check(data: Any, where: Locator) -> list[Diagnostic]:
    if data is not None and not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        message = f"expected a mapping at the top level, got {kind}"
        return [Diagnostic("error", message, Location(where.file, 1, 1))]
    problems: list[Diagnostic] = []
    for error in schema_errors("component", data, where.text, where.file):
        location = where.at(list(error.absolute_path), value=True)
        problems.append(Diagnostic("error", _describe(error), location))
    problems.extend(_unknown_keys(data or {}, where, ()))
    problems.extend(duplicate_warnings(where.duplicates, where.file))

    return problems


def _describe(error: Any) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value if v)
        return f"{path}: unknown value {error.instance!r}; expected one of {allowed}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{path}: expected {expected}, got {_json_type(error.instance)}"
    return f"{path}: {error.message}"


def _json_type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, kind):
            return f"{name} {value!r}"
    return {dict: "a mapping", list: "a list", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def unknown_key(key: Any, known: Sequence[str], location: Location | None) -> Diagnostic:
    """An unknown key: an error when it is within two edits of a known key (almost surely a
    typo, and the value would be lost), else a warning."""
    text = str(key)
    near = min(known, key=lambda k: edits(text, k))
    if edits(text, near) <= 2:
        return Diagnostic(
            "error", f"unknown key {text!r}; did you mean {near!r}?", location, code="unknown-key"
        )
    hint = close_matches(text, known)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return Diagnostic("warning", f"unknown key {text!r}{suggestion}", location, code="unknown-key")


def _unknown_keys(
    data: dict[str, Any], where: Locator, path: tuple[str | int, ...]
) -> list[Diagnostic]:
    problems = []
    for key in data:
        if key not in FIELDS:
            problems.append(unknown_key(key, FIELDS, where.at([*path, key])))
    for index, sub in enumerate(data.get("subcomponents") or []):
        if isinstance(sub, dict):
            problems.extend(_unknown_keys(sub, where, (*path, "subcomponents", index)))
    return problems


def _build(
    data: dict[str, Any], where: Locator, path: tuple[str | int, ...], problems: list[Diagnostic]
) -> Component:
    """Apply defaults and migrations (spec §2.3) and build the dataclass."""
    name = data.get("name") or ""
    kind = data.get("type") or ""
    if data.get("generator"):
        problems.append(
            Diagnostic(
                "warning",
                f"'generator' is deprecated; use 'type: {data['generator']}' in component {name!r}",
                where.at([*path, "generator"]),
            )
        )
        kind = data["generator"]
    if data.get("repositories"):
        problems.append(
            Diagnostic(
                "warning",
                f"'repositories' is deprecated and ignored in component {name!r}; use "
                "'method: helm', 'source: <repository url>' and 'path: <chart>'",
                where.at([*path, "repositories"]),
            )
        )
    reason = check_name(name)
    if reason:
        problems.append(Diagnostic("error", reason, where.at([*path, "name"])))
    hooks = {
        event: tuple(command for command in commands or () if command)
        for event, commands in (data.get("hooks") or {}).items()
    }
    subs = tuple(
        _build(sub, where, (*path, "subcomponents", index), problems)
        for index, sub in enumerate(data.get("subcomponents") or [])
    )
    _check_siblings(subs, problems)
    return Component(
        name=name,
        type=kind or "component",
        method=data.get("method") or "",
        source=data.get("source") or "",
        path=data.get("path") or "",
        version=data.get("version") or "",
        branch=data.get("branch") or "",
        hooks=hooks,
        subcomponents=subs,
        where=where,
        keypath=path,
    )


def _check_siblings(subs: tuple[Component, ...], problems: list[Diagnostic]) -> None:
    seen: dict[str, Component] = {}
    for sub in subs:
        if sub.name in seen:
            first = seen[sub.name].location
            problems.append(
                Diagnostic(
                    "error",
                    f"duplicate subcomponent name {sub.name!r} (first defined at {first})",
                    sub.location,
                )
            )
        seen[sub.name] = sub
