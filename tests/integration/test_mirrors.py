"""The mirror map on loopback: a chart repository served at a second URL, a git chart whose
dependency names a retired URL, a fetched definition's chart source, an OCI registry, tokens
and install hooks. The "original" URLs are loopback ports nothing listens on (a rewrite that
did not happen fails there), or retired hosts rewritten before anything is contacted."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.hld import installs
from fabrikate.records import open_store, validate
from fabrikate.settings import Settings
from tests.fixtures.servers import TOKEN, Http, Registry, static_server
from tests.fixtures.trees import git, make_repo, write_tree

DEAD = "http://127.0.0.1:9"  # the discard port: connection refused
RETIRED = "https://kubernetes-charts.storage.googleapis.com"


def settings(**overrides: object) -> Settings:
    return Settings.from_env(jobs=2, **overrides)


def hld(root: Path, subcomponents: str, mirrors: str = "", **files: str) -> Path:
    write_tree(root, {"component.yaml": "name: root\nsubcomponents:\n" + subcomponents, **files})
    if mirrors:
        write_tree(root, {"mirrors.yaml": mirrors})
    return root


def fab(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.mark.helm
def test_a_mirror_serves_a_chart_repository_and_records_keep_both_urls(
    tmp_path: Path, http_site: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    with static_server(http_site.root) as mirror:
        root = hld(
            tmp_path / "hld",
            f"""
  - {{name: direct, type: helm, method: helm, source: "{http_site.charts}", path: demo,
      version: 0.1.0}}
  - {{name: mirrored, type: helm, method: helm, source: "{DEAD}/charts/", path: demo,
      version: ">=0.1.0"}}
