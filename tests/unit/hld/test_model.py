"""Component files: fields, defaults, legacy migration and the problems they can have."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabrikate.errors import InputError
from fabrikate.hld.model import load_component, parse_component


def problems_of(text: str, file: str = "component.yaml") -> list[str]:
    return [str(p) for p in parse_component(text, file)[1]]


def test_fields_and_defaults() -> None:
    component, problems = parse_component(
        "name: app\nsubcomponents:\n- name: chart\n  type: helm\n  method: git\n"
        "  source: https://example.com/charts.git\n  path: stable/app\n  version: 1.10\n",
        "component.yaml",
    )
    assert problems == []
    assert component.type == "component"
    chart = component.subcomponents[0]
    assert (chart.type, chart.method, chart.path) == ("helm", "git", "stable/app")
    assert chart.version == "1.10"  # the text as written, like a Go string field


def test_unknown_key_is_a_warning_with_a_suggestion_and_line() -> None:
    assert problems_of("name: a\nsubcomponents:\n- name: b\n  sorce: ./b\n") == [
        "component.yaml:4:3: unknown key 'sorce'; did you mean 'source'?"
    ]


def test_unknown_type_and_method_are_errors() -> None:
    found = problems_of("name: a\nsubcomponents:\n- name: b\n  type: helmm\n  method: svn\n")
    assert any("unknown value 'helmm'" in p and ":4:" in p for p in found)
    assert any("unknown value 'svn'" in p and ":5:" in p for p in found)


def test_duplicate_sibling_names_are_an_error() -> None:
    found = problems_of("name: a\nsubcomponents:\n- name: b\n- name: b\n")
    assert found == [
        "component.yaml:4:3: duplicate subcomponent name 'b' (first defined at component.yaml:3:3)"
    ]


@pytest.mark.parametrize("name", ["a/b", "..", "", "x\\y"])
def test_names_that_would_escape_as_paths_are_errors(name: str) -> None:
    found = problems_of(f"name: ok\nsubcomponents:\n- name: '{name}'\n")
    assert len(found) == 1 and "name" in found[0]


def test_legacy_generator_overrides_type_with_a_warning() -> None:
    component, problems = parse_component(
        "name: a\nsubcomponents:\n- name: b\n  type: static\n  generator: helm\n", "c.yaml"
    )
    assert component.subcomponents[0].type == "helm"
    assert "deprecated" in problems[0].message


def test_repositories_is_ignored_with_a_warning() -> None:
    _, problems = parse_component("name: a\nrepositories:\n  stable: https://x\n", "c.yaml")
    assert [p.level for p in problems] == ["warning"]
    assert "repositories" in problems[0].message


def test_json_keys_match_case_insensitively() -> None:
    component, problems = parse_component(
        '{"NAME": "j", "Subcomponents": [{"Name": "k"}]}', "c.json"
    )
    assert problems == []
    assert component.name == "j" and component.subcomponents[0].name == "k"


def test_wrong_types_are_errors_with_location() -> None:
    found = problems_of('{"name": "a", "subcomponents": [{"name": "b", "version": 1}]}', "c.json")
    assert found == ["c.json:1:58: subcomponents.0.version: expected string, got integer 1"]
    found = problems_of("name: a\nsubcomponents: 5\n")
    assert found == ["component.yaml:2:16: subcomponents: expected array or null, got string '5'"]


def test_top_level_list_and_malformed_files(tmp_path: Path) -> None:
    (tmp_path / "component.yaml").write_text("- name: a\n")
    with pytest.raises(InputError, match="expected a mapping at the top level, got a list"):
        load_component(tmp_path)
    (tmp_path / "component.yaml").write_text("name: [a\n")
    with pytest.raises(InputError, match=r"component\.yaml:\d+:\d+: invalid YAML"):
        load_component(tmp_path)


def test_yaml_wins_over_json_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "component.yaml").write_text("name: from-yaml\n")
    (tmp_path / "component.json").write_text('{"name": "from-json"}')
    component, problems = load_component(tmp_path)
    assert component.name == "from-yaml"
    assert "both component.yaml and component.json" in problems[0].message


def test_missing_definition_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no component.yaml or component.json"):
        load_component(tmp_path)


# The loader's quick check (fastjsonschema) and the full error listing (jsonschema) must agree.
leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=4))
fields = st.sampled_from(
    [
        "name",
        "type",
        "method",
        "source",
        "path",
        "version",
        "branch",
        "hooks",
        "subcomponents",
        "config",
        "namespace",
        "injectNamespace",
        "disabled",
        "before-generate",
        "other",
    ]
)
values = st.recursive(
    leaf | st.sampled_from(["helm", "static", "component", "git", "local", "http", "bogus"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(fields, inner, max_size=4),
    max_leaves=12,
)


@given(st.sampled_from(["component", "config"]), st.dictionaries(fields, values, max_size=6))
def test_quick_and_full_schema_checks_agree(kind: str, data: dict) -> None:
    from fabrikate.hld.model import _fast_check, _validator

    assert _fast_check(kind)(data) == (not list(_validator(kind).iter_errors(data)))


@pytest.mark.parametrize("kind", ["component", "config"])
def test_the_shipped_schema_checks_match_the_schemas(kind: str) -> None:
    from fabrikate.hld.model import check_source

    shipped = Path(__file__).parents[3] / "fabrikate" / "hld" / "checks" / f"{kind}.py"
    assert shipped.read_text() == check_source(kind), "run scripts/schema-checks"
