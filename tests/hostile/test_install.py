"""Hostile remote definitions and failing processes during ``fab install``: one clear error
naming the component, nothing outside the clone read, nothing on disk lost."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.settings import Settings
from tests.fixtures.servers import TOKEN, free_port
from tests.fixtures.trees import git, make_repo, write_tree


def fab(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-q", *args], catch_exceptions=False)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def bare(tmp_path: Path, name: str, files: dict[str, str]) -> str:
    """A bare repository holding ``files``; returns its file:// URL."""
    make_repo(tmp_path / f"{name}-work", files)
    git(tmp_path, "clone", "-q", "--bare", str(tmp_path / f"{name}-work"), f"{name}.git")
    return (tmp_path / f"{name}.git").as_uri()


def hld(tmp_path: Path, text: str) -> Path:
    return write_tree(tmp_path / "hld", {"component.yaml": text})


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("fab: error:")]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A component definition outside every tree, that no remote definition may reach."""
    return write_tree(
        tmp_path / "secret",
        {"component.yaml": "name: secret\ntype: static\npath: m\n", "m/s.yaml": "kind: Secret\n"},
    )


@pytest.mark.parametrize("field", ["path", "source"])
def test_fetched_definition_may_not_leave_its_clone(
    tmp_path: Path, secret: Path, field: str
) -> None:
    escape = {"path": "path: ../../../../secret", "source": "source: ../../../../secret"}[field]
    url = bare(
        tmp_path,
        "evil",
        {"component.yaml": f"name: evil\nsubcomponents:\n- name: s\n  {escape}\n"},
    )
    root = hld(
        tmp_path, f"name: app\nsubcomponents:\n- name: evil\n  method: git\n  source: {url}\n"
    )
    code, err = fab("install", str(root), "--allow-outside-root")
    assert code == 1
    assert errors(err) == [
        next(line for line in errors(err) if "points outside its fetched definition" in line)
    ]
    code, err = fab("generate", "-C", str(root), "--allow-outside-root")
    assert code == 1 and "points outside its fetched definition" in err
    assert not (root / "generated").exists()


def test_git_path_may_not_leave_the_clone(tmp_path: Path, secret: Path) -> None:
    url = bare(tmp_path, "plain", {"component.yaml": "name: plain\n"})
    root = hld(
        tmp_path,
        f"name: app\nsubcomponents:\n- name: p\n  method: git\n  source: {url}\n"
        "  path: ../../../secret\n",
    )
    code, err = fab("install", str(root))
    assert code == 1 and "points outside its clone" in err, err
    code, err = fab("generate", "-C", str(root))
    assert code == 1 and "points outside its clone" in err, err


def test_remote_root_path_may_not_leave_the_clone(tmp_path: Path, secret: Path) -> None:
    url = bare(tmp_path, "plain", {"component.yaml": "name: plain\n"})
    root = hld(tmp_path, f"name: app\nmethod: git\nsource: {url}\npath: ../../../secret\n")
    code, err = fab("install", str(root))
    assert code == 1 and "points outside its clone" in err, err


def test_cycle_through_remote_definitions_is_named(tmp_path: Path) -> None:
    a_url = (tmp_path / "a.git").as_uri()
    b_url = bare(
        tmp_path,
        "b",
        {
            "component.yaml": f"name: b\nsubcomponents:\n- name: a\n  method: git\n  source: {a_url}\n"
        },
    )
    bare(
        tmp_path,
        "a",
        {
            "component.yaml": f"name: a\nsubcomponents:\n- name: b\n  method: git\n  source: {b_url}\n"
        },
    )
    root = hld(
        tmp_path, f"name: app\nsubcomponents:\n- name: a\n  method: git\n  source: {a_url}\n"
    )
    code, err = fab("install", str(root))
    assert code == 1
    assert len(errors(err)) == 1
    assert f"component cycle: {a_url} -> {b_url} -> {a_url}" in err


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


SOURCES = {
    "git": "method: git\n  source: http://127.0.0.1:{port}/x.git",
    "helm": "type: helm\n  method: helm\n  source: http://127.0.0.1:{port}/charts\n  path: demo",
    "http": "type: static\n  method: http\n  source: http://127.0.0.1:{port}/x.yaml",
}


@pytest.mark.parametrize("method", sorted(SOURCES))
def test_a_host_that_never_answers_times_out_naming_it(
    tmp_path: Path, silent_port: int, method: str
) -> None:
    source = SOURCES[method].format(port=silent_port)
    root = hld(tmp_path, f"name: app\nsubcomponents:\n- name: s\n  {source}\n")
    code, err = fab("install", str(root), "--timeout", "1")
    assert code == 1
    assert len(errors(err)) == 1
    assert f"127.0.0.1:{silent_port}" in err and "timed out" in err
    assert re.search(r"\[component (app/)?s\]$", errors(err)[0])


@pytest.mark.parametrize("method", sorted(SOURCES))
def test_a_host_that_refuses_is_named(tmp_path: Path, method: str) -> None:
    port = free_port()
    root = hld(
        tmp_path, f"name: app\nsubcomponents:\n- name: s\n  {SOURCES[method].format(port=port)}\n"
    )
    code, err = fab("install", str(root), "--timeout", "30")
    assert code == 1
    assert len(errors(err)) == 1
    assert f"127.0.0.1:{port}" in err and "connection refused" in err
    assert re.search(r"\[component (app/)?s\]$", errors(err)[0])


def test_a_hanging_install_hook_times_out_naming_it(tmp_path: Path) -> None:
    root = hld(tmp_path, "name: app\nhooks:\n  before-install:\n  - sleep 60\n")
    code, err = fab("install", str(root), "--timeout", "1")
    assert code == 1
    assert errors(err) == [
        "fab: error: hook before-install command 'sleep 60' timed out after 1s: "
        f"sh -c 'sleep 60' (in {root}) [component app]"
    ]


def test_hooks_local_skips_hooks_of_fetched_definitions(tmp_path: Path) -> None:
    url = bare(
        tmp_path,
        "hooked",
        {"component.yaml": "name: hooked\nhooks:\n  after-install:\n  - touch remote-ran\n"},
    )
    root = hld(
        tmp_path,
        "name: app\nhooks:\n  after-install:\n  - touch local-ran\n"
        f"subcomponents:\n- name: h\n  method: git\n  source: {url}\n",
    )
    code, err = fab("install", str(root), "--hooks", "local")
    assert code == 0, err
    assert (root / "local-ran").exists()
    assert not (root / "components" / "h" / "remote-ran").exists()
    code, err = fab("install", str(root))
    assert code == 0, err
    assert (root / "components" / "h" / "remote-ran").exists()


def test_access_yaml_tokens_are_not_in_a_hooks_environment(
    tmp_path: Path, git_http, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = git_http.repo(
        "hooked-private",
        {"component.yaml": "name: p\nhooks:\n  after-install:\n  - env > env.txt\n"},
    )
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": "name: app\nhooks:\n  before-install:\n  - env > env.txt\n"
            f"subcomponents:\n- name: p\n  method: git\n  source: {url}\n",
            "access.yaml": f"{url}: PRIVATE_TOKEN\n",
        },
    )
    monkeypatch.setenv("PRIVATE_TOKEN", TOKEN)
    code, err = fab("install", str(root))
    assert code == 0, err
    for env in (root / "env.txt", root / "components" / "p" / "env.txt"):
        text = env.read_text()
        assert "FAB_COMPONENT=" in text
        assert TOKEN not in text and "PRIVATE_TOKEN" not in text


def test_a_second_install_on_the_same_tree_fails_clearly_or_waits(tmp_path: Path) -> None:
    from fabrikate.api.lock import tree_lock

    root = hld(tmp_path, "name: app\n")
    with tree_lock(root, Settings.from_env()):
        code, err = fab("install", str(root))
        assert code == 1 and "another fab process is working on the tree" in err and "--wait" in err
        done = threading.Event()
        waiter = threading.Thread(
            target=lambda: (fabrikate.install(root, Settings.from_env(wait=True)), done.set())
        )
        waiter.start()
        assert not done.wait(0.5)
    waiter.join(30)
    assert done.is_set()
