"""The fab-validate pre-commit hook, run for real by pre-commit from a committed copy of fab."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.trees import git, make_repo

REPO = Path(__file__).resolve().parents[3]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def _pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests run with a temp HOME; keep the machine user's pip index settings."""
    home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    for candidate in (home / ".config/pip/pip.conf", home / ".pip/pip.conf"):
        if candidate.is_file() and "PIP_CONFIG_FILE" not in os.environ:
            monkeypatch.setenv("PIP_CONFIG_FILE", str(candidate))


@pytest.mark.slow
def test_fab_validate_hook_fails_a_bad_hld_and_passes_a_good_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pip_config(monkeypatch)
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    fab = tmp_path / "fab"
    fab.mkdir()
    for name in ("pyproject.toml", ".pre-commit-hooks.yaml", "README.md"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, fab / name)
    shutil.copytree(
        REPO / "fabrikate",
        fab / "fabrikate",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    rev = make_repo(fab)
    hld = tmp_path / "hld"
    make_repo(
        hld,
        {
            ".pre-commit-config.yaml": (
                f"repos:\n- repo: {fab}\n  rev: {rev}\n  hooks:\n  - id: fab-validate\n"
            ),
            "component.yaml": "name: hld\nsubcomponents:\n- name: web\n  type: static\n"
            "  path: ./manifests\n",
            "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
            "config/common.yaml": "subcomponents:\n  wbe:\n    namespace: web\n",
        },
    )

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PRE_COMMIT), "run", "--all-files"], cwd=hld, capture_output=True, text=True
        )

    bad = run()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "fab validate" in bad.stdout and "Failed" in bad.stdout
    assert (
        "config/common.yaml:2:3: config for subcomponent 'wbe', but 'hld' has no such "
        "subcomponent; did you mean 'web'? [component hld]"
    ) in bad.stdout
    (hld / "config/common.yaml").write_text("subcomponents:\n  web:\n    namespace: web\n")
    git(hld, "commit", "-qam", "fix the config key")
    good = run()
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
