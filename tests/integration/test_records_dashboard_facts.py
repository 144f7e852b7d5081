"""What the dashboard reads from a record, written by real ``fab generate`` runs of
examples/trivia in a git repository: the ring, the ring map, per-object digests, the source
change and who merged it; and the reproduce commands really render the same output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fabrikate.cli.main import main
from fabrikate.records import open_store, validate
from fabrikate.records.journey import journey, reproduce
from fabrikate.records.objects import compare_objects, object_digest
from tests.fixtures.trees import git

REPO = Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.helm


@pytest.fixture
def hld(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """examples/trivia in a repository whose main branch got a merge commit with trailers."""
    root = tmp_path / "hld"
    shutil.copytree(REPO / "examples" / "trivia", root, ignore=shutil.ignore_patterns("generated"))
    (root / ".gitignore").write_text("generated/\ncomponents/\nhelm_repos/\n")
    (root / "bedrock.yaml").write_text("rings:\n  master:\n    isDefault: true\n  develop: {}\n")
    (root / "rings.yaml").write_text("rings:\n  prod: {branch: main, default: true}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "trivia")
    git(root, "checkout", "-q", "-b", "update")
    (root / "config" / "prod.yaml").write_text((root / "config" / "prod.yaml").read_text() + "\n")
    git(root, "commit", "-q", "-am", "bump")
    git(root, "checkout", "-q", "main")
    git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "update",
        "-m",
        "Merge pull request #57 from o/update\n\n"
        "Source-Commit: ABCDEF0123456789ABCDEF0123456789ABCDEF01\n"
        "Source-Repo: https://user:token@github.com/org/trivia.git\n"
        "Source-Commit-Time: 2026-03-01T10:00:00+02:00",
    )
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(bare))
    git(root, "remote", "add", "origin", str(bare))
    monkeypatch.setenv("FAB_RECORDS", f"sqlite:///{tmp_path / 'records.db'}")
    return root


def _generate(root: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, ["generate", "-C", str(root), *args, "prod"])
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    with open_store(os.environ["FAB_RECORDS"]) as store:
        return store.records(limit=1)[0]


def test_generate_records_ring_ring_map_objects_and_source(hld: Path, monkeypatch) -> None:
    record = _generate(hld)
    assert validate(record) == [] and record["schema"] == "fabrikate.deployment-record/v2"
    assert record["ring"] == "prod"  # rings.yaml maps main to prod
    assert record["rings"] == {
        "declared": ["master", "develop", "prod"],  # bedrock.yaml, then rings.yaml
        "default": "prod",
        "branches": {"prod": "main", "master": "master", "develop": "develop"},
    }
    assert record["source"] == {
        "commit": "abcdef0123456789abcdef0123456789abcdef01",
        "commitTime": "2026-03-01T08:00:00+00:00",
        "repo": "https://github.com/org/trivia.git",
    }
    assert "token" not in str(record)
    assert record["hld"]["pr"] == "57" and record["hld"]["mergedBy"] == "Test Committer"
    # One entry per object in the files written, with the digest of what the file holds.
    out = hld / record["output"]["path"]
    first = _objects(out)
    assert _entries(record) == first and len(first) >= 4
    assert {o["component"] for o in record["objects"]} >= {"hello-world-full-stack/backend"}

    # --ring/FAB_RING win over the map; an edit of one object shows in the object diff.
    assert _generate(hld, "--ring", "hotfix")["ring"] == "hotfix"
    monkeypatch.setenv("FAB_RING", "canary")
    prod = hld / "config" / "prod.yaml"
    text = prod.read_text()
    assert text.count('tag: "1.3.1"') == 1, "examples/trivia/config/prod.yaml pins one tag"
    prod.write_text(text.replace('tag: "1.3.1"', 'tag: "1.3.2"'))
    after = _generate(hld)
    assert after["ring"] == "canary"
    diff = compare_objects(record, after)
    second = _objects(out)
    assert _entries(after) == second
    changed = {key for key in first if first[key] != second[key]}
    assert {(a["file"], a["kind"], a["name"]) for a, _ in diff.changed} == changed
    assert ("hello-world-full-stack/frontend.yaml", "Deployment") in {k[:2] for k in changed}
    assert not diff.added and not diff.removed
    assert diff.unchanged == len(first) - len(changed) > 0


def test_without_a_ring_map_the_ring_is_the_branch(hld: Path) -> None:
    (hld / "rings.yaml").unlink()
    (hld / "bedrock.yaml").unlink()
    record = _generate(hld)
    assert record["ring"] == "main" and record["rings"] is None
    # A v1 record (before rings, objects, source and mergedBy) is still valid and readable.
    old = {k: v for k, v in record.items() if k not in ("rings", "objects", "source")}
    old["schema"] = "fabrikate.deployment-record/v1"
    old["hld"] = {k: v for k, v in record["hld"].items() if k != "mergedBy"}
    assert validate(old) == []
    assert [s.name for s in journey(old, [])][:4] == [
        "source",
        "image",
        "pull-request",
        "generated",
    ]
    assert not compare_objects(old, record).known
    assert validate(dict(record, schema="fabrikate.deployment-record/v3")) != []


def test_reproduce_renders_the_same_digest(hld: Path, tmp_path: Path) -> None:
    record = _generate(hld)
    work = tmp_path / "again"
    work.mkdir()
    fab = str(Path(sys.executable).with_name("fab"))
    script = "\n".join(["set -e", *reproduce(record)]).replace("fab ", f"{fab} ")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FAB_RECORDS": "none"}
    env["FAB_HELM"] = os.environ["FAB_HELM"]
    done = subprocess.run(["sh", "-c", script], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    again = _digest(work / "hld" / record["output"]["path"])
    assert again == _digest(hld / record["output"]["path"])


def _objects(out: Path) -> dict[tuple[str, str, str], str]:
    """(file, kind, name) -> digest of every object in the written files."""
    found = {}
    for path in sorted(out.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                key = (path.relative_to(out).as_posix(), doc["kind"], doc["metadata"]["name"])
                found[key] = object_digest(doc)
    return found


def _entries(record: dict) -> dict[tuple[str, str, str], str]:
    return {(o["file"], o["kind"], o["name"]): o["digest"] for o in record["objects"]}


def _digest(folder: Path) -> str:
    from fabrikate.records.build import output_digest

    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".fabrikate-output"
    }
    return output_digest(files)
