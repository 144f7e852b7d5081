"""The journey of one change, from the record of its generation and the clusters' events.

    stages = journey(record, events)   # source commit → … → applied/healthy per cluster
    print(lead_time(record, events), failing(stages))
    print("\\n".join(reproduce(record)))

Times the record does not know (when the image was built, when the manifest commit was made)
stay None: a stage is never given a time it did not have.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent

__all__ = [
    "STAGE_STATES",
    "Stage",
    "change_time",
    "commit_url",
    "deployed_at",
    "events_for",
    "failing",
    "journey",
    "journey_lead_time",
    "lead_time",
    "pull_request_url",
    "reproduce",
]

STAGE_STATES = ("done", "failed", "pending", "skipped", "unknown")


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of the journey; ``duration_ms`` is the time since the previous timed step."""

    name: str  # source, image, pull-request, generated, manifest, applied, healthy
    state: str  # one of STAGE_STATES
    at: str | None = None
    duration_ms: int | None = None
    link: str | None = None
    detail: str | None = None
    cluster: str | None = None

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data."""
        return asdict(self)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _web(repo: str | None) -> str | None:
    """A repository's web address (https, without ``.git``), when it has one."""
    if not repo or not repo.startswith(("https://", "http://")):
        return None
    return repo.rstrip("/").removesuffix(".git")


def commit_url(repo: str | None, commit: str | None) -> str | None:
    """The forge page of a commit (GitHub, GitLab and Azure Repos all serve ``/commit/<sha>``)."""
    web = _web(repo)
    return f"{web}/commit/{commit}" if web and commit else None


def pull_request_url(repo: str | None, pr: str | None) -> str | None:
    """The forge page of a pull (merge) request."""
    web = _web(repo)
    if not web or not pr:
        return None
    if "dev.azure.com" in web or "visualstudio.com" in web:
        return f"{web}/pullrequest/{pr}"
    if "gitlab" in web:
        return f"{web}/-/merge_requests/{pr}"
    return f"{web}/pull/{pr}"


def events_for(record: Mapping[str, Any], events: Iterable[ClusterEvent]) -> list[ClusterEvent]:
    """The events whose revision is the record's manifest commit, oldest first."""
    commit = ((record.get("manifest") or {}).get("commit") or "").lower()
    if len(commit) < 7:
        return []
    found = [e for e in events if e.revision and e.revision.startswith(commit)]
    return sorted(found, key=lambda e: e.at)


def change_time(record: Mapping[str, Any]) -> datetime | None:
    """When the change was committed: the source commit, else the HLD commit."""
    source = record.get("source") or {}
    return _time(source.get("commitTime") or record["hld"].get("commitTime"))


def deployed_at(record: Mapping[str, Any], events: Iterable[ClusterEvent]) -> datetime | None:
    """When the change first ran: its first applied or healthy event, else (without events)
    the end of a successful generation."""
    landed = [e for e in events_for(record, events) if e.state in ("applied", "healthy")]
    if landed:
        return _time(landed[0].at)
    return _time(record["finishedAt"]) if record["outcome"] == "succeeded" else None


def lead_time(record: Mapping[str, Any], events: Iterable[ClusterEvent]) -> timedelta | None:
    """Lead time for the change: ``deployed_at`` minus ``change_time``."""
    start, end = change_time(record), deployed_at(record, events)
    return end - start if start and end else None


def journey_lead_time(
    record: Mapping[str, Any], events: Iterable[ClusterEvent]
) -> tuple[float | None, str | None]:
    """The lead time a deployment's page shows, in seconds: ``deployed_at`` minus the source
    commit time only (the HLD commit that carries a change is made moments before its
    generation: counting from it would read as about nothing); when unknown (None), why."""
    start = _time((record.get("source") or {}).get("commitTime"))
    if start is None:
        return None, "the record has no source commit time"
    end = deployed_at(record, events)
    if end is None:
        return None, "the change has not run yet"
    lead = end - start
    if lead < timedelta(0):
        return None, "the source commit time is after the change ran (a clock or input is wrong)"
    return lead.total_seconds(), None


def _source(record: Mapping[str, Any]) -> Stage:
    source = record.get("source") or {}
    if not source.get("commit"):
        return Stage("source", "unknown")
    return Stage(
        "source",
        "done",
        at=source.get("commitTime"),
        link=commit_url(source.get("repo"), source["commit"]),
        detail=source["commit"][:7],
    )


def _image(record: Mapping[str, Any]) -> Stage:
    tags = sorted({f"{i['repository']}:{i['tag']}" for i in record["images"] if i.get("tag")})
    return Stage("image", "done", detail=", ".join(tags)) if tags else Stage("image", "unknown")


