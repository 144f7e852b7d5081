"""Output writes are atomic, leave unchanged files alone and remove stale ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fabrikate.errors import FabrikateError
from fabrikate.layout import output_dir
from fabrikate.output import write_tree


def test_output_dir_layout(tmp_path: Path) -> None:
    assert output_dir(tmp_path, ["prod-east", "prod"]) == tmp_path / "generated/prod-east-prod"
    assert output_dir(tmp_path, []) == tmp_path / "generated/common"


def test_unchanged_files_keep_their_inode_and_mtime_stale_ones_go(tmp_path: Path) -> None:
    dest = tmp_path / "generated" / "prod"
    write_tree(dest, {"a.yaml": b"a", "sub/b.yaml": b"b", "stale.yaml": b"s"})
    before = os.stat(dest / "a.yaml")
    os.utime(dest / "a.yaml", ns=(1, 1))
    result = write_tree(dest, {"a.yaml": b"a", "sub/b.yaml": b"B"})
    assert result.unchanged == ["a.yaml"]
    assert result.written == ["sub/b.yaml"]
    assert result.removed == ["stale.yaml"]
    after = os.stat(dest / "a.yaml")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, 1)
    assert (dest / "sub/b.yaml").read_bytes() == b"B"
    assert not (dest / "stale.yaml").exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["prod"]


def test_the_output_folder_has_the_usual_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_tree(tmp_path / "out", {"a.yaml": b"a", "sub/b.yaml": b"b"})
        write_tree(tmp_path / "out", {"a.yaml": b"A", "sub/b.yaml": b"B"})
    finally:
        os.umask(old)
    for path in (tmp_path / "out", tmp_path / "out" / "sub"):
        assert path.stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out" / "a.yaml").stat().st_mode & 0o777 == 0o644


def test_a_run_that_changes_nothing_does_not_touch_the_folder(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    write_tree(dest, {"a.yaml": b"a"})
    inode = os.stat(dest).st_ino
    assert not write_tree(dest, {"a.yaml": b"a"}).changed
    assert os.stat(dest).st_ino == inode


def test_one_changed_file_is_renamed_into_place(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    write_tree(dest, {"a.yaml": b"a", "sub/b.yaml": b"b"})
    folder, kept, changed = (
        os.stat(p).st_ino for p in (dest, dest / "a.yaml", dest / "sub/b.yaml")
    )
    (tmp_path / ".out.fab-new-99-dead").write_bytes(b"left by a killed run")
    result = write_tree(dest, {"a.yaml": b"a", "sub/b.yaml": b"B"})
    assert (result.written, result.unchanged) == (["sub/b.yaml"], ["a.yaml"])
    assert (os.stat(dest).st_ino, os.stat(dest / "a.yaml").st_ino) == (folder, kept)
    assert os.stat(dest / "sub/b.yaml").st_ino != changed
    assert (dest / "sub/b.yaml").read_bytes() == b"B"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_write_leaves_the_previous_output_intact(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    write_tree(dest, {"a.yaml": b"old"})

    class Boom(dict):
        def __getitem__(self, key: str) -> bytes:
            if key == "z.yaml":
                raise OSError(28, "No space left on device")
            return super().__getitem__(key)

    with pytest.raises(FabrikateError, match="No space left on device"):
        write_tree(dest, Boom({"a.yaml": b"new", "z.yaml": b""}))
    assert (dest / "a.yaml").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_interrupted_swap_is_recovered(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    write_tree(dest, {"a.yaml": b"a"})
    (tmp_path / ".out.old-1234").mkdir()  # as if killed between the two renames of a fallback swap
    os.replace(dest, tmp_path / ".out.old-1234" / "x")
    write_tree(dest, {"a.yaml": b"a", "b.yaml": b"b"})
    assert sorted(p.name for p in dest.iterdir()) == ["a.yaml", "b.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replace_dir_exchanges_atomically_and_drops_the_old_tree(tmp_path: Path) -> None:
    from fabrikate.fsutil import _exchange, replace_dir

    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "old.yaml").write_text("old")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "new.yaml").write_text("new")
    replace_dir(tmp_path / "new", tmp_path / "dest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]
    assert [p.name for p in (tmp_path / "dest").iterdir()] == ["new.yaml"]
    (tmp_path / "a").mkdir()
    assert _exchange(tmp_path / "a", tmp_path / "dest")  # Linux and ext4/tmpfs support it
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["new.yaml"]
