"""One helm runner: install and generate run helm with the same environment, fab's homes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabrikate.errors import FabrikateError
from fabrikate.render.generators import generators
from fabrikate.render.helm import HelmGenerator
from fabrikate.render.renderer import Renderer
from fabrikate.settings import Settings
from fabrikate.sources import Sources
from fabrikate.support.cache import Cache
from fabrikate.support.helm import Helm, version

pytestmark = pytest.mark.helm


def test_helm_runs_with_fabs_own_homes(tmp_path: Path, helm: str) -> None:
    runner = Helm(helm, tmp_path / "helm", timeout=60)
    done = runner.run(["env"], what="helm env")
    assert done.returncode == 0, done.stderr
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert seen["HELM_CONFIG_HOME"].strip('"') == str(tmp_path / "helm" / "config")
    assert seen["HELM_CACHE_HOME"].strip('"') == str(tmp_path / "helm" / "cache")
    assert seen["HELM_DATA_HOME"].strip('"') == str(tmp_path / "helm" / "data")


def test_helm_collects_garbage_less_often_unless_the_user_says(
    tmp_path: Path, helm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOGC=400 for every helm fab starts (a fifth less CPU in bench/), the user's own kept."""
    seen = tmp_path / "seen"
    script = tmp_path / "helm-wrapper"
    script.write_text(f'#!/bin/sh\necho "${{GOGC:-unset}}" >> {seen}\nexec {helm} "$@"\n')
    script.chmod(0o755)
    monkeypatch.delenv("GOGC", raising=False)
    runner = Helm(str(script), tmp_path / "helm", timeout=60)
    assert runner.run(["version"], what="helm version").returncode == 0
    assert version(str(script), None).startswith("v")
    runner.user_environment()
    assert seen.read_text().split() == ["400", "400", "400"]
    monkeypatch.setenv("GOGC", "100")
    assert runner.run(["version"], what="helm version").returncode == 0
    assert seen.read_text().split()[-1] == "100"


def test_install_and_generate_share_one_helm(tmp_path: Path, helm: str) -> None:
    settings = Settings(helm=helm, timeout=30)
    cache = Cache(tmp_path / "cache")
    helm = HelmGenerator(settings, cache)
    assert helm.helm == Sources(settings, cache).charts().runner
    assert isinstance(Renderer(settings, cache).by_type["helm"], HelmGenerator)
    no_render_cache = generators(settings, None)["helm"]
    assert isinstance(no_render_cache, HelmGenerator)
    assert no_render_cache.helm.home == Cache.default().folder("helm")


def test_the_user_environment_is_not_fabs(tmp_path: Path, helm: str) -> None:
    users = Helm(helm, tmp_path / "helm").user_environment()
    assert users["HELM_CONFIG_HOME"] != str(tmp_path / "helm" / "config")
    assert Helm(str(tmp_path / "no-helm"), tmp_path).user_environment() == {}


def test_version_is_remembered_by_the_binary(tmp_path: Path, helm: str) -> None:
    cache = Cache(tmp_path / "cache")
    first = version(helm, cache)
    assert first.startswith("v")
    assert [e.kind for e in cache.entries()].count("tools") == 1
    assert version(helm, cache) == first


def test_a_remembered_version_survives_moving_the_binary(tmp_path: Path, helm: str) -> None:
    """A CI cache restored on a fresh runner: helm at another path, with another time."""
    import os
    import shutil

    cache = Cache(tmp_path / "cache")
    first = version(helm, cache)
    moved = tmp_path / "elsewhere" / "helm"
    moved.parent.mkdir()
    shutil.copyfile(helm, moved)  # not executable: running it would fail
    os.utime(moved, (1, 1))
    assert version(str(moved), cache) == first
    (moved.parent / "other").write_bytes(moved.read_bytes()[:-1] + b"\0x")  # another binary
    with pytest.raises(FabrikateError):
        version(str(moved.parent / "other"), cache)


def test_a_shims_version_is_asked_each_time_and_never_remembered(tmp_path: Path) -> None:
    """A version manager's shim (asdf, mise) stays the same file while its helm changes."""
    import os

    from fabrikate.support.helm import identity

    answer = tmp_path / "answer"
    shim = tmp_path / "helm"
    shim.write_text(f'#!/bin/sh\ncat "{answer}"\n')
    os.chmod(shim, 0o755)
    cache = Cache(tmp_path / "cache")
    answer.write_text("v3.17.3\n")
    first = identity(str(shim))
    assert version(str(shim), cache) == "v3.17.3"
    answer.write_text("v4.3.1\n")
    assert version(str(shim), cache) == "v4.3.1"
    assert identity(str(shim)) != first
    assert not [e for e in cache.entries() if e.kind == "tools"]


def test_a_binarys_identity_is_read_not_run(tmp_path: Path, helm: str) -> None:
    """The render key's helm: the same for a copy elsewhere, another for another binary."""
    import shutil

    from fabrikate.support.helm import identity

    copy = tmp_path / "copy" / "helm"
    copy.parent.mkdir()
    shutil.copyfile(helm, copy)  # not executable: running it would fail
    assert identity(str(copy)) == identity(helm)
    other = tmp_path / "other"
    other.write_bytes(copy.read_bytes()[:-1] + b"\0x")
    assert identity(str(other)) != identity(helm)
    with pytest.raises(FabrikateError, match="helm not found"):
        identity(str(tmp_path / "none"))


def test_the_render_key_follows_the_helm_binary(tmp_path: Path, helm: str) -> None:
    import shutil

    from fabrikate.hld.resolve import walk
    from tests.fixtures.trees import write_tree

    chart = {
        "Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        "templates/a.yaml": "a: 1\n",
    }
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": "name: c\ntype: helm\npath: c\n",
            **{f"c/{k}": v for k, v in chart.items()},
        },
    )
    node = walk(root, ()).components[0]
    other = tmp_path / "other"
    other.write_bytes(Path(helm).read_bytes()[:-1] + b"\0x")  # never run: read for its key
    cache = Cache(tmp_path / "cache")
    shutil.copyfile(helm, tmp_path / "copy")
    keys = [
        HelmGenerator(Settings(helm=binary), cache).key(node)
        for binary in (helm, str(tmp_path / "copy"), str(other))
    ]
    assert keys[0] == keys[1] != keys[2]
    assert not [e for e in cache.entries() if e.kind == "tools"]


@pytest.mark.parametrize("records", ["none", "sqlite"])
def test_helms_version_is_asked_only_for_a_record(tmp_path: Path, helm: str, records: str) -> None:
    from fabrikate.api.generate import generate
    from tests.fixtures.trees import write_tree

    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": "name: c\ntype: helm\npath: c\n",
            "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
            "c/templates/a.yaml": "a: 1\n",
        },
    )
    store = "none" if records == "none" else f"sqlite:///{tmp_path / 'records.db'}"
    settings = Settings(helm=helm, cache_dir=str(tmp_path / "cache"), records=store)
    result = generate(root, ["prod"], settings=settings)
    assert result.components[0].documents == ["# Source: c/templates/a.yaml\na: 1\n"]
    tools = [e for e in Cache.of(settings).entries() if e.kind == "tools"]
    assert len(tools) == (0 if records == "none" else 1)
