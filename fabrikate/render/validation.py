"""The offline check of rendered Kubernetes objects (``fab validate --manifests``,
``fab generate --validate``): the schemas of a Kubernetes version (the kubernetes-validate
package), the ``openAPIV3Schema`` of CRDs in the same output, and removed or deprecated APIs.

    problems, count = validate_manifests([("app.yaml", "app", documents)], "1.30")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fabrikate.errors import Diagnostic, InputError, Location

__all__ = [
    "check_kube_version",
    "default_kube_version",
    "supported_kube_versions",
    "validate_manifests",
]


def default_kube_version() -> str:
    """The newest Kubernetes version kubernetes-validate ships schemas for, as ``1.37``."""
    return supported_kube_versions()[-1]


def supported_kube_versions() -> list[str]:
    """Every Kubernetes version (``major.minor``) whose schemas kubernetes-validate ships."""
    from kubernetes_validate import utils

    found = {tuple(int(p) for p in v.split(".")[:2]) for v in utils.all_versions()}
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def check_kube_version(text: str | None) -> str:
    """``--kube-version`` as ``major.minor`` (``v1.30`` and ``1.30.2`` mean 1.30); an unknown
    one is an error listing the supported ones. None: the newest."""
    if text is None:
        return default_kube_version()
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    supported = supported_kube_versions()
    version = f"{int(match.group(1))}.{int(match.group(2))}" if match else None
    if version not in supported:
        raise InputError(
            f"--kube-version {text}: not a Kubernetes version fab has schemas for; "
            f"supported: {', '.join(supported)}"
        )
    return version


def validate_manifests(
    files: Sequence[tuple[str, str, Sequence[str]]], kube_version: str
) -> tuple[list[Diagnostic], int]:
    """Check every object of rendered ``(file, component id, documents)``; return problems."""
    import yaml

    from fabrikate.support.yamlv2 import load_untrusted, problem

    parsed: list[tuple[str, str, int, dict[str, Any]]] = []
    problems: list[Diagnostic] = []
    for file, component, documents in files:
        line = 1
        for doc in documents:
            line += 1  # the "---" separator
            try:
                data, _ = load_untrusted(doc)
            except yaml.YAMLError as exc:
                text, offset = problem(exc)
                where = Location(file, line + offset)
                problems.append(Diagnostic("error", f"invalid YAML: {text}", where, component))
                data = None
            if isinstance(data, dict):
                parsed.append((file, component, line, data))
            line += doc.count("\n")
    crds = _crd_schemas(obj for *_, obj in parsed)
    for file, component, line, obj in parsed:
        message = _check_object(obj, kube_version, crds)
        if message:
            level, text = message
            problems.append(Diagnostic(level, text, Location(file, line), component))
    return problems, len(parsed)


def _crd_schemas(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(apiVersion, kind)`` → openAPIV3Schema of every CRD among ``objects``."""
    schemas = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        group = spec.get("group", "")
        kind = (spec.get("names") or {}).get("kind", "")
        for version in spec.get("versions") or []:
            schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
            if schema:
                schemas[(f"{group}/{version.get('name')}", kind)] = _openapi_to_jsonschema(schema)
    return schemas


def _openapi_to_jsonschema(schema: Any) -> Any:
    """OpenAPI v3 ``nullable`` as JSON Schema; Kubernetes' own extensions need nothing."""
    if isinstance(schema, list):
        return [_openapi_to_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {k: _openapi_to_jsonschema(v) for k, v in schema.items()}
    if converted.get("nullable") and isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
    return converted


def _name(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    name = metadata.get("name", "?") if isinstance(metadata, dict) else "?"
    return f"{obj.get('kind', '?')}/{name}"


def _check_object(
    obj: dict[str, Any], kube_version: str, crds: Mapping[tuple[str, str], dict[str, Any]]
) -> tuple[str, str] | None:
    """Why ``obj`` is invalid, as (level, message), or None."""
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate import utils

    if not obj.get("apiVersion") or not obj.get("kind"):
        return "error", f"{_name(obj)}: an object needs apiVersion and kind"
    removed = _removed(obj, kube_version)
    if removed is not None and removed[0] == "error":
        return removed
    crd = crds.get((str(obj["apiVersion"]), str(obj["kind"])))
    if crd is not None:
        error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(crd).iter_errors(obj))
        return None if error is None else ("error", _message(obj, error, "its CRD"))
    try:
        kubernetes_validate.validate(obj, kube_version, strict=True)
    except utils.ValidationError as error:
        return "error", _message(obj, error, f"Kubernetes {error.version}")
    except utils.SchemaNotFoundError:
        return "warning", (
            f"{_name(obj)}: no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes "
            f"{kube_version} or the rendered CRDs; not checked"
        )
    except utils.VersionNotSupportedError as exc:
        raise InputError(f"--kube-version: {exc.message}") from None
    return removed  # a deprecation warning, or None


def _removed(obj: Mapping[str, Any], kube_version: str) -> tuple[str, str] | None:
    """An object whose API the target version no longer serves (an error) or has deprecated
    (a warning), as pluto and kubent report them."""
    from fabrikate.render.kube_apis import removal

    api, kind = str(obj["apiVersion"]), str(obj["kind"])
    change = removal(api, kind)
    target = tuple(int(p) for p in kube_version.split(".")[:2])
    if change is None or target < change.deprecated:
        return None
    removed = ".".join(map(str, change.removed))
    if target >= change.removed:
        return "error", (
            f"{_name(obj)}: {api} {kind} was removed in Kubernetes {removed}; use "
            f"{change.replacement} (target Kubernetes {kube_version})"
        )
    deprecated = ".".join(map(str, change.deprecated))
    return "warning", (
        f"{_name(obj)}: {api} {kind} is deprecated since Kubernetes {deprecated} and removed "
        f"in {removed}; use {change.replacement}"
    )


def _message(obj: Mapping[str, Any], error: Any, against: str) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(object)"
    return f"{_name(obj)}: {path}: {error.message} (checked against {against})"
