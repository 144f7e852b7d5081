"""One record at a glance: services and versions, the state rules, Spektate's columns."""

from __future__ import annotations

from datetime import timedelta

from fabrikate.records.overview import (
    cluster_states,
    glance,
    record_state,
    record_type,
    services,
    summary,
)
from tests.fixtures.record_data import event_for, make_record


def test_a_service_record_is_one_service_at_its_image_tag() -> None:
    rec = make_record("r1", service="api", tag="1.2.0")
    assert services(rec) == [
        {
            "service": "api",
            "version": "1.2.0",
            "image": "acr.example.com/api:1.2.0",
            "component": "hld/api",
        }
    ]


def test_a_service_without_an_image_tag_is_at_its_source_commit() -> None:
    rec = make_record("r1", service="api")
    rec["images"] = []
    assert services(rec)[0]["version"] == rec["source"]["commit"][:7]
    rec["source"] = None
    assert services(rec)[0]["version"] == rec["hld"]["commitShort"]


def test_without_a_service_each_helm_component_is_one_at_its_chart_version() -> None:
    rec = make_record("r1", chart="2.3.4", tag="9.9")
    rec["components"].append(
        {"logicalPath": "hld/web", "name": "web", "type": "helm", "chart": None, "version": "v5"}
    )
    assert services(rec) == [
        {
            "service": "api",
            "version": "2.3.4",
            "image": "acr.example.com/api:9.9",
            "component": "hld/api",
        },
        {"service": "web", "version": "v5", "image": None, "component": "hld/web"},
    ]


def test_without_helm_components_the_scope_is_the_service() -> None:
    rec = make_record("r1", scope="trivia")
    rec["components"] = rec["components"][:1]
    assert services(rec)[0]["service"] == "trivia"
    assert services(rec)[0]["version"] == rec["hld"]["commitShort"]


def test_state_rules_worst_first() -> None:
    rec = make_record("r1")
    assert record_state(rec) == "committed"
    assert record_state(make_record("r2", manifest=None)) == "generated"
    assert record_state(make_record("r3", outcome="failed")) == "failed"
    assert record_state(make_record("r4", outcome="canceled")) == "canceled"
    applied = event_for(rec, "applied")
    healthy = event_for(rec, "healthy", after=timedelta(minutes=9))
    failed = event_for(rec, "failed", cluster="west")
    assert record_state(rec, [applied]) == "applied"
    assert record_state(rec, [applied, healthy]) == "healthy"
    assert record_state(rec, [applied, healthy, failed]) == "failed"
    # A failure the same object recovered from is history, not the state.
    recovered = event_for(rec, "healthy", cluster="west", after=timedelta(minutes=30))
    assert record_state(rec, [applied, healthy, failed, recovered]) == "healthy"
    other = event_for(rec, "failed", revision="f" * 40)
    assert record_state(rec, [other]) == "committed"  # another commit's event is not this one's


def test_a_record_is_healthy_only_when_every_cluster_it_was_applied_to_is() -> None:
    rec = make_record("r1")
    east = event_for(rec, "healthy", cluster="east")
    west = event_for(rec, "applied", cluster="west", after=timedelta(minutes=5))
    assert record_state(rec, [east, west]) == "applied"
    assert cluster_states(rec, [east, west]) == {"east": "healthy", "west": "applied"}
    west_healthy = event_for(rec, "healthy", cluster="west", after=timedelta(minutes=6))
    assert record_state(rec, [east, west, west_healthy]) == "healthy"
    row = summary(rec, [east, west])
    assert row["state"] == "applied" and row["clusters"] == {"east": "healthy", "west": "applied"}


def test_types_pipeline_manual_and_pr() -> None:
    assert record_type(make_record("r1")) == "pipeline"
    assert record_type(make_record("r2", provider="local")) == "manual"
    assert record_type(make_record("r3", reason="pull_request")) == "pr"


def test_summary_has_spektates_columns() -> None:
    rec = make_record("r1", service="api", ring="canary", tag="1.2.0", changed=False)
    events = [
        event_for(rec, "healthy", cluster="east"),
        event_for(rec, "progressing", cluster="west", after=timedelta(minutes=20)),
    ]
    row = summary(rec, events)
    assert row["id"] == rec["id"] and row["rowKey"] == rec["rowKey"]
    # Healthy on east only: west has not got there yet.
    assert (row["state"], row["service"], row["ring"]) == ("applied", "api", "canary")
    assert row["author"] == "Ann Author"
    assert row["imageBuild"]["images"] == ["acr.example.com/api:1.2.0", "busybox:1.36"]
    assert row["imageBuild"]["sourceUrl"] == (
        "https://github.com/o/app/commit/" + rec["source"]["commit"]
    )
    assert row["hldUpdate"]["commit"] == rec["hld"]["commitShort"]
    assert row["pr"] == "42" and row["prUrl"] == "https://github.com/o/hld/pull/42"
    assert row["mergedBy"] == "mia"
    assert row["manifestGeneration"]["runUrl"] == "https://ci.example.com/7"
    assert row["manifestCommit"] == rec["manifest"]["commitShort"]
    assert row["syncedClusters"] == ["east"]
    assert row["clusters"] == {"east": "healthy", "west": "committed"}
    assert row["lastUpdated"] == events[1].at
    assert row["unchanged"] is True and row["branch"] == "canary"
    assert row["validation"] is None and row["type"] == "pipeline"


def test_summary_of_a_manual_failed_run() -> None:
    rec = make_record("r1", provider="local", outcome="failed", manifest=None, pr=None)
    rec["validation"] = {"passed": False, "errors": 2, "warnings": 1}
    row = summary(rec)
    assert row["state"] == "failed" and row["hldUpdate"]["manual"] is True
    assert row["pr"] is None and row["prUrl"] is None and row["manifestCommit"] is None
    assert row["validation"] == {"passed": False, "errors": 2, "warnings": 1}
    assert row["service"] == "api" and row["syncedClusters"] == []


def test_a_glance_summarises_like_the_record_and_leaves_the_bulk_out() -> None:
    rec = make_record("r1", service="api", declared=("main", "canary"), default="main")
    rec["validation"] = {"passed": True, "errors": 0, "warnings": 0, "findings": [{"x": 1}]}
    events = [event_for(rec, "healthy")]
    seen = glance(rec)
    assert seen["glance"] is True and "objects" not in seen and "tool" not in seen
    assert "findings" not in seen["validation"]
    assert summary(seen, events) == summary(rec, events)
    assert services(seen) == services(rec)
