"""Per-environment config: ``config/<env>.yaml|json`` read into layers and merged (spec §3).

    layer = load_layer(Path("examples/trivia"), "prod")
    merged = merge(higher, lower)

``merge`` is a pure function: the higher-priority layer wins for scalars, maps merge key by
key, lists concatenate (higher items first), and a map over a non-map is a conflict.
``namespace``, ``injectNamespace`` and ``disabled`` each come from the highest layer that sets
them; what Fabrikate's merge would have made of them is kept beside, to warn where it differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from fabrikate.errors import ConfigConflictError, Diagnostic, InputError, Location, MergeConflict
from fabrikate.hld.layout import check_name
from fabrikate.hld.model import schema_errors, unknown_key
from fabrikate.support.yamlio import duplicate_warnings, locate, parse_document

__all__ = [
    "ConfigLayer",
    "Fabrikate",
    "check_environment",
    "config_file",
    "load_layer",
    "merge",
    "merge_values",
    "parse_layer",
]

LAYER_KEYS = ("config", "namespace", "injectNamespace", "disabled", "subcomponents")


class Fabrikate(NamedTuple):
    """What Fabrikate's merge made of ``namespace``, ``injectNamespace`` and ``disabled``
    (spec §3.3), kept to warn where fab's fixed merge gives another result."""

    namespace: str = ""
    inject_namespace: bool = False
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class ConfigLayer:
    """One level of config: values, namespace settings and per-subcomponent layers.

    ``origins`` lists, highest priority first, the files and key prefixes merged into it.
    ``inject_namespace`` and ``disabled`` are None where no layer sets them; ``set_in`` names
    the file that set each of ``namespace``, ``injectNamespace`` and ``disabled``. Layers are
    never mutated once built; ``merge`` shares unchanged subtrees.
    """

    config: Mapping[str, Any] = field(default_factory=dict)
    namespace: str = ""
    inject_namespace: bool | None = None
    disabled: bool | None = None
    subcomponents: Mapping[str, ConfigLayer] = field(default_factory=dict)
    origins: tuple[tuple[str, tuple[str, ...]], ...] = ()
    set_in: Mapping[str, str] = field(default_factory=dict)
    fabrikate: Fabrikate = field(default_factory=Fabrikate)

    def sub(self, name: str) -> ConfigLayer:
        """The layer for subcomponent ``name`` (empty when not configured)."""
        found = self.subcomponents.get(name)
        if found is not None:
            return found
        return ConfigLayer(origins=tuple((f, (*p, "subcomponents", name)) for f, p in self.origins))

    @property
    def injects(self) -> bool:
        """Whether namespaces are injected (into ``namespace``, when there is one)."""
        return bool(self.inject_namespace and self.namespace)


def check_environment(name: str) -> None:
    """Refuse environment names that cannot be file and folder names."""
    reason = check_name(name, "environment name")
    if reason:
        raise InputError(reason)


def config_file(directory: Path, environment: str) -> Path | None:
    """``config/<env>.yaml``, else ``config/<env>.json``, else None."""
    for suffix in (".yaml", ".json"):
        candidate = directory / "config" / f"{environment}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_layer(
    directory: Path, environment: str, *, lenient: bool = False
) -> tuple[ConfigLayer | None, list[Diagnostic]]:
    """Read one environment's config of a component folder; None when it has no such file.

    An invalid file raises, unless ``lenient``: then its errors are among the problems, and
    a file whose only errors are mistyped keys still gives its layer.
    """
    path = config_file(directory, environment)
    if path is None:
        return None, []
    data, text, duplicates = parse_document(path)
    problems = duplicate_warnings(duplicates, str(path))
    layer, found = parse_layer(data, text, str(path))
    problems.extend(found)
    errors = [p for p in problems if p.level == "error"]
    if errors and not lenient:
        raise errors[0].as_error()
    if any(p.code != "unknown-key" for p in errors):
        return None, problems
    return layer, problems


def parse_layer(data: Any, text: str, file: str) -> tuple[ConfigLayer, list[Diagnostic]]:
    """Check parsed config data against the schema and build its layer."""
    if data is not None and not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        problem = Diagnostic(
            "error", f"expected a mapping at the top level, got {kind}", Location(file, 1, 1)
        )
        return ConfigLayer(), [problem]
    if data is None:  # an empty or comment-only file is an empty layer, as in Fabrikate
        return _build({}, file, ()), []
    problems: list[Diagnostic] = []
    for error in schema_errors("config", data, text, file):
        path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(
            Diagnostic(
                "error",
                f"{path}: {error.message}",
                locate(text, list(error.absolute_path), file, value=True),
            )
        )
    if problems:
        return ConfigLayer(), problems
    _unknown_keys(data or {}, text, file, (), problems)
    return _build(data or {}, file, ()), problems


