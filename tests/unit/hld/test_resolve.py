"""The tree walk (spec §4): paths, precedence across levels and environments, disabled, cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabrikate.errors import InputError
from fabrikate.hld.resolve import walk

THREE_LEVELS = {
    "component.yaml": """
        name: root
        subcomponents:
        - name: mid
          source: ./mid
    """,
    "config/common.yaml": """
        subcomponents:
          mid:
            subcomponents:
              leaf:
                config: {who: root-common, list: [root-common]}
    """,
    "config/prod.yaml": """
        subcomponents:
          mid:
            subcomponents:
              leaf:
                config: {who: root-prod, list: [root-prod]}
    """,
    "mid/component.yaml": """
        name: mid
        subcomponents:
        - name: leaf
          type: helm
          path: ./chart
    """,
    "mid/config/common.yaml": """
        subcomponents:
          leaf:
            config: {who: mid-common, only_mid: 1, list: [mid-common]}
    """,
    "mid/config/east.yaml": """
        subcomponents:
          leaf:
            namespace: east
            config: {who: mid-east, east: true}
    """,
}


def test_precedence_across_three_levels_and_two_environments(tree) -> None:
    result = walk(tree(THREE_LEVELS), ["prod", "east"])
    leaf = {node.id: node for node in result.components}["mid/leaf"]
    assert leaf.config.config["who"] == "root-prod"
    assert leaf.config.config["only_mid"] == 1
    assert leaf.config.config["east"] is True
    assert leaf.config.config["list"] == ["root-prod", "root-common", "mid-common"]
    assert leaf.config.namespace == "east"


def test_logical_and_physical_paths_inline_and_directory(tree) -> None:
    root = tree(THREE_LEVELS)
    result = walk(root, [])
    assert [(n.id, n.logical_path, n.inline) for n in result.components] == [
        ("root", "", False),
        ("mid/mid", "mid", False),
        ("mid/leaf", "mid", True),
    ]
    mid, leaf = result.components[1:]
    assert mid.physical_path == root / "mid"
    assert leaf.physical_path == mid.physical_path


def test_output_directory_comes_from_the_parents_reference_file_from_own_name(tree) -> None:
    root = tree(
        {
            "component.yaml": "name: root\nsubcomponents:\n- name: ref\n  source: ./dir\n",
            "dir/component.yaml": "name: own\n",
        }
    )
    assert [n.id for n in walk(root).components] == ["root", "ref/own"]


def test_disabled_subcomponents_and_their_subtrees_are_skipped(tree) -> None:
    root = tree(
        {
            "component.yaml": "name: root\nsubcomponents:\n- name: a\n  source: ./a\n- name: b\n  type: static\n  path: ./m\n",
            "config/off.yaml": "subcomponents:\n  a:\n    disabled: true\n  b:\n    disabled: true\n",
            "a/component.yaml": "name: a\nsubcomponents:\n- name: deep\n  type: static\n  path: m\n",
        }
    )
    assert [n.id for n in walk(root, ["off"]).components] == ["root"]
    assert [n.id for n in walk(root).components] == ["root", "a/a", "b", "a/deep"]


def test_a_component_pointing_at_itself_is_a_cycle_not_a_hang(tree) -> None:
    root = tree({"component.yaml": "name: root\nsubcomponents:\n- name: again\n"})
    with pytest.raises(InputError, match="component cycle"):
        walk(root)


def test_local_sources_may_not_leave_the_tree(tree, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "component.yaml").write_text("name: outside\n")
    root = tree({"component.yaml": "name: root\nsubcomponents:\n- name: o\n  source: ../outside\n"})
    with pytest.raises(InputError, match="points outside the tree"):
        walk(root)
    assert [n.id for n in walk(root, allow_outside_root=True).components] == ["root", "o/outside"]


def test_missing_component_folder_names_the_subcomponent(tree) -> None:
    root = tree({"component.yaml": "name: root\nsubcomponents:\n- name: gone\n  source: ./gone\n"})
    with pytest.raises(InputError, match="subcomponent 'gone' does not exist") as info:
        walk(root)
    assert info.value.component == "gone"  # its path, not the root's name


def test_unused_environment_is_a_warning(tree) -> None:
    result = walk(tree(THREE_LEVELS), ["prod", "staging"])
    assert [d.message for d in result.diagnostics] == [
        "environment 'staging' has no config file anywhere in the tree"
    ]
