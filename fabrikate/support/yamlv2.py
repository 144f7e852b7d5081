"""PyYAML loaders with yaml.v2's typing, the way Fabrikate read YAML.

yaml.v2 follows YAML 1.1 in its own way: ``yes``/``y``/``on`` are booleans, ``0777`` is octal,
``1e3`` is a float, ``1:20`` and ``2001-12-14`` stay strings. ``Loader`` reproduces those rules
on top of PyYAML's C parser; ``StringLoader`` reads every scalar but null as a string, as
yaml.v2 did for Go string fields. Importing this module imports PyYAML; ``yamlio`` does it only
when a YAML text has to be parsed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

__all__ = ["BASE_LOADER", "Loader", "StringLoader"]

BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
