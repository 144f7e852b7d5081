"""Benchmark `fab generate` against the floor: the same helm calls run directly in parallel.

    python bench/generate.py [--sizes 10 100 500] [--jobs 2]

For each size it writes a synthetic HLD (bench/synth.py) and measures, in the same run:
the floor (every `helm template` call fab makes, run by a parallel shell script), a cold
`fab generate` with an empty cache, a no-op run, a run after one config value changed, and
fab's peak RSS. It prints a table with the ratios cold/floor, no-op/cold and one-change/cold,
and the time of `fab --version`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import synth

FAB = [sys.executable, "-m", "fabrikate"]
ENV = "prod"
RSS_PROBE = (
    "import resource, sys, fabrikate; "
    "fabrikate.generate(sys.argv[1], [sys.argv[2]], output=sys.argv[3]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds one command takes; it must succeed."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def floor_script(root: Path, work: Path, helm: str, jobs: int) -> Path:
    """A shell script running fab's helm calls directly, ``jobs`` at a time."""
    import fabrikate
    from fabrikate.generators import HELM_FLAGS, chart_path

    tree = fabrikate.load(root, [ENV])
    lines = []
    for i, node in enumerate(n for n in tree.components if n.component.type == "helm"):
        values = work / f"values-{i}.json"
        values.write_text(json.dumps(node.config.config))
        flags = " ".join(HELM_FLAGS)
        lines.append(
            f"{helm} template --values {values} --namespace {node.namespace} {flags} "
            f"-- {node.name} {chart_path(node)} > {work}/out-{i}.yaml"
        )
    calls = work / "calls.txt"
    calls.write_text("\n".join(lines) + "\n")
    script = work / "floor.sh"
    script.write_text(f"#!/bin/sh\nxargs -P {jobs} -I CMD sh -c CMD < {calls}\n")
    script.chmod(0o755)
    return script


def one_change(root: Path) -> None:
    """Change one config value that reaches exactly one helm component."""
    path = root / "group0" / "config" / f"{ENV}.json"
    data = json.loads(path.read_text())
    settings = data["subcomponents"]["svc0-1"]["config"]["settings"]
    settings["changed"] = str(time.time())
    path.write_text(json.dumps(data, indent=2))


def peak_rss_mb(root: Path, env: dict[str, str], work: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(root), ENV, str(work / "rss-out")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def measure(n: int, helm: str, jobs: int, base: Path) -> dict[str, float]:
    root = synth(n, base / f"hld-{n}")
    env = dict(
        os.environ, FAB_HELM=helm, FAB_CACHE_DIR=str(base / f"cache-{n}"), FAB_RECORDS="none"
    )
    work = base / f"work-{n}"
    work.mkdir()
    script = floor_script(root, work, helm, jobs)
    row: dict[str, float] = {"n": n}
    row["floor"] = timed([str(script)], env)
    command = [*FAB, "-q", "generate", "-j", str(jobs), "-C", str(root), ENV]
    row["cold"] = timed(command, env)
    row["noop"] = timed(command, env)
    one_change(root)
    row["change"] = timed(command, env)
    shutil.rmtree(base / f"cache-{n}")
    row["rss"] = peak_rss_mb(root, env, work)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    helm = os.environ.get("FAB_HELM") or shutil.which("helm") or "helm"
    script = Path(sys.executable).with_name("fab")  # the console script users run
    version = timed([str(script) if script.exists() else FAB[0], "--version"], dict(os.environ))

    with tempfile.TemporaryDirectory(prefix="fab-bench-") as tmp:
        rows = [measure(n, helm, args.jobs, Path(tmp)) for n in args.sizes]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    helm_version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True)
    print(f"helm: {helm_version.stdout.strip()}")
    print(f"fab --version: {version * 1000:.0f} ms\n")
    columns = ["N", "floor s", "cold s", "no-op s", "one-change s", "peak RSS MB"]
    columns += ["cold/floor", "no-op/cold", "one-change/cold"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * 9)
    for r in rows:
        print(
            f"| {r['n']:.0f} | {r['floor']:.2f} | {r['cold']:.2f} | {r['noop']:.2f} | "
            f"{r['change']:.2f} | {r['rss']:.0f} | {r['cold'] / r['floor']:.2f} | "
            f"{r['noop'] / r['cold']:.3f} | {r['change'] / r['cold']:.3f} |"
        )


if __name__ == "__main__":
    main()
