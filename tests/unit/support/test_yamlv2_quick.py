"""``load_untrusted``'s quick build makes exactly what its loader's own constructor makes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fabrikate.support.yamlv2 import Loader, StringLoader, load_untrusted

DOCUMENTS = [
    "",
    "# only a comment\n",
    "plain\n",
    "kind: ConfigMap\ndata: {a: '1', b: 2, c: 1.5, d: true, e: null, f: 0o17, g: 2020-01-02}\n",
    "a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n",
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
    "= : value\n",
    "? [1, 2]\n: unhashable key\n",
    "? {a: 1}\n: also unhashable\n",
    "a: !!str [not, a, scalar]\n",
    "a: !!map not-a-map\n",
    "a: !!set {x, y}\nb: !!omap [{k: v}]\nc: !!binary aGk=\n",
    "a: !custom tag\n",
    "when: 2020-02-30\n",
    "a: 1\na: 2\n",
    "'1': x\n1: y\nb: {c: 1, c: 2}\n",
    "&c [*c]\n",
    "a: [1, 2\n",
    "a: 1\n---\nb: 2\n",
    "spec:\n  template:\n    spec:\n      containers:\n      - {name: c, image: 'nginx:1'}\n",
    "'1': one\n1: one\ntrue: t\n~: n\n",
]


def _constructed(text: str, strings: bool = False) -> Any:
    """What the loader's own constructor makes of ``text``, with the keys written twice."""
    loader = (StringLoader if strings else Loader)(text)
    try:
        return loader.get_single_data(), loader.duplicates
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


def _quick(text: str, strings: bool = False) -> Any:
    try:
        return load_untrusted(text, strings=strings)
    except yaml.YAMLError:
        return None


@pytest.mark.parametrize("strings", [False, True])
@pytest.mark.parametrize("text", DOCUMENTS)
def test_each_document_is_what_the_constructor_makes(text: str, strings: bool) -> None:
    parsed, expected = _quick(text, strings), _constructed(text, strings)
    if expected is None:
        assert parsed is None
        return
    data, want = parsed[0], expected[0]
    if isinstance(want, list) and want and want[0] is want:  # a cycle
        assert data[0] is data
    else:
        assert data == want and type(data) is type(want)
    assert parsed[1] == expected[1]  # the same duplicate keys, at the same lines


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(_values, st.booleans())
def test_any_dumped_value_reads_back_alike(value: Any, flow: bool) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow)
    assert _quick(text) == _constructed(text)
