"""No input makes fab fail as a bug: random trees (component files, configs, odd names, links
in and out of the tree, a fetched definition full of links) go through ``fab install`` and
``fab generate``; each ends with exit 0 or 1, clear error lines, and nothing outside the tree
changed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabrikate.cli.main import main
from tests.fixtures.trees import git, make_repo, write_tree

CHART = Path(__file__).resolve().parent.parent / "data" / "charts" / "demo"

NAMES = st.one_of(
    st.sampled_from(["app", "web", "db", "a.b", "x-y", "s"]),
    st.sampled_from(["..", ".", "a/b", "", " ", "ünï", "c" * 240, "\x1b[2J"]),
    st.text(
        st.characters(categories=["L", "N"], include_characters="-._ "), min_size=1, max_size=12
    ),
)
# Where a link may point: inside, outside, a device, nowhere, itself.
TARGETS = st.sampled_from(
    [
        "{root}/m",
        "{root}/m/a.yaml",
        "{outside}",
        "{outside}/secret.yaml",
        "/dev/zero",
        "/etc",
        "{root}/nowhere",
        "loop",
        "..",
        "{root}",
    ]
)
LINK_PLACES = st.sampled_from(
    [
        "m/link.yaml",
        "components",
        "helm_repos",
        "config/common.yaml",
        "config",
        "chart/templates/x.yaml",
        "chart",
        "sub",
        "m",
        "access.yaml",
        "component.yaml",
    ]
)
CONFIGS = st.sampled_from(
    [
        "config: {a: 1}\n",
        "subcomponents: {s: {config: {b: [1, 2]}}}\n",
        "subcomponents: {s: {disabled: true}}\n",
        "config: [not, a, map]\n",
        "config: {a: {b: 1}}\nnamespace: 7\n",
        "key: [unclosed\n",
        "\x00binary",
        "",
    ]
)


def _subcomponent(kind: str, name: str, fetched: str) -> str:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    entry = {
        "static": f'- {{name: "{quoted}", type: static, path: m}}\n',
        "static-out": f'- {{name: "{quoted}", type: static, path: ../outside}}\n',
        "helm": f'- {{name: "{quoted}", type: helm, path: ./chart}}\n',
        "local": f'- {{name: "{quoted}", path: ./sub}}\n',
        "missing": f'- {{name: "{quoted}", path: ./nowhere}}\n',
        "git": f'- {{name: "{quoted}", method: git, source: "{fetched}"}}\n',
        "http": f'- {{name: "{quoted}", type: static, method: http, source: "http://127.0.0.1:9/x.yaml"}}\n',
    }
    return entry[kind]


TREES = st.fixed_dictionaries(
    {
        "subs": st.lists(
            st.tuples(
                st.sampled_from(
                    ["static", "static-out", "helm", "local", "missing", "git", "http"]
                ),
                NAMES,
            ),
            max_size=4,
        ),
        "configs": st.dictionaries(
            st.sampled_from(["common", "prod", "sub/common"]), CONFIGS, max_size=2
        ),
        "links": st.dictionaries(LINK_PLACES, TARGETS, max_size=3),
        "environment": st.sampled_from([(), ("prod",), ("prod",), ("prod", "east"), ("e" * 230,)]),
    }
)


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fetched definition full of hostile links: its own folders pointing out of the clone,
    a manifest linked to a device, an access.yaml mapping a URL to a variable of the user's."""
    base = tmp_path_factory.mktemp("random-fetched")
    work = base / "work"
    write_tree(
        work,
        {
            "component.yaml": "name: evil\nsubcomponents:\n"
            "- {name: s, type: static, path: m}\n- {name: out, type: static, path: ../../../..}\n"
            "- {name: again, method: git, source: placeholder}\n",
            "access.yaml": "https://attacker.invalid/x.git: HOME\n",
            "m/a.yaml": "kind: A\n",
        },
    )
    os.symlink("/dev/zero", work / "m" / "zero.yaml")
    os.symlink("/tmp", work / "components")
    make_repo(work)
    git(base, "clone", "-q", "--bare", str(work), "evil.git")
    yield (base / "evil.git").as_uri()


def snapshot(folder: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for current, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(current, name)
            info = os.lstat(path)
            found[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def build(work: Path, tree: dict, fetched: str) -> Path:
    root, outside = work / "hld", work / "outside"
    write_tree(outside, {"secret.yaml": "kind: Secret\n", "component.yaml": "name: outside\n"})
    subs = "".join(_subcomponent(kind, name, fetched) for kind, name in tree["subs"])
    files = {
        "component.yaml": "name: app\n" + (f"subcomponents:\n{subs}" if subs else ""),
        "m/a.yaml": "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n",
        "sub/component.yaml": "name: sub\nsubcomponents:\n- {name: s, type: static, path: ../m}\n",
    }
    for where, text in tree["configs"].items():
        folder, _, env = where.rpartition("/")
        files[f"{folder}/config/{env}.yaml" if folder else f"config/{env}.yaml"] = text
    root.mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("utf-8", "surrogatepass"))
    shutil.copytree(CHART, root / "chart")
    for place, target in tree["links"].items():
        path = root / place
        folders = [root / p for p in Path(place).parents if str(p) != "."]
        if any(f.is_symlink() or (f.exists() and not f.is_dir()) for f in folders):
            continue  # below a link or file made just before: no folder there to hold it
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target.format(root=root, outside=outside), path)
    return root


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--quiet", *args], catch_exceptions=False)
    return result.exit_code, result.stderr


@pytest.mark.helm
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=TREES)
def test_random_trees_never_fail_as_a_bug_nor_touch_anything_outside(
    tree: dict, fetched: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = Path(tempfile.mkdtemp(prefix="fab-random-"))
    try:
        monkeypatch.setenv("FAB_CACHE_DIR", str(work / "cache"))
        root = build(work, tree, fetched)
        outside = snapshot(work / "outside")
        fetched_repo = snapshot(Path(fetched.removeprefix("file://")))
        for args in (
            ["install", str(root), "--timeout", "20"],
            ["generate", "-C", str(root), *tree["environment"]],
        ):
            code, err = run(*args)
            assert code in (0, 1), err
            assert "Traceback" not in err and "internal error" not in err, err
            lines = [line for line in err.splitlines() if line.startswith("fab: error:")]
            if code == 1:
                assert lines, err
                if args[0] == "generate":  # one line per failure, then their count
                    count = f"fab: error: {len(lines) - 1} errors; nothing was written"
                    assert len(lines) == 1 or lines[-1] == count, err
            assert all("\x1b" not in line for line in lines)
        assert snapshot(work / "outside") == outside
        assert snapshot(Path(fetched.removeprefix("file://"))) == fetched_repo
        assert not Path("/tmp/evil").exists() and not Path("/tmp/again").exists()
    finally:
        shutil.rmtree(work, ignore_errors=True)
