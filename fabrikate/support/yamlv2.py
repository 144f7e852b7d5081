"""PyYAML loaders with yaml.v2's typing, the way Fabrikate read YAML.

yaml.v2 follows YAML 1.1 in its own way: ``yes``/``y``/``on`` are booleans, ``0777`` is octal,
``1e3`` is a float, ``1:20`` and ``2001-12-14`` stay strings. ``Loader`` reproduces those rules
on top of PyYAML's C parser; ``StringLoader`` reads every scalar but null as a string, as
yaml.v2 did for Go string fields. ``load_untrusted`` is the one way to read YAML fab did not
write (helm's output, a fetched file): as Go reads it, and any problem is a ``yaml.YAMLError``.
Importing this module imports PyYAML; ``yamlio`` does it only when a YAML text has to be parsed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

__all__ = [
    "BASE_LOADER",
    "MAX_NODES",
    "AliasBomb",
    "Loader",
    "StringLoader",
    "expands_beyond",
    "load_untrusted",
    "problem",
]

BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NODES = 5_000_000


class AliasBomb(yaml.YAMLError):
    """A document whose aliases expand past ``MAX_NODES`` values."""

    def __init__(self) -> None:
        super().__init__(f"document expands to more than {MAX_NODES} values (alias bomb?)")


_BOOL_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_BOOL_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_INT = re.compile(r"^[-+]?(?:0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|0[0-7_]*|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class Loader(BASE_LOADER):
    """A safe loader with yaml.v2's implicit typing that records duplicate keys."""

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping, noting keys that appear twice (the last one wins, as in yaml.v2)."""
        if not isinstance(node, yaml.MappingNode):  # ``!!map scalar``: PyYAML's own error
            return super().construct_mapping(node, deep=deep)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                if key in seen:
                    self.duplicates.append((key, key_node.start_mark.line + 1))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _cannot(node: yaml.ScalarNode, tag: str) -> yaml.YAMLError:
    """yaml.v2's error for a value its tag cannot make (``!!int x``, a 5,000-digit number)."""
    return yaml.constructor.ConstructorError(
        None, None, f"cannot decode {node.value[:40]!r} as a !!{tag}", node.start_mark
    )


def _construct_bool(loader: Loader, node: yaml.ScalarNode) -> bool:
    if node.value not in _BOOL_TRUE | _BOOL_FALSE:
        raise _cannot(node, "bool")
    return node.value in _BOOL_TRUE


def _construct_int(loader: Loader, node: yaml.ScalarNode) -> int:
    try:
        return _int(node.value)
    except ValueError:
        raise _cannot(node, "int") from None


def _int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    prefix = digits[:2].lower()
    if prefix in ("0b", "0o", "0x"):
        return sign * int(digits[2:], {"0b": 2, "0o": 8, "0x": 16}[prefix])
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _construct_float(loader: Loader, node: yaml.ScalarNode) -> float:
    try:
        return _float(node.value)
    except ValueError:
        raise _cannot(node, "float") from None


def _float(value: str) -> float:
    text = value.replace("_", "").lower()
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


def load_untrusted(text: str, *, strings: bool = False) -> tuple[Any, list[tuple[str, int]]]:
    """One YAML document fab did not write, typed as Go's yaml.v2 (a date stays a string), with
    the keys written twice and their lines. ``strings``: read with ``StringLoader``.

    Anything it cannot read, aliases that expand past ``MAX_NODES`` values included, raises
    ``yaml.YAMLError``; no other exception leaves it.
    """
    loader = (StringLoader if strings else Loader)(text)
    try:
        node = loader.get_single_node()
        try:
            data = _build(node, loader, {}) if node is not None else None
        except _Unusual:
            loader.duplicates.clear()
            data = loader.construct_document(node)
    except RecursionError:
        raise yaml.YAMLError("the document is nested too deeply") from None
    finally:
        loader.dispose()
    if "*" in text and expands_beyond(data, MAX_NODES):
        raise AliasBomb
    return data, loader.duplicates


_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
_FANCY_KEYS = (_TAG + "merge", _TAG + "value")  # ``<<`` and ``=``: PyYAML's to flatten


class _Unusual(Exception):
    """A document the quick build leaves to the loader's constructor (merge keys, unhashable
    keys, cycles)."""


def _build(node: yaml.Node, loader: Loader, made: dict[int, list[Any]]) -> Any:
    """The object of ``node``, as ``loader``'s constructor makes it but faster: plain strings,
    maps and lists are built here (PyYAML's constructor costs more than libyaml's parse), every
    other tag by ``loader``. ``made`` holds the objects of nodes met before (an alias is the same
    object; an empty entry is one under construction: a cycle)."""
    known = made.get(id(node))
    if known is not None:
        if not known:
            raise _Unusual
        return known[0]
    tag = node.tag
    if tag == _STR and isinstance(node, yaml.ScalarNode):
        return node.value
    value: Any
    if tag == _MAP and isinstance(node, yaml.MappingNode):
        made[id(node)] = []
        value = {}
        seen: set[str] = set()  # as Loader.construct_mapping counts them: by the key's text
        for key_node, value_node in node.value:
            if key_node.tag in _FANCY_KEYS:
                raise _Unusual
            key = _build(key_node, loader, made)
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    loader.duplicates.append((key_node.value, key_node.start_mark.line + 1))
                seen.add(key_node.value)
            try:
                value[key] = _build(value_node, loader, made)
            except TypeError:  # an unhashable key: the constructor says so
                raise _Unusual from None
    elif tag == _SEQ and isinstance(node, yaml.SequenceNode):
        made[id(node)] = []
        value = [_build(item, loader, made) for item in node.value]
    else:
        value = loader.construct_object(node, deep=True)
    made[id(node)] = [value]
    return value


def problem(exc: yaml.YAMLError) -> tuple[str, int]:
    """PyYAML's problem on one line (with the context it started in when that is elsewhere)
    and the line it is on, counted from 0."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return " ".join(str(exc).split()), 0
    text = exc.problem or exc.context or "syntax error"
    context, where = exc.context_mark, exc.problem_mark
    if exc.context and context and where and context.line != where.line:
        text += f" ({exc.context} at line {context.line + 1})"
    mark = where or context
    return text, mark.line if mark else 0


def expands_beyond(data: Any, limit: int) -> bool:
    """Whether ``data`` counts more than ``limit`` values with every alias expanded."""
    sizes: dict[int, int] = {}  # a container being counted is 0: a recursive alias counts once
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        value, counted = stack.pop()
        if counted:
            sizes[id(value)] = 1 + sum(sizes.get(id(c), 1) for c in _children(value))
            if sizes[id(value)] > limit:
                return True
        elif isinstance(value, dict | list) and id(value) not in sizes:
            sizes[id(value)] = 0
            stack.append((value, True))
            stack.extend((child, False) for child in _children(value))
    return False


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else []
