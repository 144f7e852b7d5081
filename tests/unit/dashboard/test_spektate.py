"""``/api/deployments`` answers in Spektate's shape (microsoft/spektate IDeployment, IBuild,
IPullRequest, IClusterSync)."""

from __future__ import annotations

from fabrikate.dashboard.spektate import spektate_response, spektate_status
from fabrikate.records.events import ClusterEvent

HLD = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
MANIFEST = "ffeeddccbbaa99887766554433221100ffeeddcc"
RECORD = {
    "id": "0123456789abcdef" * 4,
    "rowKey": "0123456789ab",
    "scope": "hld",
    "environment": "prod",
    "ring": "master",
    "service": "web",
    "startedAt": "2026-12-01T10:00:00+00:00",
    "finishedAt": "2026-12-01T10:01:30+00:00",
    "durationMs": 90000,
    "outcome": "succeeded",
    "hld": {
        "repo": "https://github.com/Org/HLD",
        "commit": HLD,
        "branch": "master",
        "commitAuthor": "Ana",
        "pr": "42",
        "mergedBy": "Bo",
    },
    "source": {
        "commit": "9" * 40,
        "commitTime": "2026-12-01T09:00:00+00:00",
        "repo": "https://github.com/org/web",
    },
    "manifest": {"repo": "https://github.com/org/manifests", "commit": MANIFEST},
    "ci": {"provider": "github", "runId": "7781", "runNumber": "12", "runUrl": "https://ci/7781"},
    "images": [{"component": "web", "image": "reg/web:1.4.2", "tag": "1.4.2"}],
}
IDEPLOYMENT_KEYS = {
    "deploymentId",
    "service",
    "environment",
    "imageTag",
    "commitId",
    "hldCommitId",
    "manifestCommitId",
    "pr",
    "sourceRepo",
    "hldRepo",
    "manifestRepo",
    "timeStamp",
    "status",
    "endTime",
    "duration",
}
IBUILD_KEYS = {
    "id",
    "buildNumber",
    "URL",
    "author",
    "queueTime",
    "startTime",
    "finishTime",
    "lastUpdateTime",
    "status",
    "result",
    "sourceBranch",
    "sourceVersion",
    "sourceVersionURL",
    "timelineURL",
}


def _event(revision: str, at: str, state: str = "healthy") -> ClusterEvent:
    return ClusterEvent.make(
        source="flux",
        cluster="east",
        ring=None,
        environment=None,
        kind="Kustomization",
        namespace="flux-system",
        name="apps",
        revision=revision,
        state=state,
        reason=None,
        message=None,
        at=at,
    )


def test_a_record_is_a_spektate_deployment() -> None:
    answer = spektate_response([RECORD], [])
    assert answer["clusterSync"] is None
    [d] = answer["deployments"]
    assert set(d) >= IDEPLOYMENT_KEYS
    assert d["deploymentId"] == "0123456789ab"
    assert (d["hldCommitId"], d["manifestCommitId"], d["commitId"]) == (
        HLD[:7],
        MANIFEST[:7],
        "9999999",
    )
    assert d["environment"] == "master" and d["service"] == "web" and d["imageTag"] == "1.4.2"
    assert d["hldRepo"] == "https://github.com/org/hld"  # Spektate lowercases repositories
    assert d["pr"] == 42 and d["status"] == "Complete" and d["duration"] == "1.50"
    assert set(d["hldToManifestBuild"]) >= IBUILD_KEYS and set(d["srcToDockerBuild"]) >= IBUILD_KEYS
    assert d["hldToManifestBuild"]["id"] == "7781"
    assert d["hldToManifestBuild"]["sourceVersionURL"] == f"https://github.com/Org/HLD/commit/{HLD}"
    assert d["author"]["name"] == "Ana"
    assert d["pullRequest"]["id"] == 42 and d["pullRequest"]["mergedBy"]["name"] == "Bo"
    assert d["pullRequest"]["url"] == "https://github.com/Org/HLD/pull/42"


def test_cluster_sync_tags_are_each_clusters_newest_applied_revision() -> None:
    events = [
        _event(MANIFEST, "2026-12-01T10:05:00+00:00"),
        _event("1" * 40, "2026-12-01T09:00:00+00:00"),
        _event("2" * 40, "2026-12-01T11:00:00+00:00", state="failed"),
    ]
    sync = spektate_response([RECORD], events)["clusterSync"]
    assert sync["tags"] == [
        {
            "name": "EAST",
            "commit": MANIFEST[:7],
            "date": "2026-12-01T10:05:00+00:00",
            "tagger": "flux",
            "message": "",
        }
    ]


def test_statuses_in_spektate_words() -> None:
    assert spektate_status({"outcome": "failed"}) == "failed"
    assert spektate_status({"outcome": "canceled"}) == "canceled"
    assert spektate_status({}) == "Incomplete"
