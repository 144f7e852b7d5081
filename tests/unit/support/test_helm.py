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
