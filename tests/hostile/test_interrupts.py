"""Killing fab generate at random points loses nothing: the output is the old one or the new
one, never a mix, no child process survives, and the next run is correct."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fabrikate

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"

pytestmark = pytest.mark.helm


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def set_value(root: Path, value: int) -> None:
    subs = {f"c{i}": {"config": {"echo": {"v": value}}} for i in range(4)}
    (root / "config" / "prod.json").write_text(json.dumps({"subcomponents": subs}))


def expected(root: Path, dest: Path) -> dict[str, bytes]:
    fabrikate.generate(root, ["prod"], output=dest)
    return snapshot(dest)


def survivors(marker: str) -> list[str]:
    """Live processes whose command line mentions ``marker``."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and "pytest" not in cmdline:
                found.append(cmdline)
    return found


def test_killed_twenty_times_at_random_points(tmp_path: Path) -> None:
    root = tmp_path / "hld"
    (root / "config").mkdir(parents=True)
    chart = root / "chart"  # a private copy: its path tells this test's processes apart
    shutil.copytree(CHARTS / "demo", chart)
    subs = "".join(f"- name: c{i}\n  type: helm\n  path: ./chart\n" for i in range(4))
    (root / "component.yaml").write_text(f"name: app\nsubcomponents:\n{subs}")
    set_value(root, 0)
    fabrikate.generate(root, ["prod"])
    out = root / "generated" / "prod"
    # Files fab did not write survive every swap too.
    foreign = {"kustomization.yaml": b"resources: []\n", "docs/notes.txt": b"mine\n"}
    for rel, data in foreign.items():
        (out / rel).parent.mkdir(exist_ok=True)
        (out / rel).write_bytes(data)
    rng = random.Random(1234)
    env = dict(os.environ, FAB_NO_CACHE="1")
    outcomes = set()
    for attempt in range(1, 21):
        old = snapshot(out)
        set_value(root, attempt)
        new = {**expected(root, tmp_path / f"expected-{attempt}"), **foreign}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fabrikate",
                "-q",
                "generate",
                "-j",
                "2",
                "-C",
                str(root),
                "prod",
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.05, 0.8))
        how = signal.SIGKILL if attempt % 5 == 0 else signal.SIGTERM
        proc.send_signal(how)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err
        # Even a SIGKILL finds the output old or new: the swap is one atomic exchange.
        assert snapshot(out) in (old, new)
        if how == signal.SIGTERM:
            # -SIGTERM: the signal landed while Python was starting, before fab handled signals
            assert proc.returncode in (0, 143, -signal.SIGTERM), err
            assert not survivors(str(chart))

        outcomes.add("finished" if proc.returncode == 0 else "killed")
        fabrikate.generate(root, ["prod"])
        assert snapshot(out) == new
        assert sorted(p.name for p in out.parent.iterdir()) == ["prod"]
    assert "killed" in outcomes


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_kills_running_commands_and_exits_clearly(
    tmp_path: Path, sig: int, code: int
) -> None:
    root = tmp_path / "hld"
    root.mkdir()
    (root / "component.yaml").write_text(
        "name: app\nhooks:\n  before-generate:\n  - touch started && sleep 300 && touch finished\n"
    )
    keep = root / "generated" / "common" / "keep.yaml"
    keep.parent.mkdir(parents=True)
    keep.write_text("earlier\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabrikate", "generate", "-C", str(root)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (root / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err.strip().splitlines()[-1] == "fab: interrupted"
    assert "Traceback" not in err
    assert not survivors("touch started && sleep 300")
    assert keep.read_text() == "earlier\n"
    assert not (root / "finished").exists()
