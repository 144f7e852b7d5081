"""The records' quick YAML build makes exactly what PyYAML's safe loader makes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fabrikate.records.images import parse_documents

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
    "&c [*c]\n",
    "a: [1, 2\n",
    "a: 1\n---\nb: 2\n",
    "spec:\n  template:\n    spec:\n      containers:\n      - {name: c, image: 'nginx:1'}\n",
    "'1': one\n1: one\ntrue: t\n~: n\n",
]


def _safe(text: str) -> Any:
    try:
        return yaml.load(text, Loader=LOADER)
    except (yaml.YAMLError, ValueError):
        return None


@pytest.mark.parametrize("text", DOCUMENTS)
def test_each_document_is_what_the_safe_loader_makes(text: str) -> None:
    [parsed] = parse_documents([text])
    expected = _safe(text)
    if isinstance(expected, list) and expected and expected[0] is expected:  # a cycle
        assert parsed[0] is parsed
    else:
        assert parsed == expected and type(parsed) is type(expected)


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
    assert parse_documents([text]) == [_safe(text)]
