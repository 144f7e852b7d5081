"""Write a synthetic HLD of about N components for benchmarks.

    python bench/synth.py 100 /tmp/hld-100

The tree mixes nested directory components, inline helm components over a handful of local
charts of different sizes, static components, and three environments with layered config.
Definitions and config are YAML in odd-numbered groups and JSON elsewhere, as in real trees.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import yaml

ENVIRONMENTS = ("dev", "staging", "prod")
CHART_SIZES = {"small": 2, "medium": 6, "large": 15}
GROUP_SIZE = 10  # components per group folder: 1 group, 1 nested folder, 6 helm, 2 static


def chart(root: Path, name: str, templates: int) -> None:
    """A local chart with ``templates`` ConfigMap/Deployment templates."""
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
    (root / "values.yaml").write_text("replicas: 1\nimage: nginx:1.25\nsettings: {}\n")
    for i in range(templates):
        if i % 2 == 0:
            body = (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                f"  name: {{{{ .Release.Name }}}}-cm{i}\n"
                "data:\n{{- range $k, $v := .Values.settings }}\n  {{ $k }}: {{ $v | quote }}\n"
                "{{- end }}\n"
            )
        else:
            body = (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                f"  name: {{{{ .Release.Name }}}}-d{i}\n"
                "spec:\n  replicas: {{ .Values.replicas }}\n"
                f"  selector:\n    matchLabels: {{app: x{i}}}\n  template:\n    metadata:\n"
                f"      labels: {{app: x{i}}}\n    spec:\n      containers:\n"
                "        - name: main\n          image: {{ .Values.image | quote }}\n"
            )
        (root / "templates" / f"t{i}.yaml").write_text(body)


def group(root: Path, index: int) -> list[str]:
    """A group folder of about GROUP_SIZE components; returns the names of its helm leaves."""
    folder = root / f"group{index}"
    nested = folder / "nested"
    ext = "yaml" if index % 2 else "json"
    sizes = list(CHART_SIZES)
    helm = [f"svc{index}-{i}" for i in range(6)]
    subs = [
        {"name": name, "type": "helm", "method": "local", "path": f"../charts/{sizes[i % 3]}"}
        for i, name in enumerate(helm[:4])
    ]
    subs.append({"name": f"static{index}", "type": "static", "path": "./manifests"})
    subs.append({"name": "nested", "method": "local", "path": "./nested"})
    write(folder / f"component.{ext}", {"name": f"group{index}", "subcomponents": subs})
    nested_subs = [
        {
            "name": name,
            "type": "helm",
            "method": "local",
            "path": f"../../charts/{sizes[(i + 1) % 3]}",
        }
        for i, name in enumerate(helm[4:])
    ]
    nested_subs.append({"name": f"crds{index}", "type": "static", "path": "./manifests"})
    write(nested / f"component.{ext}", {"name": f"nested{index}", "subcomponents": nested_subs})
    for place in (folder, nested):
        (place / "manifests").mkdir(parents=True, exist_ok=True)
        (place / "manifests" / "ns.yaml").write_text(
            f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: g{index}\n"
        )
    for env in ("common", *ENVIRONMENTS):
        config = {
            "subcomponents": {
                name: {"config": {"settings": {"env": env, "group": str(index)}}}
                for name in helm[:4]
            }
        }
        config["subcomponents"]["nested"] = {
            "subcomponents": {name: {"config": {"replicas": 2}} for name in helm[4:]}
        }
        write(folder / "config" / f"{env}.{ext}", config)
    return helm


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".yaml":
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    else:
        path.write_text(json.dumps(data, indent=2) + "\n")


def synth(n: int, root: Path) -> Path:
    """Write the tree; return its root."""
    if root.exists():
        shutil.rmtree(root)
    charts = root / "charts"
    for name, templates in CHART_SIZES.items():
        chart(charts / name, name, templates)
    groups = max(1, round((n - 1) / GROUP_SIZE))
    subs = [{"name": f"group{i}", "path": f"./group{i}"} for i in range(groups)]
    write(root / "component.json", {"name": "bench", "subcomponents": subs})
    for i in range(groups):
        group(root, i)
    for env in ("common", *ENVIRONMENTS):
        namespace = {"namespace": f"bench-{env}", "injectNamespace": True}
        layer = {"subcomponents": {f"group{i}": {"subcomponents": {}} for i in range(groups)}}
        for i in range(groups):
            layer["subcomponents"][f"group{i}"]["subcomponents"] = {
                f"svc{i}-0": {**namespace, "config": {"image": f"nginx:{env}"}}
            }
        write(root / "config" / f"{env}.json", layer)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    synth(args.n, args.dest)
    print(args.dest)


if __name__ == "__main__":
    main()
