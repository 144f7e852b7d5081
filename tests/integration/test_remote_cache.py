"""The shared render cache on an OCI registry (FAB_REMOTE_CACHE): two runners with separate
cache folders share helm renders through Debian's docker-registry, with the real helm."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import HELM
from tests.fixtures.runners import (
    RUNNER_KEY,
    Runner,
    calls,
    counting_helm,
    fab,
    hld,
    output,
    remote_settings,
    warnings,
)
from tests.fixtures.servers import Registry, running_registry, token_issuer

pytestmark = pytest.mark.helm

KEY = RUNNER_KEY


@pytest.fixture
def remote(oci_registry: Registry) -> dict[str, str]:
    """The settings of a fresh repository on the session's registry."""
    return remote_settings(oci_registry.host)


def test_a_second_runner_renders_nothing_with_helm(tmp_path: Path, remote: dict) -> None:
    helm, count = counting_helm(tmp_path / "bin")
    a = Runner(tmp_path / "a", helm, {**remote, "FAB_REMOTE_CACHE_PUSH": "1"}, charts=9)
    done = a.generate()
    assert done.returncode == 0, done.stderr
    assert warnings(done.stderr) == []
    assert calls(count) == 9
    b = Runner(tmp_path / "b", helm, remote, charts=9)
    done = fab(b.root, b.env, "generate", "--progress", "plain")
    assert done.returncode == 0, done.stderr
    assert warnings(done.stderr) == []
    assert calls(count) == 9  # B ran no helm template
    shown = [line for line in done.stderr.splitlines() if line.startswith("fab: done c")]
    assert len(shown) == 9 and all(line.endswith("(cache)") for line in shown), done.stderr
    assert output(b.root) == output(a.root)
    assert len(output(b.root)) == 11
    # B kept what it pulled: a third run, with no remote, is served by its local cache.
    again = fab(
        b.root, {**b.env, "FAB_REMOTE_CACHE": ""}, "generate", "--force", "--progress", "plain"
    )
    assert again.returncode == 0, again.stderr
    assert calls(count) == 9
    shown = [line for line in again.stderr.splitlines() if line.startswith("fab: done c")]
    assert len(shown) == 9 and all(line.endswith("(cache)") for line in shown), again.stderr


def test_pull_only_pushes_nothing(tmp_path: Path, remote: dict) -> None:
    helm, count = counting_helm(tmp_path / "bin")
    a = Runner(tmp_path / "a", helm, remote)  # FAB_REMOTE_CACHE_PUSH unset: pull only
    assert a.generate().returncode == 0
    b = Runner(tmp_path / "b", helm, {**remote, "FAB_REMOTE_CACHE_PUSH": "0"})
    done = b.generate()
    assert done.returncode == 0, done.stderr
    assert warnings(done.stderr) == []  # a repository that does not exist is only a miss
    assert calls(count) == 4  # nothing was pushed for B to pull
    assert output(b.root) == output(a.root)


def test_an_entry_signed_with_another_key_is_ignored(tmp_path: Path, remote: dict) -> None:
    helm, count = counting_helm(tmp_path / "bin")
    other = {**remote, "FAB_REMOTE_CACHE_KEY": "another-key", "FAB_REMOTE_CACHE_PUSH": "1"}
    assert Runner(tmp_path / "a", helm, other).generate().returncode == 0
    assert calls(count) == 2
    b = Runner(tmp_path / "b", helm, remote)
    done = b.generate()
    assert done.returncode == 0, done.stderr
    assert calls(count) == 4  # B rendered both itself
    assert len(warnings(done.stderr)) == 1, done.stderr
    assert "not signed with FAB_REMOTE_CACHE_KEY" in done.stderr
    local = Runner(tmp_path / "c", HELM, {})
    assert local.generate().returncode == 0
    assert output(b.root) == output(local.root)


@pytest.mark.parametrize("down", ["nothing listening", "a refusing registry"])
def test_a_remote_that_fails_gives_one_warning(
    tmp_path: Path, remote: dict, down: str, http_site: object
) -> None:
    from tests.fixtures.servers import free_port

    host = f"127.0.0.1:{free_port()}"
    if down == "a refusing registry":  # a plain web server: every /v2/ path is a 404 page
        host = http_site.url.removeprefix("http://")  # type: ignore[attr-defined]
    settings = {
        **remote,
        "FAB_REMOTE_CACHE": f"oci://{host}/fab-cache",
        "FAB_PLAIN_HTTP_REGISTRIES": host,
        "FAB_REMOTE_CACHE_PUSH": "1",
    }
    helm, count = counting_helm(tmp_path / "bin")
    runner = Runner(tmp_path / "a", helm, settings)
    done = fab(runner.root, runner.env, "generate", "--strict")  # not a warning of the tree
    assert done.returncode == 0, done.stderr
    assert calls(count) == 2
    assert len(warnings(done.stderr)) == 1, done.stderr
    assert "rendering locally" in done.stderr
    local = Runner(tmp_path / "c", HELM, {})
    assert local.generate().returncode == 0
    assert output(runner.root) == output(local.root)


def test_no_key_is_one_error_line(tmp_path: Path, remote: dict) -> None:
    settings = {k: v for k, v in remote.items() if k != "FAB_REMOTE_CACHE_KEY"}
    runner = Runner(tmp_path / "a", HELM, settings)
    done = runner.generate()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "fab: error: FAB_REMOTE_CACHE needs FAB_REMOTE_CACHE_KEY, the shared secret its entries are"
        " signed with"
    ]
    assert not (runner.root / "generated").exists()


