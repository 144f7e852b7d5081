"""``fab explain`` on a three-level tree with two environments and lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main

# root -> mid (a directory component) -> app (an inline helm component of mid).
TREE = {
    "component.yaml": """
        name: root
        subcomponents:
          - name: mid
            path: ./mid
        """,
    "config/common.yaml": """
        subcomponents:
          mid:
            subcomponents:
              app:
                config:
                  replicas: 2
                  ports: [80]
        """,
    "config/prod.yaml": """
        subcomponents:
          mid:
            subcomponents:
              app:
                config:
                  replicas: 5
                  ports: [443]
                  resources: {cpu: "2"}
                  debug: null
        """,
    "mid/component.yaml": """
        name: mid
        subcomponents:
          - name: app
            type: helm
            path: ./chart
        """,
    "mid/config/common.yaml": """
        subcomponents:
          app:
            config:
              replicas: 1
              ports: [8080]
              resources: {cpu: "1", memory: 1Gi}
              debug: true
              tag: common-tag
        """,
    "mid/config/east.yaml": """
        subcomponents:
          app:
            config:
              tag: east-tag
        """,
    "mid/config/prod.yaml": """
        subcomponents:
          app:
            config:
              tag: prod-tag
        """,
}


@pytest.fixture
def hld(tree) -> Path:
    return tree(TREE)


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _line(root: Path, file: str, text: str) -> int:
    lines = (root / file).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_a_scalar_set_at_every_level_names_each_layer_and_why_the_top_one_won(hld: Path) -> None:
    code, out, err = fab("explain", "prod", "mid/app", "replicas", "-C", str(hld), "-o", "json")
    assert code == 0, err
    found = json.loads(out)
    assert (found["value"], found["rule"], found["component"]) == (5, "highest wins", "mid/app")
    layers = [(layer["file"], layer["value"], layer["effect"]) for layer in found["layers"]]
    assert layers == [
        (str(hld / "config/prod.yaml"), 5, "wins"),
        (str(hld / "config/common.yaml"), 2, "overridden"),
        (str(hld / "mid/config/common.yaml"), 1, "overridden"),
    ]
    top, same_level, lower = found["layers"]
    assert top["line"] == _line(hld, "config/prod.yaml", "replicas: 5")
    assert lower["line"] == _line(hld, "mid/config/common.yaml", "replicas: 1")
    assert same_level["why"].startswith("environment order: prod comes before common")
    assert lower["why"].startswith("tree level: config in root beats config in mid/mid")
    assert (top["level"], lower["level"]) == ("root", "mid/mid")
    assert top["prefix"] == "subcomponents.mid.subcomponents.app"

    code, text, _ = fab("explain", "prod", "app", "replicas", "-C", str(hld))
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "mid/app: replicas = 5  (prod; highest wins)"
    assert lines[1] == f"  wins        {hld}/config/prod.yaml:{top['line']}:{top['column']}  5"
    assert "common, in mid/mid: tree level" in text


def test_lists_concatenate_highest_first_and_maps_merge(hld: Path) -> None:
    ports = fabrikate.explain(hld, ["prod"], "mid/app", "ports")
    assert ports.value == [443, 80, 8080]
    assert ports.rule == "lists concatenate"
    assert [(layer.value, layer.effect) for layer in ports.layers] == [
        ([443], "wins"),
        ([80], "appended"),
        ([8080], "appended"),
    ]
    resources = fabrikate.explain(str(hld), ["prod"], "app", "resources")
    assert resources.value == {"cpu": "2", "memory": "1Gi"}
    assert [layer.effect for layer in resources.layers] == ["wins", "merged"]
    cpu = fabrikate.explain(hld, ["prod"], "app", ["resources", "cpu"])
    assert cpu.value == "2" and [layer.value for layer in cpu.layers] == ["2", "1"]
    # A null in a higher layer does not override.
    debug = fabrikate.explain(hld, ["prod"], "app", "debug")
    assert debug.value is True
    assert [(layer.value, layer.effect) for layer in debug.layers] == [
        (None, "ignored"),
        (True, "wins"),
    ]


def test_two_environments_first_one_wins_and_unset_keys(hld: Path) -> None:
    code, out, _ = fab("explain", "prod,east", "app", "tag", "-C", str(hld), "-o", "json")
    assert code == 0
    found = json.loads(out)
    assert found["environments"] == ["prod", "east"] and found["value"] == "prod-tag"
    assert [layer["environment"] for layer in found["layers"]] == ["prod", "east", "common"]
    assert found["layers"][1]["why"].startswith("environment order: prod comes before east")
    code, out, _ = fab("explain", "east", "app", "tag", "-C", str(hld))
    assert out.startswith('mid/app: tag = "east-tag"  (east; highest wins)')

    code, out, _ = fab("explain", "prod", "app", "replica", "-C", str(hld))
    assert code == 0
    assert out.strip() == (
        "mid/app: replica is not set by any config layer for prod (the chart's default "
        "applies); did you mean replicas?"
    )


def test_unknown_or_ambiguous_components_are_one_error_line(hld: Path) -> None:
    code, out, err = fab("explain", "prod", "ap", "replicas", "-C", str(hld))
    assert (code, out) == (1, "")
    assert err == f"fab: error: no component 'ap' in {hld}; did you mean mid/app?\n"
    code, _, err = fab("explain", "prod", "app", "a..b", "-C", str(hld))
    assert code == 1 and "empty key part" in err
