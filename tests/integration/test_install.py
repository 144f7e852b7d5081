"""``fab install`` against real git repositories, a private git server, a chart repository,
an OCI registry and static files, all on loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache
from tests.fixtures.servers import TOKEN, GitHttp, Http, Registry, static_server
from tests.fixtures.trees import git, make_repo, write_tree

APP = {
    "component.yaml": "name: app\ntype: static\nmethod: local\npath: ./manifests\n",
    "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: main-1\n",
}


def settings(**overrides: object) -> Settings:
    return Settings.from_env(jobs=4, **overrides)


@pytest.fixture
def app_repo(tmp_path: Path) -> dict[str, str]:
    """A bare repo: main (3 commits, tag v1 on the first), branch dev; returns URL and shas."""
    work = tmp_path / "app-work"
    first = make_repo(work, APP)
    git(work, "tag", "v1")
    git(work, "checkout", "-q", "-b", "dev")
    write_tree(work, {"manifests/cm.yaml": APP["manifests/cm.yaml"].replace("main-1", "dev")})
    git(work, "commit", "-qam", "dev")
    git(work, "checkout", "-q", "main")
    for n in (2, 3):
        write_tree(work, {"manifests/cm.yaml": APP["manifests/cm.yaml"].replace("1", str(n))})
        git(work, "commit", "-qam", f"main {n}")
    bare = tmp_path / "app.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return {"url": bare.as_uri(), "first": first, "head": git(work, "rev-parse", "HEAD")}


def manifest(root: Path, name: str) -> str:
    return (root / "components" / name / "manifests" / "cm.yaml").read_text()


def hld(root: Path, subcomponents: str, **files: str) -> Path:
    write_tree(root, {"component.yaml": "name: root\nsubcomponents:\n" + subcomponents, **files})
    return root


def test_git_branch_tag_and_commits_then_generate(tmp_path: Path, app_repo: dict[str, str]) -> None:
    url, first = app_repo["url"], app_repo["first"]
    root = hld(
        tmp_path / "hld",
        f"""
  - {{name: head, method: git, source: "{url}"}}
  - {{name: dev, method: git, source: "{url}", branch: dev}}
  - {{name: tag, method: git, source: "{url}", version: v1}}
  - {{name: sha, method: git, source: "{url}", version: {first}}}
  - {{name: short, method: git, source: "{url}", version: {first[:9]}}}
