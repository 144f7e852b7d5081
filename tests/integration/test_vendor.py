"""`fab vendor`, then `fab install --from DIR` with every server stopped and an empty cache:
a private git server, a chart repository (a chart, a git chart's dependency), an OCI registry
and an http file, all on loopback; what is not vendored is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from tests.fixtures.servers import (
    TOKEN,
    _git_handler,
    build_chart_site,
    running_registry,
    serving,
    static_server,
)
from tests.fixtures.trees import git, make_repo, write_tree


def fab(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def served_repo(repos: Path, name: str, files: dict[str, str]) -> None:
    work = repos.parent / "work" / name
    make_repo(work, files)
    git(repos, "clone", "-q", "--bare", str(work), f"{name}.git")


@pytest.mark.helm
def test_vendor_then_install_with_every_server_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repos = tmp_path / "repos"
    repos.mkdir()
    site = build_chart_site(tmp_path / "site")
    monkeypatch.setenv("GIT_TOKEN", TOKEN)
    with (
        serving(_git_handler(repos, [])) as git_url,
        static_server(site) as charts_url,
        running_registry(tmp_path / "registry") as registry,
    ):
        monkeypatch.setenv("FAB_PLAIN_HTTP_REGISTRIES", registry.host)
        served_repo(
            repos,
            "defs",
            {
                "component.yaml": f"""
                    name: defs
                    subcomponents:
                      - {{name: inner, type: helm, method: helm, source: "{charts_url}/charts",
                          path: demo, version: 0.1.0}}
                    """
            },
        )
        served_repo(
            repos,
            "charts",
            {
                "web/Chart.yaml": f"""
                    apiVersion: v2
                    name: web
                    version: 1.0.0
                    dependencies:
                      - {{name: demo, version: ">=0.1.0", repository: "{charts_url}/charts/"}}
                    """,
                "web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
            },
        )
        tree = f"""
  - {{name: defs, method: git, source: "{git_url}/defs.git", branch: main}}
  - {{name: web, type: helm, method: git, source: "{git_url}/charts.git", path: web}}
  - {{name: ranged, type: helm, method: helm, source: "{charts_url}/charts", path: demo}}
  - {{name: oci, type: helm, method: helm, source: "{registry.url}/charts", path: demo,
      version: 0.1.0}}
  - {{name: cm, type: static, method: http, source: "{charts_url}/files/cm.yaml"}}
"""
        files = {
            "component.yaml": "name: root\nsubcomponents:\n" + tree,
            "access.yaml": f"{git_url}/defs.git: GIT_TOKEN\n{git_url}/charts.git: GIT_TOKEN\n",
        }
        root = write_tree(tmp_path / "hld", files)
        vendor = tmp_path / "vendor"
        code, out = fab("vendor", str(vendor), "-C", str(root))
        assert code == 0, out
        assert "vendored into" in out and "2 repositories, 4 charts, 1 file" in out
        code, out = fab("generate", "-C", str(root), "prod")
        assert code == 0, out
    assert TOKEN not in "".join(p.read_text(errors="replace") for p in vendor.rglob("*.yaml"))

    # Every server is stopped: a copy of the tree with its lock, an empty cache, --from.
    monkeypatch.setenv("FAB_CACHE_DIR", str(tmp_path / "empty-cache"))
    copy = write_tree(tmp_path / "copy", files)
    shutil.copy(root / "fabrikate.lock", copy / "fabrikate.lock")
    code, out = fab("install", str(copy), "--from", str(vendor), "--locked")
    assert code == 0, out
    code, out = fab("generate", "-C", str(copy), "prod")
    assert code == 0, out
    for made in sorted((root / "generated/prod").rglob("*.yaml")):
        twin = copy / "generated/prod" / made.relative_to(root / "generated/prod")
        assert twin.read_text() == made.read_text(), made
    charts = copy / "helm_repos/web/web/charts"
    assert [p.name for p in charts.iterdir()] == ["demo-0.2.0.tgz"]

    # A mirror map can point at the vendor folder too: no --from, still no network.
    bare = write_tree(
        tmp_path / "mapped",
        {
            "component.yaml": "name: m\nsubcomponents:\n"
            f'  - {{name: c, type: helm, method: helm, source: "{charts_url}/charts", path: demo,'
            " version: 0.2.0}\n",
            "mirrors.yaml": f"mirrors:\n  - {{from: '{charts_url}', to: '"
            f"{(vendor / 'charts' / charts_url.removeprefix('http://').replace(':', '_')).as_uri()}'}}\n",
        },
    )
    code, out = fab("install", str(bare), "--offline")
    assert code == 0, out
    assert "version: 0.2.0" in (bare / "helm_repos/c/Chart.yaml").read_text()

    # What the vendor folder lacks is named, component by component.
    extra = '  - {name: more, type: static, method: http, source: "http://127.0.0.1:9/x.yaml"}\n'
    (copy / "component.yaml").write_text((copy / "component.yaml").read_text() + extra)
    code, out = fab("install", str(copy), "--from", str(vendor))
    assert code == 1
    assert f"http://127.0.0.1:9/x.yaml is not in the vendor folder {vendor}" in out
    assert "[component more]" in out

    # fab writes only a vendor folder of its own.
    foreign = tmp_path / "foreign"
    write_tree(foreign, {"notes.txt": "mine\n"})
    code, out = fab("vendor", str(foreign), "-C", str(copy), "--offline")
    assert code == 1 and "holds files fab did not write" in out
    assert (foreign / "notes.txt").read_text() == "mine\n"
