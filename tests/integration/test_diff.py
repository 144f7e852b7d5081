"""``fab diff`` across two commits of a real git repository of examples/trivia."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.api.diff import MARKDOWN_LIMIT
from fabrikate.cli.main import main
from tests.conftest import HELM, REPO
from tests.fixtures.trees import git, write_tree

pytestmark = pytest.mark.helm

OLD_PASSWORD, NEW_PASSWORD = "hunter2-old-value", "hunter2-new-value"


def _secret(password: str) -> str:
    encoded = base64.b64encode(password.encode()).decode()
    return f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: db
          namespace: trivia-prod
        type: Opaque
        data:
          password: {encoded}
          user: {base64.b64encode(b"admin").decode()}
        """


STATICS = """
  - name: secrets
    type: static
    path: ./secrets
  - name: settings
    type: static
    path: ./settings
"""

SETTINGS = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: a, namespace: trivia-prod}
    data: {colour: blue, size: "3"}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: b, namespace: trivia-prod}
    data: {shape: round}
    """

# The same two objects: other document order, key order and formatting.
SETTINGS_REORDERED = """
    metadata:
      namespace: trivia-prod
      name: b
    kind: ConfigMap
    apiVersion: v1
    data:
      shape: "round"
    ---
    data:
      size: '3'
      colour: blue
    kind: ConfigMap
    metadata: {namespace: trivia-prod, name: a}
    apiVersion: v1
    """


def _configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: trivia-prod}}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding examples/trivia in hld/: ``main`` is the base, ``feature`` the
    change (checked out): a value change, an image bump, an added and a removed component, a
    reordering only, a key moved between layers with the same value, and a Secret change."""
    top = tmp_path / "repo"
    hld = top / "hld"
    shutil.copytree(REPO / "examples" / "trivia", hld, ignore=shutil.ignore_patterns("generated"))
    component = hld / "component.yaml"
    component.write_text(
        component.read_text() + STATICS + "  - name: legacy\n    type: static\n    path: ./legacy\n"
    )
    write_tree(
        hld,
        {
            "secrets/secret.yaml": _secret(OLD_PASSWORD),
            "settings/maps.yaml": SETTINGS,
            "legacy/map.yaml": _configmap("legacy"),
        },
    )
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    git(top, "checkout", "-q", "-b", "feature")
    component.write_text(
        component.read_text().replace(
            "  - name: legacy\n    type: static\n    path: ./legacy\n",
            "  - name: extras\n    type: static\n    path: ./extras\n",
        )
    )
    shutil.rmtree(hld / "legacy")
    prod = hld / "config" / "prod.yaml"
    text = prod.read_text()
    text = text.replace(
        'replicaCount: 3\n          image:\n            tag: "1.2.0"',
        'replicaCount: 4\n          image:\n            tag: "1.2.0"',
    )
    text = text.replace('tag: "1.3.1"', 'tag: "1.4.0"')
    # traefik's replicaCount moves from the root's prod.yaml to traefik2's own: same value.
    moved = "  traefik2:\n    subcomponents:\n      traefik:\n        config:\n          replicaCount: 2\n"
    assert text.endswith(moved)
    prod.write_text(text.removesuffix(moved))
    write_tree(
        hld,
        {
            "traefik2/config/prod.yaml": "subcomponents:\n  traefik:\n    config:\n      replicaCount: 2\n",
            "extras/map.yaml": _configmap("extras"),
            "settings/maps.yaml": SETTINGS_REORDERED,
            "secrets/secret.yaml": _secret(NEW_PASSWORD),
        },
    )
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "feature")
    return top


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


EXPECTED = {
    ("changed", "Deployment", "backend", "hello-world-full-stack/backend"),
    ("changed", "Deployment", "frontend", "hello-world-full-stack/frontend"),
    # The frontend chart puts the image tag in its version label.
    ("changed", "Service", "frontend", "hello-world-full-stack/frontend"),
    ("changed", "IngressRoute", "frontend", "hello-world-full-stack/frontend"),
    ("added", "ConfigMap", "extras", "extras"),
    ("removed", "ConfigMap", "legacy", "legacy"),
    ("changed", "Secret", "db", "secrets"),
}


def _no_secret_value(text: str) -> None:
    for value in (OLD_PASSWORD, NEW_PASSWORD):
        assert value not in text
        assert base64.b64encode(value.encode()).decode() not in text


