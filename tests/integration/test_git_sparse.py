"""Git sources from a big repository: partial mirrors, sparse checkouts widened to the sibling
folders a component reaches, copies of one checkout sharing their files unless hooked, and
--offline naming a folder the cache never got."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache
from tests.fixtures.servers import TOKEN, GitHttp
from tests.fixtures.trees import git, make_repo, write_tree

MONOREPO = {
    "charts/web/Chart.yaml": (
        "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n"
        "  - name: common\n    version: 1.0.0\n    repository: file://../common\n"
    ),
    "charts/web/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
    ),
    "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.0.0\ntype: library\n",
    "charts/other/Chart.yaml": "apiVersion: v2\nname: other\nversion: 1.0.0\n",
    "apps/site/component.yaml": (
        "name: site\nsubcomponents:\n  - {name: shared, method: local, path: ../shared}\n"
    ),
    "apps/shared/component.yaml": "name: shared\ntype: static\npath: ./manifests\n",
    "apps/shared/manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n",
    "apps/hooked/component.yaml": "name: hooked\nhooks:\n  before-install: ['true']\n",
    "apps/other/component.yaml": "name: other\n",
}


def settings() -> Settings:
    return Settings.from_env(jobs=2)


def monorepo(tmp_path: Path, filters: bool) -> tuple[str, str]:
    """A bare repository with a big file beside its folders; its URL and the big blob's id."""
    work = tmp_path / "mono-work"
    make_repo(work, MONOREPO)
    (work / "big").mkdir()
    (work / "big" / "data.bin").write_bytes(os.urandom(200_000))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "big file")
    blob = git(work, "rev-parse", "HEAD:big/data.bin")
    bare = tmp_path / "mono.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    if filters:  # as forges serve: local (file://) fetches honour filters only when allowed
        git(bare, "config", "uploadpack.allowFilter", "true")
        git(bare, "config", "uploadpack.allowAnySHA1InWant", "true")
    return bare.as_uri(), blob


def files(folder: Path) -> set[str]:
    """The files of a checkout, without its .git folder."""
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


def missing(repo: Path) -> set[str]:
    """The objects a partial clone lacks (left to its promisor remote)."""
    out = git(repo, "rev-list", "--objects", "--missing=print", "--all")
    return {line[1:] for line in out.splitlines() if line.startswith("?")}


