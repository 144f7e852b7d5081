"""Output layout, ownership and atomic writes: the only code that writes ``generated/``.

    result = write_tree(Path("generated/prod"), {"trivia.yaml": b"...", "infra/x.yaml": b"..."})

fab owns only the files it wrote. The output folder's manifest, ``.fabrikate-output``, lists
them; stale files it lists are removed, every other file stays (a manifest repository's
``.git``, a hand-written ``kustomization.yaml``), and a file fab did not write where it must
write is an error naming it. A folder without a manifest is adopted file by file: a file with
exactly the bytes fab would write becomes fab's; in the default ``generated/<envs>`` folder
(which Fabrikate and earlier fab versions owned entirely) every file fab writes is taken over.

The new tree is built in a staging folder beside the destination and swapped in only when it
is complete, so a failed or killed run leaves the previous output byte-for-byte intact (a
destination that does not exist yet is staged while the tree renders: ``Stage``). Files
that stay (unchanged ones and files fab does not own) are hard-linked into the staging folder,
keeping their inode and mtime; a run that changes one existing file only renames that file into
place, which is as atomic; a run that changes nothing does not touch the destination at all.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from fabrikate.errors import FabrikateError, OutputConflict
from fabrikate.support.fsutil import write_all

__all__ = ["MANIFEST", "Stage", "WriteResult", "write_tree"]

MANIFEST = ".fabrikate-output"
_HEADER = (
    "# fab generate wrote the files listed below; it removes or rewrites only these.\n"
    "# Other files in this folder are left alone. Do not edit.\n"
)


@dataclass
class WriteResult:
    """What a write did, by relative path."""

    destination: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # files fab does not own, left alone
    taken_over: bool = False  # a folder without a manifest whose files fab took over

    @property
    def changed(self) -> bool:
        """Whether any file was added, changed or removed."""
        return bool(self.written or self.removed)


class _Present:
    """What the destination holds: every entry but folders by relative path (True for a
    regular file, False for a link or anything else), and the folders."""

    def __init__(self) -> None:
        self.files: dict[str, bool] = {}
        self.folders: set[str] = set()

    def regular(self, rel: str) -> bool:
        return self.files.get(rel, False)


def _existing(dest: Path) -> _Present:
    present = _Present()
    pending = [""]
    while pending:
        rel = pending.pop()
        try:
            entries = list(os.scandir(os.path.join(dest, rel)))
        except (FileNotFoundError, NotADirectoryError):
            if rel:
                raise
            return present
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                present.folders.add(name)
                pending.append(name)
            else:
                present.files[name] = entry.is_file(follow_symlinks=False)
    present.files.pop(MANIFEST, None)
    return present


def _same(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _read_manifest(dest: Path) -> set[str] | None:
    """The files the manifest says fab wrote; None without a manifest. Entries that are not
    plain relative paths inside the folder are ignored (nothing outside it is ever fab's)."""
    try:
        text = (dest / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise FabrikateError(f"cannot read {dest / MANIFEST}: {exc}") from exc
    owned = set()
    for line in text.splitlines():
        rel = line.strip()
        if not rel or rel.startswith("#"):
            continue
        parts = PurePosixPath(rel).parts
        if rel.startswith("/") or ".." in parts or "." in parts or rel == MANIFEST:
            continue
        owned.add(rel)
    return owned


def manifest_text(files: Iterable[str]) -> str:
    """The manifest listing ``files``."""
    return _HEADER + "".join(f"{rel}\n" for rel in sorted(files))


def recover(dest: Path) -> None:
    """Undo what an earlier, killed run left half done, and drop its staging folders (the
    caller holds the tree lock, so no other run is writing them)."""
    from fabrikate.support.fsutil import leftovers, recover_dir, remove

    recover_dir(dest)
    if dest.parent.is_dir():
        for stale in leftovers(dest, "fab-new"):
            remove(stale)


class Stage:
    """The staging folder of an output folder that does not exist yet, filled while the tree
    renders: with nothing there to compare, keep or take over, each file can be written as its
    component is rendered (``add``, from any thread), and ``write_tree`` only completes it.
    Until ``open`` (and after any failure to write) it takes nothing."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.path: Path | None = None
        self.added: dict[str, bytes] = {}
        self._made: list[Path] = []  # folders above dest made for it, removed with it
        self._folders: set[str] = set()  # folders made in the staging folder
        self._lock = threading.Lock()

    def open(self) -> None:
        """Start staging (the caller holds the tree lock, and ``dest`` does not exist)."""
        try:
            recover(self.dest)
            missing = [p for p in (self.dest.parent, *self.dest.parent.parents) if not p.exists()]
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            self._made = missing
            self.path = _new_stage(self.dest)
        except OSError:
            self.discard()  # write_tree writes it all, and reports what fails

    def add(self, rel: str, data: bytes) -> None:
        """Write one file of the output into the staging folder, if it is open."""
        folder = self.path
        if folder is None:
            return
        try:
            _write_in(folder, rel, data, self._folders)
        except OSError:
            self.discard()
            return
        with self._lock:
            self.added[rel] = data

    def ready(self) -> bool:
        """Whether the staging folder can become ``dest``: open, whole, and ``dest`` still
        missing."""
        return self.path is not None and not (self.dest.exists() or self.dest.is_symlink())

    def finish(self, files: Mapping[str, bytes]) -> WriteResult:
        """Complete the staging folder with ``files`` and the manifest, and put it in place."""
        from fabrikate.support.fsutil import remove, replace_dir
        from fabrikate.support.interrupts import check_interrupted

        assert self.path is not None
        stage, self.path = self.path, None
        try:
            with self._lock:
                added = dict(self.added)
            for rel in set(added) - set(files):
                os.unlink(stage / rel)
            for rel in sorted(files):
                if added.get(rel) != files[rel]:
                    _write_in(stage, rel, files[rel], self._folders)
            (stage / MANIFEST).write_text(manifest_text(files), encoding="utf-8")
            check_interrupted()
            replace_dir(stage, self.dest)
        except OSError as exc:
            remove(stage)
            raise FabrikateError(
                f"cannot write output to {self.dest}: {exc.strerror or exc}"
            ) from exc
        except BaseException:
            remove(stage)
            raise
        self._made = []
        return WriteResult(self.dest, written=sorted(files))

    def discard(self) -> None:
        """Drop the staging folder (and the folders made for it), if there is one."""
        from fabrikate.support.fsutil import remove

        stage, self.path = self.path, None
        if stage is not None:
            remove(stage)
        for folder in self._made:
            try:
                folder.rmdir()
            except OSError:
                break
        self._made = []


def _write_in(stage: Path, rel: str, data: bytes, made: set[str]) -> None:
    """Write one file below ``stage``, making its folders there (``made``: those made so far):
    never ``stage`` itself, which a discarded stage no longer has."""
    folder = ""
    for part in PurePosixPath(rel).parts[:-1]:
        folder = f"{folder}/{part}"
        if folder not in made:
            with contextlib.suppress(FileExistsError):
                os.mkdir(f"{stage}{folder}")
            made.add(folder)
    fd = os.open(stage / rel, _FILE_FLAGS, 0o666)  # the umask applies, as with open()
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def _new_stage(dest: Path) -> Path:
    """A new staging folder beside ``dest`` (``recover`` drops those a killed run left)."""
    # Not mkdtemp: its 0700 would become the output folder's mode; mkdir follows the umask.
    stage = dest.parent / f".{dest.name}.fab-new-{os.getpid()}-{os.urandom(4).hex()}"
    stage.mkdir()
    return stage


def write_tree(
    dest: Path, files: Mapping[str, bytes], *, take_over: bool = False, stage: Stage | None = None
) -> WriteResult:
    """Make ``dest`` hold ``files`` (relative POSIX paths to contents) and every file fab does
    not own, atomically. ``take_over``: a folder without a manifest was all fab's (the default
    output folder); its files at the paths of ``files`` are replaced. ``stage``: the output
    staged while rendering, used when it still can be."""
    if stage is not None:
        if stage.ready():
            return stage.finish(files)
        stage.discard()
    result = WriteResult(dest)
    try:
        recover(dest)
        present = _existing(dest)
        listed = _read_manifest(dest)
    except OSError as exc:
        raise FabrikateError(f"cannot write output to {dest}: {exc.strerror or exc}") from exc
    owned = _owned(dest, files, present, listed, take_over)
    _check_conflicts(dest, files, present, owned)
    stale = sorted(owned - set(files))
    result.removed = stale
    result.foreign = sorted(set(present.files) - owned)
    result.taken_over = listed is None and take_over and bool(present.files)
    for rel in sorted(files):
        same = rel in owned and _same(dest / rel, files[rel])
        (result.unchanged if same else result.written).append(rel)
    manifest = manifest_text(files)
    manifest_same = _same(dest / MANIFEST, manifest.encode())
    one = len(result.written) == 1 and result.written[0] in owned
    if one and not result.removed and manifest_same:
        _replace_one(dest, result.written[0], files[result.written[0]])
    elif result.changed or not manifest_same or not dest.is_dir():
        keep = (set(present.files) - owned) | set(result.unchanged)
        _swap(dest, files, manifest, keep, _kept_folders(present, keep, stale))
    return result


def _owned(
    dest: Path,
    files: Mapping[str, bytes],
    present: _Present,
    listed: set[str] | None,
    take_over: bool,
) -> set[str]:
    """The present regular files fab owns."""
    if listed is not None:
        return {rel for rel in listed if present.regular(rel)}
    if take_over:
        return {rel for rel in files if present.regular(rel)}
    return {rel for rel in files if present.regular(rel) and _same(dest / rel, files[rel])}


def _check_conflicts(
    dest: Path, files: Mapping[str, bytes], present: _Present, owned: set[str]
) -> None:
    """A file fab must write may not replace a file, link or folder fab does not own, nor go
    below one that is not a folder."""
    for rel in sorted(files):
        if (rel in present.files and rel not in owned) or rel in present.folders:
            clash: str | None = rel
        else:
            parents = (p.as_posix() for p in PurePosixPath(rel).parents)
            clash = next((p for p in parents if p in present.files), None)
        if clash is not None:
            raise OutputConflict(
                f"{dest / clash} was not written by fab (it is not listed in "
                f"{dest / MANIFEST}) and is in the way of {rel}; move it away or remove it"
            )


def _kept_folders(present: _Present, keep: set[str], stale: Sequence[str]) -> set[str]:
    """Folders to carry over: those holding kept files, and empty ones fab did not empty."""
    needed = {p.as_posix() for rel in keep for p in PurePosixPath(rel).parents}
    emptied = {p.as_posix() for rel in stale for p in PurePosixPath(rel).parents}
    holding = {p.as_posix() for rel in present.files for p in PurePosixPath(rel).parents}
    holding |= {p.as_posix() for rel in present.folders for p in PurePosixPath(rel).parents}
    empty = {f for f in present.folders if f not in holding and f not in emptied}
    return (needed | empty) & present.folders


def _replace_one(dest: Path, rel: str, data: bytes) -> None:
    """Rewrite the one changed file: a single rename is as atomic as swapping the tree."""
    from fabrikate.support.fsutil import write_bytes
    from fabrikate.support.interrupts import check_interrupted

    # Staged beside ``dest`` with the staging folders' prefix, so ``recover`` cleans it up.
    try:
        write_bytes(
            dest / rel,
            data,
            durable=False,
            staging=dest.parent,
            prefix=f".{dest.name}.fab-new-",
            finish=lambda _: check_interrupted(),
        )
    except OSError as exc:
        raise FabrikateError(f"cannot write output to {dest}: {exc.strerror or exc}") from exc


def _swap(
    dest: Path, files: Mapping[str, bytes], manifest: str, keep: set[str], folders: set[str]
) -> None:
    """Build the new tree in a staging folder beside ``dest``, then swap it in: ``files`` and
    the ``manifest`` are written, ``keep`` (files) and ``folders`` carried over from ``dest``."""
    from fabrikate.support.fsutil import remove, replace_dir
    from fabrikate.support.interrupts import check_interrupted

    stage: Path | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        stage = _new_stage(dest)
        if dest.is_dir():
            os.chmod(stage, stat.S_IMODE(os.stat(dest).st_mode))
        for folder in sorted(folders):
            (stage / folder).mkdir(parents=True, exist_ok=True)
            os.chmod(stage / folder, stat.S_IMODE(os.stat(dest / folder).st_mode))
        for parent in sorted({PurePosixPath(rel).parent for rel in files}):
            (stage / parent).mkdir(parents=True, exist_ok=True)
        for rel in sorted(keep):
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            _link(dest / rel, stage / rel)
        for rel in sorted(set(files) - keep):
            with open(stage / rel, "wb") as handle:
                handle.write(files[rel])
        (stage / MANIFEST).write_text(manifest, encoding="utf-8")
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
    """Carry a file over, keeping its inode and mtime (a link stays a link)."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        import shutil

        shutil.copy2(source, target, follow_symlinks=False)