""",
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    assert "main-3" in manifest(root, "head")
    assert "dev" in manifest(root, "dev")
    for name in ("tag", "sha", "short"):
        assert "main-1" in manifest(root, name)
    assert git(root / "components" / "dev", "rev-parse", "--abbrev-ref", "HEAD") == "dev"
    assert git(root / "components" / "sha", "rev-parse", "HEAD") == first
    assert git(root / "components" / "head", "remote", "get-url", "origin") == url
    assert sorted(result.visited) == sorted(
        ["root", *(f"{n}/app" for n in ("head", "dev", "tag", "sha", "short"))]
    )
    # Idempotent, with every copy left alone, and generate works on the installed tree.
    again = fabrikate.install(root, settings())
    assert again.ok and again.changed == 0 and len(again.installed) == 5
    assert again.cache_hits >= 3  # the pinned tag and commits need no network
    # Copies of one commit share their files (hard links) instead of holding one copy each.
    inode = {
        n: (root / "components" / n / "manifests/cm.yaml").stat().st_ino
        for n in ("tag", "sha", "short", "head")
    }
    assert inode["tag"] == inode["sha"] == inode["short"] != inode["head"]
    # A touched file is still the same checkout; an edited one is put back, and so are the
    # copies that share its files.
    os.utime(root / "components/head/manifests/cm.yaml")
    (root / "components/tag/manifests/cm.yaml").write_text("edited: true\n")
    third = fabrikate.install(root, settings())
    assert third.ok
    assert sorted(i.component for i in third.installed if i.changed) == ["sha", "short", "tag"]
    for name in ("tag", "sha", "short"):
        assert "main-1" in manifest(root, name)
    out = fabrikate.generate(root, ["prod"], settings=settings())
    assert "main-3" in (out.output / "head" / "app.yaml").read_text()


def test_an_edit_in_place_to_a_shared_file_fails_generate_naming_both_copies(
    tmp_path: Path, app_repo: dict[str, str]
) -> None:
    url = app_repo["url"]
    both = f'  - {{name: a, method: git, source: "{url}", version: v1}}\n'
    root = hld(tmp_path / "hld", both + both.replace("name: a", "name: b"))
    shared = {n: root / "components" / n / "manifests/cm.yaml" for n in ("a", "b")}

    def generate() -> tuple[int, str]:
        result = CliRunner().invoke(main, ["generate", "-C", str(root)], catch_exceptions=False)
        return result.exit_code, result.stderr

    def rendered(name: str) -> str:
        return (root / "generated/common" / name / "app.yaml").read_text()

    assert fabrikate.install(root, settings()).ok
    assert shared["a"].stat().st_ino == shared["b"].stat().st_ino
    assert generate()[0] == 0
    # A touch changes no content (nor does a plain re-install, nor a touch and a re-install).
    os.utime(shared["a"], ns=(1, 1))
    assert generate()[0] == 0
    again = fabrikate.install(root, settings())
    assert again.ok and again.changed == 0
    assert fabrikate.install(root, settings()).changed == 0 and generate()[0] == 0
    # Written in place through a: b's file is the same file, so generate refuses both.
    with shared["a"].open("r+") as handle:
        handle.write(handle.read().replace("main-1", "edit-1"))
    code, err = generate()
    lines = err.splitlines()
    assert code == 1 and lines[-1] == "fab: error: 2 errors; nothing was written", err
    for one, other in (("a", "b"), ("b", "a")):
        assert (
            f"components/{one}/manifests/cm.yaml was written in place, and it is one file (a hard"
            f" link) with components/{other}/manifests/cm.yaml: the edit changed both; run fab"
            " install to put the fetched files back"
        ) in err
    assert "main-1" in rendered("b")  # nothing written
    # fab install puts the fetched files back; a file replaced (sed -i) breaks the link.
    assert fabrikate.install(root, settings()).ok
    assert generate()[0] == 0 and "main-1" in rendered("a")
    subprocess.run(["sed", "-i", "s/main-1/sed-1/", str(shared["a"])], check=True)
    code, err = generate()
    assert code == 0, err
    assert "sed-1" in rendered("a") and "main-1" in rendered("b")


@pytest.mark.helm
def test_failures_are_all_reported_and_earlier_copies_kept(
    tmp_path: Path, app_repo: dict[str, str], http_site: Http
) -> None:
    url = app_repo["url"]
    not_repo = tmp_path / "plain"
    not_repo.mkdir()
    root = hld(tmp_path / "hld", f'  - {{name: keep, method: git, source: "{url}", version: v1}}\n')
    assert fabrikate.install(root, settings()).ok
    refused = "http://127.0.0.1:9/x.git"
    broken = f"""
  - {{name: keep, method: git, source: "{url}", version: v404}}
  - {{name: nobranch, method: git, source: "{url}", branch: nope}}
  - {{name: nocommit, method: git, source: "{url}", version: {"e" * 40}}}
  - {{name: nohost, method: git, source: "http://fab-no-such-host.invalid/x.git"}}
  - {{name: refused, method: git, source: "{refused}"}}
  - {{name: notrepo, method: git, source: "{not_repo.as_uri()}"}}
  - {{name: nochart, type: helm, method: helm, source: "{http_site.charts}", path: nope}}
  - {{name: noversion, type: helm, method: helm, source: "{http_site.charts}", path: demo,
      version: 9.9.9}}
  - {{name: missing, type: static, method: http, source: "{http_site.url}/files/gone.yaml"}}
  - {{name: hook, hooks: {{before-install: ["exit 7"]}}, type: static, path: x}}
