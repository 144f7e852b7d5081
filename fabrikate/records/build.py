"""Build the native deployment record (spec §6.2) of one ``fab generate`` run.

    record = build_record(run, os.environ)
    validate(record)

The record is plain JSON data, masked (``mask.py``) before it leaves this module. What it says
about the tree comes from the run's frozen summary (``summary.py``), never from the run's
objects.
"""

from __future__ import annotations

import hashlib
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.hld.layout import COMPONENTS, GENERATED, HELM_REPOS
from fabrikate.hld.rings import read_rings, resolve_ring
from fabrikate.records import ci
from fabrikate.records.gitinfo import hld_info, repo_commit, repo_name
from fabrikate.records.mask import mask_text, mask_tree, strip_credentials
from fabrikate.records.summary import Described

if TYPE_CHECKING:
    from fabrikate.records.run import Run
    from fabrikate.records.summary import ComponentFacts
    from fabrikate.settings import Settings

__all__ = [
    "SCHEMA",
    "SCHEMAS",
    "build_record",
    "describe",
    "early_facts",
    "environments_name",
    "output_digest",
    "schema",
    "tree_facts",
    "validate",
]

SCHEMA = "fabrikate.deployment-record/v2"
# Every schema a store may hold: v2 added ring map, objects, source and hld.mergedBy.
SCHEMAS = ("fabrikate.deployment-record/v1", SCHEMA)
# Folders fab itself writes into the HLD: changes there do not make the HLD "dirty".
_FAB_FOLDERS = (GENERATED, COMPONENTS, HELM_REPOS)
_FINDINGS = 200  # validation findings kept in a record; the counts cover every one


def output_digest(files: Mapping[str, bytes]) -> str:
    """SHA-256 over the sorted (path, content digest) pairs of the rendered files."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return "sha256:" + digest.hexdigest()


def _component(facts: ComponentFacts, hld_top: Path | None, git: str) -> dict[str, Any]:
    return {
        "logicalPath": facts.id,
        "name": facts.name,
        "type": facts.type,
        "method": facts.method or None,
        "source": facts.source or None,
        "mirror": facts.mirror or None,
        "path": facts.path or None,
        "version": facts.version or None,
        "branch": facts.branch or None,
        "commit": repo_commit(facts.clone, hld_top, git) if facts.clone else None,
        "chart": dict(facts.chart) if facts.chart is not None else None,
    }


def describe(component: str, file: str, documents: Sequence[str]) -> Described:
    """What the record says of one component's documents, written to ``file``: their images,
    objects and kinds."""
    from fabrikate.records.images import extract_images, parse_documents
    from fabrikate.records.objects import object_entries

    parsed = parse_documents(documents)
    return Described(
        tuple(documents),
        tuple(extract_images(component, parsed)),
        tuple(object_entries(component, file, parsed)),
        tuple(kind for kind in map(_kind, documents) if kind),
    )


def _output(run: Run) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """The output summary, the images and the objects, for a run that rendered (each
    component as the run described it, unless its documents changed since)."""
    rendered = run.summary.rendered if run.summary is not None else None
    if rendered is None or run.error is not None:
        return None, [], []
    kinds: Counter[str] = Counter()
    images: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for component, documents in rendered.documents:
        found = rendered.described.get(component)
        if found is None or found.documents != documents:
            found = describe(component, rendered.component_files.get(component, ""), documents)
        images.extend(found.images)
        objects.extend(found.objects)
        kinds.update(found.kinds)
    summary = {
        "path": _relative(rendered.output, run.root),
        "files": len(rendered.files),
        "resources": dict(sorted(kinds.items())),
        "digest": output_digest(rendered.files),
        "changed": None,  # the store knows the previous record
    }
    return summary, images, objects


def _kind(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("kind:"):
            return line[5:].strip().strip("'\"") or None
    return None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _error(run: Run) -> dict[str, Any] | None:
    if run.error is None:
        return None
    return {
        "message": str(run.error) or type(run.error).__name__,
        "type": type(run.error).__name__,
        "component": getattr(run.error, "component", None),
    }


def _outcome(run: Run) -> str:
    if run.canceled:
        return "canceled"
    return "failed" if run.error is not None else "succeeded"


def _manifest(settings: Settings, path: str) -> dict[str, Any] | None:
    commit, repo = settings.manifest_commit, settings.manifest_repo
    if not commit and not repo:
        return None
    return {
        "repo": strip_credentials(repo) if repo else None,
        "commit": commit.lower() if commit else None,
        "commitShort": commit[:7].lower() if commit else None,
        "path": path,
    }


def early_facts(run: Run, env: Mapping[str, str]) -> dict[str, Any]:
    """What the record says of the HLD, known before the run ends: its git facts and rings."""
    branch_hint = ci.detect(env, run.settings.ci_run_id)["branch"]
    return {
        "hld": hld_info(run.root, _FAB_FOLDERS, branch_hint, run.settings.git),
        "rings": read_rings(run.root),
    }


def build_record(
    run: Run, env: Mapping[str, str], early: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The masked native record of ``run``; ``env`` is the process environment, ``early`` what
    ``early_facts`` found (else it is found now)."""
    from fabrikate._version import __version__

    settings = run.settings
    run_ci = ci.detect(env, settings.ci_run_id)
    run_ci.pop("branch")
    early = early or early_facts(run, env)
    hld = dict(early["hld"])
    trailers = hld.pop("trailers", {})
    hld.pop("message", None)
    pr = settings.pr or ci.pull_request(env)
    if pr:
        hld["pr"] = pr
    if hld.get("commit"):
        hld["mergedBy"] = ci.actor(env, run_ci.get("reason")) or hld.get("mergedBy")
    rings = early["rings"]
    top = hld.pop("top", None)
    environment = environments_name(run.environments)
    facts = run.facts or _tree_facts(run, top)
    output = facts["output"]
    finished = run.finished or run.started
    record = {
        "schema": SCHEMA,
        "id": run.id,
        "rowKey": run.id.replace("-", "")[:12],
        "scope": settings.records_scope or repo_name(hld.get("repo"), run.root),
        "correlationId": settings.correlation_id or trailers.get("Deployment-Id"),
        "environment": environment,
        "environments": list(run.environments),
        "ring": resolve_ring(settings.ring, rings, hld.get("branch")),
        "rings": rings.to_record(),
        "service": settings.service,
        "hld": hld,
        "manifest": _manifest(settings, output["path"] if output else f"generated/{environment}"),
        "ci": run_ci,
        "startedAt": run.started.isoformat(),
        "finishedAt": finished.isoformat(),
        "durationMs": int((finished - run.started).total_seconds() * 1000),
        "outcome": _outcome(run),
        "error": _error(run),
        "tool": {
            "fab": __version__,
            "helm": facts["helm"],
            "python": platform.python_version(),
        },
        "components": facts["components"],
        "images": facts["images"],
        "objects": facts["objects"] if output else None,
        "source": _source(settings, trailers),
        "output": dict(output) if output else None,
        "validation": _validation(run),
    }
    return mask_tree(record)


