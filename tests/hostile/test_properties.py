"""Property tests: what fab writes, fab reads back as the same values."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from fabrikate.api.edit import add_subcomponent, set_config
from fabrikate.hld.config import load_layer
from fabrikate.hld.model import load_component

# Strings that YAML 1.1 would read as something else unless quoted.
tricky = st.sampled_from(
    [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "true",
        "1.10",
        "0777",
        "1e3",
        "~",
        "null",
        "2001-12-14",
        "1:20",
        "- x",
        "a: b",
        "#c",
        "",
        " lead",
        "@x",
        "*a",
        "&b",
        "!t",
        "%p",
        "'q'",
        '"d"',
    ]
)
texts = st.one_of(
    tricky,
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)


# fab add refuses option-like sources and refs (they would reach git as options).
refs = texts.filter(lambda t: not t.startswith("-") and "\n" not in t)


@given(name=names, source=refs, version=refs, path=texts, fmt=st.sampled_from(["yaml", "json"]))
def test_added_subcomponents_read_back_as_written(
    tmp_path_factory, name, source, version, path, fmt
) -> None:
    folder = tmp_path_factory.mktemp("add")
    if fmt == "json":
        (folder / "component.json").write_text('{\n  "name": "root"\n}')
    else:
        (folder / "component.yaml").write_text("name: root  # the root\n")
    add_subcomponent(
        folder, name, source=source or "x", version=version or None, path=path or None, method="git"
    )
    component, _ = load_component(folder)
    (sub,) = component.subcomponents
    assert (sub.name, sub.source, sub.version, sub.path) == (name, source or "x", version, path)


scalars = st.one_of(
    st.integers(-(2**53), 2**53),
    st.booleans(),
    texts,
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(key=names, value=scalars, fmt=st.sampled_from(["yaml", "json"]))
def test_set_values_read_back_with_their_types(tmp_path_factory, key, value, fmt) -> None:
    folder = tmp_path_factory.mktemp("set")
    (folder / "component.yaml").write_text("name: root\n")
    (folder / "config").mkdir()
    if fmt == "json":
        (folder / "config" / "common.json").write_text('{"config": {}}')
    text = json.dumps(value) if not isinstance(value, str) else value
    # helm --set types integers and booleans; a float needs --json (1.10 is a string).
    set_config(
        folder,
        [f"{key}={text}"],
        environment="common",
        string=isinstance(value, str),
        json_values=isinstance(value, float),
    )
    layer, _ = load_layer(folder, "common")
    assert layer is not None
    assert layer.config[key] == value
    assert type(layer.config[key]) is type(value)
