"""Install notes: what fab install placed, compared with what a definition asks for."""

from __future__ import annotations

from pathlib import Path

from fabrikate.hld import installs
from fabrikate.hld.model import Component
from fabrikate.support.yamlio import Locator


def component(**fields: str) -> Component:
    where = Locator("name: x\n", "hld/component.yaml")
    return Component(name="x", where=where, **fields)


def git_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "components" / "x"
    (dest / ".git").mkdir(parents=True)
    return dest


def test_a_note_round_trips_and_matching_asks_are_fine(tmp_path: Path) -> None:
    dest = git_copy(tmp_path)
    note = installs.Note(source="https://h/x.git", version="v1", installed="a" * 40, check="c")
    installs.write(dest, "git", note)
    assert installs.read(dest, "git") == note
    asked = component(method="git", source="https://user:secret@h/x.git", version="v1")
    assert installs.stale(asked, dest, "components/x") is None  # credentials are not compared


def test_every_kind_of_mismatch_is_named(tmp_path: Path) -> None:
    dest = git_copy(tmp_path)
    installs.write(dest, "git", installs.Note(source="https://h/x.git", branch="main"))
    cases = {
        "is branch main but component.yaml asks for v2": {"version": "v2"},
        "is branch main but component.yaml asks for the default branch": {},
        "was installed from https://h/x.git but component.yaml asks for https://h/y.git": {
            "source": "https://h/y.git"
        },
    }
    for message, fields in cases.items():
        asked = component(method="git", **{"source": "https://h/x.git", **fields})
        assert installs.stale(asked, dest, "components/x") == (
            "error",
            f"components/x {message}: run fab install",
        )
    chart = tmp_path / "helm_repos" / "c"
    chart.mkdir(parents=True)
    installs.write(
        chart, "helm", installs.Note(source="https://charts", chart="redis", version="1.0.0")
    )
    helm = {"type": "helm", "method": "helm", "source": "https://charts"}
    assert installs.stale(component(**helm, path="redis", version="1.1.0"), chart, "c") == (
        "error",
        "c is 1.0.0 but component.yaml asks for 1.1.0: run fab install",
    )
    assert installs.stale(component(**helm, path="valkey", version="1.0.0"), chart, "c") == (
        "error",
        "c is chart redis but component.yaml asks for chart valkey: run fab install",
    )


def test_copies_fab_did_not_place_or_an_earlier_fab_placed_are_warnings(tmp_path: Path) -> None:
    dest = git_copy(tmp_path)
    asked = component(method="git", source="https://h/x.git", version="v1")
    level, message = installs.stale(asked, dest, "components/x") or ("", "")
    assert level == "warning" and "was not placed by fab install" in message
    sha = "0123456789abcdef" * 2 + "01234567"
    installs.stamp_file(dest, "git").write_text(f"{sha} fingerprint")  # an earlier fab's stamp
    level, message = installs.stale(asked, dest, "components/x") or ("", "")
    assert level == "warning" and "installed by an earlier fab" in message
    pinned = component(method="git", source="https://h/x.git", version=sha[:9])
    assert installs.stale(pinned, dest, "components/x") is None  # the commit says enough
    assert installs.stale(asked, tmp_path / "nothing", "nothing") is None  # not installed


def test_where_installs_go_and_what_installs_nothing(tmp_path: Path) -> None:
    assert installs.install_path(tmp_path, component(method="git")) == (
        tmp_path / "components" / "x",
        "git",
    )
    static = component(type="static", method="HTTP", source="https://h/x.yaml")
    assert installs.install_path(tmp_path, static) == (
        tmp_path / "components" / "x" / "x.yaml",
        "http",
    )
    assert installs.install_path(tmp_path, component(type="helm", path="./chart")) is None
    assert installs.install_path(tmp_path, component(source="./local")) is None


def test_shared_files_changed_in_place_are_told_from_touched_and_replaced_ones(
    tmp_path: Path,
) -> None:
    import os
    import subprocess

    root = tmp_path / "hld"
    a, b = root / "components/a", root / "components/b"
    for dest in (a, b):
        (dest / ".git").mkdir(parents=True)
    (a / "x.yaml").write_text("one: 1\n")
    os.link(a / "x.yaml", b / "x.yaml")
    blob = subprocess.run(
        ["git", "hash-object", str(a / "x.yaml")], capture_output=True, text=True, check=True
    ).stdout.strip()
    info = (a / "x.yaml").stat()
    link = installs.Link("x.yaml", info.st_ino, info.st_size, info.st_mtime_ns, blob)
    installs.write_links(a, [link])
    assert installs.read_links(a) == [link]
    os.utime(a / "x.yaml", ns=(1, 1))  # touched: the same content
    assert installs.changed_links(a) == [] and installs.leak(a, root) is None
    with (b / "x.yaml").open("r+") as handle:  # written in place through the other copy
        handle.write("ONE")
    assert installs.changed_links(a) == [a / "x.yaml"]
    message = installs.leak(a, root)
    assert message is not None and message.startswith(
        "components/a/x.yaml was written in place, and it is one file (a hard link) with "
        "components/b/x.yaml: the edit changed both; run fab install"
    )
    (b / "x.yaml").unlink()  # shared with nothing in the tree any more: the user's own edit
    assert installs.changed_links(a) == [a / "x.yaml"] and installs.leak(a, root) is None
    for damaged in (b"garbage\xff", b'{"a": 1}', b"[[1, 2]]", b'[["x", "i", 1, 2, "b"]]'):
        (a / ".git" / installs.LINKS).write_bytes(damaged)
        assert installs.read_links(a) == [] and installs.leak(a, root) is None
    installs.write_links(a, [])
    assert not (a / ".git" / installs.LINKS).exists()
