"""A manifest repository clone tells which records a cluster at a later revision runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fabrikate.errors import InputError
from fabrikate.records.filters import Filters
from fabrikate.records.gitinfo import Ancestry
from fabrikate.records.matrix import matrix
from fabrikate.records.queries import deployment
from fabrikate.records.stores.base import Store
from tests.fixtures.record_data import T0, event_for, make_record
from tests.fixtures.trees import git, make_repo


def _manifests(path: Path) -> tuple[str, str, str, str]:
    """Commits a, b, c on main (a oldest) and x on a side branch from a."""
    a = make_repo(path, {"a.yaml": "a: 1\n"})
    (path / "b.yaml").write_text("b: 1\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "b")
    b = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "-b", "side", a)
    (path / "x.yaml").write_text("x: 1\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "x")
    x = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "-")
    (path / "c.yaml").write_text("c: 1\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "c")
    return a, b, git(path, "rev-parse", "HEAD"), x


def test_ancestry_says_which_commits_a_revision_has(tmp_path: Path) -> None:
    a, b, c, x = _manifests(tmp_path / "m")
    ancestry = Ancestry(tmp_path / "m")
    assert ancestry.includes(c, a) is True and ancestry.includes(c, c) is True
    assert ancestry.includes(c, x) is False and ancestry.includes(a, b) is False
    assert ancestry.includes("f" * 40, a) is None  # the clone does not have it
    assert ancestry.includes("--all", a) is None  # never an option to git


def test_a_cluster_past_a_records_commit_runs_it(
    tmp_path: Path, new_store: Callable[[], Store]
) -> None:
    a, b, c, x = _manifests(tmp_path / "m")
    store = new_store()
    api = make_record("api", service="api", manifest=a, at=T0)
    web = make_record("web", service="web", manifest=b, at=T0)
    side = make_record("side", service="side", manifest=x, at=T0)
    later = make_record("later", service="db", manifest=c, at=T0)
    for record in (api, web, side, later):
        store.add(record)
    store.add_events([event_for(later, "healthy", cluster="east")])

    plain = matrix(store, Filters())
    cells = {row["service"]: row["cells"]["prod/main"] for row in plain["rows"]}
    assert cells["api"]["clusters"] == {} and cells["api"]["state"] == "committed"

    known = matrix(store, Filters(), ancestry=Ancestry(tmp_path / "m"))
    cells = {row["service"]: row["cells"]["prod/main"] for row in known["rows"]}
    assert cells["api"]["clusters"] == {"east": "superseded"}
    assert cells["web"]["state"] == "applied"
    assert cells["side"]["clusters"] == {}  # on a branch the cluster never ran
    assert cells["db"]["clusters"] == {"east": "healthy"}
    by_cluster = matrix(store, Filters(), pivot="cluster", ancestry=Ancestry(tmp_path / "m"))
    east = {row["service"]: row["cells"]["east"] for row in by_cluster["rows"]}
    assert east["api"]["clusters"] == {"east": "superseded"} and east["api"]["drift"] == []
    assert east["side"]["drift"] == [{"kind": "notReported", "cluster": "east"}]


def test_a_deployment_names_the_clusters_past_its_commit(
    tmp_path: Path, new_store: Callable[[], Store]
) -> None:
    a, _, c, _ = _manifests(tmp_path / "m")
    store = new_store()
    api = make_record("api", service="api", manifest=a, at=T0)
    later = make_record("later", service="db", manifest=c, at=T0)
    for record in (api, later):
        store.add(record)
    store.add_events([event_for(later, "healthy", cluster="east")])
    assert deployment(store, api["id"])["superseded"] == []
    assert deployment(store, api["id"], ancestry=Ancestry(tmp_path / "m"))["superseded"] == ["east"]
    assert deployment(store, later["id"], ancestry=Ancestry(tmp_path / "m"))["superseded"] == []


def test_a_folder_that_is_no_clone_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a git repository"):
        Ancestry.open(tmp_path)
    _manifests(tmp_path / "m")
    assert isinstance(Ancestry.open(tmp_path / "m"), Ancestry)