def _pull_request(record: Mapping[str, Any]) -> Stage:
    hld = record["hld"]
    if not hld.get("pr"):  # a direct HLD edit, or a pipeline that does not say
        return Stage("pull-request", "skipped", at=hld.get("commitTime"), detail="no pull request")
    merged = hld.get("mergedBy")
    return Stage(
        "pull-request",
        "done",
        at=hld.get("commitTime"),
        link=pull_request_url(hld.get("repo"), hld["pr"]),
        detail=f"#{hld['pr']}" + (f" merged by {merged}" if merged else ""),
    )


def _generated(record: Mapping[str, Any]) -> Stage:
    outcome = record["outcome"]
    state = {"succeeded": "done", "failed": "failed"}.get(outcome, "skipped")
    error = record.get("error") or {}
    return Stage(
        "generated",
        state,
        at=record["finishedAt"],
        link=(record.get("ci") or {}).get("runUrl"),
        detail=error.get("message") or outcome,
    )


def _manifest(record: Mapping[str, Any]) -> Stage:
    manifest = record.get("manifest") or {}
    if not manifest.get("commit"):
        return Stage("manifest", "pending" if record["outcome"] == "succeeded" else "skipped")
    return Stage(
        "manifest",
        "done",
        link=commit_url(manifest.get("repo"), manifest["commit"]),
        detail=manifest.get("commitShort") or manifest["commit"][:7],
    )


def _cluster(cluster: str, events: Sequence[ClusterEvent]) -> list[Stage]:
    """Applied and healthy in one cluster; the last event decides a failure."""
    applied = next((e for e in events if e.state in ("applied", "healthy")), None)
    healthy = next((e for e in events if e.state == "healthy"), None)
    last = events[-1]
    stages = [
        Stage("applied", "done", at=applied.at, cluster=cluster, detail=applied.reason)
        if applied
        else Stage("applied", "pending", cluster=cluster)
    ]
    if last.state == "failed":
        stages.append(
            Stage("healthy", "failed", at=last.at, cluster=cluster, detail=last.message or "")
        )
    elif healthy:
        stages.append(Stage("healthy", "done", at=healthy.at, cluster=cluster))
    else:
        stages.append(Stage("healthy", "pending", cluster=cluster))
    return stages


def _timed(stages: list[Stage]) -> list[Stage]:
    """Each stage with its duration since the previous timed stage (in its cluster, if any)."""
    out = []
    last: dict[str | None, datetime] = {}  # cluster (None: before the clusters) -> last time
    for stage in stages:
        at = _time(stage.at)
        previous = last.get(stage.cluster) or last.get(None)
        if at is not None and previous is not None:
            stage = replace(stage, duration_ms=int((at - previous).total_seconds() * 1000))
        if at is not None:
            last[stage.cluster] = at
        out.append(stage)
    return out


def journey(record: Mapping[str, Any], events: Iterable[ClusterEvent]) -> list[Stage]:
    """Source commit → image → HLD pull request → generated → manifest commit → applied and
    healthy per cluster (clusters by name)."""
    stages = [_source(record), _image(record), _pull_request(record)]
    stages += [_generated(record), _manifest(record)]
    by_cluster: dict[str, list[ClusterEvent]] = {}
    for event in events_for(record, events):
        by_cluster.setdefault(event.cluster or "(unnamed)", []).append(event)
    for cluster in sorted(by_cluster):
        stages += _cluster(cluster, by_cluster[cluster])
    return _timed(stages)


def failing(stages: Iterable[Stage]) -> Stage | None:
    """The first failed stage."""
    return next((stage for stage in stages if stage.state == "failed"), None)


def reproduce(record: Mapping[str, Any]) -> list[str]:
    """The shell commands that render this record's output again, and what to compare."""
    hld, tool = record["hld"], record["tool"]
    lines = [f"# fab {tool['fab']}, helm {tool.get('helm') or '(none)'}"]
    if hld.get("repo"):
        lines += [f"git clone {shlex.quote(hld['repo'])} hld", "cd hld"]
    if hld.get("commit"):
        lines.append(f"git checkout {hld['commit']}")
    if hld.get("dirty"):
        lines.append("# the HLD had uncommitted changes: this commit alone may differ")
    envs = " ".join(shlex.quote(e) for e in record["environments"])
    lines += ["fab install", f"fab generate {envs}".rstrip()]
    output = record.get("output") or {}
    if output.get("digest"):
        lines.append(f"# expect output digest {output['digest']} in {output['path']}")
    return lines