""",
            mirrors=f"mirrors:\n  - {{from: '{DEAD}/charts', to: '{mirror}/charts'}}\n",
        )
        code, out = fab("-v", "install", str(root))
    assert code == 0, out
    rule = f"rule 1 of {root / 'mirrors.yaml'}"
    assert f"mirror: mirrored: {DEAD}/charts/ -> {mirror}/charts/ ({rule})" in out
    assert "mirror: direct" not in out
    assert "version: 0.2.0" in (root / "helm_repos/mirrored/Chart.yaml").read_text()
    note = installs.read(root / "helm_repos/mirrored", "helm")
    assert note is not None and (note.source, note.mirror) == (
        f"{DEAD}/charts/",
        f"{mirror}/charts/",
    )
    lock = (root / "fabrikate.lock").read_text()
    assert f"source: {DEAD}/charts/" in lock and f"mirror: {mirror}/charts/" in lock

    # generate finds the copy as asked for (the note keeps the original URL); the record keeps
    # the original URL and the one it came from beside it.
    db = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", db)
    result = fabrikate.generate(root, ["prod"], settings=settings())
    assert 'version: "0.2.0"' in (result.output / "mirrored.yaml").read_text()
    with open_store(db) as store:
        [record] = store.records()
    assert validate(record) == []
    parts = {c["name"]: (c["source"], c["mirror"]) for c in record["components"]}
    assert parts["mirrored"] == (f"{DEAD}/charts/", f"{mirror}/charts/")
    assert parts["direct"] == (http_site.charts, None)


@pytest.mark.helm
def test_a_git_charts_retired_dependency_goes_where_the_map_points(
    tmp_path: Path, http_site: Http
) -> None:
    # helm/charts style: requirements.yaml names the retired host; Chart.lock pins 0.1.0 of a
    # range that 0.2.0 also satisfies, so only a build from the lock gives 0.1.0.
    repo = tmp_path / "charts-repo"
    make_repo(
        repo,
        {
            "stable/web/Chart.yaml": "apiVersion: v1\nname: web\nversion: 1.0.0\n",
            "stable/web/requirements.yaml": f"""
                dependencies:
                  - name: demo
                    version: ">=0.1.0"
                    repository: {RETIRED}/
                  - name: demo
                    alias: again
                    version: 0.2.0
                    repository: "@stable"
                """,
            "stable/web/requirements.lock": f"""
                dependencies:
                  - name: demo
                    version: 0.1.0
                    repository: {RETIRED}/
                  - name: demo
                    version: 0.2.0
                    repository: "@stable"
                digest: sha256:0
                """,
            "stable/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: w}\n",
        },
    )
    sub = (
        f'  - {{name: web, type: helm, method: git, source: "{repo.as_uri()}", path: stable/web}}\n'
    )
    mirrors = (
        "builtin: false\nmirrors:\n"
        f"  - {{from: '{RETIRED}', to: '{http_site.charts}'}}\n"
        f"  - {{from: 'https://charts.helm.sh/stable', to: '{http_site.charts}'}}\n"
    )
    root = hld(tmp_path / "hld", sub, mirrors)
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    charts = root / "helm_repos/web/stable/web/charts"
    assert sorted(p.name for p in charts.iterdir()) == ["demo-0.1.0.tgz", "demo-0.2.0.tgz"]
    assert not [w for w in result.warnings if w.code == "retired-url"]
    deps = {d.name: d for d in fabrikate_lock(root)["web"].dependencies}
    assert (deps["demo"].chart_version, deps["demo"].mirror) == ("0.1.0", f"{http_site.charts}/")
    assert deps["again"].repository == "@stable" and deps["again"].chart_version == "0.2.0"
    rendered = fabrikate.generate(root, ["prod"], settings=settings())
    assert rendered.output.joinpath("web.yaml").read_text().count("kind: ConfigMap") == 3

    # With the built-in rules off and no rule of its own, a retired URL is named with where its
    # charts went (offline: nothing is contacted).
    bare = hld(tmp_path / "bare", sub, "builtin: false\n")
    offline = fabrikate.install(bare, settings(offline=True))
    assert not offline.ok
    [warning] = [w for w in offline.warnings if w.code == "retired-url"]
    assert warning.component == "web"
    assert "is retired: its charts are at https://charts.helm.sh/stable/" in str(warning)


def fabrikate_lock(root: Path) -> dict:
    from fabrikate.sources.lockfile import Lock

    return Lock.read(root).entries


@pytest.mark.helm
def test_a_fetched_definitions_chart_source_is_rewritten(tmp_path: Path, http_site: Http) -> None:
    definitions = tmp_path / "definitions"
    make_repo(
        definitions,
        {
            "demo/component.yaml": f"""
                name: demo
                subcomponents:
                  - {{name: chart, type: helm, method: helm, source: "{DEAD}/charts",
                      path: demo, version: 0.2.0}}
                """
        },
    )
    # The definitions repository is named at a dead URL too: git goes through the map as well.
    root = hld(
        tmp_path / "hld",
        f'  - {{name: defs, method: git, source: "{DEAD}/git/definitions", path: demo}}\n',
        "mirrors:\n"
        f"  - {{from: '{DEAD}/git/', to: '{tmp_path.as_uri()}/'}}\n"
        f"  - {{from: '{DEAD}', to: '{http_site.url}'}}\n",
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    by_id = {i.component: i for i in result.installed}
    assert (by_id["defs"].source, by_id["defs"].mirror) == (
        f"{DEAD}/git/definitions",
        definitions.as_uri(),
    )
    assert (by_id["defs/chart"].source, by_id["defs/chart"].mirror) == (
        f"{DEAD}/charts",
        http_site.charts,
    )
    assert git(root / "components/defs", "remote", "get-url", "origin") == definitions.as_uri()
    out = fabrikate.generate(root, ["prod"], settings=settings())
    assert 'version: "0.2.0"' in (out.output / "defs" / "chart.yaml").read_text()


@pytest.mark.helm
def test_an_oci_registry_mirror(
    tmp_path: Path, oci_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAB_PLAIN_HTTP_REGISTRIES", oci_registry.host)
    root = hld(
        tmp_path / "hld",
        '  - {name: demo, type: helm, method: helm, source: "oci://127.0.0.1:9/charts", '
        "path: demo, version: 0.1.0}\n",
        f"mirrors:\n  - {{from: 'oci://127.0.0.1:9', to: '{oci_registry.url}'}}\n",
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    assert "version: 0.1.0" in (root / "helm_repos/demo/Chart.yaml").read_text()
    entry = fabrikate_lock(root)["demo"]
    assert (entry.source, entry.mirror) == (
        "oci://127.0.0.1:9/charts",
        f"{oci_registry.url}/charts",
    )
    assert len(entry.digest) == 64


def test_a_token_goes_only_to_the_url_contacted(
    tmp_path: Path, private_site: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRROR_TOKEN", TOKEN)
    sub = f'  - {{name: cm, type: static, method: http, source: "{DEAD}/files/cm.yaml"}}\n'
    mirrors = f"mirrors:\n  - {{from: '{DEAD}', to: '{private_site.url}'}}\n"
    # A token for the URL as written is not sent to the mirror: another host.
    written = hld(
        tmp_path / "written",
        sub,
        mirrors,
        **{"access.yaml": f"{DEAD}/files/cm.yaml: MIRROR_TOKEN\n"},
    )
    refused = fabrikate.install(written, settings())
    assert ["401" in str(f) for f in refused.failures] == [True], refused.failures
    # A token for the mirror's prefix covers every URL the rule sends there.
    prefixed = hld(
        tmp_path / "prefixed",
        sub,
        mirrors,
        **{"access.yaml": f"{private_site.url}: MIRROR_TOKEN\n"},
    )
    done = fabrikate.install(prefixed, settings())
    assert done.ok, done.failures
    assert "downloaded" in (prefixed / "components/cm/cm.yaml").read_text()
    assert TOKEN not in (prefixed / "fabrikate.lock").read_text()


def test_install_hooks_run_git_through_the_mirror(tmp_path: Path) -> None:
    work = tmp_path / "app"
    make_repo(work, {"README": "mirrored\n"})
    bare = tmp_path / "mirror" / "app.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    root = hld(
        tmp_path / "hld",
        "  - {name: app, type: static, path: ./m}\n",
        f"mirrors:\n  - {{from: '{DEAD}/', to: '{(tmp_path / 'mirror').as_uri()}/'}}\n",
        **{"m/cm.yaml": "kind: ConfigMap\n"},
    )
    (root / "component.yaml").write_text(
        "name: root\nhooks:\n  before-install:\n"
        f'    - git clone -q {DEAD}/app.git cloned && echo "$FAB_MIRRORS" > used\n'
        + (root / "component.yaml").read_text().removeprefix("name: root\n")
    )
    result = fabrikate.install(root, settings())
    assert result.ok, result.failures
    assert (root / "cloned/README").read_text() == "mirrored\n"
    assert (root / "used").read_text().strip() == str(root / "mirrors.yaml")
