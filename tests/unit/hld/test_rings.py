"""The ring map: rings.yaml (fab init's shape and the short one), Bedrock's bedrock.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fabrikate.errors import InputError
from fabrikate.hld.rings import Ring, RingMap, read_rings, resolve_ring

BEDROCK = """
rings:
  master:
    isDefault: true
  develop: {}
services:
  ./services/api: {helm: {chart: {git: https://example.com/charts}}}
"""


def test_rings_yaml_in_both_spellings(tmp_path: Path) -> None:
    (tmp_path / "rings.yaml").write_text(
        "rings:\n"
        "  prod: {branch: main, default: true}\n"
        "  canary: {targetBranch: next}\n"
        "  dev: {isDefault: false}\n"
    )
    rings = read_rings(tmp_path)
    assert rings.rings == (
        Ring("prod", "main", True),
        Ring("canary", "next", False),
        Ring("dev", "dev", False),  # no branch: the ring's branch is its name (Bedrock)
    )
    assert rings.files == ("rings.yaml",)
    assert rings.to_record() == {
        "declared": ["prod", "canary", "dev"],
        "default": "prod",
        "branches": {"prod": "main", "canary": "next", "dev": "dev"},
    }


def test_bedrock_yaml_names_rings_by_branch_and_rings_yaml_wins(tmp_path: Path) -> None:
    (tmp_path / "bedrock.yaml").write_text(BEDROCK)
    assert read_rings(tmp_path) == RingMap(
        (Ring("master", "master", True), Ring("develop", "develop", False)), ("bedrock.yaml",)
    )
    (tmp_path / "rings.yaml").write_text("rings:\n  develop: {branch: dev-branch}\n")
    both = read_rings(tmp_path)
    assert both.files == ("rings.yaml", "bedrock.yaml")
    assert both.ring_for("dev-branch") == "develop" and both.ring_for("develop") is None
    assert both.default == Ring("master", "master", True)
    (tmp_path / "rings.yaml").write_text("rings:\n  develop: {default: true}\n")
    assert read_rings(tmp_path).default == Ring("develop", "develop", True)  # one default


def test_no_ring_map_and_resolution_order(tmp_path: Path) -> None:
    empty = read_rings(tmp_path)
    assert empty == RingMap() and empty.to_record() is None and empty.default is None
    (tmp_path / "rings.yaml").write_text("rings:\n  prod: {branch: main, default: true}\n")
    rings = read_rings(tmp_path)
    assert resolve_ring("hotfix", rings, "main") == "hotfix"  # --ring / FAB_RING first
    assert resolve_ring(None, rings, "main") == "prod"  # then the map
    assert resolve_ring(None, rings, "feature") == "feature"  # then the branch
    assert resolve_ring(None, rings, None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rings: [a, b]\n", "'rings' must map ring names"),
        ("rings:\n  a: [1]\n", "ring 'a' must be a mapping"),
        ("rings:\n  a: {branch: 3}\n", "ring 'a': branch must be a string"),
        ("rings:\n  a: {default: 'yes please'}\n", "default true or false"),
        (
            "rings:\n  a: {default: true}\n  b: {isDefault: true}\n",
            "more than one default ring: a, b",
        ),
        ("rings: {a: {\n", "rings.yaml"),
    ],
)
def test_bad_ring_maps_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "rings.yaml").write_text(text)
    with pytest.raises(InputError, match="rings.yaml") as caught:
        read_rings(tmp_path)
    assert message in str(caught.value)


def test_a_ring_map_linking_out_of_the_hld_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("rings:\n  x: {}\n")
    hld = tmp_path / "hld"
    hld.mkdir()
    os.symlink(outside, hld / "bedrock.yaml")
    with pytest.raises(InputError, match="links outside the HLD"):
        read_rings(hld)
