"""Leftover siblings and the executable lookup of ``fsutil``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fabrikate.support.fsutil import leftovers, recover_dir, which


def test_leftovers_match_the_name_and_tag_literally(tmp_path: Path) -> None:
    dest = tmp_path / "prod[1]*"
    for name in (".prod[1]*.old-a", ".prod[1]*.old-", ".prod1.old-b", ".prod[1]*.fab-new-c", "x"):
        (tmp_path / name).mkdir()
    assert sorted(p.name for p in leftovers(dest, "old")) == [".prod[1]*.old-", ".prod[1]*.old-a"]
    assert [p.name for p in leftovers(dest, "fab-new")] == [".prod[1]*.fab-new-c"]


def test_recover_puts_back_what_a_killed_replace_moved_aside(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    (tmp_path / ".out.old-1" / "x").mkdir(parents=True)
    (tmp_path / ".out.old-1" / "x" / "kept.yaml").write_text("a: 1\n")
    recover_dir(dest)
    assert (dest / "kept.yaml").read_text() == "a: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_which_finds_what_shutil_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder, mode in (("a", 0o644), ("b", 0o755), ("c", 0o755)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "tool").write_text("#!/bin/sh\n")
        (tmp_path / folder / "tool").chmod(mode)
    (tmp_path / "d" / "tool").mkdir(parents=True)  # a folder is no executable
    path = os.pathsep.join(str(tmp_path / f) for f in ("d", "a", "b", "c"))
    monkeypatch.setenv("PATH", path)
    assert which("tool") == shutil.which("tool") == str(tmp_path / "b" / "tool")
    assert which(str(tmp_path / "a" / "tool")) is None
    assert which(str(tmp_path / "c" / "tool")) == str(tmp_path / "c" / "tool")
    assert which("missing") is None