"""
    hld(root, broken)
    result = fabrikate.install(root, settings())
    errors = {e.component: str(e) for e in result.failures}
    expected = {
        "keep": "version 'v404' not found",
        "nobranch": "branch 'nope' not found",
        "nocommit": "not found",
        "nohost": "unknown host",
        "refused": "connection refused",
        "notrepo": "not a git repository",
        "nochart": "chart not found",
        "noversion": "chart version not found",
        "missing": "http 404",
        "hook": "hook before-install command 'exit 7' failed",
    }
    assert sorted(errors) == sorted(expected)
    for component, cause in expected.items():
        assert cause in errors[component], errors[component]
    assert errors["noversion"].endswith(
        "version not found; nearest versions: 0.1.0, 0.2.0 [component noversion]"
    )
    assert "main-1" in manifest(root, "keep")  # the failed update kept the earlier copy
    for line in errors.values():
        assert "Traceback" not in line


def test_failing_hook_is_reported(tmp_path: Path) -> None:
    root = hld(
        tmp_path / "hld",
        "  - name: sub\n    source: ./sub\n",
        **{
            "sub/component.yaml": "name: sub\nhooks:\n  after-install: [echo hi > marker; exit 7]\n"
        },
    )
    result = fabrikate.install(root, settings())
    assert len(result.failures) == 1
    assert "after-install" in str(result.failures[0]) and "exit 7" in str(result.failures[0])
    assert (root / "sub" / "marker").read_text() == "hi\n"
    skipped = fabrikate.install(root, settings(hooks="none"))
    assert skipped.ok


@pytest.mark.helm
def test_helm_repository_and_oci_charts_then_generate(
    tmp_path: Path, http_site: Http, oci_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAB_PLAIN_HTTP_REGISTRIES", oci_registry.host)
    user_helm = tmp_path / "user-helm"
    monkeypatch.setenv("HELM_CONFIG_HOME", str(user_helm))
    root = hld(
        tmp_path / "hld",
        f"""
  - {{name: old, type: helm, method: helm, source: "{http_site.charts}", path: demo,
      version: 0.1.0}}
  - {{name: new, type: helm, method: helm, source: "{http_site.charts}", path: demo}}
  - {{name: oci, type: helm, method: helm, source: "{oci_registry.url}/charts", path: demo,
      version: 0.1.0}}
""",
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    # The version placed, and what was asked when it differs.
    assert {i.component: i.detail for i in result.installed} == {
        "old": "demo 0.1.0",
        "new": "demo 0.2.0 (latest)",
        "oci": "demo 0.1.0",
    }
    chart = root / "helm_repos"
    assert "version: 0.1.0" in (chart / "old" / "Chart.yaml").read_text()
    assert "version: 0.2.0" in (chart / "new" / "Chart.yaml").read_text()
    assert "version: 0.1.0" in (chart / "oci" / "Chart.yaml").read_text()
    assert not user_helm.exists()  # the user's helm setup is never written
    out = fabrikate.generate(root, [], settings=settings())
    assert 'version: "0.2.0"' in (out.output / "new.yaml").read_text()
    assert 'version: "0.1.0"' in (out.output / "oci.yaml").read_text()
    again = fabrikate.install(root, settings())
    assert again.ok and again.changed == 0


@pytest.mark.helm
def test_chart_ranges_say_what_they_resolved_to_and_misses_name_the_closest(
    tmp_path: Path, http_site: Http
) -> None:
    root = hld(
        tmp_path / "hld",
        f"""
  - {{name: range, type: helm, method: helm, source: "{http_site.charts}", path: demo,
      version: ">=0.1.0"}}
""",
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    assert [i.detail for i in result.installed] == ["demo 0.2.0 (from >=0.1.0)"]
    hld(
        root,
        f"""
  - {{name: typo, type: helm, method: helm, source: "{http_site.charts}", path: dmeo}}
  - {{name: far, type: helm, method: helm, source: "{http_site.charts}", path: demo,
      version: "^3.0.0"}}
