"""``GET /api/deployments`` in Spektate's response shape, so a Spektate front end can read fab.

    {"deployments": [Deployment, ...], "clusterSync": {"releasesURL": ..., "tags": [Tag, ...]}}

A Deployment (Spektate's ``IDeployment`` with ``author`` and ``pullRequest``) comes from one
record: the three pipeline stages are the image build (from the source commit), the HLD update
(the HLD commit and pull request) and the manifest generation (this record's own run). Cluster
sync tags are made from the clusters' events: one tag per cluster, at the manifest commit it
last applied (Spektate matched 7-character commits, so the tag's commit is 7 characters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fabrikate.records.events import ClusterEvent
from fabrikate.records.journey import commit_url, pull_request_url

__all__ = ["spektate_deployment", "spektate_response", "spektate_status"]

_STATUS = {"succeeded": "Complete", "failed": "failed", "canceled": "canceled"}


def spektate_status(record: Mapping[str, Any]) -> str:
    """Spektate's overall status words: Complete, failed, canceled, or Incomplete."""
    return _STATUS.get(record.get("outcome") or "", "Incomplete")


def _short(sha: str | None) -> str:
    return (sha or "")[:7].lower()


def _build(
    *,
    ident: str | None,
    number: str | None,
    url: str | None,
    result: str,
    branch: str | None,
    commit: str | None,
    repo: str | None,
    queued: str | None,
    finished: str | None,
    author: str | None,
) -> dict[str, Any]:
    """A Spektate ``IBuild``."""
    return {
        "id": ident or "",
        "buildNumber": number or ident or "",
        "URL": url or "",
        "author": author or "",
        "queueTime": queued,
        "startTime": queued,
        "finishTime": finished,
        "lastUpdateTime": finished,
        "status": "completed" if finished else "inProgress",
        "result": result,
        "sourceBranch": branch or "",
        "sourceVersion": commit or "",
        "sourceVersionURL": commit_url(repo, commit) or "",
        "timelineURL": "",
    }


def _image_tag(record: Mapping[str, Any]) -> str:
    images = record.get("images") or []
    service = record.get("service")
    chosen = next((i for i in images if service and i.get("component") == service), None)
    chosen = chosen or (images[0] if images else None)
    return (chosen or {}).get("tag") or ""


def _duration(record: Mapping[str, Any]) -> str:
    ms = record.get("durationMs")
    return f"{ms / 60000:.2f}" if isinstance(ms, int | float) else ""


def spektate_deployment(record: Mapping[str, Any]) -> dict[str, Any]:
    """One record as Spektate's ``IDeploymentData``."""
    hld = record.get("hld") or {}
    source = record.get("source") or {}
    manifest = record.get("manifest") or {}
    ci = record.get("ci") or {}
    result = record.get("outcome") or ""
    author = hld.get("commitAuthor")
    deployment: dict[str, Any] = {
        "deploymentId": record.get("rowKey") or "",
        "service": record.get("service") or "",
        "environment": record.get("ring") or record.get("environment") or "",
        "imageTag": _image_tag(record),
        "commitId": _short(source.get("commit")),
        "hldCommitId": _short(hld.get("commit")),
        "manifestCommitId": _short(manifest.get("commit")),
        "pr": int(hld["pr"]) if str(hld.get("pr") or "").isdigit() else None,
        "sourceRepo": (source.get("repo") or "").lower() or None,
        "hldRepo": (hld.get("repo") or "").lower() or None,
        "manifestRepo": (manifest.get("repo") or "").lower() or None,
        "timeStamp": record.get("startedAt"),
        "status": spektate_status(record),
        "endTime": record.get("finishedAt"),
        "duration": _duration(record),
        "hldToManifestBuild": _build(
            ident=ci.get("runId"),
            number=ci.get("runNumber"),
            url=ci.get("runUrl"),
            result=result,
            branch=hld.get("branch"),
            commit=hld.get("commit"),
            repo=hld.get("repo"),
            queued=record.get("startedAt"),
            finished=record.get("finishedAt"),
            author=author,
        ),
        "author": {"name": author, "username": author, "url": "", "imageUrl": ""}
        if author
        else None,
    }
    if source.get("commit"):
        deployment["srcToDockerBuild"] = _build(
            ident=None,
            number=None,
            url=None,
            result="succeeded",
            branch=None,
            commit=source.get("commit"),
            repo=source.get("repo"),
            queued=source.get("commitTime"),
            finished=source.get("commitTime"),
            author=None,
        )
    if hld.get("pr"):
        merged = hld.get("mergedBy")
        deployment["pullRequest"] = {
            "id": deployment["pr"],
            "title": "",
            "sourceBranch": "",
            "targetBranch": hld.get("branch") or "",
            "description": "",
            "url": pull_request_url(hld.get("repo"), str(hld.get("pr"))) or "",
            **(
                {"mergedBy": {"name": merged, "username": merged, "url": "", "imageUrl": ""}}
                if merged
                else {}
            ),
        }
    return {k: v for k, v in deployment.items() if v is not None}


def _tags(events: Iterable[ClusterEvent]) -> list[dict[str, Any]]:
    """One Flux-v1-style tag per cluster: its newest applied or healthy revision."""
    newest: dict[str, ClusterEvent] = {}
    for event in events:
        if event.cluster and event.revision and event.state in ("applied", "healthy"):
            known = newest.get(event.cluster)
            if known is None or event.at > known.at:
                newest[event.cluster] = event
    return [
        {
            "name": cluster.upper(),
            "commit": _short(event.revision),
            "date": event.at,
            "tagger": event.source,
            "message": event.message or "",
        }
        for cluster, event in sorted(newest.items())
    ]


def spektate_response(
    records: Sequence[Mapping[str, Any]], events: Iterable[ClusterEvent]
) -> dict[str, Any]:
    """The whole ``/api/deployments`` answer."""
    tags = _tags(events)
    return {
        "deployments": [spektate_deployment(r) for r in records],
        "clusterSync": {"releasesURL": "", "tags": tags} if tags else None,
    }
