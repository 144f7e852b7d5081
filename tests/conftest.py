"""Shared test set-up: a clean environment per test, and the real helm binary.

Loopback servers (git over http, chart repository, OCI registry, PostgreSQL, Azurite) live in
``tests/fixtures/<name>.py`` modules, each listed in ``pytest_plugins`` below.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = [
    "tests.fixtures.trees",
    "tests.fixtures.servers",
    "tests.fixtures.records_servers",
]

# Timing depends on the machine's load, never on correctness.
settings.register_profile(
    "fab", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("fab")

HELM = os.environ.get("FAB_HELM") or shutil.which("helm") or "helm"
REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"

# Variables that change how fab, helm or git behave; no test may inherit them by accident.
_PREFIXES = ("FAB_", "HELM_", "GIT_", "XDG_", "KUBECONFIG")
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Strip behaviour-changing variables and point every cache and data dir at a temp dir."""
    for key in list(os.environ):
        if key.startswith(_PREFIXES) or key in _PROXIES:
            monkeypatch.delenv(key, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("FAB_HELM", HELM)
    monkeypatch.setenv("FAB_RECORDS", "none")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
        '[protocol "file"]\n\tallow = always\n'
    )


@pytest.fixture(scope="session")
def helm() -> str:
    """The helm binary the suite runs against (``FAB_HELM``)."""
    return HELM
