"""The journey of a change, and the commands that reproduce its render."""

from __future__ import annotations

from datetime import datetime, timedelta

from fabrikate.records.journey import failing, journey, journey_lead_time, lead_time, reproduce
from tests.unit.records.test_metrics import R3, event, record

START = datetime.fromisoformat(R3["startedAt"])


def _full(rec: dict) -> dict:
    rec = dict(rec)
    rec["source"] = dict(rec["source"], repo="https://github.com/org/app.git")
    rec["hld"] = dict(
        rec["hld"],
        repo="https://dev.azure.com/o/p/_git/hld",
        pr="57",
        mergedBy="Ada",
        dirty=False,
        commit="c" * 40,
    )
    rec["manifest"] = dict(rec["manifest"], repo="https://gitlab.com/o/manifests")
    rec["images"] = [
        {"repository": "reg/app", "tag": "1.4"},
        {"repository": "reg/app", "tag": "1.4"},
    ]
    rec["ci"] = dict(rec["ci"], runUrl="https://ci/run/9")
    rec["environments"] = ["prod"]
    rec["tool"] = {"fab": "1.0", "helm": "v3.17.3"}
    rec["output"] = dict(rec["output"], path="generated/prod")
    return rec


def test_journey_stages_durations_and_the_failing_stage() -> None:
    rec = _full(R3)
    events = [
        event(rec, "applied", timedelta(minutes=5)),
        event(rec, "healthy", timedelta(minutes=9)),
        event(rec, "applied", timedelta(minutes=6), cluster="west"),
        event(rec, "failed", timedelta(minutes=15), cluster="west"),
        event(record("zz", START, "Z"), "healthy", timedelta(0)),  # another commit: ignored
    ]
    stages = journey(rec, events)
    names = [(s.name, s.cluster, s.state) for s in stages]
    assert names == [
        ("source", None, "done"),
        ("image", None, "done"),
        ("pull-request", None, "done"),
        ("generated", None, "done"),
        ("manifest", None, "done"),
        ("applied", "east", "done"),
        ("healthy", "east", "done"),
        ("applied", "west", "done"),
        ("healthy", "west", "failed"),
    ]
    source, image, pr, generated, manifest, east_applied, east_healthy, _, west = stages
    assert source.link == f"https://github.com/org/app/commit/{rec['source']['commit']}"
    assert image.detail == "reg/app:1.4" and image.at is None
    assert pr.link == "https://dev.azure.com/o/p/_git/hld/pullrequest/57"
    assert pr.detail == "#57 merged by Ada"
    assert manifest.link.startswith("https://gitlab.com/o/manifests/commit/")
    # Each duration is the time since the previous timed stage (in its cluster).
    hld_time = datetime.fromisoformat(rec["hld"]["commitTime"])
    source_time = datetime.fromisoformat(rec["source"]["commitTime"])
    finished = datetime.fromisoformat(rec["finishedAt"])
    assert pr.duration_ms == (hld_time - source_time).total_seconds() * 1000
    assert generated.duration_ms == (finished - hld_time).total_seconds() * 1000
    assert east_applied.duration_ms == 5 * 60 * 1000 and east_healthy.duration_ms == 4 * 60 * 1000
    assert west.duration_ms == 9 * 60 * 1000
    assert failing(stages) == west and generated.link == "https://ci/run/9"
    assert lead_time(rec, events) == finished + timedelta(minutes=5) - source_time
    lead = (finished + timedelta(minutes=5) - source_time).total_seconds()
    assert journey_lead_time(rec, events) == (lead, None)


def test_the_page_lead_time_counts_from_the_source_commit_only() -> None:
    rec = _full(R3)
    finished = datetime.fromisoformat(rec["finishedAt"])
    rec["source"] = {**rec["source"], "commitTime": None}  # examples/trivia's records
    assert lead_time(rec, []) is not None  # DORA's figure falls back to the HLD commit
    assert journey_lead_time(rec, []) == (None, "the record has no source commit time")
    rec["source"] = None
    assert journey_lead_time(rec, [])[0] is None
    rec["source"] = {"commit": "a" * 40, "commitTime": rec["finishedAt"]}
    assert journey_lead_time(rec, []) == (0.0, None)  # zero is a time, not unknown
    later = (finished + timedelta(seconds=30)).isoformat()
    rec["source"] = {"commit": "a" * 40, "commitTime": later}
    lead, why = journey_lead_time(rec, [])
    assert lead is None and why is not None and "after the change ran" in why


def test_a_failed_generation_without_source_or_pr() -> None:
    rec = record("b1", START, None, outcome="failed")
    rec.update(source=None, manifest=None, error={"message": "helm failed [component web]"})
    stages = journey(rec, [])
    assert [(s.name, s.state) for s in stages] == [
        ("source", "unknown"),
        ("image", "unknown"),
        ("pull-request", "skipped"),
        ("generated", "failed"),
        ("manifest", "skipped"),
    ]
    assert failing(stages).detail == "helm failed [component web]"
    assert lead_time(rec, []) is None
    assert journey_lead_time(rec, []) == (None, "the record has no source commit time")
    rec["source"] = {"commit": "a" * 40, "commitTime": START.isoformat()}
    assert journey_lead_time(rec, []) == (None, "the change has not run yet")


def test_reproduce_names_the_commit_environments_and_digest() -> None:
    rec = _full(R3)
    rec["environments"] = ["prod", "east; rm -rf /"]
    lines = reproduce(rec)
    assert lines == [
        "# fab 1.0, helm v3.17.3",
        "git clone https://dev.azure.com/o/p/_git/hld hld",
        "cd hld",
        f"git checkout {'c' * 40}",
        "fab install",
        "fab generate prod 'east; rm -rf /'",
        f"# expect output digest {rec['output']['digest']} in generated/prod",
    ]
