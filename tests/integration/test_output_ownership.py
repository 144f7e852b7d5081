"""fab generate removes and rewrites only the files it wrote (issue 12, output ownership)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from fabrikate.output import MANIFEST
from tests.fixtures.trees import git, make_repo
from tests.integration.test_cli_cases import snapshot

STATIC_TREE = {
    "component.yaml": """
        name: app
        subcomponents:
        - name: web
          type: static
          path: ./manifests
    """,
    "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
    "config/prod.yaml": "config: {}\n",
}


def fab(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--quiet", *args], catch_exceptions=False)
    return result.exit_code, result.stderr


@pytest.fixture
def static_tree(tree: Callable[[Mapping[str, str]], Path]) -> Path:
    return tree(STATIC_TREE)


def test_generate_into_a_manifest_repository_clone_keeps_git_and_readme(
    static_tree: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "manifests"
    make_repo(clone, {"README.md": "# cluster manifests\n"})
    head = git(clone, "rev-parse", "HEAD")
    code, err = fab("generate", "prod", "-C", str(static_tree), "--output-dir", str(clone))
    assert code == 0, err
    assert (clone / "README.md").read_text() == "# cluster manifests\n"
    assert git(clone, "rev-parse", "HEAD") == head  # .git is whole: git still works
    assert (clone / "web.yaml").read_text().startswith("---\napiVersion: v1")
    assert (clone / MANIFEST).read_text().splitlines()[-2:] == ["app.yaml", "web.yaml"]
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "manifests")
    (static_tree / "manifests" / "cm.yaml").write_text("kind: ConfigMap\n")
    assert fab("generate", "prod", "-C", str(static_tree), "--output-dir", str(clone))[0] == 0
    assert git(clone, "status", "--porcelain") == "M web.yaml"


def test_a_hand_added_kustomization_survives_and_stale_files_go(static_tree: Path) -> None:
    assert fab("generate", "prod", "-C", str(static_tree))[0] == 0
    out = static_tree / "generated" / "prod"
    (out / "kustomization.yaml").write_text("resources: [web.yaml]\n")
    (static_tree / "component.yaml").write_text("name: app\n")  # the static child is gone
    code, err = fab("generate", "prod", "-C", str(static_tree))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "app.yaml", "kustomization.yaml"]


def test_a_foreign_file_in_the_way_is_an_error_naming_it(static_tree: Path) -> None:
    out = static_tree / "out"
    out.mkdir()
    (out / "web.yaml").write_text("mine\n")
    code, err = fab("generate", "prod", "-C", str(static_tree), "--output-dir", str(out))
    assert code == 1
    assert "out/web.yaml was not written by fab" in err
    assert (out / "web.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in out.iterdir()) == ["web.yaml"]


def test_output_from_fabrikate_is_taken_over_with_a_warning(static_tree: Path) -> None:
    out = static_tree / "generated" / "prod"
    out.mkdir(parents=True)
    (out / "web.yaml").write_text("--- rendered by Fabrikate\n")
    (out / "old.yaml").write_text("a component since removed\n")
    result = CliRunner().invoke(main, ["generate", "prod", "-C", str(static_tree)])
    assert result.exit_code == 0, result.stderr
    assert "had no .fabrikate-output" in result.stderr and "old.yaml" in result.stderr
    assert (out / "web.yaml").read_text().startswith("---\napiVersion: v1")
    assert (out / "old.yaml").exists()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (".", "is the tree root"),
        ("config", "lies inside"),
        ("manifests", "the manifests of component web"),
        ("components/x", "lies inside"),
    ],
)
def test_an_output_folder_fab_reads_or_owning_the_tree_is_refused(
    static_tree: Path, output: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (static_tree / "components" / "x").mkdir(parents=True)
    before = snapshot(static_tree)
    monkeypatch.chdir(static_tree)
    code, err = fab("generate", "prod", "--output-dir", output)
    assert code == 1 and message in err, err
    assert err.count("fab: error:") == 1
    assert snapshot(static_tree) == before
    assert sorted(p.name for p in static_tree.parent.iterdir()) == ["hld"]
