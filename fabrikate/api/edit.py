"""Editing definitions in place: ``fab add``, ``fab remove`` and ``fab set`` (spec §1.5–§1.7, §3.7).

    add_subcomponent(Path("hld"), "efk", source="https://github.com/x/efk")
    remove_subcomponent(Path("hld"), "efk", prune_config=True)
    set_config(Path("hld"), ["replicas=4", 'labels."k8s.io/name"=web'], environment="prod")

Files are edited round-trip with ruamel.yaml, and only the lines that carry the change are
replaced: ruamel's re-rendering of the whole file is diffed against its rendering of the edited
data, and just those hunks are spliced into the user's text. Comments, key order, quoting,
unknown keys and indentation therefore survive byte for byte; a JSON file stays JSON. Before
anything is written, the new text is read back with fab's own loader and must give exactly the
old data plus the requested change. All files are checked before the first one is written, and
each is replaced atomically (``fsutil.write_file``: temp file in the same folder, then a rename).
"""

from __future__ import annotations

import copy
import difflib
import io
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import InputError, Location
from fabrikate.hld.config import check_environment, config_file
from fabrikate.hld.layout import check_name
from fabrikate.hld.model import COMPONENT_FILES, METHODS, TYPES, component_file
from fabrikate.sources.credentials import check_source
from fabrikate.support.fsutil import write_file
from fabrikate.support.suggest import close_matches
from fabrikate.support.yamlio import locate, parse_json, parse_yaml, read_text

if TYPE_CHECKING:
    from ruamel.yaml import YAML

__all__ = [
    "add_subcomponent",
    "helm_typed",
    "parse_key",
    "remove_subcomponent",
    "set_config",
]

_ENTRY_FIELDS = ("name", "type", "source", "method", "path", "version", "branch")


@dataclass
class _Document:
    """One YAML or JSON file being edited: the user's text, ruamel/JSON data, fab's reading."""

    path: Path
    text: str | None  # None for a file that does not exist yet
    data: Any  # ruamel CommentedMap for YAML, dict for JSON
    expected: Any  # fab's reading of the file, edited alongside ``data``

    @property
    def is_json(self) -> bool:
        return self.path.suffix == ".json"

    def render(self) -> str:
        """The new text: the user's text with only the changed hunks replaced."""
        if self.is_json:
            indent = _json_indent(self.text or "")
            edited = json.dumps(self.data, indent=indent, ensure_ascii=False)
            if self.text is None:
                return edited + "\n"
            baseline = json.dumps(json.loads(self.text), indent=indent, ensure_ascii=False)
            return _splice(self.text, baseline, edited)
        mapping, offset = _yaml_indent(self.text or "")
        edited = _dump_yaml(self.data, mapping, offset)
        if self.text is None:
            return edited
        baseline = _dump_yaml(_load_ruamel(self.text, str(self.path)), mapping, offset)
        return _splice(self.text, baseline, edited)

    def checked_text(self) -> str:
        """Render, and refuse a text that fab would read differently from what was asked."""
        text = self.render()
        try:
            got = _read_plain(text, self.path)
        except InputError as exc:
            raise InputError(
                f"editing produced unreadable text ({exc.message}); nothing was written",
                location=Location(str(self.path)),
            ) from exc
        if got != self.expected:
            raise InputError(
                "cannot edit this file without changing other values; nothing was written",
                location=Location(str(self.path)),
            )
        return text


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never re-fold long lines
    return yaml


