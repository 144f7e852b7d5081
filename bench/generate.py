"""Benchmark `fab generate` against the floor: the same helm calls run directly in parallel.

    python bench/generate.py [--sizes 10 100 500] [--jobs 2] [--repeat 5]

For each size it writes a synthetic HLD (bench/synth.py) and measures, in the same run:
the floor (every `helm template` call fab makes, run by a parallel shell script), a cold
`fab generate` with an empty cache and no earlier output, a no-op run, a run after one config
value changed, and fab's peak RSS. Each time is the median of ``--repeat`` runs (floor and cold
alternate, so load drifts hit both). It prints a table with the ratios cold/floor, no-op/cold
and one-change/cold, and the time of `fab --version`. fab runs as users run it: the `fab`
console script, records off (``FAB_RECORDS=none``).
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
from collections.abc import Callable
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import synth

FAB = str(Path(sys.executable).with_name("fab"))  # the console script users run
ENV = "prod"
RSS_PROBE = (
    "import resource, sys, fabrikate; "
    "fabrikate.generate(sys.argv[1], [sys.argv[2]], output=sys.argv[3]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def timed(argv: list[str], env: dict[str, str], before: Callable[[], None] = lambda: None) -> float:
    """Seconds one command takes, after ``before`` ran; it must succeed."""
    before()
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def floor_script(root: Path, work: Path, helm: str, jobs: int) -> Path:
    """A shell script running fab's helm calls directly, ``jobs`` at a time."""
    import fabrikate
    from fabrikate.hld.layout import chart_dir
    from fabrikate.render.helm import HELM_FLAGS

    tree = fabrikate.load(root, [ENV])
    lines = []
    for i, node in enumerate(n for n in tree.components if n.component.type == "helm"):
        values = work / f"values-{i}.json"
        values.write_text(json.dumps(node.config.config))
        flags = " ".join(HELM_FLAGS)
        lines.append(
            f"{helm} template --values - --namespace {node.namespace} {flags} "
            f"-- {node.name} {chart_dir(node)} < {values} > {work}/out-{i}.yaml"
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


def measure(n: int, helm: str, jobs: int, base: Path, repeat: int) -> dict[str, float]:
    root = synth(n, base / f"hld-{n}")
    cache = base / f"cache-{n}"
    env = dict(os.environ, FAB_HELM=helm, FAB_CACHE_DIR=str(cache), FAB_RECORDS="none")
    work = base / f"work-{n}"
    work.mkdir()
    script = floor_script(root, work, helm, jobs)
    command = [FAB, "-q", "generate", "-j", str(jobs), "-C", str(root), ENV]

    def empty() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(root / "generated", ignore_errors=True)

    floor, cold = [], []
    for _ in range(repeat):
        floor.append(timed([str(script)], env))
        cold.append(timed(command, env, empty))
    row: dict[str, float] = {"n": n, "floor": median(floor), "cold": median(cold)}
    row["noop"] = median([timed(command, env) for _ in range(repeat)])
    row["change"] = median([timed(command, env, lambda: one_change(root)) for _ in range(repeat)])
    empty()
    row["rss"] = peak_rss_mb(root, env, work)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    helm = os.environ.get("FAB_HELM") or shutil.which("helm") or "helm"
    version = median([timed([FAB, "--version"], dict(os.environ)) for _ in range(args.repeat)])

    with tempfile.TemporaryDirectory(prefix="fab-bench-") as tmp:
        rows = [measure(n, helm, args.jobs, Path(tmp), args.repeat) for n in args.sizes]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    helm_version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True)
    print(f"helm: {helm_version.stdout.strip()}")
    print(f"fab --version: {version * 1000:.0f} ms (medians of {args.repeat} runs)\n")
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
