"""Property: `set` gives back the value on load and leaves every other line of the file alone."""

from __future__ import annotations

import difflib
import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from fabrikate.api.edit import set_config
from fabrikate.support.yamlio import parse_yaml

# yaml.v2 reads a plain `on:` key as the boolean true, so trees have none (set quotes new ones).
TREE_KEYS = st.sampled_from(["a", "b", "image", "tag", "k8s.io/name", "x-y", "10", "Name"])
KEYS = st.one_of(TREE_KEYS, st.just("on"))
SCALARS = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.text("abcxyz -:#.'\"", min_size=0, max_size=8),
    st.sampled_from(["yes", "null", "0777", "1.5", "~", "true"]),
)
TREES = st.recursive(
    st.dictionaries(TREE_KEYS, SCALARS, max_size=3),
    lambda children: st.dictionaries(TREE_KEYS, st.one_of(SCALARS, children), max_size=3),
    max_leaves=12,
)


def dump(tree: dict[str, Any], indent: int) -> str:
    yaml = YAML()
    yaml.indent(mapping=indent, sequence=indent + 2, offset=indent)
    out = io.StringIO()
    yaml.dump({"namespace": "n", "config": tree, "subcomponents": {"s": {"config": {}}}}, out)
    return "# header comment\n" + out.getvalue() + "# trailing comment\n"


def quote(part: str) -> str:
    return f'"{part}"' if "." in part else part


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=TREES,
    path=st.lists(KEYS, min_size=1, max_size=3),
    value=SCALARS,
    indent=st.sampled_from([2, 4]),
)
def test_set_round_trips_and_changes_only_its_lines(
    tree: dict[str, Any], path: list[str], value: Any, indent: int
) -> None:
    text = dump(tree, indent)
    before, _ = parse_yaml(text, "x")
    node = before["config"]
    for part in path[:-1]:  # setting through a scalar is an error, tested elsewhere
        child = node.get(part) if isinstance(node, dict) else None
        if child is not None and not isinstance(child, dict):
            return
        node = child if isinstance(child, dict) else {}
    replaces_map = isinstance(node.get(path[-1]), dict)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "config").mkdir()
        file = root / "config" / "common.yaml"
        file.write_text(text)
        raw = str(value).lower() if isinstance(value, bool) else str(value)
        set_config(
            root, [".".join(quote(p) for p in path) + "=" + raw], string=isinstance(value, str)
        )
        after_text = file.read_text()
    after, _ = parse_yaml(after_text, "x")
    expected = before
    node = expected["config"]
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    assert after == expected
    if replaces_map:  # its lines go with it
        return
    old, new = text.splitlines(), after_text.splitlines()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        assert tag in ("equal", "insert", "replace"), (tag, old[i1:i2])
        if tag == "replace":  # only lines on the key path: the old value, or an empty map
            keys = (*path, "config")
            assert all(any(f"{k}" in line for k in keys) for line in old[i1:i2]), old[i1:i2]
