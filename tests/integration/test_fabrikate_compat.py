"""Where Fabrikate is right fab behaves as it did; where Fabrikate had a bug fab fixes it and
warns wherever Fabrikate would have produced other output (issue 12, docs/compatibility.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.errors import FabrikateError, Failures
from fabrikate.settings import Settings
from tests.fixtures.trees import copy_chart

Tree = Callable[[Mapping[str, str]], Path]
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


def test_a_parents_hook_makes_a_static_childs_folder_before_the_child_is_read(
    tree: Tree,
) -> None:
    root = tree(
        {
            "component.yaml": """
                name: app
                hooks:
                  before-generate:
                  - 'mkdir -p made && echo "kind: Made" > made/a.yaml'
                  - 'mkdir -p child && printf "name: child\\n" > child/component.yaml'
                subcomponents:
                - name: files
                  type: static
                  path: ./made
                - name: child
                  source: ./child
            """,
        }
    )
    result = fabrikate.generate(root, ["prod"])
    assert (result.output / "files.yaml").read_text() == "---\nkind: Made\n"
    assert (result.output / "child" / "child.yaml").read_text() == ""


def test_empty_and_comment_only_config_files_are_empty_layers(tree: Tree) -> None:
    """bedrock-cli's ``hld reconcile`` creates config/common.yaml with ``touch``."""
    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- {name: svc, source: ./svc}\n",
            "config/common.yaml": "",
            "config/prod.yaml": "# nothing yet\n",
            "svc/component.yaml": "",  # an empty component: a warning, and an empty file
            "svc/config/common.yaml": "\n",
        }
    )
    result = fabrikate.generate(root, ["prod"])
    assert (result.output / "svc" / "svc.yaml").read_text() == ""
    assert [w.message for w in result.warnings] == [
        "empty definition: an empty component (no subcomponents, no output)"
    ]


def test_a_leading_slash_in_a_local_path_is_inside_the_component_folder(tree: Tree) -> None:
    root = tree(
        {
            "component.yaml": """
                name: app
                subcomponents:
                - {name: web, type: static, path: /manifests/web}
                - {name: api, source: ., path: /services/api}
            """,
            "manifests/web/cm.yaml": CM.format("web"),
            "services/api/component.yaml": "name: api\n",
        }
    )
    result = fabrikate.generate(root, ["prod"])
    assert "name: web" in (result.output / "web.yaml").read_text()
    assert (result.output / "api" / "api.yaml").exists()


@pytest.mark.helm
def test_a_leading_slash_in_a_chart_path_is_inside_the_component_folder(tree: Tree) -> None:
    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- {name: d, type: helm, path: /charts/demo}\n"
        }
    )
    copy_chart(root, "demo")
    result = fabrikate.generate(root, [])
    assert "kind: Deployment" in (result.output / "d.yaml").read_text()


def test_a_lower_disabled_is_undone_only_by_an_explicit_disabled_false(tree: Tree) -> None:
    root = tree(
        {
            "component.yaml": """
                name: app
                subcomponents:
                - {name: web, type: static, path: ./m}
                - {name: db, type: static, path: ./m}
            """,
            "m/cm.yaml": CM.format("x"),
            "config/common.yaml": "subcomponents:\n  web: {disabled: true}\n  db: {disabled: true}\n",
            "config/prod.yaml": (
                "subcomponents:\n  web: {config: {replicas: 2}}\n  db: {disabled: false}\n"
            ),
        }
    )
    result = fabrikate.generate(root, ["prod"])
    assert result.disabled == ["web"]
    assert not (result.output / "web.yaml").exists() and (result.output / "db.yaml").exists()
    [warning] = result.warnings
    assert warning.message == (
        f"subcomponent 'web' is disabled by {root}/config/common.yaml; Fabrikate rendered it "
        f"because {root}/config/prod.yaml mentions it without 'disabled' (fab re-enables only "
        "with an explicit 'disabled: false')"
    )


@pytest.mark.helm
def test_namespace_and_inject_namespace_merge_each_on_their_own(tree: Tree) -> None:
    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- {name: d, type: helm, path: ./charts/demo}\n",
            "config/common.yaml": "subcomponents:\n  d: {namespace: web}\n",
            "config/prod.yaml": "subcomponents:\n  d: {injectNamespace: true}\n",
        }
    )
    copy_chart(root, "demo")
    result = fabrikate.generate(root, ["prod"])
    text = (result.output / "d.yaml").read_text()
    assert "  namespace: web\n" in text  # injected into `web` (Fabrikate dropped the true)
    [warning] = result.warnings
    assert warning.component == "d"
    assert "renders into namespace 'web' with injection" in warning.message
    assert f"injectNamespace from {root}/config/prod.yaml" in warning.message
    assert "rendered into 'web' without injection" in warning.message
    plain = fabrikate.generate(root, [])  # common only: the same result as Fabrikate's
    assert plain.warnings == []


