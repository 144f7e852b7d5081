"""The terminal renderings of the query layer's answers: the matrix, deployments, comparisons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fabrikate.records.view import age, compare_text, deployments_table, matrix_table

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _ago(**delta: int) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def test_age_is_the_largest_unit() -> None:
    assert [age(_ago(seconds=s), NOW) for s in (0, 59, 60, 3599, 3600, 86400 * 3)] == [
        "0s",
        "59s",
        "1m",
        "59m",
        "1h",
        "3d",
    ]
    assert age(None, NOW) == "-"
    assert age((NOW + timedelta(seconds=5)).isoformat(), NOW) == "0s"  # a clock a bit ahead


def _chart_drift(images: int) -> dict:
    found = [
        {"kind": "image", "name": f"b/b/{n}", "a": f"{n}:1", "b": f"{n}:2"}
        for n in "bcdefg"[:images]
    ]
    return {
        "kind": "aheadOfDefault",
        "ring": "master",
        "version": "1.2.0",
        "changes": images,
        "differences": found,
    }


def test_the_matrix_has_a_column_per_ring_and_notes_its_drift() -> None:
    columns = [
        {"key": "prod|master|", "environment": "prod", "ring": "master", "default": True},
        {"key": "prod|develop|east", "environment": "prod", "ring": "develop", "cluster": "east"},
        {"key": "prod|qa|", "environment": "prod", "ring": "qa", "declaredOnly": True},
    ]
    cell = {"version": "1.2.0", "state": "healthy", "startedAt": _ago(hours=5), "drift": []}
    ahead = {
        "version": "1.3.0",
        "state": "applied",
        "startedAt": _ago(minutes=3),
        "drift": [
            {"kind": "aheadOfDefault", "ring": "master", "version": "1.2.0", "changes": 2},
            {"kind": "clusterBehind", "cluster": "west", "version": "1.1.0"},
        ],
    }
    rows = [
        {"service": "api", "cells": {"prod|master|": cell, "prod|develop|east": ahead}},
        {"service": "web", "cells": {"prod|master|": {**cell, "version": None}}},
    ]
    text = matrix_table({"columns": columns, "rows": rows}, NOW)
    assert text.splitlines() == [
        "SERVICE  prod/master*      prod/develop@east   prod/qa",
        "api      1.2.0 healthy 5h  1.3.0 applied 3m !  -",
        "web      - healthy 5h      -                   -",
        "! api prod/develop@east: ahead of the default ring master (1.2.0) by 2 changes",
        "! api prod/develop@east: cluster west is behind: it runs 1.1.0",
        "* default ring",
    ]
    many = {"columns": columns, "rows": [{**rows[0], "service": f"s{i}"} for i in range(15)]}
    notes = [line for line in matrix_table(many, NOW).splitlines() if line.startswith("!")]
    assert len(notes) == 21 and notes[-1] == "! ... 10 more drift notes (-o json has them all)"
    same = {**cell, "drift": [_chart_drift(4)]}  # one chart version: the images differ
    notes = matrix_table(
        {
            "columns": columns,
            "rows": [{"service": "b", "cells": {"prod|master|": cell, "prod|develop|east": same}}],
        },
        NOW,
    ).splitlines()
    assert notes[-2] == (
        "! b prod/develop@east: ahead of the default ring master (1.2.0) by 4 changes: "
        "image b/b/b: b:1 -> b:2; image b/b/c: c:1 -> c:2; image b/b/d: d:1 -> d:2; 1 more"
    )
    empty = matrix_table({"columns": columns, "rows": []}, NOW).splitlines()
    assert empty == ["SERVICE  prod/master*  prod/develop@east  prod/qa", "no records"]
    assert matrix_table({"columns": [], "rows": []}).splitlines() == ["SERVICE", "no records"]


def _summary(row_key: str, **fields: object) -> dict:
    return {
        "rowKey": row_key,
        "startedAt": "2026-03-01T10:00:00+00:00",
        "scope": "shop",
        "environment": "prod",
        "ring": "canary",
        "service": "web",
        "branch": "next",
        "author": "Cara Canary",
        "outcome": "succeeded",
        "validation": None,
        "hldUpdate": {"commit": "abc1234"},
        **fields,
    }


def test_deployments_have_the_ring_branch_author_and_validation_columns() -> None:
    items = [
        _summary("aaaaaaaaaaaa", validation={"passed": True, "errors": 0, "warnings": 2}),
        _summary("bbbbbbbbbbbb", unchanged=True, validation={"passed": False, "errors": 3}),
        _summary("cccccccccccc", ring=None, branch=None, hldUpdate={}),
    ]
    header, *lines = deployments_table(items).splitlines()
    assert header.split() == [
        "ID",
        "STARTED",
        "SCOPE",
        "ENV",
        "RING",
        "SERVICE",
        "BRANCH",
        "AUTHOR",
        "OUTCOME",
        "VALIDATION",
        "HLD",
    ]
    assert lines[0].split()[5:] == [
        "canary",
        "web",
        "next",
        "Cara",
        "Canary",
        "succeeded",
        "passed",
        "(2",
        "warnings)",
        "abc1234",
    ]
    assert "succeeded (unchanged)" in lines[1] and "3 errors" in lines[1]
    assert lines[2].split()[5:8] == ["-", "web", "-"] and lines[2].endswith(" -")
    assert deployments_table([]).splitlines()[1:] == ["no records"]
    folded = deployments_table(items[:1], collapsed=2).splitlines()
    assert folded[-1] == "(2 unchanged runs not shown; --all shows them)" and len(folded) == 3


def test_a_comparison_reads_as_lines() -> None:
    side = {"rowKey": "aaaaaaaaaaaa", "environment": "prod", "ring": "master"}
    other = {"rowKey": "bbbbbbbbbbbb", "environment": "prod", "ring": "develop"}
    side["startedAt"] = other["startedAt"] = "2026-03-01T10:00:00+00:00"
    deployment = {"kind": "Deployment", "namespace": "shop", "name": "web", "file": "web.yaml"}
    comparison = {
        "a": side,
        "b": other,
        "components": [{"name": "shop/web", "a": {"chart": "0.1.0"}, "b": {"chart": "0.2.0"}}],
        "images": [{"name": "shop/web/Deployment/web/main", "a": "nginx:1.25", "b": None}],
        "objects": {
            "known": True,
            "added": [{"kind": "Service", "name": "web", "file": "web.yaml"}],
            "removed": [],
            "changed": [{"a": deployment, "b": deployment}],
            "unchanged": 4,
        },
        "rollback": {"recordId": "cccccccc-0000", "startedAt": "2026-02-01T10:00:00+00:00"},
    }
    assert compare_text(comparison).splitlines() == [
        "a: aaaaaaaaaaaa prod/master 2026-03-01 10:00:00",
        "b: bbbbbbbbbbbb prod/develop 2026-03-01 10:00:00",
        "component shop/web: 0.1.0 -> 0.2.0",
        "image shop/web/Deployment/web/main: nginx:1.25 -> (none)",
        "object added: Service web (web.yaml)",
        "object changed: Deployment shop/web (web.yaml)",
        "objects unchanged: 4",
        "rollback: b returns to the output of cccccccc-0000",
    ]
    same = {"a": side, "b": side, "objects": {"known": False}}
    assert compare_text(same).splitlines()[2:] == [
        "no component, image or object changes",
        "objects: unknown (a record predates per-object digests)",
    ]
