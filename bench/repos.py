"""Benchmark ``fab install`` of git sources from big repositories against plain git clones.

    FAB_HELM=.tools/helm-v3.17.3/helm .venv/bin/python bench/repos.py [--repeat 5]

Every repository is a local bare repository served by ``git daemon`` on 127.0.0.1 with filters
allowed (``uploadpack.allowFilter``), as forges serve them. Two cases, measured in one run:

- A chart monorepo (helm/charts-like: many charts, a long history, test data beside the
  templates): installing 4 of its charts (``type: helm, method: git``) from one commit, cold
  (empty cache), against ``git clone --depth 1`` of the repository. Target <= 0.5x.
- Disk: 20 git components of 4 repositories, each repository with a 5 MB file (3 components
  per repository take a folder, 2 the whole repository), against a full ``git clone`` for each
  component (as Fabrikate made them). Target <= 0.3x.

Times are medians of ``--repeat`` alternating runs; disk is ``du`` of fab's cache and the
installed components, hard links counted once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAB = str(Path(sys.executable).with_name("fab"))
GIT = ("git", "-c", "user.name=bench", "-c", "user.email=bench@example.com")
CHARTS, HISTORY, CHOSEN = 300, 400, 4
DISK_REPOS, BIG = 4, 5 << 20


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def chart_files(index: int) -> dict[str, bytes]:
    """One chart: a few templates and some test data, as charts of helm/charts have."""
    name = f"chart{index}"
    files = {
        f"stable/{name}/Chart.yaml": f"apiVersion: v1\nname: {name}\nversion: 1.0.0\n".encode(),
        f"stable/{name}/values.yaml": b"replicas: 1\n",
        f"stable/{name}/templates/cm.yaml": (
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        ),
    }
    files[f"stable/{name}/ci/data.bin"] = os.urandom(60_000)  # blobs a checkout need not fetch
    return files


def write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def monorepo(work: Path) -> Path:
    """A bare chart monorepo with ``HISTORY`` commits over ``CHARTS`` charts."""
    src = work / "monorepo"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    files: dict[str, bytes] = {}
    for i in range(CHARTS):
        files |= chart_files(i)
    write(src, files)
    git(src, "add", "-A")
    git(src, "commit", "-qm", "charts")
    for c in range(HISTORY):  # years of small changes to values and test data
        chart = c % CHARTS
        write(src, {f"stable/chart{chart}/values.yaml": f"replicas: {c}\n".encode()})
        write(src, {f"stable/chart{chart}/ci/data.bin": os.urandom(20_000)})
        git(src, "commit", "-qam", f"change {c}")
    return bare(src, work / "served" / "charts.git")


def bare(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(src.parent, "clone", "-q", "--bare", str(src), str(dest))
    git(dest, "config", "uploadpack.allowFilter", "true")
    git(dest, "config", "uploadpack.allowAnySHA1InWant", "true")
    return dest


def disk_repos(work: Path) -> list[Path]:
    """Four bare repositories, each with a 5 MB file and three component folders."""
    repos = []
    for r in range(DISK_REPOS):
        src = work / f"disk{r}"
        src.mkdir()
        git(src, "init", "-q", "-b", "main")
        files = {"assets/big.bin": os.urandom(BIG), "component.yaml": f"name: r{r}\n".encode()}
        for a in range(3):
            files[f"apps/app{a}/component.yaml"] = f"name: app{a}\n".encode()
            files[f"apps/app{a}/manifests/cm.yaml"] = b"apiVersion: v1\nkind: ConfigMap\n"
        write(src, files)
        git(src, "add", "-A")
        git(src, "commit", "-qm", "initial")
        repos.append(bare(src, work / "served" / f"disk{r}.git"))
    return repos


@contextmanager
def daemon(base: Path) -> Iterator[str]:
    """``git daemon`` serving ``base`` on a free loopback port; yields its URL prefix."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}"]
    argv += ["--listen=127.0.0.1", f"--port={port}", str(base)]
    process = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()


def hld(root: Path, subcomponents: list[str]) -> Path:
    root.mkdir(parents=True)
    (root / "component.yaml").write_text("name: bench\nsubcomponents:\n" + "".join(subcomponents))
    return root


def fab_install(root: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([FAB, "-q", "install", str(root)], env=env, check=True)
    return time.perf_counter() - started


def clone(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def du(*paths: Path) -> int:
    """Bytes on disk of ``paths`` together (a file linked twice counts once)."""
    out = subprocess.run(["du", "-sck", *map(str, paths)], check=True, capture_output=True)
    return int(out.stdout.split()[-2]) * 1024


def charts_case(work: Path, url: str, repeat: int) -> tuple[float, float]:
    chosen = [f"stable/chart{i * (CHARTS // CHOSEN)}" for i in range(CHOSEN)]
    subs = [
        f'  - {{name: c{i}, type: helm, method: git, source: "{url}", path: "{path}"}}\n'
        for i, path in enumerate(chosen)
    ]
    fab, plain = [], []
    for n in range(repeat):
        env = dict(os.environ, FAB_CACHE_DIR=str(work / f"cache-{n}"), FAB_RECORDS="none")
        plain.append(clone(["git", "clone", "-q", "--depth", "1", url, f"clone-{n}"], work))
        fab.append(fab_install(hld(work / f"charts-hld-{n}", subs), env))
    return statistics.median(fab), statistics.median(plain)


def disk_case(work: Path, urls: list[str]) -> tuple[int, int]:
    subs = []
    for r, url in enumerate(urls):
        for a in range(3):
            line = f'  - {{name: r{r}a{a}, method: git, source: "{url}", path: apps/app{a}}}\n'
            subs.append(line)
        subs += [f'  - {{name: r{r}w{w}, method: git, source: "{url}"}}\n' for w in range(2)]
    root = hld(work / "disk-hld", subs)
    cache = work / "disk-cache"
    fab_install(root, dict(os.environ, FAB_CACHE_DIR=str(cache), FAB_RECORDS="none"))
    clones = work / "full-clones"
    clones.mkdir()
    for n, url in enumerate(u for u in urls for _ in range(5)):
        clone(["git", "clone", "-q", url, str(clones / f"c{n}")], work)
    return du(cache, root / "components"), du(clones)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("git"):
        sys.exit("git is needed")
    with tempfile.TemporaryDirectory(prefix="fab-bench-repos-") as tmp:
        work = Path(tmp)
        charts = monorepo(work)
        disk = disk_repos(work)
        with daemon(work / "served") as base:
            fab_s, clone_s = charts_case(work, f"{base}/{charts.name}", args.repeat)
            fab_b, clones_b = disk_case(work, [f"{base}/{d.name}" for d in disk])
    print(f"chart monorepo: {CHARTS} charts, {HISTORY + 1} commits; medians of {args.repeat} runs")
    print("| case | fab | plain git | ratio (target) |")
    print("|---|---|---|---|")
    print(
        f"| {CHOSEN} charts of one commit, cold | {fab_s:.2f} s | {clone_s:.2f} s "
        f"(clone --depth 1) | {fab_s / clone_s:.2f} (<= 0.5) |"
    )
    print(
        f"| disk, 20 components of {DISK_REPOS} repos | {fab_b / 2**20:.0f} MB | "
        f"{clones_b / 2**20:.0f} MB (full clones) | {fab_b / clones_b:.2f} (<= 0.3) |"
    )


if __name__ == "__main__":
    main()