""",
    )
    errors = {e.component: str(e) for e in fabrikate.install(root, settings()).failures}
    assert errors["typo"].endswith("chart not found; closest names: demo [component typo]")
    assert "chart version not found; nearest versions: 0.1.0, 0.2.0" in errors["far"]


@pytest.mark.helm
def test_git_chart_dependencies_are_built(tmp_path: Path, http_site: Http) -> None:
    deps = (
        f"dependencies:\n  - name: demo\n    version: 0.1.0\n    repository: {http_site.charts}\n"
    )
    repo = tmp_path / "charts-repo"
    make_repo(
        repo,
        {
            "charts/web/Chart.yaml": f"apiVersion: v2\nname: web\nversion: 1.0.0\n{deps}",
            "charts/web/templates/x.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: w}\n",
        },
    )
    root = hld(
        tmp_path / "hld",
        f'  - {{name: web, type: helm, method: git, source: "{repo.as_uri()}",\n'
        "      path: charts/web}\n",
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    assert list((root / "helm_repos/web/charts/web/charts").glob("demo-0.1.0.tgz"))

    # A dependency that cannot be built fails before the new copy replaces the earlier one.
    missing = deps.replace("0.1.0", "9.9.9")
    write_tree(
        repo, {"charts/web/Chart.yaml": f"apiVersion: v2\nname: web\nversion: 2.0.0\n{missing}"}
    )
    git(repo, "commit", "-qam", "a missing dependency")
    failed = fabrikate.install(root, settings(), update=True)  # the lock pins the old commit
    assert len(failed.failures) == 1 and "dependency" in str(failed.failures[0])
    assert "version: 1.0.0" in (root / "helm_repos/web/charts/web/Chart.yaml").read_text()
    assert list((root / "helm_repos/web/charts/web/charts").glob("demo-0.1.0.tgz"))
    assert not list((root / "helm_repos").glob(".*"))  # no staging folder left behind


def test_static_http_download(tmp_path: Path, http_site: Http) -> None:
    root = hld(
        tmp_path / "hld",
        f"  - {{name: cm, type: static, method: http, source: {http_site.url}/files/cm.yaml}}\n",
    )
    assert fabrikate.install(root, settings()).ok
    assert "downloaded" in (root / "components/cm/cm.yaml").read_text()
    hld(
        root,
        f"  - {{name: cm, type: static, method: http, source: {http_site.url}/files/x.yaml}}\n",
    )
    failed = fabrikate.install(root, settings())
    assert "http 404" in str(failed.failures[0])
    assert "downloaded" in (root / "components/cm/cm.yaml").read_text()  # error page not saved


def test_private_git_with_access_yaml_and_masked_token(
    tmp_path: Path, git_http: GitHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = git_http.repo(f"private-{tmp_path.name}", APP)
    root = hld(
        tmp_path / "hld",
        f"  - {{name: private, method: git, source: {url}}}\n",
        **{"access.yaml": f"{url}: PRIVATE_TOKEN\n"},
    )
    runner = CliRunner()
    unset = runner.invoke(main, ["install", str(root)])
    assert unset.exit_code == 1
    assert "PRIVATE_TOKEN" in unset.output and "[component private]" in unset.output

    monkeypatch.setenv("PRIVATE_TOKEN", "wrong-token-value")
    wrong = runner.invoke(main, ["install", str(root)])
    assert wrong.exit_code == 1 and "authentication" in wrong.output
    assert "wrong-token-value" not in wrong.output

    monkeypatch.setenv("PRIVATE_TOKEN", TOKEN)
    done = runner.invoke(main, ["-v", "install", str(root)])
    assert done.exit_code == 0, done.output
    assert "main-1" in manifest(root, "private")
    assert TOKEN not in done.output
    for path in [*root.rglob("*"), *(tmp_path.parent.rglob("config"))]:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_chart_archive_must_match_the_index_digest(tmp_path: Path, http_site: Http) -> None:
    site = tmp_path / "site"
    shutil.copytree(http_site.root / "charts", site / "charts")
    index = site / "charts/index.yaml"
    index.write_text(re.sub(r"digest: [0-9a-f]+", "digest: " + "ab" * 32, index.read_text()))
    with static_server(site) as url:
        root = hld(
            tmp_path / "hld",
            f"  - {{name: c, type: helm, method: helm, source: {url}/charts, path: demo, "
            "version: 0.1.0}\n",
        )
        result = fabrikate.install(root, settings())
    assert len(result.failures) == 1
    assert "does not match the digest" in str(result.failures[0])
    assert not (root / "helm_repos/c").exists()


@pytest.mark.helm
def test_private_chart_repository_with_access_yaml_and_masked_token(
    tmp_path: Path, private_site: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An exact version is downloaded directly; the latest one goes through helm pull.
    root = hld(
        tmp_path / "hld",
        f"""
  - {{name: exact, type: helm, method: helm, source: "{private_site.charts}", path: demo,
      version: 0.1.0}}
  - {{name: latest, type: helm, method: helm, source: "{private_site.charts}", path: demo}}
