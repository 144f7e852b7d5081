"""fabrikate.lock round trips: install, lock, a change upstream, a plain and a --locked install
unchanged, `fab outdated` naming what is newer, --update changed; a tampered archive, a changed
definition and a removed component refused by --locked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.settings import Settings
from fabrikate.sources.lockfile import Lock
from tests.conftest import HELM
from tests.fixtures.servers import build_chart_site, make_chart, package, static_server
from tests.fixtures.trees import git, make_repo, write_tree


def settings(**overrides: object) -> Settings:
    return Settings.from_env(jobs=2, **overrides)


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def publish(site: Path, version: str, greeting: str = "hello") -> None:
    """Package ``demo`` ``version`` into the chart repository and index it again."""
    import subprocess

    chart = make_chart(site / "src" / f"{version}-{greeting}", "demo", version)
    (chart / "values.yaml").write_text(f"greeting: {greeting}\n")
    for old in (site / "charts").glob(f"demo-{version}.tgz"):
        old.unlink()
    package(chart, site / "charts")
    subprocess.run([HELM, "repo", "index", str(site / "charts")], check=True, capture_output=True)


@pytest.mark.helm
def test_lock_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "app"
    make_repo(
        work,
        {
            "component.yaml": "name: app\ntype: static\npath: ./m\n",
            "m/cm.yaml": "kind: ConfigMap\nmetadata: {name: one}\n",
        },
    )
    git(work, "tag", "v1.0.0")
    site = build_chart_site(tmp_path / "site")
    with static_server(site) as url:
        tree = f"""
  - {{name: app, method: git, source: "{work.as_uri()}", branch: main}}
  - {{name: tagged, method: git, source: "{work.as_uri()}", version: v1.0.0}}
  - {{name: chart, type: helm, method: helm, source: "{url}/charts", path: demo,
      version: ">=0.1.0"}}
  - {{name: cm, type: static, method: http, source: "{url}/files/cm.yaml"}}
"""
        root = write_tree(
            tmp_path / "hld", {"component.yaml": "name: root\nsubcomponents:\n" + tree}
        )
        first = fabrikate.install(root, settings())
        assert first.ok, first.failures
        assert first.lock_written
        lock = (root / "fabrikate.lock").read_text()
        entries = Lock.read(root).entries
        commit = git(work, "rev-parse", "HEAD")
        assert entries["app"].commit == commit and entries["app"].branch == "main"
        assert entries["chart"].chart_version == "0.2.0" and len(entries["chart"].digest) == 64
        assert len(entries["cm"].digest) == 64 and not entries["app"].path

        # Upstream moves on: a new commit and tag, a new chart version, a changed file.
        write_tree(work, {"m/cm.yaml": "kind: ConfigMap\nmetadata: {name: two}\n"})
        git(work, "commit", "-qam", "two")
        git(work, "tag", "v1.2.0")
        publish(site, "0.3.0")
        (site / "files/cm.yaml").write_text("kind: ConfigMap\nmetadata: {name: changed}\n")

        for locked in (False, True):  # a plain install follows the lock too
            again = fabrikate.install(root, settings(), locked=locked)
            assert again.ok, again.failures
            assert again.changed == 0 and not again.lock_written
            assert (root / "fabrikate.lock").read_text() == lock
        assert "one" in (root / "components/app/m/cm.yaml").read_text()
        assert "downloaded" in (root / "components/cm/cm.yaml").read_text()

        code, out, _ = fab("outdated", "-C", str(root), "-o", "json")
        assert code == 0
        rows = {r["component"]: r for r in json.loads(out)["components"]}
        assert (
            rows["app"]["wanted"] == git(work, "rev-parse", "HEAD")[:12] and rows["app"]["behind"]
        )
        assert (rows["tagged"]["current"], rows["tagged"]["latest"]) == ("v1.0.0", "v1.2.0")
        assert (rows["chart"]["current"], rows["chart"]["wanted"]) == ("0.2.0", "0.3.0")
        assert rows["cm"]["behind"]
        code, text, _ = fab("outdated", "-C", str(root))
        assert code == 0 and text.splitlines()[0].split() == [
            "COMPONENT",
            "ASKS",
            "CURRENT",
            "WANTED",
            "LATEST",
            "SOURCE",
        ]

        named = fabrikate.install(root, settings(), update=["chart"])
        assert named.ok and named.lock_written
        assert [i.component for i in named.installed if i.changed] == ["chart"]
        assert Lock.read(root).entries["chart"].chart_version == "0.3.0"
        everything = fabrikate.install(root, settings(), update=True)
        assert everything.ok and everything.lock_written
        assert sorted(i.component for i in everything.installed if i.changed) == ["app", "cm"]
        assert "two" in (root / "components/app/m/cm.yaml").read_text()
        assert Lock.read(root).entries["app"].commit == git(work, "rev-parse", "HEAD")
        code, text, _ = fab("outdated", "-C", str(root))
        assert code == 0 and [line.split()[0] for line in text.splitlines()[1:]] == ["tagged"]

        # A tampered archive: the same version, other bytes, even with a matching index.
        publish(site, "0.3.0", greeting="tampered")
        monkeypatch.setenv("FAB_CACHE_DIR", str(tmp_path / "fresh-cache"))
        shutil.rmtree(root / "helm_repos")
        for locked in (True, False):
            refused = fabrikate.install(root, settings(), locked=locked)
            [failure] = refused.failures
            assert failure.component == "chart"
            assert "is not the archive fabrikate.lock pins" in failure.message
            assert not (root / "helm_repos/chart").exists()
        assert fabrikate.install(root, settings(), update=["chart"]).ok
        assert "tampered" in (root / "helm_repos/chart/values.yaml").read_text()

        # A definition changed without relocking, a component gone, no lock at all.
        text = (root / "component.yaml").read_text()
        (root / "component.yaml").write_text(text.replace('">=0.1.0"', "0.1.0"))
        changed = fabrikate.install(root, settings(), locked=True)
        [failure] = changed.failures
        assert failure.component == "chart"
        assert "fabrikate.lock has helm" in str(failure) and "version >=0.1.0" in str(failure)
        assert "run fab install to relock" in str(failure)
        relocked = fabrikate.install(root, settings())
        assert relocked.ok and Lock.read(root).entries["chart"].chart_version == "0.1.0"
        current = (root / "component.yaml").read_text()
        (root / "component.yaml").write_text(current.split("  - {name: cm")[0])
        gone = fabrikate.install(root, settings(), locked=True)
        assert [f.component for f in gone.failures] == ["cm"]
        assert "the tree no longer has it" in str(gone.failures[0])
        assert fabrikate.install(root, settings()).ok
        assert "cm" not in Lock.read(root).entries

    (root / "fabrikate.lock").unlink()
    missing = fabrikate.install(root, settings(offline=True), locked=True)
    assert {f.component for f in missing.failures} == {"app", "tagged", "chart"}
    assert all("there is no fabrikate.lock" in str(f) for f in missing.failures)
    unknown = fabrikate.install(root, settings(offline=True), update=["nope"])
    assert any("--update nope: no component" in str(f) for f in unknown.failures)
    code, _, err = fab("install", str(root), "--locked", "--update")
    assert code == 2 and "--update changes it" in err
