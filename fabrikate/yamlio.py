"""Reading YAML and JSON definitions with Fabrikate's typing rules and exact error locations.

Fabrikate read YAML with yaml.v2, which follows YAML 1.1 in its own way: ``yes``/``y``/``on``
are booleans, ``0777`` is octal, ``1e3`` is a float, ``1:20`` and ``2001-12-14`` stay strings.
``Loader`` reproduces those rules on top of PyYAML's C parser, so values reach helm with the
types they had under Fabrikate::

    data, duplicates = parse_yaml(text, "config/prod.yaml")
    where = locate(text, ["subcomponents", "backend", "config"], "config/prod.yaml")
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import yaml

from fabrikate.errors import Diagnostic, InputError, Location

__all__ = [
    "MAX_FILE_BYTES",
    "Loader",
    "Locator",
    "StringLoader",
    "duplicate_warnings",
    "locate",
    "parse_document",
    "parse_json",
    "parse_yaml",
    "read_text",
]

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 5_000_000

_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOOL_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_BOOL_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_INT = re.compile(r"^[-+]?(?:0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|0[0-7_]*|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class Loader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """A safe loader with yaml.v2's implicit typing that records duplicate keys."""

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping, noting keys that appear twice (the last one wins, as in yaml.v2)."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                if key in seen:
                    self.duplicates.append((key, key_node.start_mark.line + 1))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_bool(loader: Loader, node: yaml.ScalarNode) -> bool:
    return node.value in _BOOL_TRUE


def _construct_int(loader: Loader, node: yaml.ScalarNode) -> int:
    text = node.value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    prefix = digits[:2].lower()
    if prefix in ("0b", "0o", "0x"):
        return sign * int(digits[2:], {"0b": 2, "0o": 8, "0x": 16}[prefix])
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _construct_float(loader: Loader, node: yaml.ScalarNode) -> float:
    text = node.value.replace("_", "").lower()
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith("nan"):
        return float("nan")
    return float(text)


def _add_resolver(tag: str, pattern: re.Pattern[str], first: str | None) -> None:
    keys = [None] if first is None else list(first)
    for key in keys:
        Loader.yaml_implicit_resolvers.setdefault(key, []).append((tag, pattern))


_add_resolver(
    "tag:yaml.org,2002:bool",
    re.compile("^(?:" + "|".join(sorted(_BOOL_TRUE | _BOOL_FALSE)) + ")$"),
    "yYnNtTfFoO",
)
_add_resolver("tag:yaml.org,2002:int", _INT, "-+0123456789")
_add_resolver("tag:yaml.org,2002:float", _FLOAT, "-+0123456789.")
_add_resolver("tag:yaml.org,2002:float", _SPECIAL_FLOAT, "-+.")
_add_resolver("tag:yaml.org,2002:null", _NULL, "~nN")
Loader.yaml_implicit_resolvers.setdefault("", []).append(("tag:yaml.org,2002:null", _NULL))
_add_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), "<")
Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
# yaml.v2 keeps timestamps as strings when decoding into generic values.
Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_str)


class StringLoader(Loader):
    """Reads every scalar but null as a string, as yaml.v2 does for Go string fields."""

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}


for _first in ("~", "n", "N", ""):
    StringLoader.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:null", _NULL)
    )
StringLoader.yaml_implicit_resolvers.setdefault("<", []).append(
    ("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"))
)
for _tag in ("bool", "int", "float", "timestamp"):
    StringLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", StringLoader.construct_yaml_str)


def duplicate_warnings(duplicates: Sequence[tuple[str, int]], file: str) -> list[Diagnostic]:
    """A warning for each key written twice in one mapping (the last value wins, as in yaml.v2)."""
    return [
        Diagnostic("warning", f"duplicate key {key!r}; the last value wins", Location(file, line))
        for key, line in duplicates
    ]


def read_text(path: Path) -> str:
    """Read a definition file as UTF-8, refusing binary and oversized files."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"file is too large ({size} bytes, limit {MAX_FILE_BYTES})",
                location=Location(str(path)),
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", location=Location(str(path))) from exc
    if b"\0" in raw:
        raise InputError("file is binary, expected YAML or JSON text", location=Location(str(path)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"file is not UTF-8 text (byte {exc.start})", location=Location(str(path))
        ) from exc


def parse_yaml(text: str, file: str) -> tuple[Any, list[tuple[str, int]]]:
    """Parse one YAML document; return the data and the duplicated keys with their lines."""
    loader = Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = _problem(exc)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise InputError(f"invalid YAML: {problem}", location=Location(file, line, column)) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", location=Location(file)) from exc
    finally:
        loader.dispose()
    _check_size(data, file)
    return data, loader.duplicates


def _problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem, with the context it started in when that is elsewhere."""
    problem = exc.problem or exc.context or "syntax error"
    context, where = exc.context_mark, exc.problem_mark
    if exc.context and context and where and context.line != where.line:
        problem += f" ({exc.context} at line {context.line + 1})"
    return problem


def parse_json(text: str, file: str) -> Any:
    """Parse JSON, keeping integers as integers (Fabrikate turned them into floats)."""
    if not text.strip():
        raise InputError("invalid JSON: the file is empty", location=Location(file))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg}", location=Location(file, exc.lineno, exc.colno)
        ) from exc
    except RecursionError as exc:
        raise InputError("invalid JSON: nested too deeply", location=Location(file)) from exc


def parse_document(path: Path) -> tuple[Any, str, list[tuple[str, int]]]:
    """Read and parse a ``.yaml`` or ``.json`` file; return data, text and duplicate keys."""
    text = read_text(path)
    if path.suffix == ".json":
        return parse_json(text, str(path)), text, []
    data, duplicates = parse_yaml(text, str(path))
    return data, text, duplicates


def _check_size(data: Any, file: str) -> None:
    """Refuse documents whose aliases expand to more nodes than any real definition has."""
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key not in sizes:
            sizes[key] = 0  # a recursive alias counts once
            children = value.values() if isinstance(value, dict) else value
            sizes[key] = 1 + sum(size(child) for child in children)
            if sizes[key] > MAX_NODES:
                raise InputError(
                    f"document expands to more than {MAX_NODES} values (alias bomb?)",
                    location=Location(file),
                )
        return sizes[key]

    size(data)


def compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML or JSON text (C parser), or None when it does not parse."""
    try:
        return yaml.compose(text, Loader=_BASE_LOADER)
    except yaml.YAMLError:
        return None


class Locator:
    """Finds where key paths are written in one file, composing its text at most once."""

    def __init__(self, text: str, file: str, node: yaml.Node | None = None) -> None:
        self.text = text
        self.file = file
        self.duplicates: list[tuple[str, int]] = []
        self._node = node
        self._composed = node is not None

    def at(self, keypath: Sequence[str | int], value: bool = False) -> Location:
        """The line and column of ``keypath`` (its key, or with ``value`` its value)."""
        if not self._composed:
            self._node, self._composed = compose(self.text), True
        node = self._node
        if node is None:
            return Location(self.file)
        mark = node.start_mark
        for part in keypath:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(part):
                        mark = value_node.start_mark if value else key_node.start_mark
                        child = value_node
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                child = node.value[part] if 0 <= part < len(node.value) else None
                mark = child.start_mark if child is not None else mark
            if child is None:
                break
            node = child
        return Location(self.file, mark.line + 1, mark.column + 1)


def locate(text: str, keypath: Sequence[str | int], file: str, value: bool = False) -> Location:
    """Find the line and column of ``keypath`` in a YAML or JSON text, as near as it exists."""
    return Locator(text, file).at(keypath, value)