def _load_ruamel(text: str, file: str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        return _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", location=where) from exc


def _dump_yaml(data: Any, mapping: int, offset: int) -> str:
    yaml = _yaml()
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


_KEY_LINE = re.compile(r"^(\s*)(- )?[^\s#-][^#]*:\s*(#.*)?$")


def _yaml_indent(text: str) -> tuple[int, int]:
    """Guess the mapping indent and the sequence dash offset a YAML text uses (2 and 0)."""
    mapping = offset = None
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for above, line in itertools.pairwise(lines):
        match = _KEY_LINE.match(above)
        if not match:
            continue
        base = len(match.group(1)) + (2 if match.group(2) else 0)
        indent = len(line) - len(line.lstrip(" "))
        if line.lstrip().startswith("- "):
            if offset is None and indent >= base:
                offset = indent - base
        elif mapping is None and indent > base:
            mapping = indent - base
        if mapping is not None and offset is not None:
            break
    return mapping or 2, offset or 0


def _json_indent(text: str) -> int | None:
    match = re.search(r"\n( +)\S", text)
    if match:
        return len(match.group(1))
    return None if text.strip() else 2


def _splice(original: str, baseline: str, edited: str) -> str:
    """Apply the baseline→edited line changes to ``original``; fall back to ``edited``."""
    newline = "\r\n" if "\r\n" in original else "\n"
    ours = original.splitlines()
    base = baseline.splitlines()
    new = edited.splitlines()
    where: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, base, ours, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            where[block.a + k] = block.b + k
    hunks = []
    changes = difflib.SequenceMatcher(None, base, new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in changes:
        if tag == "equal":
            continue
        span = _span(where, i1, i2)
        if span is None:
            return edited
        hunks.append((span, new[j1:j2]))
    for (start, end), lines in reversed(hunks):
        ours[start:end] = lines
    ending = newline if original.endswith(("\n", "\r")) or not original else ""
    return newline.join(ours) + ending


def _span(where: Mapping[int, int], i1: int, i2: int) -> tuple[int, int] | None:
    """The lines of the user's text that baseline lines ``i1:i2`` stand for."""
    if i1 < i2:
        if any(i not in where for i in range(i1, i2)):
            return None
        start, end = where[i1], where[i2 - 1] + 1
        return (start, end) if end - start == i2 - i1 else None
    if i1 - 1 in where:
        return where[i1 - 1] + 1, where[i1 - 1] + 1
    if i1 in where:
        return where[i1], where[i1]
    return (0, 0) if i1 == 0 else None


def _read_plain(text: str, path: Path) -> Any:
    """Fab's own reading of a text (yaml.v2 typing), an empty document as an empty map."""
    if path.suffix == ".json":
        data = parse_json(text, str(path))
    else:
        data, _ = parse_yaml(text, str(path))
    return {} if data is None else data


def _open(path: Path) -> _Document:
    """Read a file for editing; a file that cannot be read or is not a map is an error."""
    if not path.exists():
        from ruamel.yaml.comments import CommentedMap

        return _Document(path, None, {} if path.suffix == ".json" else CommentedMap(), {})
    text = read_text(path)
    expected = _read_plain(text, path)
    if not isinstance(expected, dict):
        kind = "a list" if isinstance(expected, list) else f"a {type(expected).__name__}"
        raise InputError(
            f"expected a mapping at the top level, got {kind}; nothing was written",
            location=Location(str(path), 1, 1),
        )
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        data = _load_ruamel(text, str(path))
        if data is None:
            from ruamel.yaml.comments import CommentedMap

            data = CommentedMap()
    return _Document(path, text, data, expected)


def _commit(documents: Sequence[_Document]) -> list[Path]:
    """Check every document, then write them all."""
    texts = [(doc.path, doc.checked_text()) for doc in documents]
    for path, text in texts:
        write_file(path, text)
    return [path for path, _ in texts]


def _scalar(value: Any, is_json: bool) -> Any:
    """A value to insert; strings fab would read as something else are double-quoted."""
    if is_json or not isinstance(value, str):
        return value
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    try:
        plain, _ = parse_yaml(value, "value")
    except InputError:
        plain = None
    return value if plain == value and "\n" not in value else DoubleQuotedScalarString(value)


def _find_key(mapping: Mapping[Any, Any], key: str, fold: bool = False) -> Any:
    """The key of ``mapping`` written as ``key`` (any scalar type; case-insensitive on request)."""
    for existing in mapping:
        text = str(existing)
        if text == key or (fold and text.lower() == key.lower()):
            return existing
    return None


# --- fab add / fab remove -----------------------------------------------------------------------


def _open_component(directory: Path, create: bool) -> _Document:
    path = component_file(directory)
    if path is None:
        broken = [directory / n for n in COMPONENT_FILES if (directory / n).exists()]
        if broken:
            raise InputError("not a regular file", location=Location(str(broken[0])))
        if not create:
            raise InputError(f"no component.yaml or component.json in {directory}")
        doc = _open(directory / "component.yaml")
        name = directory.resolve().name
        doc.data["name"] = _scalar(name, False)
        doc.expected["name"] = name
        return doc
    return _open(path)


def _subcomponents(doc: _Document, create: bool) -> tuple[list[Any], list[Any]] | None:
    """The ``subcomponents`` list of a component file (ruamel and plain), created on request."""
    key = _find_key(doc.data, "subcomponents", fold=doc.is_json)
    value = doc.data.get(key) if key is not None else None
    if value is None:
        if not create:
            return None
        key = key or "subcomponents"
        if doc.is_json:
            doc.data[key] = []
        else:
            from ruamel.yaml.comments import CommentedSeq

            doc.data[key] = CommentedSeq()
        doc.expected[key] = []
    elif not isinstance(value, list):
        where = locate(doc.text or "", [key], str(doc.path))
        raise InputError("subcomponents: expected a list", location=where)
    seq = doc.data[key]
    if not doc.is_json and not seq:
        seq.fa.set_block_style()
    return seq, doc.expected[key]


def _entry_name(entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return None
    key = _find_key(entry, "name", fold=True)
    return None if key is None else str(entry[key])


def add_subcomponent(
    directory: str | Path,
    name: str,
    *,
    source: str | None = None,
    type: str | None = None,
    method: str | None = None,
    path: str | None = None,
    version: str | None = None,
    branch: str | None = None,
) -> list[Path]:
    """Insert subcomponent ``name`` into the component in ``directory``, or update its fields.

    A new entry gets ``type: component`` and ``method: git`` unless told otherwise, and no
    branch (the remote's default branch). For an existing entry only the given fields change;
    an empty string removes a field. Returns the file written.
    """
    reason = check_name(name, "subcomponent name")
    if reason:
        raise InputError(reason)
    if type and type not in TYPES:
        raise InputError(f"unknown type {type!r}; expected one of {', '.join(TYPES)}")
    if method and method not in METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {', '.join(METHODS[1:])}")
    for what, value in (("source", source), ("version", version), ("branch", branch)):
        if value:
            check_source(value, what)
    doc = _open_component(Path(directory), create=True)

    found = _subcomponents(doc, create=True)
    assert found is not None
    seq, plain = found
    index = next((i for i, e in enumerate(plain) if _entry_name(e) == name), None)
    fields: dict[str, str | None] = {
        "type": type,
        "source": source,
        "method": method,
        "path": path,
        "version": version,
        "branch": branch,
    }
    if index is None:
        fields["type"] = type or "component"
        fields["method"] = method or "git"
        entry = {} if doc.is_json else _new_map()
        seq.append(entry)
        plain.append({})
        index = len(plain) - 1
        fields = {"name": name, **fields}
    elif not isinstance(seq[index], dict):
        raise InputError(
            f"subcomponent {name!r} is not a mapping", location=Location(str(doc.path))
        )
    current_method = fields["method"] if method is not None else _get(plain[index], "method")
    if branch and current_method not in ("git", None):
        raise InputError(f"--branch only applies to method git, not {current_method!r}")
    if method is not None and method != "git":
        fields["branch"] = ""  # a branch means nothing to other methods
    _update_entry(seq[index], plain[index], fields, doc.is_json)
    return _commit([doc])


def _new_map() -> Any:
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap()


def _get(entry: Mapping[str, Any], field: str) -> Any:
    key = _find_key(entry, field, fold=True)
    return None if key is None else entry[key]


def _update_entry(
    entry: Any, plain: dict[str, Any], fields: Mapping[str, str | None], is_json: bool
) -> None:
    """Set the given fields of one subcomponent entry in the file's field order."""
    for field in _ENTRY_FIELDS:
        value = fields.get(field)
        if value is None:
            continue
        key = _find_key(entry, field, fold=is_json)
        if value == "":
            if key is not None:
                del entry[key]
                plain.pop(_find_key(plain, field, fold=is_json), None)
            continue
        key = key if key is not None else field
        entry[key] = _scalar(value, is_json)
        plain[key] = value


def remove_subcomponent(
    directory: str | Path, name: str, *, prune_config: bool = False
) -> list[Path]:
    """Remove subcomponent ``name``; with ``prune_config`` also its entries in config files."""
    directory = Path(directory)
    doc = _open_component(directory, create=False)
    found = _subcomponents(doc, create=False)
    seq, plain = found if found is not None else ([], [])
    indexes = [i for i, e in enumerate(plain) if _entry_name(e) == name]
    if not indexes:
        known = ", ".join(repr(n) for e in plain if (n := _entry_name(e)) is not None)
        raise InputError(
            f"no subcomponent named {name!r}" + (f" (known: {known})" if known else ""),
            location=Location(str(doc.path)),
        )
    for i in reversed(indexes):
        del seq[i]
        del plain[i]
    documents = [doc]
    if prune_config:
        documents.extend(_pruned_configs(directory, name))
    return _commit(documents)


def _pruned_configs(directory: Path, name: str) -> Iterator[_Document]:
    folder = directory / "config"
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in files:
        doc = _open(path)
        subs = doc.data.get("subcomponents")
        key = _find_key(subs, name) if isinstance(subs, dict) else None
        if key is None:
            continue
        del subs[key]
        del doc.expected["subcomponents"][key]
        if not subs:
            del doc.data["subcomponents"]
            del doc.expected["subcomponents"]
        yield doc


# --- fab set ------------------------------------------------------------------------------------


def parse_key(text: str) -> tuple[str, ...]:
    """Split a dotted key path; double-quoted parts may contain dots: ``a."k8s.io/x"``."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    closed = False
    for char in text:
        if quoted:
            if char == '"':
                quoted, closed = False, True
            else:
                current.append(char)
        elif char == '"' and not current and not closed:
            quoted = True
        elif char == ".":
            parts.append("".join(current))
            current, closed = [], False
        elif closed:
            raise InputError(f"key {text!r}: text after a closing quote")
        else:
            current.append(char)
    if quoted:
        raise InputError(f"key {text!r}: unterminated quote")
    parts.append("".join(current))
    if not any(parts) or "" in parts:
        raise InputError(f"key {text!r}: empty key part")
    return tuple(parts)


_INTEGER = re.compile(r"[+-]?[0-9]+")


def helm_typed(text: str) -> Any:
    """A ``--set`` value typed as ``helm --set`` types it: ``true``/``false``/``null`` (any
    case) and 64-bit integers without a leading zero; everything else stays the string typed
    (``1.10``, ``0777``, ``1e3`` and ``yes`` too)."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if text == "0" or (_INTEGER.fullmatch(text) and text[0] != "0"):
        number = int(text)
        if -(2**63) <= number < 2**63:
            return number
    return text


def _parse_pair(pair: str, typing: str) -> tuple[tuple[str, ...], Any]:
    """``a.b=value`` → key parts and the value: typed as ``helm --set`` does, kept a string
    (``typing="string"``), or read as JSON (``typing="json"``)."""
    quoted = False
    for index, char in enumerate(pair):
        if char == '"':
            quoted = not quoted
        elif char == "=" and not quoted:
            key, raw = pair[:index], pair[index + 1 :]
            break
    else:
        raise InputError(f"{pair!r} is not a key=value pair")
    parts = parse_key(key)
    if typing == "string":
        return parts, raw
    if typing == "json":
        try:
            return parts, json.loads(raw)
        except ValueError as exc:
            raise InputError(f"{pair!r}: the value is not JSON ({exc})") from None
    return parts, helm_typed(raw)


Assignment = tuple[tuple[str, ...], Any]


def _flatten(
    data: Mapping[Any, Any], prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _pairs_from_file(file: Path) -> list[Assignment]:
    data, _ = parse_yaml(read_text(file), str(file))
    if data is None:
        return []
    if not isinstance(data, dict):
        raise InputError("expected a mapping of values", location=Location(str(file), 1, 1))
    return list(_flatten(data, ()))


def set_config(
    directory: str | Path,
    pairs: Sequence[str] = (),
    *,
    environment: str = "common",
    subcomponent: str = "",
    no_new_keys: bool = False,
    file: str | Path | None = None,
    string: bool = False,
    json_values: bool = False,
    namespace: str | None = None,
    inject_namespace: bool | None = None,
    disabled: bool | None = None,
) -> Path:
    """Set config values in ``config/<environment>.yaml|json`` of the component in ``directory``.

    Values are typed as ``helm --set`` types them, kept strings with ``string``, or read as
    JSON with ``json_values``; ``file`` contributes its values (YAML-typed) first, so ``pairs``
    override them. ``subcomponent`` is a dotted path (``a.b``) through ``subcomponents``; when
    the component's tree can be read it must name subcomponents of it. ``namespace``,
    ``inject_namespace`` and ``disabled`` set those keys of the layer. Returns the file written.
    """
    directory = Path(directory)
    check_environment(environment)
    flags = {"namespace": namespace, "injectNamespace": inject_namespace, "disabled": disabled}
    flags = {key: value for key, value in flags.items() if value is not None}
    if not pairs and file is None and not flags:
        raise InputError(
            "set takes one or more key=value arguments, a --file, or --namespace, "
            "--inject-namespace or --disable"
        )
    if string and json_values:
        raise InputError("--string and --json exclude each other")
    subpath = parse_key(subcomponent) if subcomponent else ()
    if "disabled" in flags and not subpath:
        raise InputError("--disable/--enable apply to a subcomponent: give -s NAME")
    _check_subcomponent_path(directory, subpath)
    typing = "string" if string else "json" if json_values else "helm"
    assignments = _pairs_from_file(Path(file)) if file is not None else []
    assignments.extend(_parse_pair(pair, typing) for pair in pairs)
    path = config_file(directory, environment) or directory / "config" / f"{environment}.yaml"
    doc = _open(path)
    layer = [step for name in subpath for step in ("subcomponents", name)]
    for key, value in flags.items():
        _assign(doc, layer, key, value, no_new_keys)
    for keys, value in assignments:
        _assign(doc, [*layer, "config", *keys[:-1]], keys[-1], value, no_new_keys)
    _commit([doc])
    return path


def _check_subcomponent_path(directory: Path, subpath: Sequence[str]) -> None:
    """Each part of ``-s a.b`` must name a subcomponent, as far as the tree can be read (a
    definition that is missing or not installed yet ends the check)."""
    from fabrikate.hld.layout import subcomponent_dir
    from fabrikate.hld.model import load_component

    folder = directory
    try:
        component, _ = load_component(folder, lenient=True)
    except InputError:
        return
    for depth, name in enumerate(subpath):
        subs = {sub.name: sub for sub in component.subcomponents}
        sub = subs.get(name)
        if sub is None:
            shown = ".".join(subpath)
            hint = close_matches(name, list(subs))
            fix = (
                f"did you mean {'.'.join((*subpath[:depth], hint[0]))!r}?"
                if hint
                else f"it has: {', '.join(subs) or 'none'}"
            )
            raise InputError(
                f"-s {shown}: component {component.name!r} has no subcomponent {name!r}; {fix}"
            )
        if sub.is_directory:
            folder = subcomponent_dir(folder, sub)
            try:
                sub, _ = load_component(folder, lenient=True)
            except InputError:
                return
        component = sub


def _assign(doc: _Document, steps: Sequence[str], last: str, value: Any, strict: bool) -> None:
    """Set ``<steps...>.<last>`` to ``value`` in data and expectation."""
    node, plain = doc.data, doc.expected
    trail: list[str] = []
    for step in steps:
        node, plain = _descend(doc, node, plain, step, trail, strict)
        trail.append(step)
    key = _find_key(node, last)
    if key is None:
        if strict:
            _no_new(doc, [*trail, last])
        key = last if doc.is_json else _scalar(last, False)
    node[key] = _insertable(value, doc.is_json)
    plain[_find_key(plain, str(key)) if _find_key(plain, str(key)) is not None else str(key)] = (
        copy.deepcopy(value)
    )


def _insertable(value: Any, is_json: bool) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _insertable(v, is_json) for k, v in value.items()}
    if isinstance(value, list):
        return [_insertable(v, is_json) for v in value]
    return _scalar(value, is_json)


def _descend(
    doc: _Document, node: Any, plain: Any, step: str, trail: list[str], strict: bool
) -> tuple[Any, Any]:
    key = _find_key(node, step)
    child = node.get(key) if key is not None else None
    if child is None:
        if strict:
            _no_new(doc, [*trail, step])
        key = key if key is not None else (step if doc.is_json else _scalar(step, False))
        node[key] = {} if doc.is_json else _new_map()
        plain[str(key)] = {}
        return node[key], plain[str(key)]
    if not isinstance(child, Mapping):
        where = locate(doc.text or "", [*trail, step], str(doc.path))
        shown = ".".join([*trail, step])
        raise InputError(
            f"cannot set a key below {shown}: it is {_kind(plain[_plain_key(plain, key)])}, "
            "not a map",
            location=where,
        )
    return child, plain[_plain_key(plain, key)]


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return f"{names.get(type(value), 'null')} ({json.dumps(value, default=str)})"


def _plain_key(plain: Mapping[Any, Any], key: Any) -> Any:
    found = _find_key(plain, str(key))
    if found is None:
        raise InputError(f"key {key!r} reads differently with fab's YAML rules; edit it by hand")
    return found


def _no_new(doc: _Document, keypath: list[str]) -> None:
    raise InputError(
        f"{'.'.join(keypath)} does not exist and --no-new-config-keys is set",
        location=Location(str(doc.path)),
    )
