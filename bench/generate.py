"""Benchmark `fab generate` against the floor: the same helm calls run directly in parallel.

    python bench/generate.py [--quick] [--sizes 40 500] [--rss 500 2000] [--jobs 2] [--repeat 5]

Everything is measured in one run, each time the median of ``--repeat`` whole-process runs,
the floor and fab alternating so load drifts hit both. fab runs as users run it: the `fab`
console script. The floor is every `helm template` call fab makes, run by a parallel shell
script (``xargs -P jobs``); the tuned floor is the same script with Go's collector set for helm
as fab sets it (``GOGC``, fabrikate.support.helm), so fab's own overhead shows apart from what
that setting saves.

- ``examples/trivia`` (a git checkout of it), records on into a SQLite file: cold (empty cache,
  no output, no store); warm (the cache and output of an earlier run, ``--force`` so it is not
  skipped as up to date: the render cache serves every component); warm with the renders
  dropped from the cache (the same helm calls run); and a fresh runner (no output, no store)
  with the cache of an earlier run restored at another path; and a fresh runner with no cache
  whose renders an earlier run pushed to a shared remote cache (``FAB_REMOTE_CACHE``, the
  Debian ``docker-registry`` the tests start, on loopback: no network latency, so this is
  fab's own cost of two requests per chart). fab's overhead is fab - floor, in
  ms, and so is the CPU time (user + system, with every child) fab spends above the floor's,
  which a busy machine moves less.
- Each of ``--sizes`` (a synthetic HLD, bench/synth.py, a git checkout): cold as above, then a
  no-op run and a run after one config value changed (records off, as in earlier tables).
- Peak RSS of the library rendering each of ``--rss`` cold (records off).

``--quick``: sizes 40, RSS at 500, 3 repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # tests.fixtures: the registry

from synth import synth

from fabrikate.support.helm import go_runtime
from tests.fixtures.servers import running_registry

FAB = str(Path(sys.executable).with_name("fab"))  # the console script users run
ENV = "prod"
TRIVIA = Path(__file__).resolve().parent.parent / "examples" / "trivia"
# The probe's own peak (KiB): VmHWM where Linux has it, since ru_maxrss keeps the peak of the
# process that spawned it (this one, with the test fixtures imported: 39 MB, not fab's 26).
RSS_PROBE = (
    "import resource, sys, fabrikate; "
    "fabrikate.generate(sys.argv[1], [sys.argv[2]], output=sys.argv[3]); "
    "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')] "
    "if sys.platform == 'linux' else []; "
    "print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)
TRIVIA_ROWS = (
    ("cold", "cold", " (<= 60)"),
    ("warm", "warm (--force)", " (<= 30)"),
    ("helm", "warm, renders dropped", ""),
    ("restored", "fresh runner, cache restored", " (<= warm)"),
    ("remote", "fresh runner, renders on a shared registry", ""),
)
GIT = ("git", "-c", "user.name=bench", "-c", "user.email=bench@example.com")


def timed(argv: list[str], env: dict[str, str], before: Callable[[], None] = lambda: None) -> float:
    """Seconds one command takes, after ``before`` ran; it must succeed."""
    return run_cpu(argv, env, before)[0]


def run_cpu(
    argv: list[str], env: dict[str, str], before: Callable[[], None] = lambda: None
) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the command and its children) of one command."""
    before()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime


def checkout(root: Path) -> Path:
    """Make ``root`` a git checkout with one commit, as a CI runner has it."""
    subprocess.run([*GIT, "init", "-q", str(root)], check=True)
    subprocess.run([*GIT, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(root), "commit", "-qm", "bench"], check=True)
    return root


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


