"""fab validate: every problem at once, in file:line:col form; manifests checked offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.errors import ValidationFailed
from tests.fixtures.trees import write_tree

BAD_TREE = {
    "component.yaml": """
        name: hld
        subcomponents:
          - name: infra
            source: ./infra
          - name: missing
            source: ./nope
          - name: remote
            method: git
            source: https://example.com/remote.git
          - name: chart
            type: helm
            path: ./charts/x
    """,
    "config/common.yaml": """
        config:
          a:
            b: 1
        namespce: x
        subcomponents:
          infra:
            subcomponents:
              lop: {}
          infar: {}
    """,
    "config/prod.yaml": """
        config:
          a: [1]
    """,
    "infra/component.yaml": """
        name: infra
        typo: 1
        subcomponents:
          - name: loop
            source: ..
          - name: s
            type: statik
            method: gti
          - name: s
            type: static
    """,
    "infra/config/common.yaml": """
        injectNamespace: "yes"
    """,
}

GOLDEN = """\
environment 'staging' has no config file anywhere in the tree
component.yaml:5:5: component folder nope of subcomponent 'missing' does not exist [component missing]
component.yaml:10:5: chart folder charts/x does not exist [component chart]
config/common.yaml: config conflict at config.a: config/prod.yaml:2:3 sets a list, \
config/common.yaml:2:3 sets a map
config/common.yaml:4:1: unknown key 'namespce'; did you mean 'namespace'? [component hld]
config/common.yaml:9:3: config for subcomponent 'infar', but 'hld' has no such subcomponent; \
did you mean 'infra'? [component hld]
infra/component.yaml:2:1: unknown key 'typo'; did you mean 'type'? [component infra]
infra/component.yaml:7:11: subcomponents.1.type: unknown value 'statik'; expected one of \
'component', 'helm', 'static' [component infra]
infra/component.yaml:8:13: subcomponents.1.method: unknown value 'gti'; expected one of \
'local', 'git', 'helm', 'http' [component infra]
infra/config/common.yaml:1:18: injectNamespace: 'yes' is not of type 'boolean', 'null' \
[component infra]
"""


def run(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_problem_is_reported_in_the_golden_format(tmp_path: Path, monkeypatch) -> None:
    write_tree(tmp_path, BAD_TREE)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(tmp_path, ".", "prod", "staging")
    assert code == 1
    assert out == GOLDEN
    assert "10 errors in 5 files; not installed, not checked: remote" in err


def test_cycles_and_duplicate_names(tree) -> None:
    root = tree(
        {
            "component.yaml": "name: hld\nsubcomponents:\n- name: a\n  source: ./a\n",
            "a/component.yaml": (
                "name: a\nsubcomponents:\n- name: up\n  source: ..\n"
                "- name: x\n  type: static\n- name: x\n  type: static\n"
            ),
        }
    )
    code, out, _ = run(root, str(root), "--output", "json")
    assert code == 1
    report = json.loads(out)
    messages = [(p["line"], p["message"]) for p in report["problems"]]
    assert (3, "component cycle: " + f"{root} -> {root}/a -> {root}") in messages
    assert any(
        line == 7 and m.startswith("duplicate subcomponent name 'x'") for line, m in messages
    )
    assert report["valid"] is False


def test_a_valid_tree_passes(tree) -> None:
    root = tree(
        {
            "component.yaml": "name: hld\nsubcomponents:\n- name: a\n  source: ./a\n",
            "a/component.yaml": "name: a\ntype: static\npath: ./manifests\n",
            "a/manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
            "config/prod.yaml": "subcomponents:\n  a:\n    namespace: p\n",
        }
    )
    code, out, err = run(root, str(root), "prod")
    assert (code, out) == (0, "")
    assert "ok, 3 files" in err


MANIFESTS = {
    "component.yaml": "name: hld\ntype: static\npath: ./manifests\n",
    "manifests/crd.yaml": """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.example.com
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets}
          scope: Namespaced
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    spec:
                      type: object
                      properties:
                        size: {type: integer}
    """,
    "manifests/widget.yaml": """
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
        spec:
          size: big
    """,
    "manifests/web.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: "3"
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  image: nginx
    """,
    "manifests/zz-unknown.yaml": "apiVersion: other.io/v1\nkind: Gadget\nmetadata:\n  name: g\n",
}


def test_manifests_are_checked_against_kubernetes_and_crd_schemas(tree) -> None:
    root = tree(MANIFESTS)
    code, out, err = run(root, str(root), "--manifests", "--kube-version", "1.30")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("hld.yaml:")
    assert "Deployment/web: spec.replicas: '3' is not of type 'integer'" in lines[0]
    assert "(checked against Kubernetes 1.30)" in lines[0]
    assert "Widget/w: spec.size: 'big' is not of type 'integer' (checked against its CRD)" in out
    assert "Gadget/g: no schema for other.io/v1 Gadget" in out and "(warning)" in out
    assert "2 errors in 1 file, 4 objects" in err


def test_generate_validate_checks_the_written_files(tree) -> None:
    root = tree(MANIFESTS)
    result = CliRunner().invoke(main, ["generate", "-C", str(root), "--validate"])
    assert result.exit_code == 1
    assert f"{root}/generated/common/hld.yaml:" in result.stderr
    assert "2 of 4 objects are invalid" in result.stderr
    assert (root / "generated/common/hld.yaml").is_file()
    fixed = {**MANIFESTS, "manifests/web.yaml": MANIFESTS["manifests/web.yaml"].replace('"3"', "3")}
    fixed["manifests/widget.yaml"] = fixed["manifests/widget.yaml"].replace("big", "2")
    root = tree(fixed)
    result = CliRunner().invoke(main, ["generate", "-C", str(root), "--validate"])
    assert result.exit_code == 0, result.output