def test_the_key_and_token_never_leak(tmp_path: Path, remote: dict) -> None:
    token = "leakcheck-user:Pa55-leakcheck-9d2e"
    settings = {**remote, "FAB_REMOTE_CACHE_TOKEN": token, "FAB_REMOTE_CACHE_PUSH": "1"}
    data = tmp_path / "data"
    data.mkdir()
    store = {"FAB_RECORDS": f"sqlite:///{data}/records.db"}
    helm = tmp_path / "a" / "helm"  # it keeps the environment helm is given
    helm.parent.mkdir()
    helm.write_text(f'#!/bin/sh\nenv >> "{tmp_path}/a/helm-env"\nexec "{HELM}" "$@"\n')
    helm.chmod(0o755)
    a = Runner(tmp_path / "a", str(helm), {**settings, **store})
    runs = [a.generate(), fab(a.root, {**a.env, **store}, "cache", "info")]
    assert f"remote: {settings['FAB_REMOTE_CACHE']} (push)" in runs[1].stdout
    runs.append(fab(a.root, {**a.env, **store}, "cache", "info", "-o", "json"))
    assert json.loads(runs[2].stdout)["remote"] == {
        "url": settings["FAB_REMOTE_CACHE"],
        "push": True,
    }
    b = Runner(tmp_path / "b", HELM, {**settings, **store})
    runs += [b.generate(), fab(b.root, {**b.env, **store}, "records", "list")]
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    secrets = (KEY, token, token.split(":")[1])
    for run in runs:
        for secret in secrets:
            assert secret not in run.stdout + run.stderr
    files = [p for folder in (tmp_path / "a", tmp_path / "b", data) for p in folder.rglob("*")]
    assert any(p.suffix == ".db" for p in files)  # the record store was written
    assert "FAB_REMOTE_CACHE=" in (tmp_path / "a" / "helm-env").read_text()
    for path in files:
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in content, path
    shutil.rmtree(data)


def test_a_registry_with_basic_auth(tmp_path: Path) -> None:
    with running_registry(tmp_path / "registry", users={"ci": "pa55-w0rd"}) as registry:
        settings = remote_settings(registry.host)
        helm, count = counting_helm(tmp_path / "bin")
        token = {"FAB_REMOTE_CACHE_TOKEN": "ci:pa55-w0rd"}
        a = Runner(tmp_path / "a", helm, {**settings, **token, "FAB_REMOTE_CACHE_PUSH": "1"})
        pushed = a.generate()
        anonymous = Runner(tmp_path / "b", helm, settings).generate()
        b = Runner(tmp_path / "c", helm, {**settings, **token})
        pulled = b.generate()
    assert pushed.returncode == 0 and warnings(pushed.stderr) == [], pushed.stderr
    assert anonymous.returncode == 0
    assert len(warnings(anonymous.stderr)) == 1 and "authentication required" in anonymous.stderr
    assert pulled.returncode == 0 and warnings(pulled.stderr) == [], pulled.stderr
    assert calls(count) == 4  # A and the anonymous runner rendered; C pulled
    assert output(b.root) == output(a.root)


def test_a_registry_with_token_auth(tmp_path: Path) -> None:
    with (
        token_issuer(tmp_path / "issuer", "ci:t0ken-pw") as issuer,
        running_registry(tmp_path / "registry", issuer=issuer) as registry,
    ):
        settings = {**remote_settings(registry.host), "FAB_REMOTE_CACHE_TOKEN": "ci:t0ken-pw"}
        helm, count = counting_helm(tmp_path / "bin")
        a = Runner(tmp_path / "a", helm, {**settings, "FAB_REMOTE_CACHE_PUSH": "1"})
        pushed = a.generate()
        b = Runner(tmp_path / "b", helm, settings)
        pulled = b.generate()
        wrong = {**settings, "FAB_REMOTE_CACHE_TOKEN": "ci:wrong"}
        refused = Runner(tmp_path / "c", helm, wrong).generate()
    assert pushed.returncode == 0 and warnings(pushed.stderr) == [], pushed.stderr
    assert pulled.returncode == 0 and warnings(pulled.stderr) == [], pulled.stderr
    assert calls(count) == 2 + 2  # A and the refused runner rendered; B pulled
    assert output(b.root) == output(a.root)
    assert refused.returncode == 0 and len(warnings(refused.stderr)) == 1, refused.stderr
    scopes = [unquote(path).partition("scope=")[2] for path, _ in issuer.asked]
    assert any(scope.endswith((":pull,push", ":push,pull")) for scope in scopes)  # A pushed
    assert all(auth.startswith("Basic ") for _, auth in issuer.asked)


def test_an_offline_run_never_asks_the_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabrikate import generate
    from fabrikate.settings import Secret, Settings
    from fabrikate.support.remotecache import RemoteCache

    asked: list[str] = []
    monkeypatch.setattr(RemoteCache, "ready", lambda self: bool(asked.append("ready")))
    root = hld(tmp_path / "hld")
    settings = Settings(
        remote_cache="oci://127.0.0.1:9/c",
        remote_cache_key=Secret("k"),
        offline=True,
        cache_dir=str(tmp_path / "cache"),
        helm=HELM,
        records="none",
    )
    generate(root, settings=settings)
    assert asked == []
    online = replace(settings, offline=False, cache_dir=str(tmp_path / "other"))
    generate(root, settings=online, output=tmp_path / "out")
    assert asked  # the same run online asks the remote