class Bench:
    """One tree to measure: its floor script, fab's command and a private cache and store."""

    def __init__(self, root: Path, base: Path, helm: str, jobs: int) -> None:
        self.root, self.cache, self.records = root, base / "cache", base / "records.db"
        work = base / "work"
        work.mkdir(parents=True)
        self.env = dict(os.environ, FAB_HELM=helm, FAB_CACHE_DIR=str(self.cache))
        self.env["FAB_RECORDS"] = f"sqlite:///{self.records}"
        self.quiet = dict(self.env, FAB_RECORDS="none")
        self.floor = [str(floor_script(root, work, helm, jobs))]
        self.tuned = dict(self.env, **go_runtime())  # the floor with helm's GOGC as fab sets it
        self.command = [FAB, "-q", "generate", "-j", str(jobs), "-C", str(root), ENV]

    def empty(self) -> None:
        """A fresh runner: no cache, no output, no record store."""
        shutil.rmtree(self.cache, ignore_errors=True)
        shutil.rmtree(self.root / "generated", ignore_errors=True)
        self.records.unlink(missing_ok=True)

    def unrendered(self) -> None:
        """A warm cache without the renders of this tree, so the same helm calls run."""
        for kind in ("render", "inject", "stamps"):
            shutil.rmtree(self.cache / "v1" / kind, ignore_errors=True)

    def rounds(
        self, repeat: int, **runs: tuple[dict[str, str], Callable[[], None], list[str]]
    ) -> dict:
        """Medians of the floor, the tuned floor and each named run, alternating round by round:
        wall time under each name, CPU time under ``<name> cpu``."""
        times: dict[str, list[tuple[float, float]]] = {"floor": [], "tuned": []}
        times |= {name: [] for name in runs}
        for _ in range(repeat):
            times["floor"].append(run_cpu(self.floor, self.env))
            times["tuned"].append(run_cpu(self.floor, self.tuned))
            for name, (env, before, extra) in runs.items():
                times[name].append(run_cpu([*self.command, *extra], env, before))
        medians = {name: median(t[0] for t in values) for name, values in times.items()}
        medians |= {f"{name} cpu": median(t[1] for t in values) for name, values in times.items()}
        return medians


def measure_trivia(helm: str, jobs: int, base: Path, repeat: int) -> dict[str, float]:
    """examples/trivia: fab's own time above the floor, cold and warm."""
    root = checkout(Path(shutil.copytree(TRIVIA, base / "trivia", ignore=_generated)))
    bench = Bench(root, base / "trivia-run", helm, jobs)
    bench.empty()
    timed(bench.command, bench.env)  # a first run, so the warm runs find a cache
    saved, restored = base / "saved-cache", base / "restored-cache"
    shutil.copytree(bench.cache, saved, symlinks=True)

    def restore() -> None:
        """A fresh runner with the saved cache restored (at another path) and no output."""
        bench.empty()
        shutil.rmtree(restored, ignore_errors=True)
        shutil.copytree(saved, restored, symlinks=True)

    with running_registry(base / "registry") as registry:
        shared = dict(
            bench.env,
            FAB_REMOTE_CACHE=f"{registry.url}/bench-cache",
            FAB_REMOTE_CACHE_KEY="bench-shared-secret",
            FAB_PLAIN_HTTP_REGISTRIES=registry.host,
        )
        timed(bench.command, dict(shared, FAB_REMOTE_CACHE_PUSH="1"), bench.empty)  # pushes
        return bench.rounds(
            repeat,
            cold=(bench.env, bench.empty, []),
            warm=(bench.env, lambda: None, ["--force"]),
            helm=(bench.env, bench.unrendered, []),
            restored=(dict(bench.env, FAB_CACHE_DIR=str(restored)), restore, []),
            remote=(shared, bench.empty, []),
        )


def _generated(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("generated", "components", "helm_repos")]


