"""Hostile and broken input: one clear error, no traceback, nothing on disk lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.errors import FabrikateError, InputError


def fab(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-q", *args, "-C", str(root)], catch_exceptions=False)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def keep_output(root: Path) -> Path:
    keep = root / "generated" / "common" / "keep.yaml"
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_text("earlier\n")
    return keep


def test_binary_definition(tree) -> None:
    root = tree({})
    (root / "component.yaml").write_bytes(b"\x7fELF\x00\x01\x02")
    keep = keep_output(root)
    code, err = fab(root, "generate")
    assert code == 1 and "component.yaml: file is binary" in err
    assert keep.read_text() == "earlier\n"


def test_a_definition_without_a_name_is_an_error(tree) -> None:
    root = tree({"component.yaml": "subcomponents: []\n"})
    code, err = fab(root, "generate")
    assert code == 1 and "component name is empty" in err


def test_scalar_at_top_level(tree) -> None:
    root = tree({"component.yaml": "just a string\n"})
    code, err = fab(root, "generate")
    assert code == 1 and "expected a mapping at the top level, got a str" in err


def test_alias_bomb_in_config_is_bounded(tree) -> None:
    lines = ["config:", '  a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"  a{i}: &a{i} [{refs}]")
    root = tree({"component.yaml": "name: app\n", "config/common.yaml": "\n".join(lines) + "\n"})
    code, err = fab(root, "generate")
    assert code == 1 and "alias bomb" in err and "config/common.yaml" in err


def test_oversized_file(tree) -> None:
    root = tree({"component.yaml": "name: app\n"})
    with open(root / "config.big", "wb"):
        pass
    (root / "config").mkdir()
    with open(root / "config" / "common.yaml", "wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    code, err = fab(root, "generate")
    assert code == 1 and "file is too large" in err


def test_duplicate_keys_warn_with_the_line(tree) -> None:
    root = tree({"component.yaml": "name: app\nname: app2\n"})
    result = fabrikate.generate(root)
    assert [w.message for w in result.warnings] == ["duplicate key 'name'; the last value wins"]
    assert result.warnings[0].location.line == 2


@pytest.mark.parametrize("name", ["a/b", "..", "", "a\\u0000b"])
def test_component_names_that_are_not_plain(tree, name: str) -> None:
    root = tree({"component.json": f'{{"name": "app", "subcomponents": [{{"name": "{name}"}}]}}'})
    code, err = fab(root, "generate")
    assert code == 1 and "name" in err


@pytest.mark.parametrize("env", ["../x", "a/b", "", "."])
def test_environment_names_that_are_not_plain(tree, env: str) -> None:
    root = tree({"component.yaml": "name: app\n"})
    code, err = fab(root, "generate", env)
    assert code == 1 and "environment name" in err
    assert not (root.parent / "x").exists()


def test_source_escaping_the_tree(tree, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "component.yaml").write_text("name: secret\n")
    root = tree({"component.yaml": "name: app\nsubcomponents:\n- name: s\n  source: ../secret\n"})
    code, err = fab(root, "generate")
    assert code == 1 and "points outside the tree" in err and "--allow-outside-root" in err
    code, _ = fab(root, "generate", "--allow-outside-root")
    assert code == 0


def test_symlink_in_manifests_pointing_outside(tree, tmp_path: Path) -> None:
    (tmp_path / "passwd.yaml").write_text("kind: Secret\n")
    root = tree(
        {"component.yaml": "name: app\nsubcomponents:\n- name: m\n  type: static\n  path: m\n"}
    )
    (root / "m").mkdir()
    os.symlink(tmp_path / "passwd.yaml", root / "m" / "a.yaml")
    code, err = fab(root, "generate")
    assert code == 1 and "static manifest leaves the tree: symbolic link" in err


def test_symlink_loop_in_manifests(tree) -> None:
    root = tree(
        {"component.yaml": "name: app\nsubcomponents:\n- name: m\n  type: static\n  path: m\n"}
    )
    (root / "m").mkdir()
    os.symlink(root / "m" / "b.yaml", root / "m" / "a.yaml")
    os.symlink(root / "m" / "a.yaml", root / "m" / "b.yaml")
    code, err = fab(root, "generate")
    assert code == 1 and "broken or looping symbolic link" in err


def test_component_cycle_names_the_cycle(tree) -> None:
    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- name: a\n  source: ./a\n",
            "a/component.yaml": "name: a\nsubcomponents:\n- name: b\n  source: ../b\n",
            "b/component.yaml": "name: b\nsubcomponents:\n- name: a\n  source: ../a\n",
        }
    )
    with pytest.raises(InputError, match=r"component cycle: .*/a -> .*/b -> .*/a"):
        fabrikate.generate(root)


def test_hanging_hook_times_out_naming_the_hook(tree) -> None:
    root = tree({"component.yaml": "name: app\nhooks:\n  before-generate:\n  - sleep 60\n"})
    keep = keep_output(root)
    code, err = fab(root, "generate", "--timeout", "1")
    assert code == 1 and "hook before-generate command 'sleep 60' timed out after 1s" in err
    assert keep.read_text() == "earlier\n"


def test_hooks_see_a_minimal_environment(tree, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSONAL_ACCESS_TOKEN", "s3cret-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "other-secret")
    root = tree({"component.yaml": "name: app\nhooks:\n  before-generate:\n  - env > env.txt\n"})
    fabrikate.generate(root)
    env = (root / "env.txt").read_text()
    assert "s3cret-token" not in env and "other-secret" not in env
    assert "FAB_COMPONENT=app" in env and "PATH=" in env


def test_a_second_run_on_the_same_tree_fails_clearly_or_waits(tree) -> None:
    import threading

    from fabrikate.api.lock import tree_lock
    from fabrikate.settings import Settings

    root = tree({"component.yaml": "name: app\n"})
    with tree_lock(root, Settings.from_env()):
        code, err = fab(root, "generate")
        assert code == 1 and "another fab process is working on the tree" in err and "--wait" in err
        done = threading.Event()
        waiter = threading.Thread(
            target=lambda: (
                fabrikate.generate(root, settings=Settings.from_env(wait=True)),
                done.set(),
            )
        )
        waiter.start()
        assert not done.wait(0.5)
    waiter.join(30)
    assert done.is_set()


@pytest.mark.skipif(os.geteuid() != 0, reason="chattr +i needs root")
def test_read_only_output_folder_keeps_previous_output(tree) -> None:
    import subprocess

    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- name: m\n  type: static\n  path: m\n",
            "m/a.yaml": "kind: A\n",
        }
    )
    fabrikate.generate(root)
    before = (root / "generated/common/m.yaml").read_bytes()
    (root / "m" / "a.yaml").write_text("kind: B\n")
    subprocess.run(["chattr", "+i", str(root / "generated")], check=True)
    try:
        with pytest.raises(FabrikateError, match="cannot write output"):
            fabrikate.generate(root)
    finally:
        subprocess.run(["chattr", "-i", str(root / "generated")], check=True)
    assert (root / "generated/common/m.yaml").read_bytes() == before


def test_full_disk_keeps_previous_output(tree) -> None:
    import subprocess
    import sys

    root = tree(
        {
            "component.yaml": "name: app\nsubcomponents:\n- name: m\n  type: static\n  path: m\n",
            "m/a.yaml": "kind: A\n",
        }
    )
    fabrikate.generate(root)
    before = (root / "generated/common/m.yaml").read_bytes()
    (root / "m" / "a.yaml").write_text("kind: B\ndata: " + "x" * 200_000 + "\n")
    limit = (
        "import resource, signal, runpy, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)); "
        "sys.argv = ['fab', 'generate', '-C', sys.argv[1]]; runpy.run_module('fabrikate', run_name='__main__')"
    )
    proc = subprocess.run([sys.executable, "-c", limit, str(root)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "cannot write output" in proc.stderr and "File too large" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (root / "generated/common/m.yaml").read_bytes() == before
    assert sorted(p.name for p in (root / "generated").iterdir()) == ["common"]
