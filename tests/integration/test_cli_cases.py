"""Self-describing CLI cases: each tests/data/cases/<name>/case.yaml names its command, exit code
and the one error line expected. Earlier output must survive every failure."""

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
from fabrikate.records import open_store
from tests.fixtures.trees import git, make_repo

CASES = Path(__file__).resolve().parent.parent / "data" / "cases"


def load_cases() -> list:
    params = []
    for case in sorted(CASES.iterdir()):
        spec = yaml.safe_load((case / "case.yaml").read_text())
        marks = [pytest.mark.helm] if spec.get("helm") else []
        params.append(pytest.param(case, spec, id=case.name, marks=marks))
    return params


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes, every symlink's target and every folder of ``root``."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        else:
            found[rel] = path.read_bytes() if path.is_file() else "folder"
    return found


def make_fetched(tmp_path: Path, files: dict[str, str], links: dict[str, str]) -> None:
    """A bare repository ``fetched.git`` holding ``files`` and symbolic ``links``."""
    work = tmp_path / "fetched-work"
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    for rel, target in links.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, work / rel)
    make_repo(work)
    git(tmp_path, "clone", "-q", "--bare", str(work), "fetched.git")


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.parametrize(("case", "spec"), load_cases())
def test_case(case: Path, spec: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Optional keys: ``symlinks`` (path: target, made after the copy), ``outside`` (files made
    beside the tree, which no case may change), ``fetched`` (``files`` and ``links`` of a
    repository whose URL is ``{fetched}``), ``env`` (variables), ``stdout`` (a part of it,
    where the command reports its problems; else stdout is empty), ``absent`` (a text no
    output may hold: a secret, a raw escape), ``installs`` (the tree may gain fetched
    copies), ``loud`` (run without ``--quiet``), ``helm``. ``{root}``, ``{outside}`` and ``{fetched}`` are filled in arguments,
    link targets, fetched files and the case's YAML files. A failing case changes nothing on
    disk (but what an install fetches)."""
    root = tmp_path / case.name
    outside = tmp_path / "outside"
    values = {"root": str(root), "outside": str(outside)}
    for rel, text in (spec.get("outside") or {}).items():
        (outside / rel).parent.mkdir(parents=True, exist_ok=True)
        (outside / rel).write_text(text)
    outside.mkdir(exist_ok=True)
    values["fetched"] = (tmp_path / "fetched.git").as_uri()
    fetched = spec.get("fetched")
    if fetched:
        make_fetched(
            tmp_path,
            {rel: fill(text, values) for rel, text in (fetched.get("files") or {}).items()},
            {rel: fill(target, values) for rel, target in (fetched.get("links") or {}).items()},
        )
    shutil.copytree(case, root, ignore=shutil.ignore_patterns("case.yaml"))
    for path in root.rglob("*.yaml"):
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        if "{" in text:
            path.write_bytes(fill(text, values).encode("utf-8", "surrogateescape"))
    for link, target in (spec.get("symlinks") or {}).items():
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(fill(target, values), root / link)
    # Every case records into a real SQLite store: a failed or broken record write shows.
    records = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", records)
    for name, value in (spec.get("env") or {}).items():
        monkeypatch.setenv(name, fill(value, values))
    keep = root / "generated" / "prod" / "keep.yaml"
    keep.parent.mkdir(parents=True)
    keep.write_text("earlier output\n")
    before, before_outside = snapshot(root), snapshot(outside)
    monkeypatch.chdir(root)
    args = [fill(arg, values) for arg in spec["args"]]
    quiet = [] if spec.get("loud") else ["--quiet"]
    result = CliRunner().invoke(main, [*quiet, *args], catch_exceptions=False)
    assert result.exit_code == spec["exit"], result.stderr
    assert spec["stderr"] in result.stderr
    assert "Traceback" not in result.stderr
    if "absent" in spec:
        assert spec["absent"] not in result.stderr + result.stdout
    if spec["exit"] == 1:
        errors = [line for line in result.stderr.splitlines() if line.startswith("fab: error:")]
        assert len(errors) == (0 if "stdout" in spec else 1)
        if not spec.get("installs"):
            assert snapshot(root) == before
    assert snapshot(outside) == before_outside
    assert keep.read_text() == "earlier output\n"
    assert spec.get("stdout", "") in result.stdout
    if "stdout" not in spec:
        assert result.stdout == ""
    assert "could not write the deployment record" not in result.stderr
    if args[0] == "generate" and result.exit_code == 0 and records == os.environ["FAB_RECORDS"]:
        with open_store(records, create=False) as store:
            assert [r["outcome"] for r in store.records()] == ["succeeded"]


def test_real_process_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "component.yaml").write_text("name: app\nsubcomponents: [\n")
    proc = subprocess.run(
        [sys.executable, "-m", "fabrikate", "generate", "-C", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("fab: error: ")
    assert proc.stdout == ""


def test_version_shows_fab_and_helm(helm: str) -> None:
    result = CliRunner().invoke(main, ["version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("fab 0.")
    assert "helm v" in result.stdout


def test_timings_lists_phases_and_components(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "component.yaml").write_text(
        "name: app\nsubcomponents:\n- name: files\n  type: static\n  path: m\n"
    )
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.yaml").write_text("kind: A\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["generate", "--timings"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    for phase in ("load", "render", "inject", "write", "total"):
        assert any(line.strip().startswith(phase) for line in lines), phase
    assert any(line.endswith("  files") for line in lines)
    assert (tmp_path / "generated" / "common" / "files.yaml").read_text() == "---\nkind: A\n"
