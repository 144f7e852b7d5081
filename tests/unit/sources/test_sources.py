"""The sources layer: the fetcher registry, the once-per-run memo, slots, and the fetchers on a
real local git repository and a loopback HTTP server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fabrikate.errors import FetchError, SourceError
from fabrikate.settings import Settings
from fabrikate.sources import Request, Sources
from fabrikate.sources.base import SourceRun, cause_of, staging, swap_in
from fabrikate.sources.git import GitFetcher
from fabrikate.sources.helm import HelmFetcher
from fabrikate.sources.http import HttpFetcher
from fabrikate.support.cache import Cache
from tests.fixtures.servers import static_server
from tests.fixtures.trees import git, make_repo


@pytest.fixture
def sources(tmp_path: Path) -> Sources:
    return Sources(Settings(jobs=2, timeout=60), cache=Cache(tmp_path / "cache"))


def test_the_registry_makes_one_fetcher_per_method(sources: Sources) -> None:
    assert isinstance(sources.fetcher("git"), GitFetcher)
    assert isinstance(sources.fetcher("http"), HttpFetcher)
    assert sources.fetcher("git") is sources.fetcher("git")
    assert sources.charts() is sources.fetcher("helm") and isinstance(sources.charts(), HelmFetcher)
    with pytest.raises(ValueError, match="no fetcher for method 'svn'"):
        sources.fetcher("svn")
    for method in ("git", "helm", "http"):  # what the installer asks of each (Fetcher)
        assert isinstance(sources.fetcher(method).plan([]), list)


def test_once_computes_a_key_once_for_every_thread_and_shares_a_failure(tmp_path: Path) -> None:
    run = SourceRun(Settings(), cache=Cache(tmp_path))
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(run.once("k", compute))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 4 and len(calls) == 1

    def fail() -> int:
        calls.append(2)
        raise SourceError("no")

    for _ in range(2):
        with pytest.raises(SourceError, match="no"):
            run.once("bad", fail)
    assert calls.count(2) == 1
    claimed = run.promise("later")
    assert claimed is not None and run.promise("later") is None
    claimed.set_result("answer")
    assert run.once("later", fail) == "answer"


def test_slots_bound_running_commands_to_jobs(tmp_path: Path) -> None:
    run = SourceRun(Settings(jobs=2), cache=Cache(tmp_path))
    running, most = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with run.slot():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_staging_is_beside_the_destination_and_the_swap_replaces_it_whole(tmp_path: Path) -> None:
    dest = tmp_path / "components" / "app"
    dest.mkdir(parents=True)
    (dest / "old.txt").write_text("old")
    with staging(dest) as temp:
        assert temp.parent == dest.parent and temp.name.startswith(".app.fab-")
        (temp / "new.txt").write_text("new")
        swap_in(temp, dest)
    assert [p.name for p in dest.iterdir()] == ["new.txt"]
    assert [p.name for p in dest.parent.iterdir()] == ["app"]  # nothing left beside it
    assert cause_of("fatal: Could not resolve host: x", [("resolve host", "unknown host")]) == (
        "unknown host"
    )
    assert cause_of("weird", [("resolve host", "unknown host")]) == ""


def test_git_places_a_branch_a_tag_and_a_commit_of_a_local_repository(
    sources: Sources, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    first = make_repo(repo, {"component.yaml": "name: app\n"})
    git(repo, "tag", "v1")
    (repo / "component.yaml").write_text("name: app2\n")
    git(repo, "commit", "-qam", "second")
    fetcher = sources.fetcher("git")
    url = repo.as_uri()
    for ref, expected in (({"branch": "main"}, "name: app2\n"), ({"version": "v1"}, "name: app\n")):
        dest = tmp_path / "out" / next(iter(ref.values()))
        placed = fetcher.place(Request("app", "git", url, **ref), dest)
        assert placed.changed and (dest / "component.yaml").read_text() == expected
    placed = fetcher.place(Request("app", "git", url, version=first), tmp_path / "out" / "sha")
    assert placed.detail == first  # the exact commit placed
    again = fetcher.place(Request("app", "git", url, version="v1"), tmp_path / "out" / "v1")
    assert not again.changed  # the same commit is already there
    with pytest.raises(FetchError):
        fetcher.place(Request("app", "git", url, version="v9"), tmp_path / "out" / "v9")
    assert not (tmp_path / "out" / "v9").exists()


def test_http_places_a_file_and_a_failure_names_its_cause(sources: Sources, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "crds.yaml").write_text("kind: CustomResourceDefinition\n")
    fetcher = sources.fetcher("http")
    with static_server(site) as url:
        dest = tmp_path / "static" / "crds.yaml"
        placed = fetcher.place(Request("crds", "http", f"{url}/crds.yaml"), dest)
        assert placed.changed and dest.read_text() == "kind: CustomResourceDefinition\n"
        assert not fetcher.place(Request("crds", "http", f"{url}/crds.yaml"), dest).changed
        with pytest.raises(FetchError) as info:
            fetcher.place(Request("gone", "http", f"{url}/gone.yaml"), tmp_path / "gone.yaml")
    assert info.value.cause == "http 404" and not (tmp_path / "gone.yaml").exists()


def test_two_placements_of_one_destination_take_turns(sources: Sources, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"component.yaml": "name: app\n"})
    git(repo, "tag", "v1")
    (repo / "component.yaml").write_text("name: app2\n")
    git(repo, "commit", "-qam", "second")
    dest, url = tmp_path / "components" / "app", repo.as_uri()
    second: list[object] = []
    waiting = threading.Thread(
        target=lambda: second.append(sources.place(Request("app", "git", url, branch="main"), dest))
    )

    def first_finish(new: Path) -> None:
        waiting.start()  # the same destination, asked while this copy is being finished
        waiting.join(0.5)
        assert waiting.is_alive() and not second  # it waits for this one to be in place
        assert not dest.exists()

    sources.place(Request("app", "git", url, version="v1"), dest, first_finish)
    waiting.join(60)
    assert len(second) == 1 and (dest / "component.yaml").read_text() == "name: app2\n"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["app"]  # no staging left behind
