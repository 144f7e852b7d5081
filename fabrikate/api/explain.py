"""``fab explain``: which config layers set a value of a component, and which one won.

    found = explain("hld", ["prod"], "hello-world-full-stack/backend", "image.tag")
    print(found.value)
    for layer in found.layers:            # highest first
        print(layer.location, layer.value, layer.effect, layer.why)

The walk already knows every layer merged into a component's config, highest first (its
``ConfigLayer.origins``: the files and the key prefixes inside them); this module reads the
key from each, then replays Fabrikate's merge rules (spec §3) to say what each layer did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fabrikate.errors import InputError, Location
from fabrikate.hld.resolve import ResolvedComponent, Tree
from fabrikate.settings import Settings
from fabrikate.support.suggest import close_matches

__all__ = ["Explanation", "Layer", "explain"]

_MISSING = object()


@dataclass(frozen=True)
class Layer:
    """One config file (at one key prefix) that sets the key."""

    location: Location
    environment: str  # the file's environment: "prod", "common"
    level: str  # the component whose folder holds the file
    prefix: tuple[str, ...]  # where in the file: ("subcomponents", "backend") or ()
    value: Any
    effect: str  # "wins", "overridden", "appended", "merged" or "ignored"
    why: str

    def as_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "environment": self.environment,
            "level": self.level,
            "prefix": ".".join(self.prefix),
            "value": self.value,
            "effect": self.effect,
            "why": self.why,
        }


@dataclass
class Explanation:
    """The final value of ``key`` for ``component``, and every layer that set it."""

    component: str
    environments: tuple[str, ...]
    key: tuple[str, ...]
    value: Any = None
    found: bool = False
    rule: str = ""  # how the layers combine: "highest wins", "lists concatenate", "maps merge"
    layers: list[Layer] = field(default_factory=list)
    suggestion: str | None = None  # a key that is set, close to a mistyped one

    @property
    def key_text(self) -> str:
        """The key as given, dotted."""
        return ".".join(self.key)

    def as_json(self) -> dict[str, Any]:
        """Plain data: what ``fab explain -o json`` prints."""
        return {
            "component": self.component,
            "environments": list(self.environments),
            "key": self.key_text,
            "found": self.found,
            "value": self.value,
            "rule": self.rule,
            "layers": [layer.as_json() for layer in self.layers],
            "suggestion": self.suggestion,
        }


def explain(
    path: str | Path,
    environments: Sequence[str],
    component: str,
    key: str | Sequence[str],
    *,
    settings: Settings | None = None,
) -> Explanation:
    """Explain the config value ``key`` (dotted, or its parts) of ``component`` (its id, as in
    the output path, or a name that is unique in the tree) for ``environments``."""
    from fabrikate.api.edit import parse_key
    from fabrikate.api.load import load

    parts = parse_key(key) if isinstance(key, str) else tuple(key)
    tree = load(path, environments, settings=settings)
    node = _find(tree, component)
    result = Explanation(node.id, tuple(environments), parts)
    final = _get(node.config.config, parts)
    levels = {str(n.physical_path): n.id for n in tree.components if not n.inline}
    layers = [
        found
        for file, prefix in node.config.origins
        if (found := _read(file, prefix, parts, levels)) is not None
    ]
    if final is _MISSING:
        result.suggestion = _suggest(node.config.config, parts)
        return result
    result.found, result.value = True, final
    result.rule, result.layers = _replay(layers)
    return result


def _find(tree: Tree, wanted: str) -> ResolvedComponent:
    """The component with id ``wanted``, or the only one named so."""
    by_id = {n.id: n for n in tree.components}
    if wanted in by_id:
        return by_id[wanted]
    named = [n for n in tree.components if n.name == wanted]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(n.id for n in named)
        raise InputError(f"component name {wanted!r} is not unique; give one of: {ids}")
    names = {n.name: n.id for n in tree.components}
    close = close_matches(wanted, [*by_id, *names], n=3)
    close = list(dict.fromkeys(names.get(c, c) for c in close))
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(by_id)}"
    raise InputError(f"no component {wanted!r} in {tree.root}{hint}")


def _get(data: Any, parts: Sequence[str]) -> Any:
    """The value at ``parts`` (keys compared as text), or ``_MISSING``."""
    for part in parts:
        if not isinstance(data, Mapping):
            return _MISSING
        matches = [v for k, v in data.items() if str(k) == part]
        if not matches:
            return _MISSING
        data = matches[0]
    return data


def _read(
    file: str, prefix: tuple[str, ...], parts: tuple[str, ...], levels: Mapping[str, str]
) -> Layer | None:
    """The layer of ``file`` at ``prefix`` if it sets the key (null included)."""
    from fabrikate.support.yamlio import locate, parse_document

    data, text, _ = parse_document(Path(file))
    value = _get(data, (*prefix, "config", *parts))
    if value is _MISSING:
        return None
    path = Path(file)
    folder = str(path.parent.parent)
    return Layer(
        locate(text, [*prefix, "config", *parts], file, value=True),
        path.stem,
        levels.get(folder, folder),
        prefix,
        value,
        "",
        "",
    )


def _replay(layers: list[Layer]) -> tuple[str, list[Layer]]:
    """What each layer did, replaying the merge top-down (``config.merge_values``)."""
    if not layers:  # set only by nothing we can read (cannot happen with a value)
        return "", []
    explained: list[Layer] = []
    winner: Layer | None = None
    rule = ""
    for layer in layers:
        if layer.value is None:
            explained.append(_with(layer, "ignored", "null: a lower layer's value is kept"))
            continue
        if winner is None:
            winner = layer
            rule = _rule(layer.value)
            explained.append(_with(layer, "wins", _first_why(layer, rule)))
        elif rule == "highest wins" or not _same_kind(winner.value, layer.value):
            explained.append(_with(layer, "overridden", _beaten_by(winner, layer)))
        elif rule == "lists concatenate":
            explained.append(_with(layer, "appended", "its items come after the higher layers'"))
        else:
            explained.append(_with(layer, "merged", "keys it sets that no higher layer sets"))
    return rule, explained


def _rule(value: Any) -> str:
    if isinstance(value, list):
        return "lists concatenate"
    if isinstance(value, Mapping):
        return "maps merge"
    return "highest wins"


def _same_kind(a: Any, b: Any) -> bool:
    return (isinstance(a, list) and isinstance(b, list)) or (
        isinstance(a, Mapping) and isinstance(b, Mapping)
    )


def _first_why(layer: Layer, rule: str) -> str:
    if rule == "lists concatenate":
        return "the highest layer: its items come first (lists concatenate)"
    if rule == "maps merge":
        return "the highest layer: maps merge key by key (ask for one key to see who set it)"
    return "the highest layer that sets it"


def _beaten_by(winner: Layer, layer: Layer) -> str:
    """Why ``winner`` (higher) beats ``layer``: environment order or tree level."""
    where = _name(winner)
    if winner.level == layer.level:
        return (
            f"environment order: {winner.environment} comes before {layer.environment} "
            f"({where} wins)"
        )
    return (
        f"tree level: config in {winner.level} beats config in {layer.level} below it "
        f"({where} wins)"
    )


def _name(layer: Layer) -> str:
    return str(layer.location)


def _with(layer: Layer, effect: str, why: str) -> Layer:
    return replace(layer, effect=effect, why=why)


def _suggest(config: Mapping[str, Any], parts: tuple[str, ...]) -> str | None:
    """A key that is set and close to ``parts`` (a typo in the last part, usually)."""
    parent = _get(config, parts[:-1]) if len(parts) > 1 else config
    if not isinstance(parent, Mapping):
        return None
    close = close_matches(parts[-1], [str(k) for k in parent])
    return ".".join((*parts[:-1], close[0])) if close else None


def as_text(found: Explanation) -> str:
    """The final value, then each layer (highest first) with what it did and why."""
    import json

    envs = ", ".join(found.environments) or "common"
    head = f"{found.component}: {found.key_text}"
    if not found.found:
        text = f"{head} is not set by any config layer for {envs} (the chart's default applies)"
        return text + (f"; did you mean {found.suggestion}?" if found.suggestion else "")
    show = lambda value: json.dumps(value, ensure_ascii=False, default=str)  # noqa: E731
    lines = [f"{head} = {show(found.value)}  ({envs}; {found.rule})"]
    for layer in found.layers:
        lines.append(f"  {layer.effect:<10}  {layer.location}  {show(layer.value)}")
        lines.append(f"  {'':<10}  {layer.environment}, in {layer.level}: {layer.why}")
    return "\n".join(lines)
