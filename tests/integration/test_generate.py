"""fab generate end to end, with the real helm binary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

import fabrikate
from fabrikate.errors import FabrikateError, InputError, ProcessError
from fabrikate.output import MANIFEST

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trivia"

pytestmark = pytest.mark.helm


def objects(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def chart_tree(tree, extra: dict[str, str] | None = None, chart: str = "demo") -> Path:
    files = {
        "component.yaml": f"""
            name: app
            subcomponents:
            - name: demo
              type: helm
              method: local
              path: ./charts/{chart}
        """,
    }
    files.update(extra or {})
    root = tree(files)
    shutil.copytree(CHARTS, root / "charts")  # a local chart lives inside the tree
    return root


def test_example_trivia_renders_prod(tmp_path: Path) -> None:
    root = tmp_path / "trivia"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("generated"))
    result = fabrikate.generate(root, ["prod"])
    out = root / "generated" / "prod"
    assert result.output == out
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.yaml")) == [
        "hello-world-full-stack/backend.yaml",
        "hello-world-full-stack/frontend.yaml",
        "hello-world-full-stack/hello-world-full-stack.yaml",
        "traefik2/traefik.yaml",
        "traefik2/traefik2.yaml",
        "trivia.yaml",
    ]
    backend = {o["kind"]: o for o in objects(out / "hello-world-full-stack/backend.yaml")}
    deployment = backend["Deployment"]
    assert deployment["metadata"]["namespace"] == "trivia-prod"
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.2.0")
    traefik = {o["kind"]: o for o in objects(out / "traefik2/traefik.yaml")}
    assert "CustomResourceDefinition" in traefik  # --include-crds
    assert "namespace" not in traefik["ClusterRole"]["metadata"]
    assert (out / "trivia.yaml").read_bytes() == b""
    dev = fabrikate.generate(root, ["dev"])
    dev_backend = {
        o["kind"]: o for o in objects(dev.output / "hello-world-full-stack/backend.yaml")
    }
    assert dev_backend["Deployment"]["spec"]["replicas"] == 1
    assert dev_backend["Deployment"]["metadata"]["namespace"] == "trivia-dev"


def test_values_keep_their_types(tree) -> None:
    root = chart_tree(
        tree,
        {
            "config/common.yaml": """
                subcomponents:
                  demo:
                    config:
                      echo:
                        quoted_float: "1e3"
                        quoted_bool: "yes"
                        quoted_octal: "0777"
                        date: 2001-12-14
                        bool: yes
                        octal: 0777
                        int: 42
            """,
        },
    )
    result = fabrikate.generate(root, [])
    cm = {o["kind"]: o for o in objects(result.output / "demo.yaml")}["ConfigMap"]
    assert cm["data"]["quoted_float"] == "string=1e3"
    assert cm["data"]["quoted_bool"] == "string=yes"
    assert cm["data"]["quoted_octal"] == "string=0777"
    assert cm["data"]["date"] == "string=2001-12-14"
    assert cm["data"]["bool"] == "bool=true"
    assert cm["data"]["octal"] == "float64=511"
    assert cm["data"]["int"] == "float64=42"


def test_precedence_environments_and_lists(tree) -> None:
    root = chart_tree(
        tree,
        {
            "config/common.yaml": "subcomponents:\n  demo:\n    config:\n      replicas: 1\n      list: [common]\n",
            "config/prod.yaml": "subcomponents:\n  demo:\n    config:\n      replicas: 3\n      list: [prod]\n",
            "config/east.yaml": "subcomponents:\n  demo:\n    config:\n      replicas: 5\n",
        },
    )
    result = fabrikate.generate(root, ["east", "prod"])
    assert result.output.name == "east-prod"
    deployment = [o for o in objects(result.output / "demo.yaml") if o["kind"] == "Deployment"][0]
    assert deployment["spec"]["replicas"] == 5
    cm = [o for o in objects(result.output / "demo.yaml") if o["kind"] == "ConfigMap"][0]
    assert cm["data"]["list"] == "prod,common"
    again = fabrikate.generate(root, ["prod", "common", "prod"])
    cm = [o for o in objects(again.output / "demo.yaml") if o["kind"] == "ConfigMap"][0]
    assert cm["data"]["list"] == "prod,common"  # no duplicated layers


def test_crds_are_included_and_injection_skips_cluster_scoped(tree) -> None:
    root = chart_tree(
        tree,
        {
            "config/common.yaml": """
                subcomponents:
                  demo:
                    namespace: apps
                    injectNamespace: true
                    config: {clusterWide: true}
            """,
        },
    )
    result = fabrikate.generate(root, [])
    docs = objects(result.output / "demo.yaml")
    scopes = {o["kind"]: o["metadata"].get("namespace") for o in docs}
    assert scopes == {
        "CustomResourceDefinition": None,
        "Namespace": None,
        "ClusterRole": None,
        "Gadget": None,  # cluster-scoped by its CRD
        "ConfigMap": "apps",
        "Deployment": "apps",
    }
    text = (result.output / "demo.yaml").read_text()
    assert "# a comment that must survive namespace injection" in text
    assert "---\n---" not in text


def test_namespace_without_injection_only_goes_to_helm(tree) -> None:
    root = chart_tree(
        tree, {"config/common.yaml": "subcomponents:\n  demo:\n    namespace: apps\n"}
    )
    docs = objects(fabrikate.generate(root, []).output / "demo.yaml")
    cm = [o for o in docs if o["kind"] == "ConfigMap"][0]
    assert cm["data"]["namespace"] == "apps"
    assert "namespace" not in cm["metadata"]


def test_helm_warnings_never_reach_the_output(tree) -> None:
    root = chart_tree(tree, chart="deprecated")
    result = fabrikate.generate(root, [])
    text = (result.output / "demo.yaml").read_text()
    assert "WARNING" not in text and "level=WARN" not in text
    assert [o["kind"] for o in objects(result.output / "demo.yaml")] == ["ConfigMap"]
    assert any("deprecated" in w.message for w in result.warnings)


def test_helm_failure_names_component_and_chart_and_keeps_output(tree) -> None:
    root = chart_tree(tree)
    first = fabrikate.generate(root, [])
    before = (first.output / "demo.yaml").read_bytes()
    (root / "component.yaml").write_text(
        (root / "component.yaml").read_text().replace("charts/demo", "charts/broken")
    )
    with pytest.raises(ProcessError) as info:
        fabrikate.generate(root, [])
    message = str(info.value)
    assert "helm template failed for chart" in message and "broken" in message
    assert "[component demo]" in message
    assert (first.output / "demo.yaml").read_bytes() == before


def test_a_failed_first_run_leaves_no_output_folder(tree) -> None:
    root = chart_tree(
        tree,
        {
            "component.yaml": """
                name: app
                subcomponents:
                - {name: good, type: helm, method: local, path: ./charts/demo}
                - {name: files, type: static, path: ./manifests}
                - {name: bad, type: helm, method: local, path: ./charts/broken}
            """,
            "manifests/a.yaml": "kind: A\n",
        },
    )
    out = root / "out" / "deep" / "prod"
    with pytest.raises(ProcessError, match=r"\[component bad\]"):
        fabrikate.generate(root, ["prod"], output=out)
    assert not (root / "out").exists()  # nor the folders above it, nor a staging folder
    definition = root / "component.yaml"
    definition.write_text(definition.read_text().replace("charts/broken", "charts/demo"))
    fabrikate.generate(root, ["prod"], output=out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["prod"]
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST,
        "app.yaml",
        "bad.yaml",
        "files.yaml",
        "good.yaml",
    ]
    assert (out / "files.yaml").read_text() == "---\nkind: A\n"


def test_the_cache_is_trimmed_by_runs_that_found_it_filled(tree, tmp_path: Path, helm: str) -> None:
    from fabrikate.settings import Settings
    from fabrikate.support.cache import Cache

    root = chart_tree(tree)
    settings = Settings(helm=helm, cache_dir=str(tmp_path / "cache"), render_cache_bytes=1)
    cache = Cache.of(settings)
    fabrikate.generate(root, [], settings=settings)
    [first] = cache.entries(["render"])  # kept: the cache held nothing before
    (root / "config").mkdir()
    (root / "config" / "common.yaml").write_text("subcomponents:\n  demo:\n    config: {a: 1}\n")
    fabrikate.generate(root, [], settings=settings)
    assert not first.path.exists()  # over the bound: trimmed (the new entry may come after)


def test_missing_chart_is_a_clear_error(tree) -> None:
    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- name: c\n  type: helm\n  path: ./nochart\n"
        }
    )
    with pytest.raises(InputError, match=r"no helm chart at .*nochart \[component c\]"):
        fabrikate.generate(root, [])


def test_static_components_files_sorted_non_yaml_skipped(tree) -> None:
    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- name: static\n  type: static\n  path: ./manifests\n",
            "manifests/b.yaml": "kind: B\n---\nkind: B2\n",
            "manifests/a.yml": "# only a comment\n---\nkind: A\n",
            "manifests/c.json": '{"kind": "C"}',
            "manifests/README.md": "# not a manifest",
            "manifests/.gitkeep": "",
        }
    )
    result = fabrikate.generate(root, [])
    assert [o["kind"] for o in objects(result.output / "static.yaml")] == ["A", "B", "B2", "C"]
    assert any("README.md" in str(w) for w in result.warnings)


def test_hooks_run_in_the_component_folder_in_order(tree) -> None:
    root = tree(
        {
            "component.yaml": """
                name: app
                hooks:
                  before-generate:
                  - echo before >> log.txt
                  after-generate:
                  - echo "after $FAB_COMPONENT" >> log.txt
            """,
        }
    )
    fabrikate.generate(root, [])
    assert (root / "log.txt").read_text() == "before\nafter app\n"
    fabrikate.generate(root, [], settings=fabrikate.Settings.from_env(hooks="none"))
    assert (root / "log.txt").read_text() == "before\nafter app\n"


def test_a_failing_hook_names_component_hook_and_exit_code(tree) -> None:
    root = tree({"component.yaml": "name: app\nhooks:\n  before-generate:\n  - exit 7\n"})
    with pytest.raises(FabrikateError) as info:
        fabrikate.generate(root, [])
    assert "hook before-generate command 'exit 7' failed (exit 7)" in str(info.value)
    assert info.value.component == "app"


def test_output_is_identical_whatever_the_job_count(tree, tmp_path: Path) -> None:
    files = {"component.yaml": "name: app\nsubcomponents:\n"}
    for i in range(6):
        files["component.yaml"] += f"- name: d{i}\n  type: helm\n  path: ./charts/demo\n"
    root = tree(files)
    shutil.copytree(CHARTS, root / "charts")
    serial = fabrikate.generate(
        root, [], output=tmp_path / "one", settings=fabrikate.Settings.from_env(jobs=1)
    )
    parallel = fabrikate.generate(
        root, [], output=tmp_path / "four", settings=fabrikate.Settings.from_env(jobs=4)
    )
    for rel in serial.files.written:
        assert (serial.output / rel).read_bytes() == (parallel.output / rel).read_bytes()
    assert len(serial.files.written) == 7


def test_regenerating_leaves_unchanged_files_untouched(tree) -> None:
    root = chart_tree(tree)
    first = fabrikate.generate(root, [])
    stat = os.stat(first.output / "demo.yaml")
    second = fabrikate.generate(root, [])
    assert second.files.written == [] and sorted(second.files.unchanged) == [
        "app.yaml",
        "demo.yaml",
    ]
    assert os.stat(first.output / "demo.yaml").st_mtime_ns == stat.st_mtime_ns
