"""Output layout and atomic writes: the only code that writes ``generated/``.

    result = write_tree(Path("generated/prod"), {"trivia.yaml": b"...", "infra/x.yaml": b"..."})

The new tree is built in a staging folder beside the destination and swapped in only when it
is complete, so a failed run leaves the previous output byte-for-byte intact. Files whose bytes
did not change are hard-linked from the old tree, keeping their inode and mtime; a run that
changes one existing file only renames that file into place, which is as atomic; a run that
changes nothing does not touch the destination at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from fabrikate.errors import FabrikateError

__all__ = ["WriteResult", "write_tree"]


@dataclass
class WriteResult:
    """What a write did, by relative path."""

    destination: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether any file was added, changed or removed."""
        return bool(self.written or self.removed)


def _existing(dest: Path) -> set[str]:
    if not dest.is_dir():
        return set()
    found = set()
    for folder, _, names in os.walk(dest):
        for name in names:
            found.add(PurePosixPath(Path(folder, name).relative_to(dest)).as_posix())
    return found


def _same(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def recover(dest: Path) -> None:
    """Undo what an earlier, killed run left half done, and drop its staging folders (the
    caller holds the tree lock, so no other run is writing them)."""
    from fabrikate.fsutil import recover_dir, remove

    recover_dir(dest)
    if dest.parent.is_dir():
        for stale in dest.parent.glob(f".{dest.name}.fab-new-*"):
            remove(stale)


def write_tree(dest: Path, files: Mapping[str, bytes]) -> WriteResult:
    """Make ``dest`` hold exactly ``files`` (relative POSIX paths to contents), atomically."""
    result = WriteResult(dest)
    try:
        recover(dest)
        before = _existing(dest)
    except OSError as exc:
        raise FabrikateError(f"cannot write output to {dest}: {exc.strerror or exc}") from exc
    result.removed = sorted(before - set(files))
    for rel in sorted(files):
        same = rel in before and _same(dest / rel, files[rel])
        (result.unchanged if same else result.written).append(rel)
    if len(result.written) == 1 and not result.removed and result.written[0] in before:
        _replace_one(dest, result.written[0], files[result.written[0]])
    elif result.changed or not dest.is_dir():
        _swap(dest, files, set(result.unchanged))
    return result


def _replace_one(dest: Path, rel: str, data: bytes) -> None:
    """Rewrite the one changed file: a single rename is as atomic as swapping the tree."""
    from fabrikate.interrupts import check_interrupted

    # Staged beside ``dest`` with the staging folders' prefix, so ``recover`` cleans it up.
    temp = dest.parent / f".{dest.name}.fab-new-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
        check_interrupted()
        os.replace(temp, dest / rel)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise FabrikateError(f"cannot write output to {dest}: {exc.strerror or exc}") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _swap(dest: Path, files: Mapping[str, bytes], unchanged: set[str]) -> None:
    """Build the new tree in a staging folder beside ``dest``, then swap it in."""
    from fabrikate.fsutil import remove, replace_dir
    from fabrikate.interrupts import check_interrupted

    stage: Path | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Not mkdtemp: its 0700 would become the output folder's mode; mkdir follows the umask.
        stage = dest.parent / f".{dest.name}.fab-new-{os.getpid()}-{os.urandom(4).hex()}"
        stage.mkdir()
        for folder in sorted({PurePosixPath(rel).parent for rel in files}):
            (stage / folder).mkdir(parents=True, exist_ok=True)
        for rel in sorted(files):
            target = stage / rel
            if rel in unchanged:
                _link(dest / rel, target)
            else:
                with open(target, "wb") as handle:
                    handle.write(files[rel])
        check_interrupted()
        replace_dir(stage, dest)
    except OSError as exc:
        if stage is not None:
            remove(stage)
        raise FabrikateError(f"cannot write output to {dest}: {exc.strerror or exc}") from exc
    except BaseException:
        if stage is not None:
            remove(stage)
        raise


def _link(source: Path, target: Path) -> None:
    """Carry an unchanged file over, keeping its inode and mtime."""
    try:
        os.link(source, target)
    except OSError:
        import shutil

        shutil.copy2(source, target)
