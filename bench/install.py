"""Benchmark ``fab install`` against the same fetches done one by one with git and helm.

    FAB_HELM=.tools/helm-v3.17.3/helm .venv/bin/python bench/install.py

Builds a synthetic tree on loopback: 60 git components over 10 repositories (default branch,
tag and commit refs) and 20 helm charts from a chart repository served on 127.0.0.1. Prints
the cold install (empty cache), the warm install (installed tree, warm cache) and a sequential
baseline of plain ``git clone`` and ``helm pull`` (as Fabrikate ran them), all measured in this
run, and their ratios. Targets: cold <= 0.5x baseline on 2 cores, warm <= 0.2x cold.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fabrikate.settings import Settings
from fabrikate.sources.installer import install
from tests.fixtures.servers import make_chart, package, static_server
from tests.fixtures.trees import git, make_repo, write_tree

REPOS, PER_REPO, CHARTS, ROUNDS = 10, 6, 20, 5
HELM = os.environ.get("FAB_HELM") or shutil.which("helm") or "helm"


def build_repos(work: Path) -> list[tuple[str, str, str]]:
    """Ten bare repos with some history; return (url, tag, first commit) for each."""
    repos = []
    for r in range(REPOS):
        src = work / "src" / f"r{r}"
        files = {f"files/f{i}.yaml": f"n: {i}\n" * 50 for i in range(40)}
        files["component.yaml"] = f"name: r{r}\n"
        first = make_repo(src, files)
        git(src, "tag", "v1")
        for c in range(15):
            write_tree(src, {f"files/f{c}.yaml": f"change: {c}\n" * 50})
            git(src, "commit", "-qam", f"c{c}")
        bare = work / "remotes" / f"r{r}.git"
        git(work, "clone", "-q", "--bare", str(src), str(bare))
        repos.append((bare.as_uri(), "v1", first))
    return repos


def build_charts(work: Path) -> Path:
    site = work / "site"
    for c in range(CHARTS // 2):
        for version in ("1.0.0", "1.1.0"):
            chart = make_chart(work / "chartsrc" / version, f"chart{c}", version)
            package(chart, site / "charts")
    subprocess.run([HELM, "repo", "index", str(site / "charts")], check=True)
    return site


def subcomponents(repos: list[tuple[str, str, str]], charts_url: str) -> list[dict[str, str]]:
    subs = []
    for r, (url, tag, first) in enumerate(repos):
        refs = [{}, {}, {"version": tag}, {"version": tag}, {"version": first}, {"branch": "main"}]
        for i, ref in enumerate(refs[:PER_REPO]):
            subs.append({"name": f"g{r}-{i}", "method": "git", "source": url, **ref})
    for c in range(CHARTS):
        version = "1.0.0" if c % 2 else "1.1.0"
        subs.append(
            {
                "name": f"h{c}",
                "type": "helm",
                "method": "helm",
                "source": charts_url,
                "path": f"chart{c // 2}",
                "version": version,
            }
        )
    return subs


def write_hld(root: Path, subs: list[dict[str, str]]) -> None:
    lines = ["name: bench", "subcomponents:"]
    for sub in subs:
        lines.append("  - {" + ", ".join(f'{k}: "{v}"' for k, v in sub.items()) + "}")
    write_tree(root, {"component.yaml": "\n".join(lines) + "\n"})


def baseline(subs: list[dict[str, str]], work: Path) -> float:
    """Fabrikate's fetches, one after the other: git clone (+checkout) and helm pull."""
    started = time.perf_counter()
    for n, sub in enumerate(subs):
        dest = work / f"b{n}"
        if sub["method"] == "git":
            cmd = ["git", "clone", "-q", sub["source"], str(dest)]
            if "version" not in sub:
                cmd[3:3] = ["--depth", "1"]
            if "branch" in sub:
                cmd[3:3] = ["--branch", sub["branch"]]
            subprocess.run(cmd, check=True)
            if "version" in sub:
                subprocess.run(
                    ["git", "-C", str(dest), "checkout", "-q", sub["version"]], check=True
                )
        else:
            subprocess.run(
                [
                    HELM,
                    "pull",
                    sub["path"],
                    "--repo",
                    sub["source"],
                    "--version",
                    sub["version"],
                    "--untar",
                    "--untardir",
                    str(dest),
                ],
                check=True,
            )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fab-bench-") as tmp:
        work = Path(tmp)
        os.environ["FAB_CACHE_DIR"] = str(work / "cache")
        os.environ["HELM_CONFIG_HOME"] = str(work / "helm-config")
        os.environ["HELM_CACHE_HOME"] = str(work / "helm-cache")
        gitconfig = work / "gitconfig"
        gitconfig.write_text("[init]\n\tdefaultBranch = main\n[user]\n\tname = b\n\temail = b@b\n")
        os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)
        repos = build_repos(work)
        with static_server(build_charts(work)) as url:
            subs = subcomponents(repos, f"{url}/charts")
            settings = Settings.from_env(helm=HELM)
            # Alternate the runs and keep medians: the machine may be shared and noisy.
            bases, colds, warms = [], [], []
            for round_ in range(ROUNDS):
                bases.append(baseline(subs, work / f"baseline{round_}"))
                shutil.rmtree(work / "cache", ignore_errors=True)
                root = work / f"hld{round_}"
                write_hld(root, subs)
                started = time.perf_counter()
                cold = install(root, settings)
                colds.append(time.perf_counter() - started)
                assert cold.ok, cold.failures
                started = time.perf_counter()
                warm = install(root, settings)
                warms.append(time.perf_counter() - started)
                assert warm.ok and warm.changed == 0, warm.failures
    base, cold_s, warm_s = (statistics.median(x) for x in (bases, colds, warms))
    git_n = sum(1 for s in subs if s["method"] == "git")
    print(
        f"tree: {git_n} git components over {REPOS} repos, {CHARTS} helm charts, -j {settings.jobs}"
    )
    print(f"medians of {ROUNDS} alternating rounds")
    print(f"sequential git clone + helm pull: {base:6.2f}s")
    print(
        f"fab install, cold (empty cache):  {cold_s:6.2f}s  ({cold_s / base:.2f}x baseline, "
        f"{base / cold_s:.1f}x faster)"
    )
    print(f"fab install, warm:                {warm_s:6.2f}s  ({warm_s / cold_s:.2f}x cold)")


if __name__ == "__main__":
    main()