""",
        **{"access.yaml": f"{private_site.charts}: CHART_TOKEN\n"},
    )
    runner = CliRunner()
    monkeypatch.setenv("CHART_TOKEN", "wrong-token-value")
    wrong = runner.invoke(main, ["install", str(root)])
    assert wrong.exit_code == 1
    assert wrong.output.count("authentication required") == 2, wrong.output
    assert "wrong-token-value" not in wrong.output

    monkeypatch.setenv("CHART_TOKEN", TOKEN)
    done = runner.invoke(main, ["-v", "install", str(root)])
    assert done.exit_code == 0, done.output
    assert "version: 0.1.0" in (root / "helm_repos/exact/Chart.yaml").read_text()
    assert "version: 0.2.0" in (root / "helm_repos/latest/Chart.yaml").read_text()
    assert TOKEN not in done.output
    for path in [*root.rglob("*"), *Cache.default().root.rglob("*")]:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path

    # Without access.yaml, the user's own helm alias for the same URL lends its credentials.
    user_helm = tmp_path / "user-helm"
    write_tree(
        user_helm,
        {
            "repositories.yaml": f"""
                apiVersion: ""
                repositories:
                  - name: mine
                    url: {private_site.charts}
                    username: me
                    password: {TOKEN}
                """
        },
    )
    monkeypatch.setenv("HELM_CONFIG_HOME", str(user_helm))
    (root / "access.yaml").unlink()
    shutil.rmtree(Cache.default().root / "charts")
    shutil.rmtree(root / "helm_repos")
    again = fabrikate.install(root, settings())
    assert again.ok, again.failures
    assert "version: 0.2.0" in (root / "helm_repos/latest/Chart.yaml").read_text()


def test_private_remote_root_uses_the_root_access_yaml(
    tmp_path: Path, git_http: GitHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = git_http.repo(f"root-{tmp_path.name}", APP)
    pointer = write_tree(
        tmp_path / "pointer",
        {
            "component.yaml": f'name: wrapper\nmethod: git\nsource: "{url}"\n',
            "access.yaml": f"{url}: ROOT_TOKEN\n",
        },
    )
    monkeypatch.setenv("ROOT_TOKEN", TOKEN)
    result = fabrikate.install(pointer, settings())
    assert result.ok, result.failures
    assert "main-1" in manifest(pointer, "wrapper")
    out = fabrikate.generate(pointer, [], settings=settings())
    assert "main-1" in (out.output / "app.yaml").read_text()
    for path in pointer.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_cache_serves_pinned_refs_with_servers_gone(
    tmp_path: Path, app_repo: dict[str, str]
) -> None:
    from tests.fixtures.servers import build_chart_site, static_server

    site = build_chart_site(tmp_path / "site")
    with static_server(site) as url:
        subs = f"""
  - {{name: app, method: git, source: "{app_repo["url"]}", version: {app_repo["first"]}}}
  - {{name: chart, type: helm, method: helm, source: "{url}/charts", path: demo, version: 0.2.0}}
  - {{name: head, method: git, source: "{app_repo["url"]}"}}
