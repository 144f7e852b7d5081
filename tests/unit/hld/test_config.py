"""Config layering follows spec §3: precedence, list concatenation, conflicts, namespace travel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fabrikate.errors import ConfigConflictError, InputError, MergeConflict
from fabrikate.hld.config import ConfigLayer, load_layer, merge, merge_values, parse_layer
from fabrikate.hld.resolve import environment_layers


def layer(**fields: object) -> ConfigLayer:
    return ConfigLayer(**fields)  # type: ignore[arg-type]


def test_higher_scalar_wins_maps_merge_lists_concatenate() -> None:
    high = {"a": 1, "m": {"x": 1}, "l": [1], "s": "keep"}
    low = {"a": 2, "m": {"y": 2}, "l": [2], "s": {"map": "ignored"}, "new": True}
    assert merge_values(high, low, ()) == {
        "a": 1,
        "m": {"x": 1, "y": 2},
        "l": [1, 2],
        "s": "keep",
        "new": True,
    }


def test_null_in_a_higher_layer_does_not_delete_a_lower_value() -> None:
    assert merge_values({"a": None}, {"a": 5}, ()) == {"a": 5}


def test_map_over_scalar_is_a_conflict_naming_both_files(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "prod.yaml").write_text("config:\n  image:\n    tag: x\n")
    (tmp_path / "config" / "common.yaml").write_text("config:\n  image: nginx\n")
    prod, _ = load_layer(tmp_path, "prod")
    common, _ = load_layer(tmp_path, "common")
    assert prod and common
    with pytest.raises(ConfigConflictError) as info:
        merge(prod, common)
    message = str(info.value)
    assert "config.image" in message
    assert "prod.yaml:2" in message and "common.yaml:2" in message


def parsed(data: dict, file: str) -> ConfigLayer:
    built, problems = parse_layer(data, json.dumps(data), file)
    assert not problems
    return built


def test_namespace_and_inject_merge_each_on_their_own() -> None:
    merged = merge(parsed({"injectNamespace": True}, "prod"), parsed({"namespace": "x"}, "common"))
    assert (merged.namespace, merged.inject_namespace) == ("x", True)
    assert merged.set_in == {"namespace": "common", "injectNamespace": "prod"}
    assert (merged.fabrikate.namespace, merged.fabrikate.inject_namespace) == ("x", False)
    low = parsed({"namespace": "b", "injectNamespace": True}, "common")
    merged = merge(parsed({"namespace": "a"}, "prod"), low)
    assert (merged.namespace, merged.inject_namespace) == ("a", True)
    assert (merged.fabrikate.namespace, merged.fabrikate.inject_namespace) == ("a", False)
    merged = merge(parsed({"injectNamespace": False}, "prod"), low)
    assert (merged.namespace, merged.inject_namespace) == ("b", False)


def test_only_an_explicit_disabled_false_re_enables_a_subcomponent() -> None:
    low = parsed({"subcomponents": {"s": {"disabled": True}}}, "common")
    assert merge(layer(), low).sub("s").disabled
    mention = parsed({"subcomponents": {"s": {"config": {"a": 1}}}}, "prod")
    merged = merge(mention, low).sub("s")
    assert merged.disabled and not merged.fabrikate.disabled  # Fabrikate rendered it
    assert merged.set_in["disabled"] == "common"
    enable = parsed({"subcomponents": {"s": {"disabled": False}}}, "prod")
    assert merge(enable, low).sub("s").disabled is False


def test_naming_common_or_an_environment_twice_does_not_repeat_layers() -> None:
    assert environment_layers(["prod", "prod", "common"]) == ("prod", "common")
    assert environment_layers([]) == ("common",)
    assert environment_layers(["a", "b"]) == ("a", "b", "common")


@pytest.mark.parametrize("name", ["../x", "a/b", "", "..", "a\0b"])
def test_environment_names_must_be_plain(name: str) -> None:
    with pytest.raises(InputError, match="environment name"):
        environment_layers([name])


def test_json_config_numbers_stay_integers(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "common.json").write_text('{"config": {"big": 123456789, "f": 0.5}}')
    loaded, _ = load_layer(tmp_path, "common")
    assert loaded is not None
    assert loaded.config == {"big": 123456789, "f": 0.5}
    assert type(loaded.config["big"]) is int


def test_yaml_wins_over_json_and_missing_files_are_none(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "test.yaml").write_text("namespace: from-yaml\n")
    (tmp_path / "config" / "test.json").write_text('{"namespace": "from-json"}')
    loaded, _ = load_layer(tmp_path, "test")
    assert loaded is not None and loaded.namespace == "from-yaml"
    assert load_layer(tmp_path, "absent") == (None, [])


def test_wrong_types_and_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text("namespce: x\nconfig: {}\nnotes: mine\n")
    with pytest.raises(InputError, match=r"a\.yaml:1:1: unknown key 'namespce'; did you mean"):
        load_layer(tmp_path, "a")  # a typo of a known key: its value would be lost
    loaded, problems = load_layer(tmp_path, "a", lenient=True)
    assert loaded is not None
    assert [(p.level, p.message) for p in problems] == [
        ("error", "unknown key 'namespce'; did you mean 'namespace'?"),
        ("warning", "unknown key 'notes'"),  # far from every known key
    ]
    (tmp_path / "config" / "b.yaml").write_text("injectNamespace: 'yes'\n")
    with pytest.raises(InputError, match=r"b\.yaml:1:\d+: injectNamespace: 'yes' is not of type"):
        load_layer(tmp_path, "b")


# Property tests: the merge against the spec's rules.
scalars = st.one_of(st.integers(), st.text(max_size=3), st.booleans())
keys = st.sampled_from(["a", "b", "c", "d"])
values = st.recursive(
    scalars | st.lists(scalars, max_size=3),
    lambda inner: st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
maps = st.dictionaries(keys, values, max_size=4)


def compatible(high: object, low: object) -> bool:
    if isinstance(high, dict):
        return isinstance(low, dict) and all(
            compatible(high[k], low[k]) for k in high.keys() & low.keys()
        )
    if isinstance(high, list):
        return isinstance(low, list)
    return True


@given(maps)
def test_merging_with_an_empty_layer_changes_nothing(data: dict) -> None:
    assert merge_values(data, {}, ()) == data
    assert merge_values({}, data, ()) == data


@given(maps, maps)
def test_every_key_comes_from_the_highest_layer_that_sets_it(high: dict, low: dict) -> None:
    if not compatible(high, low):
        with pytest.raises(MergeConflict):  # a map over a scalar or a list, anywhere
            merge_values(high, low, ())
        return
    merged = merge_values(high, low, ())
    assert merged.keys() == high.keys() | low.keys()
    for key, value in merged.items():
        if key not in low:
            assert value == high[key]
        elif key not in high:
            assert value == low[key]
        elif isinstance(high[key], list):
            assert value == high[key] + low[key]
        elif not isinstance(high[key], dict):
            assert value == high[key]


@given(maps, maps, maps)
def test_merge_is_associative(a: dict, b: dict, c: dict) -> None:
    assume(compatible(a, b) and compatible(b, c) and compatible(a, c))
    left = merge_values(merge_values(a, b, ()), c, ())  # compatible layers never conflict
    assert left == merge_values(a, merge_values(b, c, ()), ())
