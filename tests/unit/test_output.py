"""Output writes are atomic, leave unchanged files alone and remove stale ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fabrikate.errors import FabrikateError, OutputConflict
from fabrikate.hld.layout import output_dir
from fabrikate.output import MANIFEST, Stage, write_tree


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
    assert sorted(p.name for p in dest.iterdir()) == [MANIFEST, "a.yaml", "b.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replace_dir_exchanges_atomically_and_drops_the_old_tree(tmp_path: Path) -> None:
    from fabrikate.support.fsutil import _exchange, replace_dir

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


# --- ownership: fab removes and rewrites only the files its manifest lists ---------------------


def test_the_manifest_lists_what_fab_wrote_and_foreign_files_stay(tmp_path: Path) -> None:
    dest = tmp_path / "prod"
    write_tree(dest, {"app.yaml": b"a", "infra/db.yaml": b"d"})
    assert (dest / MANIFEST).read_text().splitlines()[-2:] == ["app.yaml", "infra/db.yaml"]
    (dest / "kustomization.yaml").write_text("resources: [app.yaml]\n")  # added by hand
    (dest / "infra" / "notes.txt").write_text("mine\n")
    (dest / "empty").mkdir()
    result = write_tree(dest, {"app.yaml": b"A"})
    assert (result.written, result.removed) == (["app.yaml"], ["infra/db.yaml"])
    assert result.foreign == ["infra/notes.txt", "kustomization.yaml"]
    assert (dest / "kustomization.yaml").read_text() == "resources: [app.yaml]\n"
    assert (dest / "infra" / "notes.txt").read_text() == "mine\n"
    assert (dest / "empty").is_dir()
    assert not (dest / "infra" / "db.yaml").exists()
    assert (dest / MANIFEST).read_text().splitlines()[-1] == "app.yaml"


def test_a_manifest_repository_clone_keeps_its_git_folder_and_readme(tmp_path: Path) -> None:
    clone = tmp_path / "manifests"
    (clone / ".git" / "objects" / "pack").mkdir(parents=True)
    (clone / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (clone / ".git" / "objects" / "pack" / "p.pack").write_bytes(b"PACK")
    os.symlink("HEAD", clone / ".git" / "LINK")
    (clone / "README.md").write_text("# manifests\n")
    head = os.stat(clone / ".git" / "HEAD")
    write_tree(clone, {"prod/app.yaml": b"a"})
    write_tree(clone, {"prod/app.yaml": b"b", "prod/db.yaml": b"d"})  # a swap of the folder
    assert (clone / "README.md").read_text() == "# manifests\n"
    assert (clone / ".git" / "objects" / "pack" / "p.pack").read_bytes() == b"PACK"
    assert os.readlink(clone / ".git" / "LINK") == "HEAD"
    assert os.stat(clone / ".git" / "HEAD").st_ino == head.st_ino
    assert (clone / "prod" / "app.yaml").read_bytes() == b"b"


def test_a_foreign_file_where_fab_must_write_is_an_error_naming_it(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "app.yaml").write_text("hand-written\n")
    (dest / "same.yaml").write_bytes(b"s")
    with pytest.raises(OutputConflict, match=r"out/app.yaml was not written by fab"):
        write_tree(dest, {"app.yaml": b"a", "same.yaml": b"s"})
    assert (dest / "app.yaml").read_text() == "hand-written\n"
    assert not (dest / MANIFEST).exists()
    # A file with exactly the bytes fab would write is adopted; a file below a foreign one fails.
    write_tree(dest, {"same.yaml": b"s"})
    assert (dest / MANIFEST).read_text().splitlines()[-1] == "same.yaml"
    with pytest.raises(OutputConflict, match=r"out/app.yaml was not written by fab"):
        write_tree(dest, {"app.yaml/x.yaml": b"x"})


def test_the_default_folder_without_a_manifest_is_taken_over(tmp_path: Path) -> None:
    dest = tmp_path / "generated" / "prod"
    dest.mkdir(parents=True)
    (dest / "app.yaml").write_text("written by Fabrikate\n")
    (dest / "gone.yaml").write_text("a component removed since\n")
    result = write_tree(dest, {"app.yaml": b"new"}, take_over=True)
    assert result.taken_over and result.foreign == ["gone.yaml"]
    assert (dest / "app.yaml").read_bytes() == b"new"
    assert (dest / "gone.yaml").exists()  # never fab's for sure: left alone (and warned about)


def test_manifest_entries_outside_the_folder_are_ignored(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    write_tree(dest, {"a.yaml": b"a"})
    (tmp_path / "victim.yaml").write_text("keep\n")
    (dest / MANIFEST).write_text("a.yaml\n../victim.yaml\n/etc/passwd\n")
    write_tree(dest, {"b.yaml": b"b"})
    assert (tmp_path / "victim.yaml").read_text() == "keep\n"
    assert sorted(p.name for p in dest.iterdir()) == [MANIFEST, "b.yaml"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_staged_output_is_the_folder_write_tree_makes(tmp_path: Path) -> None:
    files = {"a.yaml": b"a", "sub/b.yaml": b"b", "sub/deep/c.yaml": b"c"}
    write_tree(tmp_path / "plain" / "prod", files)
    stage = Stage(tmp_path / "staged" / "prod")
    stage.add("a.yaml", b"before the stage opened: written at the end")
    stage.open()
    stage.add("sub/b.yaml", b"b")
    stage.add("sub/deep/c.yaml", b"an older version")
    stage.add("gone.yaml", b"no longer in the output")
    assert _tree(stage.path) == {  # type: ignore[arg-type]
        "sub/b.yaml": b"b",
        "sub/deep/c.yaml": b"an older version",
        "gone.yaml": b"no longer in the output",
    }
    result = write_tree(tmp_path / "staged" / "prod", files, stage=stage)
    assert result.written == sorted(files) and not result.unchanged and not result.removed
    assert _tree(tmp_path / "staged" / "prod") == _tree(tmp_path / "plain" / "prod")
    assert sorted(p.name for p in (tmp_path / "staged").iterdir()) == ["prod"]


def test_a_discarded_stage_leaves_nothing_and_takes_no_more(tmp_path: Path) -> None:
    stage = Stage(tmp_path / "made" / "for" / "prod")
    stage.open()
    stage.add("sub/a.yaml", b"a")
    stage.discard()
    stage.add("sub/b.yaml", b"b")
    assert list(tmp_path.iterdir()) == []  # the folders made for it went too


def test_a_stage_is_not_used_once_the_folder_exists(tmp_path: Path) -> None:
    dest = tmp_path / "prod"
    stage = Stage(dest)
    stage.open()
    stage.add("a.yaml", b"staged")
    dest.mkdir()
    (dest / "a.yaml").write_bytes(b"not fab's")
    with pytest.raises(OutputConflict):
        write_tree(dest, {"a.yaml": b"fab's"}, stage=stage)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prod"]
    assert (dest / "a.yaml").read_bytes() == b"not fab's"