def test_the_record_says_whether_validation_ran_and_what_it_found(
    tree, tmp_path: Path, monkeypatch
) -> None:
    from fabrikate.records import open_store
    from fabrikate.records import validate as record_errors

    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", url)
    root = tree(MANIFESTS)
    with pytest.raises(ValidationFailed, match="2 of 4 objects are invalid") as info:
        fabrikate.generate(root, validate=True, kube_version="1.30")
    checked = info.value.result
    assert checked.validation is not None and len(checked.validation.errors) == 2
    assert (root / "generated" / "common" / "hld.yaml").is_file()  # written, as Fabrikate did
    findings = checked.record["validation"].pop("findings")
    assert checked.record["outcome"] == "failed"
    assert checked.record["validation"] == {
        "kubernetesVersion": "1.30",
        "objects": 4,
        "errors": 2,
        "warnings": 1,  # the Gadget, whose kind has no schema
        "passed": False,
    }
    assert [f["level"] for f in findings].count("error") == 2
    assert any("spec.replicas" in f["message"] and f["line"] for f in findings)
    plain = fabrikate.generate(root)
    assert plain.validation is None and plain.record["validation"] is None
    with open_store(url) as store:
        records = store.records()
    assert [r["validation"] and r["validation"]["passed"] for r in records] == [None, False]
    assert [r["outcome"] for r in records] == ["succeeded", "failed"]
    assert all(record_errors(r) == [] for r in records)


def test_schema_command_prints_the_schemas() -> None:
    for kind in ("component", "config"):
        result = CliRunner().invoke(main, ["schema", kind])
        assert result.exit_code == 0
        assert json.loads(result.stdout)["$id"] == f"urn:fabrikate-gitops:schema:{kind}:1"


REMOVED = {
    "component.yaml": "name: old\ntype: static\npath: ./manifests\n",
    "manifests/all.yaml": """
        apiVersion: extensions/v1beta1
        kind: Deployment
        metadata: {name: web}
        ---
        apiVersion: rbac.authorization.k8s.io/v1beta1
        kind: ClusterRole
        metadata: {name: reader}
        ---
        apiVersion: apiextensions.k8s.io/v1beta1
        kind: CustomResourceDefinition
        metadata: {name: things.example.com}
        ---
        apiVersion: policy/v1beta1
        kind: PodSecurityPolicy
        metadata: {name: restricted}
        ---
        apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
        kind: FlowSchema
        metadata: {name: flows}
    """,
}


def test_objects_of_removed_apis_are_errors_naming_version_and_replacement(tree) -> None:
    root = tree(REMOVED)
    code, out, err = run(root, str(root), "--manifests", "--kube-version", "1.31")
    assert code == 1
    assert out.splitlines() == [
        "old.yaml:2: Deployment/web: extensions/v1beta1 Deployment was removed in Kubernetes "
        "1.16; use apps/v1 (target Kubernetes 1.31) [component old]",
        "old.yaml:6: ClusterRole/reader: rbac.authorization.k8s.io/v1beta1 ClusterRole was "
        "removed in Kubernetes 1.22; use rbac.authorization.k8s.io/v1 (target Kubernetes 1.31) "
        "[component old]",
        "old.yaml:10: CustomResourceDefinition/things.example.com: apiextensions.k8s.io/v1beta1 "
        "CustomResourceDefinition was removed in Kubernetes 1.22; use apiextensions.k8s.io/v1 "
        "(target Kubernetes 1.31) [component old]",
        "old.yaml:14: PodSecurityPolicy/restricted: policy/v1beta1 PodSecurityPolicy was removed "
        "in Kubernetes 1.25; use nothing (use Pod Security Admission) (target Kubernetes 1.31) "
        "[component old]",
        "old.yaml:18: FlowSchema/flows: flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema is "
        "deprecated since Kubernetes 1.29 and removed in 1.32; use "
        "flowcontrol.apiserver.k8s.io/v1 [component old] (warning)",
    ]
    assert "4 errors in 1 file, 5 objects" in err
    # The target picks: on 1.32 the FlowSchema is gone too.
    code, out, _ = run(root, str(root), "--manifests", "--kube-version", "v1.32.4")
    assert "FlowSchema was removed in Kubernetes 1.32" in out


def test_an_unknown_kube_version_lists_the_supported_ones(tree) -> None:
    from fabrikate.render.validation import supported_kube_versions

    root = tree(REMOVED)
    supported = supported_kube_versions()
    assert supported[0] == "1.25" and len(supported) > 5
    for args in (
        ["validate", str(root), "--manifests"],
        ["generate", "-C", str(root), "--validate"],
    ):
        result = CliRunner().invoke(main, [*args, "--kube-version", "1.99"])
        assert result.exit_code == 1
        assert (
            f"--kube-version 1.99: not a Kubernetes version fab has schemas for; supported: {', '.join(supported)}"
            in (result.stderr + result.stdout)
        )
    assert not (root / "generated").exists()  # generate failed before writing anything


def test_validation_writes_no_record(tree, tmp_path: Path, monkeypatch) -> None:
    from fabrikate.records import open_store

    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", url)
    root = tree(REMOVED)
    code, _, _ = run(root, str(root), "--manifests")
    assert code == 1
    assert not (root / "generated").exists()  # nor any output
    assert not (tmp_path / "records.db").exists()
    fabrikate.generate(root)  # a real generate is recorded
    with open_store(url) as store:
        assert len(store.records()) == 1