def _unknown_keys(
    data: dict[str, Any], text: str, file: str, path: tuple[str, ...], problems: list[Diagnostic]
) -> None:
    for key in data:
        if key not in LAYER_KEYS:
            problems.append(unknown_key(key, LAYER_KEYS, locate(text, [*path, key], file)))
    for name, sub in (data.get("subcomponents") or {}).items():
        _unknown_keys(sub or {}, text, file, (*path, "subcomponents", str(name)), problems)


def _build(data: Mapping[str, Any], file: str, prefix: tuple[str, ...]) -> ConfigLayer:
    subs = {
        str(name): _build(sub or {}, file, (*prefix, "subcomponents", str(name)))
        for name, sub in (data.get("subcomponents") or {}).items()
    }
    namespace = data.get("namespace") or ""
    inject, disabled = data.get("injectNamespace"), data.get("disabled")
    written = {"namespace": namespace, "injectNamespace": inject, "disabled": disabled}
    return ConfigLayer(
        config=data.get("config") or {},
        namespace=namespace,
        inject_namespace=None if inject is None else bool(inject),
        disabled=None if disabled is None else bool(disabled),
        subcomponents=subs,
        origins=((file, prefix),),
        set_in={key: file for key, value in written.items() if value not in (None, "")},
        fabrikate=Fabrikate(namespace, bool(inject), bool(disabled)),
    )


def merge(higher: ConfigLayer, lower: ConfigLayer) -> ConfigLayer:
    """Merge ``lower`` below ``higher``; raise ``ConfigConflictError``.

    Values follow Fabrikate's rules. ``namespace``, ``injectNamespace`` and ``disabled`` each
    come from the highest layer that sets them (Fabrikate coupled the first two and let any
    higher mention of a subcomponent undo a lower ``disabled: true``; ``fabrikate`` keeps what
    it would have made of them).
    """
    try:
        values = merge_values(higher.config, lower.config, ())
    except MergeConflict as conflict:
        raise _conflict_error(higher, lower, conflict) from None
    subs = dict(higher.subcomponents)
    for name, layer in lower.subcomponents.items():
        subs[name] = merge(subs[name], layer) if name in subs else layer
    set_in = dict(lower.set_in)
    set_in.update(higher.set_in)
    old = higher.fabrikate
    if not old.namespace:  # Fabrikate's fix-up: both travel from the first namespace (§3.3)
        old = old._replace(
            namespace=lower.fabrikate.namespace,
            inject_namespace=lower.fabrikate.inject_namespace,
        )
    return ConfigLayer(
        config=values,
        namespace=higher.namespace or lower.namespace,
        inject_namespace=_first(higher.inject_namespace, lower.inject_namespace),
        disabled=_first(higher.disabled, lower.disabled),
        subcomponents=subs,
        origins=higher.origins + lower.origins,
        set_in=set_in,
        fabrikate=old,
    )


def _first(higher: bool | None, lower: bool | None) -> bool | None:
    return lower if higher is None else higher


def merge_values(higher: Any, lower: Any, keypath: tuple[str, ...]) -> Any:
    """Merge two config values; ``higher`` wins for scalars, lists concatenate."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if isinstance(higher, Mapping):
        if not isinstance(lower, Mapping):
            raise MergeConflict(keypath, higher, lower)
        merged = dict(higher)
        for key, value in lower.items():
            merged[key] = (
                merge_values(merged[key], value, (*keypath, str(key))) if key in merged else value
            )
        return merged
    if isinstance(higher, list):
        if not isinstance(lower, list):
            raise MergeConflict(keypath, higher, lower)
        return higher + lower
    return higher


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({value!r})"


def _conflict_error(
    higher: ConfigLayer, lower: ConfigLayer, conflict: MergeConflict
) -> ConfigConflictError:
    key = ".".join(("config", *conflict.keypath))
    high_file = _origin_of(higher.origins, conflict.keypath) or "a higher layer"
    low_file = _origin_of(lower.origins, conflict.keypath) or "a lower layer"
    return ConfigConflictError(
        f"config conflict at {key}: {high_file} sets {_kind(conflict.higher)}, "
        f"{low_file} sets {_kind(conflict.lower)}"
    )


def _origin_of(
    origins: Sequence[tuple[str, tuple[str, ...]]], keypath: tuple[str, ...]
) -> str | None:
    """The first origin file that sets ``config.<keypath>``, with its line."""
    for file, prefix in origins:
        try:
            data, text, _ = parse_document(Path(file))
        except InputError:
            continue
        node: Any = data
        for part in (*prefix, "config", *keypath):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            return str(locate(text, [*prefix, "config", *keypath], file))
    return None
