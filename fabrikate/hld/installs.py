"""What ``fab install`` put where, and whether it is still what the definitions ask for.

    write(dest, "git", Note(source="https://host/redis.git", version="v1.0.0", installed=sha))
    problem = stale(component, Path("components/redis"), "components/redis")

``fab install`` notes each source it places in a small stamp beside (or, for git, inside the
``.git`` of) the installed copy: the source without credentials, the ref asked for, and the
commit or chart version placed. Generate and validate compare every installed component with
its definition through that note, so a stale checkout is an error instead of silently rendered:
``components/redis is v1.0.0 but component.yaml asks for v1.1.0: run fab install``.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import NamedTuple

from fabrikate.hld import layout
from fabrikate.hld.model import Component

__all__ = [
    "LINKS",
    "Link",
    "Note",
    "changed_links",
    "install_path",
    "leak",
    "read",
    "read_links",
    "stale",
    "stamp_file",
    "write",
    "write_links",
]

_FORMAT = 2
_MAX_BYTES = 65536
_MAX_LINKS_BYTES = 64 << 20
_HEX = re.compile(r"[0-9a-f]{4,40}")


class Note(NamedTuple):
    """One installed source: what was asked for, and what was placed."""

    source: str = ""  # without credentials
    version: str = ""
    branch: str = ""
    chart: str = ""  # the chart name of a helm repository source
    installed: str = ""  # the commit, or the chart version, placed
    check: str = ""  # the fetcher's own note to tell an untouched copy (not compared here)
    mirror: str = ""  # the URL the mirror map fetched it from, when not ``source``
    digest: str = ""  # sha256 of the chart archive or downloaded file
    dependencies: str = ""  # a git chart's fetched dependencies, as JSON (fabrikate.lock's)
    legacy: bool = False  # a stamp of an earlier fab: only ``installed``/``check`` are known


def install_path(folder: Path, component: Component) -> tuple[Path, str] | None:
    """Where install puts ``component``'s source (spec §1.3) and the stamp method; None for
    components that install nothing."""
    kind, method, name = component.type, component.method, component.name
    if kind == "component" and method == "git":
        return layout.clone_dir(folder, name), "git"
    if kind == "helm" and method in ("git", "helm") and component.source and component.path:
        return layout.chart_clone_dir(folder, name), method
    if kind == "static" and method.lower() == "http":
        return layout.http_static_file(folder, name), "http"
    return None


def stamp_file(dest: Path, method: str) -> Path:
    """Where the note of the copy at ``dest`` is kept: inside a checkout's ``.git`` (neither
    git nor a listing of ``components/`` sees it), else a hidden file beside the copy."""
    if method == "git":
        return dest / ".git" / "fab-source"
    return dest.parent / f".{dest.name}.fab-source"


def write(dest: Path, method: str, note: Note) -> None:
    """Note what was placed at ``dest`` (a link there is replaced, never followed)."""
    from fabrikate.support.fsutil import write_file

    data = {"format": _FORMAT, **{k: v for k, v in note._asdict().items() if k != "legacy"}}
    text = json.dumps(data, sort_keys=True) + "\n"
    path = stamp_file(dest, method)
    if _read_small(path) != text:
        write_file(path, text)


def _read_small(path: Path, limit: int = _MAX_BYTES) -> str | None:
    """A small regular file's text; None when there is none, or something else is there (a
    link is never followed: a fetched tree may have put one)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(limit).decode("utf-8", "replace")


def read(dest: Path, method: str) -> Note | None:
    """The note of the copy at ``dest``; None when there is none (or it cannot be read)."""
    text = _read_small(stamp_file(dest, method))
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("format") == _FORMAT:
        field = {k: str(v) for k, v in data.items()}.get
        return Note(
            source=field("source", ""),
            version=field("version", ""),
            branch=field("branch", ""),
            chart=field("chart", ""),
            installed=field("installed", ""),
            check=field("check", ""),
            mirror=field("mirror", ""),
            digest=field("digest", ""),
            dependencies=field("dependencies", ""),
        )
    # An earlier fab wrote "<commit> <fingerprint>" (git) or the archive digest (helm).
    first = text.strip().partition(" ")[0]
    return Note(installed=first if method == "git" else "", check=text, legacy=True)


def _ref(method: str, version: str, branch: str) -> str:
    if version:
        return version
    if method == "helm":
        return "the latest version"
    return f"branch {branch}" if branch else "the default branch"