"""
        first = hld(tmp_path / "one", subs)
        assert fabrikate.install(first, settings()).ok
    shutil.rmtree(Path(app_repo["url"].removeprefix("file://")))
    second = hld(tmp_path / "two", subs)
    result = fabrikate.install(second, settings())
    assert [e.component for e in result.failures] == ["head"]  # a branch needs the server
    assert "main-1" in manifest(second, "app")
    assert (second / "helm_repos/chart/Chart.yaml").is_file()
    offline = fabrikate.install(second, settings(offline=True))
    assert offline.ok, offline.failures  # --offline uses the cached default branch
    missing = hld(tmp_path / "three", f'  - {{name: x, method: git, source: "{url}/x.git"}}\n')
    failed = fabrikate.install(missing, settings(offline=True))
    assert "--offline" in str(failed.failures[0])


def test_concurrent_installs_share_one_cache(tmp_path: Path, app_repo: dict[str, str]) -> None:
    import subprocess
    import sys

    subs = "".join(
        f'  - {{name: c{i}, method: git, source: "{app_repo["url"]}", version: v1}}\n'
        for i in range(4)
    )
    roots = [hld(tmp_path / f"t{i}", subs) for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fabrikate", "install", str(r)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in roots
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for root in roots:
        assert "main-1" in manifest(root, "c3")


def test_disabled_and_root_pointer(tmp_path: Path, app_repo: dict[str, str]) -> None:
    url = app_repo["url"]
    root = hld(
        tmp_path / "hld",
        f'  - {{name: skip, method: git, source: "{url}"}}\n'
        f'  - {{name: prodskip, method: git, source: "{url}"}}\n',
        **{
            "config/common.yaml": "subcomponents:\n  skip:\n    disabled: true\n",
            "config/prod.yaml": "subcomponents:\n  prodskip:\n    disabled: true\n",
        },
    )
    result = fabrikate.install(root, settings())
    assert result.ok and result.disabled == ["skip"]
    assert not (root / "components/skip").exists()
    assert (root / "components/prodskip").is_dir()  # install reads only common config

    pointer = write_tree(
        tmp_path / "pointer", {"component.yaml": f'name: wrapper\nmethod: git\nsource: "{url}"\n'}
    )
    assert fabrikate.install(pointer, settings()).ok
    out = fabrikate.generate(pointer, [], settings=settings())
    assert "main-3" in (out.output / "app.yaml").read_text()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", "--upload-pack=touch /tmp/x"),
        ("source", "ext::sh -c touch% /tmp/pwned"),
        ("branch", "--orphan"),
        ("version", "-x"),
        ("branch", "../../../escape"),
    ],
)
def test_option_like_sources_are_refused(tmp_path: Path, field: str, value: str) -> None:
    fields = {"source": "file:///nowhere.git", field: value}
    body = ", ".join(f'{k}: "{v}"' for k, v in fields.items())
    root = hld(tmp_path / "hld", f"  - {{name: evil, method: git, {body}}}\n")
    result = fabrikate.install(root, settings())
    assert len(result.failures) == 1
    message = str(result.failures[0])
    assert any(why in message for why in ("starts with '-'", "runs commands", "not a valid"))
    assert not (tmp_path / "escape").exists()


def test_cli_summary_and_cache_commands(tmp_path: Path, app_repo: dict[str, str]) -> None:
    root = hld(tmp_path / "hld", f'  - {{name: app, method: git, source: "{app_repo["url"]}"}}\n')
    runner = CliRunner()
    done = runner.invoke(main, ["install", str(root), "-j", "2"])
    assert done.exit_code == 0, done.output
    assert "1 source (1 updated" in done.output and "0 failed" in done.output
    info = runner.invoke(main, ["cache", "info"])
    assert "git: 1 entry" in info.output and "checkouts: 1 entry" in info.output
    assert "parsed: 2 entries" in info.output  # the parsed YAML of the two definitions
    assert "validated" not in info.output  # the schema checks are precompiled, not cached
    listed = sum(int(n) for n in re.findall(r": (\d+) entr(?:y|ies)", info.output))
    pruned = runner.invoke(main, ["cache", "prune"])
    assert f"removed {listed} entries" in pruned.output

    assert "empty" in runner.invoke(main, ["cache", "info"]).output
