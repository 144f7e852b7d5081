"""Acceptance (issue 15, "Done when"): a tree whose definitions and chart dependencies name the
retired stable and incubator URLs installs and renders with no edit, through the built-in
rules and a mirror of charts.helm.sh on loopback.

Nothing is edited: the local tree, a fetched definitions repository (fabrikate-definitions
style) and a chart repository cloned with git (helm/charts style) all name
``https://kubernetes-charts.storage.googleapis.com`` or its incubator twin. The built-in rules
take those to https://charts.helm.sh, and the one user rule of ``mirrors.yaml`` sends that to
loopback, whose indexes (like the real ones) name their archives at https://charts.helm.sh.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.servers import Http
from tests.fixtures.trees import make_repo, write_tree

STABLE = "https://kubernetes-charts.storage.googleapis.com"
INCUBATOR = "https://kubernetes-charts-incubator.storage.googleapis.com"
FAB = str(Path(sys.executable).with_name("fab"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [FAB, *args], cwd=cwd, capture_output=True, text=True, env=os.environ, timeout=300
    )
    print(f"$ fab {' '.join(args)}  (exit {done.returncode})\n{done.stderr}{done.stdout}")
    return done


@pytest.mark.helm
def test_retired_stable_and_incubator_urls_install_and_render_with_no_edit(
    tmp_path: Path, helm_sh: Http
) -> None:
    charts = tmp_path / "helm-charts"  # helm/charts: an apiVersion v1 chart, requirements.yaml
    make_repo(
        charts,
        {
            "stable/web/Chart.yaml": "apiVersion: v1\nname: web\nversion: 2.3.4\n",
            "stable/web/requirements.yaml": f"""
                dependencies:
                  - name: redis
                    version: 10.5.7
                    repository: {STABLE}/
                  - name: schema-registry
                    version: ~1.2.0
                    repository: {INCUBATOR}/
                """,
            "stable/web/values.yaml": "redis:\n  greeting: from-web\n",
            "stable/web/templates/cm.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"
            ),
        },
    )
    definitions = tmp_path / "fabrikate-definitions"
    make_repo(
        definitions,
        {
            "definitions/ingress/component.yaml": f"""
                name: ingress
                subcomponents:
                  - name: nginx
                    type: helm
                    method: helm
                    source: {STABLE}
                    path: nginx-ingress
                    version: 1.41.3
                """,
            "definitions/web/component.yaml": f"""
                name: web
                subcomponents:
                  - name: app
                    type: helm
                    method: git
                    source: {charts.as_uri()}
                    path: stable/web
                """,
        },
    )
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": f"""
                name: platform
                subcomponents:
                  - name: ingress
                    method: git
                    source: {definitions.as_uri()}
                    path: definitions/ingress
                  - name: web
                    method: git
                    source: {definitions.as_uri()}
                    path: definitions/web
                  - name: registry
                    type: helm
                    method: helm
                    source: {INCUBATOR}/
                    path: schema-registry
                    version: 1.2.0
                """,
            "mirrors.yaml": f"mirrors:\n  - {{from: https://charts.helm.sh, to: '{helm_sh.url}'}}\n",
        },
    )

    installed = run("-v", "install", "--progress", "plain", cwd=root)
    assert installed.returncode == 0
    log = installed.stderr
    # The built-in rules are said once per retired host, each rewrite with -v.
    assert log.count(f"{STABLE} is retired: fetching it from https://charts.helm.sh/stable") == 1
    assert (
        log.count(f"{INCUBATOR} is retired: fetching it from https://charts.helm.sh/incubator") == 1
    )
    assert (
        f"mirror: ingress/nginx: {STABLE} -> https://charts.helm.sh/stable (built-in rule: a "
        f"retired host) -> {helm_sh.url}/stable (rule 1 of mirrors.yaml)"
    ) in log
    # Deprecated charts are named with their component and, where known, their successor.
    assert (
        f"chart nginx-ingress 1.41.3 of {STABLE} is deprecated: its successor is ingress-nginx "
        "from https://kubernetes.github.io/ingress-nginx [component ingress/nginx]"
    ) in log
    assert "chart redis 10.5.7 of" in log and "[component web/app]" in log
    lock = (root / "fabrikate.lock").read_text()
    assert f"source: {STABLE}" in lock and f"mirror: {helm_sh.url}/stable" in lock

    generated = run("generate", "prod", cwd=root)
    assert generated.returncode == 0
    out = root / "generated" / "prod"
    assert "name: nginx-ingress" in (out / "ingress" / "nginx.yaml").read_text()
    assert "name: schema-registry" in (out / "registry.yaml").read_text()
    web = (out / "web" / "app.yaml").read_text()
    for name in ("web", "redis", "schema-registry"):
        assert f"name: {name}\n" in web, name
    assert "greeting: from-web" in web  # the parent chart's values reach its dependency

    # The lock holds: a locked install from the same tree changes nothing.
    again = run("install", "--locked", cwd=root)
    assert again.returncode == 0 and "0 updated" in again.stderr