def stale(component: Component, dest: Path, shown: str) -> tuple[str, str] | None:
    """Why the copy at ``dest`` (``shown`` as a path the user knows) is not what ``component``
    asks for, as (level, message); None when it is, or when nothing is installed there."""
    found = install_path(Path(), component)
    if found is None or not (dest.is_dir() or dest.is_file()):
        return None
    method = found[1]
    note = read(dest, method)
    asked = Path(component.location.file).name if component.location else "the definition"
    if note is None:
        return "warning", (
            f"{shown} was not placed by fab install; cannot check that it is what {asked} asks for"
        )
    if note.legacy:
        pinned = method == "git" and _HEX.fullmatch(component.version)
        if pinned and note.installed.startswith(component.version):
            return None
        return "warning", (
            f"{shown} was installed by an earlier fab: run fab install to check that it is what "
            f"{asked} asks for"
        )
    return _mismatch(component, method, note, shown, asked)


def _mismatch(
    component: Component, method: str, note: Note, shown: str, asked: str
) -> tuple[str, str] | None:
    from fabrikate.support.redact import redact_url

    source = redact_url(component.source)
    if note.source != source:
        problem = f"was installed from {note.source} but {asked} asks for {source}"
    elif method == "helm" and note.chart != component.path:
        problem = f"is chart {note.chart} but {asked} asks for chart {component.path}"
    else:
        branch = component.branch if method == "git" else ""
        if method == "http" or (note.version, note.branch) == (component.version, branch):
            return None
        have = _ref(method, note.version, note.branch)
        problem = f"is {have} but {asked} asks for {_ref(method, component.version, branch)}"
    return "error", f"{shown} {problem}: run fab install"


# -- files a checkout shares with other copies of its commit (hard links) ----------------------

LINKS = "fab-links"  # in a checkout's .git: its shared files as install left them


class Link(NamedTuple):
    """One file of a checkout that is a hard link, as ``fab install`` placed it."""

    path: str  # relative to the checkout, with /
    inode: int
    size: int
    mtime_ns: int
    blob: str  # git's object id of its content


def write_links(dest: Path, links: list[Link]) -> None:
    """Note the shared files of the checkout at ``dest`` (none: no note)."""
    from fabrikate.support.fsutil import remove, write_file

    path = dest / ".git" / LINKS
    if not links:
        remove(path)
        return
    rows = [[k.path, k.inode, k.size, k.mtime_ns, k.blob] for k in links]
    write_file(path, json.dumps(rows, separators=(",", ":")) + "\n")


def read_links(dest: Path) -> list[Link]:
    """The shared files noted for the checkout at ``dest``; none when the note is missing or
    damaged (an earlier fab wrote none)."""
    text = _read_small(dest / ".git" / LINKS, _MAX_LINKS_BYTES)
    try:
        rows = json.loads(text) if text is not None else []
        return [Link(str(p), int(i), int(s), int(m), str(b)) for p, i, s, m, b in rows]
    except (ValueError, TypeError):
        return []


def changed_links(dest: Path) -> list[Path]:
    """The shared files of the checkout at ``dest`` written in place since install: the same
    file (inode) with other content. A ``touch`` changes no content: it is not one."""
    changed = []
    for link in read_links(dest):
        path = dest / link.path
        try:
            info = os.lstat(path)
        except OSError:
            continue  # removed, or replaced: no longer shared
        if info.st_ino != link.inode or (info.st_size, info.st_mtime_ns) == (
            link.size,
            link.mtime_ns,
        ):
            continue
        if info.st_size != link.size or _git_blob_id(path, len(link.blob)) != link.blob:
            changed.append(path)
    return changed


def _git_blob_id(path: Path, length: int = 40) -> str:
    """git's object id of the file at ``path`` (SHA-1, or SHA-256 for 64-digit ids)."""
    import hashlib

    with path.open("rb") as handle:
        data = handle.read()
    digest = hashlib.sha256() if length == 64 else hashlib.sha1()  # git's own ids
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def _sharing(path: Path, root: Path) -> list[Path]:
    """The other names of the file at ``path`` (its hard links) below ``root``."""
    try:
        info = os.lstat(path)
    except OSError:
        return []
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            other = Path(folder) / name
            try:
                seen = os.lstat(other)
            except OSError:
                continue
            if (seen.st_dev, seen.st_ino) == (info.st_dev, info.st_ino) and other != path:
                found.append(other)
    return sorted(found)


def leak(dest: Path, root: Path) -> str | None:
    """Why the checkout at ``dest`` cannot be rendered as it is: a file it shares with another
    component's checkout was written in place, changing both (None when none was)."""
    for path in changed_links(dest):
        others = _sharing(path, root)
        if not others:
            continue  # shared only with the cache, which notices and builds its copy again
        shown, other = (os.path.relpath(p, root) for p in (path, others[0]))
        return (
            f"{shown} was written in place, and it is one file (a hard link) with {other}: the "
            "edit changed both; run fab install to put the fetched files back (to change one "
            "copy, replace the file instead of writing into it)"
        )
    return None