def measure(n: int, helm: str, jobs: int, base: Path, repeat: int) -> dict[str, float]:
    """A synthetic tree of ``n`` components: cold against the floor, no-op, one change."""
    root = checkout(synth(n, base / f"hld-{n}"))
    bench = Bench(root, base / f"run-{n}", helm, jobs)
    row = {"n": n, **bench.rounds(repeat, cold=(bench.env, bench.empty, []))}
    row["noop"] = median([timed(bench.command, bench.quiet) for _ in range(repeat)])
    change = [timed(bench.command, bench.quiet, lambda: one_change(root)) for _ in range(repeat)]
    row["change"] = median(change)
    return row


def measure_rss(n: int, base: Path, helm: str) -> float:
    """Peak RSS (MB) of the library rendering a synthetic tree of ``n`` components cold."""
    root = synth(n, base / f"rss-{n}")
    work = base / f"rss-work-{n}"
    work.mkdir()
    env = dict(os.environ, FAB_HELM=helm, FAB_CACHE_DIR=str(work / "cache"), FAB_RECORDS="none")
    return peak_rss_mb(root, env, work)


def byte_compile() -> None:
    """Byte-compile fab's package, as installing it does: a checkout run with
    PYTHONDONTWRITEBYTECODE would compile every module again in every measured run."""
    import compileall

    import fabrikate

    compileall.compile_dir(Path(fabrikate.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 40, RSS at 500, 3 repeats")
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--rss", type=int, nargs="+")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int)
    args = parser.parse_args()
    sizes = args.sizes or ([40] if args.quick else [40, 500])
    rss_sizes = args.rss or ([500] if args.quick else [500, 2000])
    repeat = args.repeat or (3 if args.quick else 5)
    helm = os.environ.get("FAB_HELM") or shutil.which("helm") or "helm"
    byte_compile()
    version = median([timed([FAB, "--version"], dict(os.environ)) for _ in range(repeat)])

    with tempfile.TemporaryDirectory(prefix="fab-bench-") as tmp:
        trivia = measure_trivia(helm, args.jobs, Path(tmp), repeat)
        rows = [measure(n, helm, args.jobs, Path(tmp), repeat) for n in sizes]
        rss = {n: measure_rss(n, Path(tmp), helm) for n in rss_sizes}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    helm_version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True)
    print(f"helm: {helm_version.stdout.strip()}, -j {args.jobs}, medians of {repeat} runs")
    print(f"fab --version: {version * 1000:.0f} ms\n")
    columns = ["examples/trivia", "floor ms", "tuned floor ms", "fab ms", "overhead ms (target)"]
    columns += ["over tuned floor ms", "CPU over floor ms"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    floor, tuned = trivia["floor"] * 1000, trivia["tuned"] * 1000
    for name, label, target in TRIVIA_ROWS:
        fab = trivia[name] * 1000
        cpu = (trivia[f"{name} cpu"] - trivia["floor cpu"]) * 1000
        print(
            f"| {label} | {floor:.0f} | {tuned:.0f} | {fab:.0f} | {fab - floor:.0f}{target} | "
            f"{fab - tuned:.0f} | {cpu:.0f} |"
        )
    print()
    columns = ["N", "floor s", "tuned floor s", "cold s", "cold/floor (<= 1.05)"]
    columns += ["cold/tuned floor", "CPU cold/floor", "no-op s", "one-change s", "no-op/cold"]
    columns += ["one-change/cold"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        print(
            f"| {r['n']:.0f} | {r['floor']:.2f} | {r['tuned']:.2f} | {r['cold']:.2f} | "
            f"{r['cold'] / r['floor']:.2f} | {r['cold'] / r['tuned']:.2f} | "
            f"{r['cold cpu'] / r['floor cpu']:.2f} | {r['noop']:.2f} | {r['change']:.2f} | "
            f"{r['noop'] / r['cold']:.3f} | "
            f"{r['change'] / r['cold']:.3f} |"
        )
    print()
    print("peak RSS: " + ", ".join(f"N = {n}: {mb:.0f} MB" for n, mb in rss.items()))


if __name__ == "__main__":
    main()
