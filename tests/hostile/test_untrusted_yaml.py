"""Helm output holding values PyYAML cannot make (the date 2020-02-30, ``!!int x``) is read as
Go reads it: generate, validate, diff, records and the dashboard end with exit 0 or one error
line, never an internal error, and the manifest keeps helm's bytes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from tests.fixtures.trees import git, write_tree

DATED = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, annotations: {built: 2020-02-30}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:1.0"}]
"""
UNMADE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: weird\ndata:\n  n: !!int x\n"


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code != 3 and "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


def tree(root: Path, unmade: bool) -> Path:
    """A helm component whose chart renders a dated annotation (and a CRD file helm does not
    parse holding ``!!int x``), its namespace injected, the namespace itself a date."""
    files = {
        "component.yaml": "name: app\nsubcomponents:\n- name: odd\n  type: helm\n  path: ./odd\n",
        "config/common.yaml": (
            "subcomponents:\n  odd:\n    namespace: 2020-02-30\n    injectNamespace: true\n"
        ),
        "odd/Chart.yaml": "apiVersion: v2\nname: odd\nversion: 0.1.0\ncreated: 2020-02-30\n",
        "odd/templates/web.yaml": DATED,
    }
    if unmade:
        files["odd/crds/weird.yaml"] = UNMADE
    return write_tree(root, files)


def helm_documents(helm: str, chart: Path) -> str:
    command = [helm, "template", "odd", str(chart), "--include-crds", "--namespace", "2020-02-30"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.mark.helm
def test_generate_and_records_read_dates_as_strings_and_keep_helms_bytes(
    tmp_path: Path, helm: str
) -> None:
    root = tree(tmp_path / "hld", unmade=True)
    db = f"sqlite:///{tmp_path / 'records.db'}"
    code, _, err = fab("generate", "-C", str(root), "--records", db)
    assert code == 0, err
    written = (root / "generated/common/odd.yaml").read_text()
    printed = helm_documents(helm, root / "odd")
    for value in ("  n: !!int x\n", "annotations: {built: 2020-02-30}"):
        assert value in printed and value in written  # helm's bytes, unchanged
    assert 'metadata: {namespace: "2020-02-30", name: web,' in written  # quoted: not a date
    listed = json.loads(fab("records", "list", "--records", db, "-o", "json")[1])
    code, out, err = fab("records", "show", listed["items"][0]["id"], "--records", db)
    assert code == 0, err
    record = json.loads(out)
    assert [i["image"] for i in record["images"]] == ["web:1.0"]  # the dated workload is read
    assert [o["namespace"] for o in record["objects"]] == ["2020-02-30"]
    assert record["components"][1]["chart"] == {"name": "odd", "version": "0.1.0"}  # dated too
    assert fab("records", "diff", record["id"], record["id"], "--records", db)[0] == 0
    from starlette.testclient import TestClient

    from fabrikate.dashboard.app import create_app
    from fabrikate.dashboard.settings import DashboardSettings

    with TestClient(create_app(DashboardSettings(records=db))) as web:
        page = web.get(f"/deployments/{record['id']}")
        assert page.status_code == 200 and "web:1.0" in page.text


@pytest.mark.helm
def test_validate_reads_a_date_as_go_does_and_names_an_unmakeable_value(tmp_path: Path) -> None:
    dated = tree(tmp_path / "dated", unmade=False)
    code, _, err = fab("generate", "--validate", "-C", str(dated))
    assert code == 0 and "validated 1 object" in err, err
    root = tree(tmp_path / "hld", unmade=True)
    code, _, err = fab("generate", "--validate", "-C", str(root))
    problems = [line for line in err.splitlines() if line.startswith("fab: error:")]
    assert code == 1
    output = root / "generated/common/odd.yaml"
    line = output.read_text().splitlines().index("  n: !!int x") + 1
    assert problems[0] == (
        f"fab: error: {output}:{line}: invalid YAML: cannot decode 'x' as a !!int [component odd]"
    )


@pytest.mark.helm
def test_diff_compares_dated_objects_and_unmakeable_documents_on_both_sides(
    tmp_path: Path,
) -> None:
    top = tmp_path / "repo"
    tree(top / "hld", unmade=True)
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    git(top, "checkout", "-q", "-b", "feature")
    chart = top / "hld/odd"
    (chart / "templates/web.yaml").write_text(DATED.replace("2020-02-30", "2021-02-31"))
    (chart / "crds/weird.yaml").write_text(UNMADE.replace("!!int x", "!!int y"))
    git(top, "commit", "-q", "-am", "head")
    for head in (["--head", "feature"], []):  # a commit, then the working tree
        code, out, err = fab("diff", "-C", str(top / "hld"), "--base", "main", *head, "-o", "json")
        assert code == 0, err
        objects = json.loads(out)["environments"][0]["objects"]
        changes = {(o["kind"], o["status"]): o["diff"] for o in objects}
        assert (
            "-    built: '2020-02-30'\n+    built: '2021-02-31'" in changes["Deployment", "changed"]
        )
        assert "-  n: !!int x\n+  n: !!int y" in changes["(document)", "changed"]  # as text
