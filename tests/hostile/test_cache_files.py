"""Every file fab reads back from its cache is untrusted: truncated, garbage, sealed but of the
wrong shape, a link out of the cache or a FIFO in its place, each is a miss (or one line),
never an internal error, a hang or a read outside the cache."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fabrikate.support.cache import _seal
from tests.fixtures.trees import make_repo, write_tree

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"
SMALL = ("render", "inject", "parsed", "tools", "stamps", "timings")
# Sealed entries of each kind with the right seal and the wrong shape.
WRONG: dict[str, bytes] = {
    "render": json.dumps({"documents": [1], "warnings": "no"}).encode(),
    "inject": json.dumps({"documents": ["not a list of documents"]}).encode(),
    "parsed": marshal.dumps(({"config": {}}, "ab")),
    "tools": b"not a version\nat all",
    "stamps": marshal.dumps(
        {k: "x" for k in ("format", "facts", "at", "output_at", "inputs", "output", "payload")}
    ),
    "timings": b"-12",
}
# What a followed link would serve: an entry that looks whole, with other content.
ELSEWHERE: dict[str, bytes] = {
    "render": json.dumps({"documents": ["kind: Elsewhere\n"], "warnings": []}).encode(),
    "inject": json.dumps(["kind: Elsewhere\n"]).encode(),
    "parsed": marshal.dumps(({"config": {"elsewhere": 1}}, [])),
    "tools": b"v9.9.9",
    "stamps": b"",
    "timings": b"1.0",
}


def fab(*args: str) -> tuple[int, str]:
    """fab in its own process: a read that blocks would end in the guard, not hang the suite."""
    done = subprocess.run(
        [sys.executable, "-m", "fabrikate", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    return done.returncode, done.stderr


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def damage(path: Path, kind: str, how: str, outside: Path) -> None:
    """Put ``how`` in place of the cache file ``path`` (of ``kind``)."""
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(200))
    elif how == "wrong-shape":
        path.write_bytes(_seal(WRONG.get(kind, b"{}")))
    elif how == "link":
        target = outside / f"{kind}-{path.name}"
        target.write_bytes(_seal(ELSEWHERE.get(kind, b"elsewhere")))
        path.unlink()
        path.symlink_to(target)
    else:
        path.unlink()
        os.mkfifo(path)


def tree(tmp_path: Path) -> Path:
    """A helm chart with its namespace injected and a git component from a local repository."""
    app = {"component.yaml": "name: app\ntype: static\npath: ./m\n", "m/cm.yaml": "kind: A\n"}
    make_repo(tmp_path / "app", app)
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": (
                "name: root\nsubcomponents:\n- name: demo\n  type: helm\n  path: ./demo\n"
                f"- name: app\n  method: git\n  source: {(tmp_path / 'app').as_uri()}\n"
            ),
            "config/common.yaml": "subcomponents:\n  demo:\n    namespace: web\n"
            "    injectNamespace: true\n",
        },
    )
    shutil.copytree(CHARTS / "demo", root / "demo")
    return root


@pytest.mark.helm
@pytest.mark.parametrize("how", ["truncated", "garbage", "wrong-shape", "link", "fifo"])
def test_a_damaged_cache_file_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FAB_CACHE_DIR", str(cache))
    monkeypatch.setenv("FAB_RECORDS", f"sqlite:///{tmp_path / 'records.db'}")  # helm's version
    root = tree(tmp_path)
    assert fab("install", str(root))[0] == 0
    assert fab("generate", "-C", str(root))[0] == 0
    expected = files(root / "generated")
    outside = tmp_path / "outside"
    outside.mkdir()
    entries = [p for p in cache.rglob("*") if p.is_file() and p.parent.parent.name in SMALL]
    notes = list(cache.rglob("fab-prepared"))
    assert {p.parent.parent.name for p in entries} >= set(SMALL) - {"inject"} and notes
    assert {p.parent.parent.name for p in entries} >= {"inject"}
    for path in [*entries, *notes]:
        damage(path, path.parent.parent.name if path in entries else "checkouts", how, outside)
    mirror = next((cache / "v1" / "git").iterdir())
    if how == "link":  # a mirror that is a link to a repository elsewhere
        moved = outside / "mirror"
        mirror.rename(moved)
        mirror.symlink_to(moved)
    before_outside = files(outside)
    (root / "generated/common/demo.yaml").write_text("tampered\n")  # no run is up to date
    code, err = fab("install", str(root))
    assert code == 0, err
    code, err = fab("generate", "-C", str(root))
    assert code == 0, err
    assert files(root / "generated") == expected
    assert files(outside) == before_outside  # nothing outside the cache read into or written
    code, err = fab("generate", "-C", str(root))  # and the entries were made whole again
    assert code == 0 and files(root / "generated") == expected
