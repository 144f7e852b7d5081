"""A stale install is an error, never a silent render of the old copy (issue 12).

``fab install`` notes what it placed; generate and validate compare every installed component
with its definition. Real git repositories and a real chart repository, on loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.errors import FabrikateError, Failures
from fabrikate.records import open_store
from fabrikate.settings import Settings
from tests.fixtures.servers import Http
from tests.fixtures.trees import git, make_repo, write_tree

APP = {
    "component.yaml": "name: redis\ntype: static\npath: ./manifests\n",
    "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: redis-v1.0.0\n",
}


@pytest.fixture
def redis_repo(tmp_path: Path) -> dict[str, str]:
    """A bare repository with tags v1.0.0 and v1.1.0 (and a chart folder in the second)."""
    work = tmp_path / "redis-work"
    first = make_repo(work, APP)
    git(work, "tag", "v1.0.0")
    write_tree(
        work,
        {
            "manifests/cm.yaml": APP["manifests/cm.yaml"].replace("v1.0.0", "v1.1.0"),
            "chart/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.1.0\n",
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        },
    )
    git(work, "add", "-A")
    git(work, "commit", "-qm", "v1.1.0")
    git(work, "tag", "v1.1.0")
    bare = tmp_path / "redis.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return {"url": bare.as_uri(), "first": first, "second": git(work, "rev-parse", "HEAD")}


def settings() -> Settings:
    return Settings.from_env(jobs=2)


def hld(root: Path, entry: str) -> Path:
    return write_tree(root, {"component.yaml": f"name: app\nsubcomponents:\n{entry}"})


def test_a_new_version_without_install_is_an_error_naming_both(
    tmp_path: Path, redis_repo: dict[str, str]
) -> None:
    url = redis_repo["url"]
    root = hld(
        tmp_path / "hld", f"- {{name: redis, method: git, source: '{url}', version: v1.0.0}}\n"
    )
    assert fabrikate.install(root, settings()).ok
    first = fabrikate.generate(root, ["prod"], settings=settings())
    before = (first.output / "redis" / "redis.yaml").read_bytes()
    CliRunner().invoke(main, ["add", "redis", "--version", "v1.1.0", "-C", str(root)])
    result = CliRunner().invoke(main, ["generate", "prod", "-C", str(root)])
    assert result.exit_code == 1
    assert (
        "components/redis is v1.0.0 but component.yaml asks for v1.1.0: run fab install"
        in result.stderr
    )
    assert (first.output / "redis" / "redis.yaml").read_bytes() == before  # the old output
    validated = CliRunner().invoke(main, ["validate", str(root)])
    assert validated.exit_code == 1 and "asks for v1.1.0: run fab install" in validated.stdout
    # A branch instead of the tag, and another source, are stale too.
    (root / "component.yaml").write_text(
        f"name: app\nsubcomponents:\n- {{name: redis, method: git, source: '{url}', branch: main}}\n"
    )
    with pytest.raises(FabrikateError, match="is v1.0.0 but component.yaml asks for branch main"):
        fabrikate.generate(root, ["prod"], settings=settings())
    (root / "component.yaml").write_text(
        "name: app\nsubcomponents:\n"
        f"- {{name: redis, method: git, source: '{url}x', version: v1.0.0}}\n"
    )
    with pytest.raises(FabrikateError, match=r"was installed from file://.* but component.yaml"):
        fabrikate.generate(root, ["prod"], settings=settings())


@pytest.mark.helm
def test_after_install_it_renders_and_the_record_states_what_was_rendered(
    tmp_path: Path, redis_repo: dict[str, str], http_site: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", db)
    url, charts = redis_repo["url"], http_site.charts
    entries = (
        f"- {{name: redis, method: git, source: '{url}', version: v1.0.0}}\n"
        f"- {{name: demo, type: helm, method: helm, source: '{charts}', path: demo, "
        "version: 0.1.0}\n"
    )
    root = hld(tmp_path / "hld", entries)
    assert fabrikate.install(root, settings()).ok
    (root / "component.yaml").write_text(
        (root / "component.yaml").read_text().replace("v1.0.0", "v1.1.0").replace("0.1.0", "0.2.0")
    )
    with pytest.raises(Failures) as info:
        fabrikate.generate(root, ["prod"], settings=settings())
    assert [str(e).split(": ", 1)[1] for e in info.value.errors] == [  # both at once
        "components/redis is v1.0.0 but component.yaml asks for v1.1.0: run fab install "
        "[component redis]",
        "helm_repos/demo is 0.1.0 but component.yaml asks for 0.2.0: run fab install "
        "[component demo]",
    ]
    assert fabrikate.install(root, settings()).ok
    result = fabrikate.generate(root, ["prod"], settings=settings())
    assert "redis-v1.1.0" in (result.output / "redis" / "redis.yaml").read_text()
    with open_store(db) as store:
        succeeded, failed = store.records()[:2]  # newest first
    assert (failed["outcome"], succeeded["outcome"]) == ("failed", "succeeded")
    components = {c["name"]: c for c in succeeded["components"]}
    assert components["redis"]["commit"] == redis_repo["second"]
    assert components["redis"]["version"] == "v1.1.0"
    assert components["demo"]["chart"] == {"name": "demo", "version": "0.2.0"}


def test_a_git_chart_path_missing_from_the_checkout_fails_at_install(
    tmp_path: Path, redis_repo: dict[str, str]
) -> None:
    url = redis_repo["url"]
    entry = (
        f"- {{name: c, type: helm, method: git, source: '{url}', version: v1.1.0, path: chrt}}\n"
    )
    root = hld(tmp_path / "hld", entry)
    result = fabrikate.install(root, settings())
    assert not result.ok
    assert "chart path 'chrt' is not in" in str(result.failures[0])
    (root / "component.yaml").write_text(
        (root / "component.yaml").read_text().replace("chrt", "chart")
    )
    assert fabrikate.install(root, settings()).ok
    (root / "component.yaml").write_text(
        (root / "component.yaml").read_text().replace("path: chart", "path: chrt")
    )
    again = fabrikate.install(root, settings())  # the checkout is unchanged, the path is not
    assert not again.ok and "chart path 'chrt' is not in" in str(again.failures[0])


def test_two_components_writing_one_file_fail_generate_but_not_install(
    tmp_path: Path, redis_repo: dict[str, str]
) -> None:
    url = redis_repo["url"]
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": (
                "name: app\nsubcomponents:\n"
                f"- {{name: redis, method: git, source: '{url}', version: v1.0.0}}\n"
                "- {name: app, type: static, path: ./m}\n"  # app.yaml, as the root writes
            ),
            "m/cm.yaml": "kind: ConfigMap\n",
        },
    )
    assert fabrikate.install(root, settings()).ok
    assert (root / "components" / "redis").is_dir()
    with pytest.raises(FabrikateError, match="two components write app.yaml"):
        fabrikate.generate(root, ["prod"], settings=settings())


def test_an_install_from_an_earlier_fab_or_by_hand_is_a_warning(
    tmp_path: Path, redis_repo: dict[str, str]
) -> None:
    url = redis_repo["url"]
    root = hld(
        tmp_path / "hld", f"- {{name: redis, method: git, source: '{url}', version: v1.0.0}}\n"
    )
    git(tmp_path, "clone", "-q", url, str(root / "components" / "redis"))
    result = fabrikate.generate(root, ["prod"], settings=settings())
    assert any("was not placed by fab install" in w.message for w in result.warnings)