def _source(settings: Settings, trailers: Mapping[str, str]) -> dict[str, Any] | None:
    """The source change deployed: FAB_SOURCE_*, else the HLD commit's ``Source-*`` trailers."""
    commit = settings.source_commit or trailers.get("Source-Commit")
    repo = settings.source_repo or trailers.get("Source-Repo")
    when = settings.source_commit_time or trailers.get("Source-Commit-Time")
    if not (commit or repo):
        return None
    return {
        "commit": commit.strip().lower() if commit else None,
        "commitTime": _utc(when),
        "repo": strip_credentials(repo) if repo else None,
    }


def _utc(text: str | None) -> str | None:
    """An ISO-8601 time or Unix seconds as UTC ISO-8601 (None when it is neither)."""
    if not text:
        return None
    try:
        if text.strip().isdigit():
            return datetime.fromtimestamp(int(text), UTC).isoformat()
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _validation(run: Run) -> dict[str, Any] | None:
    """Whether ``--validate`` ran, and what it found."""
    checked = run.summary.validation if run.summary is not None else None
    if checked is None:
        return None
    return {
        "kubernetesVersion": checked.kube_version,
        "objects": checked.objects,
        "errors": len(checked.errors),
        "warnings": len(checked.problems) - len(checked.errors),
        "passed": not checked.errors,
        "findings": [
            {
                "level": problem.level,
                "message": problem.message,
                "file": problem.location.file if problem.location else None,
                "line": problem.location.line if problem.location else None,
                "component": problem.component,
            }
            for problem in checked.problems[:_FINDINGS]
        ],
    }


def tree_facts(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a repeat of ``record``'s run copies from it (``Run.facts``): all it says about the
    tree, in the shape ``_tree_facts`` builds."""
    return {
        "components": record["components"],
        "images": record["images"],
        "objects": record.get("objects"),
        "output": dict(record["output"] or {}, changed=None),
        "helm": record["tool"]["helm"],
    }


def _tree_facts(run: Run, top: Path | None) -> dict[str, Any]:
    """What the record says about the tree: components, images, output and helm version."""
    output, images, objects = _output(run)
    summary, git = run.summary, run.settings.git
    return {
        "components": [_component(c, top, git) for c in summary.components] if summary else [],
        "images": images,
        "objects": objects,
        "output": output,
        "helm": summary.helm if summary else None,
    }


def schema() -> dict[str, Any]:
    """The record's JSON Schema (``schemas/record.schema.json``)."""
    from fabrikate.hld.model import schema as load_schema

    return load_schema("record")


def validate(record: Mapping[str, Any]) -> list[str]:
    """Schema violations of ``record`` as one line each (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft7Validator(schema())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {mask_text(error.message)}"
        for error in validator.iter_errors(record)
    ]


def environments_name(environments: Sequence[str]) -> str:
    """Fabrikate's joined output name: ``prod-east``, or ``common`` with none."""
    return "-".join(environments) or "common"
