"""Document splitting and namespace injection."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fabrikate._version import __version__
from fabrikate.render.documents import (
    CLUSTER_SCOPED,
    cluster_scoped_kinds,
    inject_namespace,
    join_documents,
    split_documents,
)
from fabrikate.support.cache import Cache, digest

HELM_OUTPUT = (
    "---\n# Source: demo/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
    "  name: demo\n  labels:\n    app: demo\n---\n# Source: demo/templates/cm.yaml\napiVersion: v1\n"
    'kind: ConfigMap\nmetadata:\n  name: demo\n  namespace: fixed\ndata:\n  version: 1.0\n  enabled: "true"\n'
    "---\n# Source: demo/templates/empty.yaml\n# only a comment\n"
)


def test_split_drops_empty_documents_and_keeps_text() -> None:
    docs = split_documents(HELM_OUTPUT)
    assert len(docs) == 2
    assert docs[0].startswith("# Source: demo/templates/sa.yaml\n")
    assert "  version: 1.0\n" in docs[1]


def test_join_has_single_separators() -> None:
    text = join_documents(split_documents(HELM_OUTPUT))
    assert "---\n---" not in text
    assert text.count("---\n") == 2
    assert [d["kind"] for d in yaml.safe_load_all(text)] == ["ServiceAccount", "ConfigMap"]


def test_lines_starting_with_dashes_inside_a_document_do_not_split() -> None:
    doc = "kind: ConfigMap\ndata:\n  script: |\n    ---- not a separator\n"
    assert split_documents(doc) == [doc]


def test_injection_adds_namespace_keeps_comments_order_and_existing_namespaces() -> None:
    sa, cm = split_documents(HELM_OUTPUT)
    injected = inject_namespace(sa, "myns", CLUSTER_SCOPED)
    assert injected == sa.replace("  name: demo\n", "  name: demo\n  namespace: myns\n")
    assert inject_namespace(cm, "myns", CLUSTER_SCOPED) == cm


def test_injection_skips_cluster_scoped_kinds_and_crd_defined_ones() -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: gadgets.example.com\nspec:\n  scope: Cluster\n  names:\n    kind: Gadget\n"
    )
    dated = crd.replace("Gadget", "Widget") + "  created: 2020-02-30\n"  # a string in Go
    unmade = crd.replace("Gadget", "Sprocket") + "  size: !!int x\n"
    scoped = cluster_scoped_kinds([crd, dated, unmade])
    assert "Widget" in scoped and "Sprocket" not in scoped
    for kind in ("Namespace", "ClusterRole", "CustomResourceDefinition", "Gadget"):
        doc = f"kind: {kind}\nmetadata:\n  name: x\n"
        assert inject_namespace(doc, "n", scoped) == doc


CRD = (
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
    "  name: gadgets.example.com\nspec:\n  scope: Cluster\n  names:\n    kind: Gadget\n"
)


def test_a_crd_scope_is_remembered_and_served_without_parsing(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    namespaced = CRD.replace("Cluster", "Namespaced").replace("Gadget", "Bolt")
    assert "Gadget" in cluster_scoped_kinds([CRD, namespaced], cache)
    assert [cache.get("inject", _key(d)) for d in (CRD, namespaced)] == [b"Gadget", b""]
    cache.put("inject", _key(CRD), b"")  # a served entry is believed: change it and see
    cache.put("inject", _key(namespaced), b"Bolt")
    assert cluster_scoped_kinds([CRD, namespaced], cache) - CLUSTER_SCOPED == {"Bolt"}


@pytest.mark.parametrize("poison", [b"Ga dget\n", b"\xff\xfe", b"x" * 300, b"-lead"])
def test_a_crd_scope_entry_that_is_no_kind_is_parsed_again(tmp_path: Path, poison: bytes) -> None:
    cache = Cache(tmp_path / "cache")
    cache.put("inject", _key(CRD), poison)
    assert cluster_scoped_kinds([CRD], cache) - CLUSTER_SCOPED == {"Gadget"}
    assert cache.get("inject", _key(CRD)) == b"Gadget"


def _key(doc: str) -> str:
    """The cache key of a CRD's scope."""
    return digest("crd-scope", __version__, doc)


def test_injection_fills_a_null_namespace_and_handles_flow_metadata() -> None:
    assert inject_namespace("kind: A\nmetadata:\n  namespace:\n  name: x\n", "ns", ()) == (
        "kind: A\nmetadata:\n  namespace: ns\n  name: x\n"
    )
    flow = inject_namespace("kind: A\nmetadata: {name: x}\n", "ns", ())
    assert yaml.safe_load(flow) == {"kind": "A", "metadata": {"name": "x", "namespace": "ns"}}
    empty = inject_namespace("kind: A\nmetadata: {}\n", "ns", ())
    assert empty == "kind: A\nmetadata: {namespace: ns}\n"


def test_injection_keeps_values_no_yaml_library_can_make_and_quotes_what_is_no_string() -> None:
    doc = "kind: A\nmetadata: {name: x, labels: {d: 2020-02-30}}\ndata: {n: !!int x}\n"
    assert inject_namespace(doc, "2020-02-30", ()) == doc.replace(
        "{name: x,", '{namespace: "2020-02-30", name: x,'
    )
    for namespace in ("yes", "n", "0777", "1e3", "null"):  # "n" is false to Go's yaml.v2
        block = inject_namespace("kind: A\nmetadata:\n  name: x\n", namespace, ())
        assert block == f'kind: A\nmetadata:\n  name: x\n  namespace: "{namespace}"\n'


names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
label_values = st.one_of(names, st.integers().map(str), st.sampled_from(["yes", "1.0", "on"]))


@st.composite
def objects(draw: st.DrawFn) -> dict:
    metadata = {"name": draw(names)}
    labels = draw(st.dictionaries(names, label_values, max_size=3))
    if labels:
        metadata["labels"] = labels
    if draw(st.booleans()):
        metadata["annotations"] = {"note": draw(label_values)}
    obj = {"apiVersion": "v1", "kind": draw(st.sampled_from(["ConfigMap", "Service", "Secret"]))}
    obj["metadata"] = metadata
    obj["data"] = draw(st.dictionaries(names, label_values, max_size=3))
    return obj


@given(objects(), names, st.booleans())
def test_injection_only_adds_metadata_namespace(obj: dict, namespace: str, flow: bool) -> None:
    doc = yaml.safe_dump(obj, sort_keys=False, default_flow_style=None if flow else False)
    result = yaml.safe_load(inject_namespace(doc, namespace, CLUSTER_SCOPED))
    expected = dict(obj, metadata=dict(obj["metadata"], namespace=namespace))
    assert result == expected