@pytest.mark.helm
@pytest.mark.parametrize("filters", [True, False], ids=["filters", "no-filters"])
def test_a_component_gets_only_the_folders_it_reaches(tmp_path: Path, filters: bool) -> None:
    url, blob = monorepo(tmp_path, filters)
    root = tmp_path / "hld"
    write_tree(
        root,
        {
            "component.yaml": f"""
            name: root
            subcomponents:
              - {{name: site, method: git, source: "{url}", path: apps/site}}
              - {{name: web, type: helm, method: git, source: "{url}", path: charts/web}}
            """
        },
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    site = root / "components" / "site"
    assert files(site) == {
        "apps/site/component.yaml",
        "apps/shared/component.yaml",  # a sibling its definition reaches
        "apps/shared/manifests/cm.yaml",
    } | {f for f in files(site) if f.startswith(".fab")}
    web = files(root / "helm_repos" / "web")
    assert "charts/web/Chart.yaml" in web and "charts/common/Chart.yaml" in web  # file://../common
    assert not any(f.startswith(("big/", "charts/other/", "apps/")) for f in web)
    assert git(site, "status", "--porcelain") == ""  # a clean checkout of the commit
    assert "shared" in str(fabrikate.load(root, ["prod"]).components)
    mirror = next(p for p in (Cache.of(settings()).root / "git").iterdir() if p.is_dir())
    assert (blob in missing(mirror)) == filters  # without filters: a plain shallow fetch


def test_copies_of_one_checkout_share_files_unless_its_definitions_have_hooks(
    tmp_path: Path,
) -> None:
    url, _ = monorepo(tmp_path, filters=True)
    root = tmp_path / "hld"
    subs = "".join(
        f'  - {{name: {name}, method: git, source: "{url}", path: {path}}}\n'
        for name, path in (("a", "apps/site"), ("b", "apps/site"), ("c", "apps/hooked"))
    )
    subs += f'  - {{name: d, method: git, source: "{url}", path: apps/hooked}}\n'
    write_tree(root, {"component.yaml": "name: root\nsubcomponents:\n" + subs})
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures

    def inode(name: str, rel: str) -> int:
        return (root / "components" / name / rel).stat().st_ino

    assert inode("a", "apps/site/component.yaml") == inode("b", "apps/site/component.yaml")
    hooked = "apps/hooked/component.yaml"
    assert inode("c", hooked) != inode("d", hooked)  # a hook of one may not change the other


def test_a_partial_mirror_is_vendored_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = monorepo(tmp_path, filters=True)
    tree = f'name: root\nsubcomponents:\n  - {{name: site, method: git, source: "{url}", path: apps/site}}\n'
    root = write_tree(tmp_path / "hld", {"component.yaml": tree})
    vendor = tmp_path / "vendor"
    done = CliRunner().invoke(main, ["vendor", str(vendor), "-C", str(root)])
    assert done.exit_code == 0, done.output
    # The server is gone and the cache empty: the vendor folder has every blob it needs.
    (tmp_path / "mono.git").rename(tmp_path / "gone.git")
    monkeypatch.setenv("FAB_CACHE_DIR", str(tmp_path / "empty-cache"))
    copy = write_tree(tmp_path / "copy", {"component.yaml": tree})
    shutil.copy(root / "fabrikate.lock", copy / "fabrikate.lock")
    done = CliRunner().invoke(main, ["install", str(copy), "--from", str(vendor), "--locked"])
    assert done.exit_code == 0, done.output
    assert files(copy / "components" / "site") == files(root / "components" / "site")


def test_offline_names_the_folder_a_cached_commit_lacks(
    tmp_path: Path, git_http: GitHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"offline-{tmp_path.name}"
    url = git_http.repo(name, MONOREPO)
    bare = git_http.root / f"{name}.git"
    for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant"):
        git(bare, "config", key, "true")
    sha = git(bare, "rev-parse", "HEAD")
    monkeypatch.setenv("MONO_TOKEN", TOKEN)
    root = tmp_path / "hld"

    def components(*paths: str) -> None:
        subs = "".join(
            f'  - {{name: c{i}, method: git, source: "{url}", version: {sha}, path: "{path}"}}\n'
            for i, path in enumerate(paths)
        )
        files = {"component.yaml": "name: root\nsubcomponents:\n" + subs}
        write_tree(root, {**files, "access.yaml": f"{url}: MONO_TOKEN\n"})

    components("apps/site")
    runner = CliRunner()
    done = runner.invoke(main, ["install", str(root)])
    assert done.exit_code == 0, done.output
    installed = files(root / "components" / "c0")
    asked = [p for p in git_http.requests if f"/{name}.git/" in p]
    assert asked  # the first install used the server

    # The commit is cached, but only the folders the first install reached.
    for path, missing in (("apps/other", "folder apps/other"), ("", "folder apps/hooked")):
        components("apps/site", path)
        done = runner.invoke(main, ["install", "--offline", str(root)])
        assert done.exit_code == 1, done.output
        errors = [line for line in done.output.splitlines() if "error" in line.lower()]
        assert errors == [
            f"fab: error: {missing} at commit {sha[:12]} of {url} is not in the cache, "
            "and --offline was given [component c1]"
        ]
        assert not any(word in done.output for word in ("fatal", "promisor", "Traceback"))
        assert [p for p in git_http.requests if f"/{name}.git/" in p] == asked  # no network
        assert not (root / "components" / "c1").exists()  # nothing half-written
        assert files(root / "components" / "c0") == installed
        generated = runner.invoke(main, ["generate", "-C", str(root)])  # never fetches
        assert generated.exit_code == 1, generated.output
        assert generated.output.strip().endswith("(run 'fab install' first?) [component c1]")
        assert len(generated.output.strip().splitlines()) == 1

    components("apps/site")  # installed; vendoring copies whole commits, some never fetched
    vendor = tmp_path / "vendor"
    done = runner.invoke(main, ["vendor", str(vendor), "-C", str(root), "--offline"])
    assert done.exit_code == 1, done.output
    assert done.output.strip().splitlines()[-1] == (
        f"fab: error: cannot copy {url} into the vendor folder: the whole of commit {sha[:12]} "
        "is not in the cache, and --offline was given"
    )
    assert [p for p in git_http.requests if f"/{name}.git/" in p] == asked
    assert not vendor.exists()
