"""SIGTERM at random points of ``fab install``: every installed component is its previous
complete copy or its new complete copy, no child process survives, the next install works."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import fabrikate
from fabrikate.settings import Settings
from tests.fixtures.servers import Http
from tests.fixtures.trees import write_tree
from tests.hostile.test_concurrency import repos
from tests.hostile.test_interrupts import snapshot, survivors

NAMES = ("alpha", "beta")


def write_hld(root: Path, urls: list[str], version: int, charts: str) -> Path:
    subs = "".join(
        f"- name: {name}{copy}\n  method: git\n  source: {url}\n  version: v{version}\n"
        for name, url in zip(NAMES, urls, strict=True)
        for copy in (1, 2)
    )
    subs += f"- name: web\n  type: helm\n  method: helm\n  source: {charts}\n  path: demo\n"
    subs += f"  version: 0.{version}.0\n"
    hooks = "hooks:\n  before-install:\n  - touch started\n"  # tells the test the work began
    return write_tree(root, {"component.yaml": f"name: hld\n{hooks}subcomponents:\n{subs}"})


def installed(root: Path) -> dict[str, dict[str, bytes]]:
    """Each installed component's files, with the swap's leftovers (there must be none)."""
    found = {}
    for folder in ("components", "helm_repos"):
        for path in sorted((root / folder).iterdir()):
            if path.is_dir():
                found[f"{folder}/{path.name}"] = {
                    k: v for k, v in snapshot(path).items() if not k.startswith(".git/")
                }
            else:
                found[f"{folder}/{path.name}"] = {"": path.read_bytes()}
    return found


def test_sigterm_during_install_leaves_complete_copies(tmp_path: Path, http_site: Http) -> None:
    urls = repos(tmp_path)
    cache = tmp_path / "cache"
    env = dict(os.environ, FAB_CACHE_DIR=str(cache))
    expected = {}
    for version in (1, 2):
        reference = write_hld(tmp_path / f"reference{version}", urls, version, http_site.charts)
        os.environ["FAB_CACHE_DIR"] = str(cache)
        try:
            assert fabrikate.install(reference, Settings.from_env(jobs=2)).ok
        finally:
            del os.environ["FAB_CACHE_DIR"]
        expected[version] = installed(reference)
    root = write_hld(tmp_path / "hld", urls, 1, http_site.charts)
    assert (
        subprocess.run(
            [sys.executable, "-m", "fabrikate", "-q", "install", str(root)], env=env
        ).returncode
        == 0
    )
    rng = random.Random(77)
    outcomes = set()
    for attempt in range(1, 9):
        before = installed(root)
        version = 1 + attempt % 2
        write_hld(root, urls, version, http_site.charts)
        (root / "started").unlink()
        proc = subprocess.Popen(
            [sys.executable, "-m", "fabrikate", "-q", "install", "-j", "2", str(root)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not (root / "started").exists() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err
        assert proc.returncode in (0, 143, -signal.SIGTERM), err
        outcomes.add("finished" if proc.returncode == 0 else "killed")
        assert not survivors(str(tmp_path))
        now = installed(root)
        assert set(now) == set(before)
        for name, files in now.items():
            assert files in (before[name], expected[version][name]), name
        done = subprocess.run(
            [sys.executable, "-m", "fabrikate", "-q", "install", str(root)], env=env
        )
        assert done.returncode == 0
        assert installed(root) == expected[version]
    assert "killed" in outcomes
