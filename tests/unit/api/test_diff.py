"""Comparing rendered objects (``fab diff``) and its reports, without git or helm."""

from __future__ import annotations

from pathlib import Path

from fabrikate.api.diff import (
    DiffResult,
    Revision,
    as_markdown,
    as_text,
    compare,
)


def _deployment(name: str, replicas: int, api: str = "apps/v1") -> str:
    return (
        f"apiVersion: {api}\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: ns\n"
        f"spec:\n  replicas: {replicas}\n"
    )


def test_formatting_key_and_document_order_are_no_change() -> None:
    base = [("app", _deployment("a", 1)), ("app", _deployment("b", 2))]
    head = [
        (
            "app",
            "spec: {replicas: 2}\nmetadata: {namespace: ns, name: b}\nkind: Deployment\n"
            "apiVersion: apps/v1\n",
        ),
        ("app", "# a comment\n" + _deployment("a", 1)),
    ]
    result = compare(("prod",), base, head)
    assert result.changes == [] and result.unchanged == 2


def test_types_count_a_number_and_a_string_differ() -> None:
    base = [("app", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {count: 1}\n")]
    head = [("app", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {count: '1'}\n")]
    (change,) = compare((), base, head).changes
    assert change.status == "changed" and "-  count: 1\n+  count: '1'" in change.diff


def test_an_api_version_bump_in_the_same_group_is_a_change_of_the_object() -> None:
    base = [("app", _deployment("a", 1, "apps/v1beta2"))]
    head = [("moved", _deployment("a", 1))]
    (change,) = compare((), base, head).changes
    assert (change.status, change.component, change.api_version) == ("changed", "moved", "apps/v1")
    assert "-apiVersion: apps/v1beta2\n+apiVersion: apps/v1" in change.diff


def test_added_removed_and_repeated_identities() -> None:
    base = [("x", _deployment("a", 1)), ("x", _deployment("a", 1)), ("y", _deployment("gone", 1))]
    head = [("x", _deployment("a", 1)), ("x", _deployment("new", 1))]
    result = compare((), base, head)
    assert {(c.status, c.name, c.component) for c in result.changes} == {
        ("removed", "a", "x"),  # the second copy
        ("removed", "gone", "y"),
        ("added", "new", "x"),
    }
    assert result.summary() == [
        {"component": "x", "kind": "Deployment", "added": 1, "removed": 1, "changed": 0},
        {"component": "y", "kind": "Deployment", "added": 0, "removed": 1, "changed": 0},
    ]


def test_secret_values_are_never_shown() -> None:
    base = [
        (
            "s",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
            "data: {a: c2VjcmV0LWE=, b: c2VjcmV0LWI=}\nstringData: {c: plain-c}\n",
        )
    ]
    head = [
        (
            "s",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
            "data: {a: c2VjcmV0LWE=, d: c2VjcmV0LWQ=}\nstringData: {c: plain-c2}\n"
            "type: Opaque\n",
        )
    ]
    (change,) = compare((), base, head).changes
    assert change.secret_keys == {"a": "unchanged", "b": "removed", "c": "changed", "d": "added"}
    for hidden in ("c2VjcmV0", "secret-", "plain-c"):
        assert hidden not in change.diff
    assert "+  c: (hidden, changed)" in change.diff and "+type: Opaque" in change.diff
    # An added Secret is shown without its values.
    (added,) = compare((), [], head).changes
    assert added.status == "added" and "c2VjcmV0" not in added.diff and "plain" not in added.diff


def test_documents_that_are_not_objects_compare_by_place_and_text() -> None:
    base = [("raw", "just text"), ("raw", "- a list")]
    head = [("raw", "just text"), ("raw", "- another list")]
    (change,) = compare((), base, head).changes
    assert change.kind == "(document)" and "-- a list\n+- another list" in change.diff


def _result(changes: int, lines: int) -> DiffResult:
    body = "".join(f"  key{i}: value-{i}\n" for i in range(lines))
    base = [
        ("big", f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: m{n}}}\ndata:\n{body}")
        for n in range(changes)
    ]
    head = [(c, t.replace("value-", "other-")) for c, t in base]
    result = DiffResult(
        Path("."), Revision("main", "a" * 40, "merge base with main"), Revision(None, "b" * 40)
    )
    result.environments.append(compare(("prod",), base, head))
    return result


def test_markdown_fits_a_pull_request_comment_and_folds_details() -> None:
    small = as_markdown(_result(2, 3))
    assert small.count("<details>") == 2
    assert "| `big` | ConfigMap |  |  | 2 |" in small
    big = as_markdown(_result(40, 400), limit=60_000)
    assert len(big) <= 60_000
    assert "more objects not shown here: run `fab diff` to see them" in big
    assert big.count("<details>") == big.count("</details>") > 0
    # One object too big for the whole comment is cut at a line, saying so.
    huge = as_markdown(_result(1, 5000), limit=20_000)
    assert len(huge) <= 20_000 and "more lines" in huge and huge.count("</details>") == 1


def test_backticks_in_a_diff_cannot_close_the_code_block() -> None:
    base = [("a", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {x: '```'}\n")]
    head = [("a", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {x: '````'}\n")]
    result = DiffResult(Path("."), Revision("main", "a" * 40), Revision(None, None))
    result.environments.append(compare((), base, head))
    assert "`````diff\n" in as_markdown(result)


def test_text_report_has_a_summary_table_then_each_diff() -> None:
    text = as_text(_result(1, 2))
    assert text.splitlines()[:5] == [
        "base: main (aaaaaaaaaaaa) (merge base with main)",
        "head: working tree",
        "prod: 0 added, 0 removed, 1 changed, 0 unchanged",
        "  component  kind       added  removed  changed",
        "  big        ConfigMap      0        0        1",
    ]
    assert "prod: changed ConfigMap m0 [big]" in text