def test_diff_of_a_pull_request_in_every_format_and_exit_code(repo: Path) -> None:
    hld = repo / "hld"
    status_before = git(repo, "status", "--porcelain", "--ignored")

    code, out, err = fab(
        "diff",
        "prod",
        "-C",
        str(hld),
        "--base",
        "main",
        "--head",
        "feature",
        "-o",
        "json",
        "--exit-code",
    )
    assert code == 1, err
    data = json.loads(out)
    assert data["changed"] is True
    assert data["base"]["ref"] == "main" and data["head"]["ref"] == "feature"
    (env,) = data["environments"]
    found = {(o["status"], o["kind"], o["name"], o["component"]) for o in env["objects"]}
    assert found == EXPECTED
    assert (env["added"], env["removed"], env["changed"]) == (1, 1, 5)
    # The traefik objects (key moved between layers) and the reordered ConfigMaps are unchanged:
    # trivia's 11 objects but the 4 changed ones, plus a and b.
    assert env["unchanged"] == 11 - 4 + 2
    by_name = {(o["kind"], o["name"]): o for o in env["objects"]}
    assert "-  replicas: 3\n+  replicas: 4" in by_name["Deployment", "backend"]["diff"]
    assert (
        "-        image: triviaacr.azurecr.io/client:1.3.1"
        in by_name["Deployment", "frontend"]["diff"]
    )
    assert (
        "+        image: triviaacr.azurecr.io/client:1.4.0"
        in by_name["Deployment", "frontend"]["diff"]
    )
    assert by_name["Secret", "db"]["secret_keys"] == {"password": "changed", "user": "unchanged"}
    assert "(hidden, changed)" in by_name["Secret", "db"]["diff"]
    summary = {
        (r["component"], r["kind"]): (r["added"], r["removed"], r["changed"])
        for r in env["summary"]
    }
    assert summary[("secrets", "Secret")] == (0, 0, 1)
    assert summary[("legacy", "ConfigMap")] == (0, 1, 0)
    _no_secret_value(out)

    # The working tree against the merge base with the default branch (main).
    code, text, err = fab("diff", "prod", "-C", str(hld))
    assert code == 0, err
    assert "prod: 1 added, 1 removed, 5 changed, 9 unchanged" in text
    assert "merge base with main" in text
    assert "prod: removed ConfigMap trivia-prod/legacy [legacy]" in text
    assert "secret values are hidden; keys: password changed, user unchanged" in text
    _no_secret_value(text)

    code, markdown, err = fab("diff", "prod", "-C", str(hld), "-o", "markdown")
    assert code == 0, err
    assert len(markdown) < MARKDOWN_LIMIT
    assert "| `hello-world-full-stack/frontend` | Deployment |  |  | 1 |" in markdown
    assert markdown.count("<details>") == markdown.count("</details>") == 7
    assert "```diff\n--- base\n+++ head\n" in markdown
    _no_secret_value(markdown)

    code, text, _ = fab("diff", "prod", "-C", str(hld), "--base", "feature", "--exit-code")
    assert code == 0
    assert "prod: 0 added, 0 removed, 0 changed, 15 unchanged" in text

    for extra, expected in ((["--exit-code"], 2), ([], 1)):
        code, out, err = fab("diff", "prod", "-C", str(hld), "--base", "no-such-ref", *extra)
        assert code == expected
        assert err.strip() == f"fab: error: unknown git revision 'no-such-ref' in {repo}"
        assert out == ""

    # The user's tree was never touched: no output, no leftover worktree.
    assert git(repo, "status", "--porcelain", "--ignored") == status_before
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert not (hld / "generated").exists()


def test_the_library_returns_the_same_data(repo: Path) -> None:
    result = fabrikate.diff(str(repo / "hld"), ["prod"], base="main", head="feature")
    code, out, _ = fab(
        "diff", "prod", "-C", str(repo / "hld"), "--base", "main", "--head", "feature", "-o", "json"
    )
    assert code == 0
    assert result.as_json() == json.loads(out)
    assert result.changed


def test_several_environment_sets_in_one_report(repo: Path) -> None:
    code, out, err = fab("diff", "-C", str(repo / "hld"), "-e", "dev", "-e", "prod", "-o", "json")
    assert code == 0, err
    dev, prod = json.loads(out)["environments"]
    assert dev["environments"] == ["dev"] and prod["environments"] == ["prod"]
    # dev's Deployments do not change (prod.yaml only); the statics do in every environment.
    assert {o["name"] for o in dev["objects"]} == {"extras", "legacy", "db"}
    assert prod["changed"] == 5


def test_the_base_is_rendered_from_the_cache(repo: Path, tmp_path: Path, monkeypatch) -> None:
    """After the head was generated, the base only renders what differs."""
    calls = tmp_path / "helm-calls"
    wrapper = tmp_path / "helm"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nexec {HELM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAB_HELM", str(wrapper))
    hld = repo / "hld"
    git(repo, "checkout", "-q", "main")
    assert fab("generate", "prod", "-C", str(hld), "--output-dir", str(tmp_path / "out"))[0] == 0
    assert calls.read_text().count("template") == 3
    git(repo, "checkout", "-q", "feature")
    calls.unlink()
    code, _, err = fab("diff", "prod", "-C", str(hld))
    assert code == 0, err
    # The base (main) came from the cache; the head rendered its two changed Deployments.
    assert calls.read_text().count("template") == 2
    assert os.listdir(tmp_path / "out")
