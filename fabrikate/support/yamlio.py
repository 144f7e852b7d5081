"""Reading YAML and JSON definitions with Fabrikate's typing rules and exact error locations.

YAML is read with yaml.v2's typing (``yamlv2``), so values reach helm with the types they had
under Fabrikate::

    data, duplicates = parse_yaml(text, "config/prod.yaml")
    where = locate(text, ["subcomponents", "backend", "config"], "config/prod.yaml")

A parsed YAML text is remembered in the cache by its contents, so an unchanged file costs a
read and a digest, and a run whose changed files are all JSON never imports PyYAML.
"""

from __future__ import annotations

import functools
import json
import marshal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import Diagnostic, InputError, Location
from fabrikate.support.fsutil import MAX_FILE_BYTES, read_regular

if TYPE_CHECKING:
    import yaml

__all__ = [
    "MAX_FILE_BYTES",
    "Locator",
    "duplicate_warnings",
    "locate",
    "parse_document",
    "parse_json",
    "parse_yaml",
    "read_text",
]

MAX_CACHED_BYTES = 4 * 1024 * 1024


def duplicate_warnings(duplicates: Sequence[tuple[str, int]], file: str) -> list[Diagnostic]:
    """A warning for each key written twice in one mapping (the last value wins, as in yaml.v2)."""
    return [
        Diagnostic("warning", f"duplicate key {key!r}; the last value wins", Location(file, line))
        for key, line in duplicates
    ]


def read_text(path: Path) -> str:
    """Read a definition file as UTF-8, refusing binary, oversized and non-regular files."""
    raw = read_regular(path, MAX_FILE_BYTES)
    if b"\0" in raw:
        raise InputError("file is binary, expected YAML or JSON text", location=Location(str(path)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"file is not UTF-8 text (byte {exc.start})", location=Location(str(path))
        ) from exc


def parse_yaml(text: str, file: str, *, strings: bool = False) -> tuple[Any, list[tuple[str, int]]]:
    """Parse one YAML document; return the data and the duplicated keys with their lines.

    With ``strings`` every scalar but null is read as a string (``StringLoader``).
    """
    from fabrikate.support.cache import Cache, digest

    cache = Cache.default()
    key = digest("yaml", _loader_version(), str(strings), text)
    known = _cached(cache.get("parsed", key))
    if known is not None:
        return known
    data, duplicates = _parse_yaml(text, file, strings)
    try:
        blob = marshal.dumps((data, duplicates))
    except ValueError:  # a type marshal cannot keep
        return data, duplicates
    if len(blob) <= MAX_CACHED_BYTES:
        cache.put("parsed", key, blob)
    return data, duplicates


def _cached(blob: bytes | None) -> tuple[Any, list[tuple[str, int]]] | None:
    """A parsed-YAML cache entry; None when there is none or it is not one (parsed again)."""
    try:
        data, duplicates = marshal.loads(blob) if blob is not None else (None, None)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(duplicates, list) or not _plain(data):
        return None
    if not all(
        isinstance(d, tuple | list)
        and len(d) == 2
        and isinstance(d[0], str)
        and isinstance(d[1], int)
        for d in duplicates
    ):
        return None
    return data, [(key, line) for key, line in duplicates]


_SCALARS = (str, int, float, bool, bytes, type(None))


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only what a YAML loader makes (no code, no other objects)."""
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if isinstance(item, dict | list | tuple | set | frozenset):
            if id(item) in seen:
                continue  # an alias
            seen.add(id(item))
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif not isinstance(item, _SCALARS):
            return False
    return True


@functools.cache
def _loader_version() -> str:
    """What the typing rules are: fab's version and a digest of the loaders' source (not its
    time, which a fresh install changes: a restored cache stays valid)."""
    import hashlib

    from fabrikate._version import __version__

    source = Path(__file__).with_name("yamlv2.py").read_bytes()
    return f"{__version__}:{hashlib.sha256(source).hexdigest()}"


def _parse_yaml(text: str, file: str, strings: bool) -> tuple[Any, list[tuple[str, int]]]:
    import yaml

    from fabrikate.support.yamlv2 import AliasBomb, load_untrusted, problem

    try:
        return load_untrusted(text, strings=strings)
    except AliasBomb as exc:
        raise InputError(str(exc), location=Location(file)) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        where = Location(file, line, column)
        raise InputError(f"invalid YAML: {problem(exc)[0]}", location=where) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", location=Location(file)) from exc


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


def compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML or JSON text (C parser), or None when it does not parse."""
    import yaml

    from fabrikate.support.yamlv2 import BASE_LOADER

    try:
        return yaml.compose(text, Loader=BASE_LOADER)
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
        import yaml

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