def test_an_error_about_a_root_subcomponent_names_its_path_not_the_root(tree: Tree) -> None:
    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- {name: svc, source: ./svc}\n",
            "svc/component.yaml": "name: svc\nsubcomponents:\n- {name: web, type: static, path: ./m}\n",
        }
    )
    with pytest.raises(FabrikateError) as info:
        fabrikate.generate(root, [])
    assert info.value.component == "svc/web"  # its own id; never the root's name
    (root / "component.yaml").write_text(
        "name: app\nsubcomponents:\n- {name: svc, source: ./gone}\n"
    )
    with pytest.raises(FabrikateError) as info:
        fabrikate.generate(root, [])
    assert info.value.component == "svc"


# --- typos -------------------------------------------------------------------------------------

GOOD = """
name: app
subcomponents:
- {name: web, type: static, path: ./m}
labels: {team: web}
"""


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_typo_of_a_known_key_is_an_error_in_generate_and_validate(tree: Tree) -> None:
    root = tree({"component.yaml": GOOD, "m/cm.yaml": CM.format("web")})
    assert fab("generate", "-C", str(root))[0] == 0
    out = root / "generated" / "common"
    before = (out / "web.yaml").read_bytes()
    (root / "component.yaml").write_text(GOOD.replace("subcomponents:", "subcomponent:"))
    code, _, err = fab("generate", "-C", str(root))
    assert code == 1
    assert "unknown key 'subcomponent'; did you mean 'subcomponents'?" in err
    assert (out / "web.yaml").read_bytes() == before  # the subtree was not dropped
    code, stdout, _ = fab("validate", str(root))
    assert code == 1
    assert "component.yaml:3:1: unknown key 'subcomponent'; did you mean" in stdout
    assert "unknown key 'labels' [component app] (warning)" in stdout  # far from any key


def test_strict_makes_every_warning_an_error(tree: Tree) -> None:
    root = tree({"component.yaml": GOOD, "m/cm.yaml": CM.format("web")})
    code, _, err = fab("generate", "-C", str(root))
    assert code == 0 and "warning: " in err and "unknown key 'labels'" in err
    (root / "m" / "cm.yaml").write_text(CM.format("changed"))
    code, _, err = fab("generate", "--strict", "-C", str(root))
    assert code == 1 and "unknown key 'labels' (--strict)" in err
    assert "changed" not in (root / "generated" / "common" / "web.yaml").read_text()
    code, stdout, _ = fab("validate", "--strict", str(root))
    assert code == 1 and "unknown key 'labels' (--strict) [component app]" in stdout


def test_config_for_a_subcomponent_that_does_not_exist(tree: Tree, tmp_path: Path) -> None:
    from tests.fixtures.trees import make_repo

    root = tree(
        {
            "component.yaml": GOOD.replace("labels: {team: web}\n", ""),
            "m/cm.yaml": CM.format("web"),
            "config/prod.yaml": "subcomponents:\n  wbe: {config: {a: 1}}\n",
        }
    )
    result = fabrikate.generate(root, ["prod"])  # generate warns, with a suggestion
    [warning] = result.warnings
    assert warning.message == (
        "config for subcomponent 'wbe', but 'app' has no such subcomponent; did you mean 'web'?"
    )
    assert str(warning.location) == f"{root}/config/prod.yaml:2:3"
    code, stdout, _ = fab("validate", str(root), "prod")
    assert code == 1 and "no such subcomponent; did you mean 'web'?" in stdout
    # Inside a fetched definition it is another team's to fix: a warning.
    remote = tmp_path / "remote"
    make_repo(
        remote, {"component.yaml": "name: lib\n", "config/common.yaml": "subcomponents:\n  x: {}\n"}
    )
    (root / "config/prod.yaml").unlink()
    (root / "component.yaml").write_text(
        f"name: app\nsubcomponents:\n- {{name: lib, method: git, source: '{remote.as_uri()}'}}\n"
    )
    assert fabrikate.install(root, Settings.from_env()).ok
    code, stdout, _ = fab("validate", str(root))
    assert code == 0 and "no such subcomponent; known: none [component lib/lib] (warning)" in stdout


# --- every failure at once ---------------------------------------------------------------------


def test_every_failing_component_is_reported_and_the_old_output_kept(tree: Tree) -> None:
    root = tree(
        {
            "component.yaml": """
                name: app
                subcomponents:
                - {name: a, type: static, path: ./m}
                - {name: b, type: static, path: ./m}
                - {name: c, type: static, path: ./m}
            """,
            "m/cm.yaml": CM.format("x"),
        }
    )
    first = fabrikate.generate(root, [])
    before = {p.name: p.read_bytes() for p in first.output.iterdir()}
    (root / "component.yaml").write_text(
        (root / "component.yaml")
        .read_text()
        .replace("path: ./m}\n- {name: c", "path: ./gone}\n- {name: c")
        .replace("{name: a, type: static, path: ./m}", "{name: a, type: static, path: ./nope}")
    )
    with pytest.raises(Failures) as info:
        fabrikate.generate(root, [])
    assert [e.component for e in info.value.errors] == ["a", "b"]
    assert {p.name: p.read_bytes() for p in first.output.iterdir()} == before
    code, _, err = fab("generate", "-C", str(root))
    assert code == 1
    assert err.splitlines()[-3:] == [
        f"fab: error: static manifests folder {root}/nope does not exist [component a]",
        f"fab: error: static manifests folder {root}/gone does not exist [component b]",
        "fab: error: 2 errors; nothing was written",
    ]
