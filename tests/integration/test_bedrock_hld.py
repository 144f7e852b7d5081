"""A Bedrock-scaffolded HLD renders (issue 12): the exact commands bedrock-cli's
``hld reconcile`` runs (src/commands/hld/reconcile.ts), then ``fab install`` and
``fab generate`` as its manifest-generation pipeline runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.trees import git, make_repo

pytestmark = pytest.mark.helm

# The service's chart repository: a Fabrikate definition wrapping a chart, as Bedrock's
# "Building Helm Charts for Bedrock CLI" guide lays it out.
CHART_REPO = {
    "fabrikate/component.yaml": "name: app\ntype: helm\nmethod: local\npath: /helm-chart/app\n",
    "fabrikate/helm-chart/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "fabrikate/helm-chart/app/values.yaml": "image: {repository: app, tag: latest}\nserviceName: app\n",
    "fabrikate/helm-chart/app/templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.serviceName }}
spec:
  selector: {matchLabels: {app: {{ .Values.serviceName }}}}
  template:
    metadata: {labels: {app: {{ .Values.serviceName }}}}
    spec:
      containers:
      - name: app
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
""",
}


def reconcile(hld: Path, repository: str, service: str, ring: str, chart_git: str) -> None:
    """bedrock-cli's reconcile, command for command."""
    repo_in_hld = hld / repository
    svc = repo_in_hld / service
    ring_path = svc / ring
    commands = [
        (
            hld,
            f"mkdir -p {repository} && fab add {repository} --path ./{repository} --method local",
        ),
        (
            repo_in_hld,
            f"mkdir -p {service} config && fab add {service} --path ./{service} --method local "
            "--type component && touch ./config/common.yaml",
        ),
        (
            svc,
            f"mkdir -p {ring} config && fab add {ring} --path ./{ring} --method local "
            "--type component && touch ./config/common.yaml",
        ),
        (ring_path, f"fab add chart --source {chart_git} --path fabrikate --branch main"),
        (
            ring_path,
            "mkdir -p config static && fab add static --path ./static --method local "
            "--type static && touch ./config/common.yaml",
        ),
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for cwd, command in commands:
        subprocess.run(["sh", "-c", command], cwd=cwd, env=env, check=True, capture_output=True)
    middleware = {
        "apiVersion": "traefik.containo.us/v1alpha1",
        "kind": "Middleware",
        "metadata": {"name": f"{service}-{ring}"},
        "spec": {"stripPrefix": {"forceSlash": False, "prefixes": [f"/{service}"]}},
    }
    (ring_path / "static" / "middlewares.yaml").write_text(yaml.safe_dump(middleware))


def fab(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "fab"), *args], cwd=cwd, capture_output=True, text=True
    )


def test_a_bedrock_scaffolded_hld_installs_and_renders(tmp_path: Path) -> None:
    chart_work = tmp_path / "chart-work"
    make_repo(chart_work, CHART_REPO)
    bare = tmp_path / "chart.git"
    git(tmp_path, "clone", "-q", "--bare", str(chart_work), str(bare))
    hld = tmp_path / "hld"
    make_repo(hld, {"component.yaml": "name: hld\n"})
    reconcile(hld, "fabrikate-app", "frontend", "dev", bare.as_uri())
    assert (hld / "fabrikate-app" / "config" / "common.yaml").read_text() == ""  # touched
    installed = fab(hld, "install")
    assert installed.returncode == 0, installed.stderr
    generated = fab(hld, "generate", "prod")
    assert generated.returncode == 0, generated.stderr
    out = hld / "generated" / "prod" / "fabrikate-app" / "frontend" / "dev"
    chart = out / "chart" / "app.yaml"
    assert "kind: Deployment" in chart.read_text() and 'image: "app:latest"' in chart.read_text()
    assert "kind: Middleware" in (out / "static.yaml").read_text()
