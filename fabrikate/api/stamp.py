"""Up-to-date checks: a ``fab generate`` whose inputs and output did not change is skipped.

    before = scan_inputs(root, dest)            # before the run reads anything
    ...                                         # the full generation
    save(cache, key, before, root, dest, facts, payload)
    ...
    payload = check(cache, key, root, dest, facts)   # a later run: the payload, or None

A stamp lists every file of the tree (but ``generated/`` and ``.git``) and of the output with
its size, mtime and inode, as make, ninja and git's index do. A file modified shortly before the
scan also gets a content digest, compared on every check: an edit in the same timestamp tick
would keep its mtime (git's "racily clean" rule). "Shortly" is 50 ms where the file system
keeps sub-second times (Linux stamps files from a clock that ticks every 1-10 ms), 2 s where it
keeps whole seconds (FAT, ext3). A stamp is only saved when a second scan after the run equals
the first, so an edit during the run is never hidden.

This module imports only the standard library's cheapest modules: it runs before the rest of
fab is imported.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import sys
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fabrikate.support.cache import Cache

__all__ = ["Scan", "check", "facts", "save", "scan_inputs"]

FORMAT = 2  # 2: diagnostics carry a code
FINE_NS = 50_000_000
COARSE_NS = 2_000_000_000
PACKAGE = Path(__file__).resolve().parent.parent
# The package's folders of code and schemas (templates change no output).
_OWN = ("", "schemas", "support", "hld", "sources", "render", "records", "records/stores", "api")

# relative path -> (size, mtime_ns, inode, content digest when racy)
Entries = dict[str, tuple[int, int, int, bytes | None]]


class Scan:
    """The files of a tree at one moment; ``entries`` is None when the tree cannot be stamped
    (it holds a link to a folder, whose contents a stat does not cover)."""

    def __init__(self, entries: Entries | None, at: int) -> None:
        self.entries = entries
        self.at = at


def _racy(mtime_ns: int, at: int) -> bool:
    """Whether a file with this mtime could be edited again, unnoticed, after a scan at ``at``."""
    window = COARSE_NS if mtime_ns % 1_000_000_000 == 0 else FINE_NS
    return mtime_ns >= at - window


def _digest(path: str) -> bytes:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "blake2b").digest()


def _scan(top: str, skip: Collection[str], at: int) -> Entries | None:
    """Every file below ``top`` by relative path; a ``.git`` folder contributes its HEAD."""
    entries: Entries = {}
    pending = [""]
    while pending:
        rel = pending.pop()
        try:
            found = list(os.scandir(os.path.join(top, rel)))
        except OSError:
            return None
        for entry in found:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if name in skip:
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name == ".git":
                    name, path = f"{name}/HEAD", os.path.join(entry.path, "HEAD")
                else:
                    pending.append(name)
                    entries[name + "/"] = (0, 0, 0, None)
                    continue
            else:
                path = entry.path
            try:
                info = os.stat(path)
                if stat.S_ISDIR(info.st_mode):
                    return None
                racy = _racy(info.st_mtime_ns, at)
                entries[name] = (
                    info.st_size,
                    info.st_mtime_ns,
                    info.st_ino,
                    _digest(path) if racy else None,
                )
            except FileNotFoundError:
                continue  # a dangling link or a vanished file: nothing fab could read
            except OSError:  # a link loop, an unreadable file: the run itself will say
                return None
    return entries


def scan_inputs(root: Path, dest: Path, at: int | None = None) -> Scan:
    """The tree at ``root`` but its output folders, ``generated/`` and ``dest``; files are
    judged racy as of the time ``at`` (default: now)."""
    at = time.time_ns() if at is None else at
    return Scan(_scan(str(root), _skipped(root, dest), at), at)


def _skipped(root: Path, dest: Path) -> set[str]:
    skip = {"generated"}
    with contextlib.suppress(ValueError):
        skip.add(dest.resolve().relative_to(root.resolve()).as_posix())
    return skip


def facts(settings: Mapping[str, Any]) -> tuple[Any, ...]:
    """What else decides the output: fab's own files, Python and its packages, the helm
    binary, ``HELM_*`` variables and the output-relevant settings."""
    from fabrikate._version import __version__
    from fabrikate.support.fsutil import which

    own = sorted(
        (entry.path, entry.stat().st_mtime_ns, entry.stat().st_size)
        for folder in (PACKAGE / name for name in _OWN)
        for entry in _entries(folder)
        if entry.name.endswith((".py", ".json"))
    )
    site = sys.modules.get("site")
    packages = [_mtime(p) for p in site.getsitepackages()] if site else []
    helm = str(settings.get("helm", "helm"))
    helm_path = helm if os.sep in helm else which(helm)
    helm_stat = _mtime(helm_path) if helm_path else None
    helm_env = sorted((k, v) for k, v in os.environ.items() if k.startswith("HELM_"))
    return (
        FORMAT,
        __version__,
        tuple(own),
        sys.version,
        tuple(packages),
        helm_path,
        helm_stat,
        tuple(helm_env),
        tuple(sorted(settings.items())),
    )


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(folder))
    except OSError:  # an installation without it: nothing there to change
        return []


def _mtime(path: str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def check(cache: Cache, key: str, root: Path, dest: Path, known: tuple[Any, ...]) -> Any:
    """The payload saved with the stamp ``key`` when nothing changed since, else None."""
    data = _load(cache, key)
    if data is None or data.get("facts") != known:
        return None
    at = data["at"]
    inputs = scan_inputs(root, dest, at).entries
    if inputs is None or inputs != data["inputs"]:
        return None
    if _scan(str(dest), (), data["output_at"]) != data["output"]:
        return None
    _settle(cache, key, data)
    return data["payload"]


def _load(cache: Cache, key: str) -> dict[str, Any] | None:
    raw = cache.get("stamps", key)
    if raw is None:
        return None
    try:
        data = marshal.loads(raw)
    except (EOFError, ValueError, TypeError):
        return None
    keys = {"format", "facts", "at", "output_at", "inputs", "output", "payload"}
    if not (isinstance(data, dict) and data.keys() == keys and data["format"] == FORMAT):
        return None
    times = (data["at"], data["output_at"])
    if not all(type(t) is int for t in times) or not all(
        _is_entries(data[part]) for part in ("inputs", "output")
    ):
        return None  # the right keys, the wrong values: damaged all the same
    return data


def _is_entries(value: Any) -> bool:
    """Whether ``value`` has the shape of ``Entries``."""
    return isinstance(value, dict) and all(
        isinstance(rel, str)
        and type(entry) is tuple
        and len(entry) == 4
        and all(type(n) is int for n in entry[:3])
        and (entry[3] is None or type(entry[3]) is bytes)
        for rel, entry in value.items()
    )


def _settle(cache: Cache, key: str, data: dict[str, Any]) -> None:
    """Once racy files are old enough, drop their digests so later checks only stat."""
    now = time.time_ns()
    racy = [e for part in ("inputs", "output") for e in data[part].values() if e[3] is not None]
    if not racy or any(_racy(e[1], now) for e in racy):
        return
    for part in ("inputs", "output"):
        data[part] = {rel: (*e[:3], None) for rel, e in data[part].items()}
    data["at"] = data["output_at"] = now
    cache.put("stamps", key, marshal.dumps(data))


def save(
    cache: Cache,
    key: str,
    before: Scan,
    root: Path,
    dest: Path,
    known: tuple[Any, ...],
    payload: Any,
) -> bool:
    """Stamp the run that scanned ``before``, unless its inputs changed while it ran."""
    if before.entries is None:
        return False
    after = scan_inputs(root, dest, before.at).entries
    output_at = time.time_ns()
    output = _scan(str(dest), (), output_at)
    if after != before.entries or output is None:
        return False
    data = {
        "format": FORMAT,
        "facts": known,
        "at": before.at,
        "output_at": output_at,
        "inputs": after,
        "output": output,
        "payload": payload,
    }
    cache.put("stamps", key, marshal.dumps(data))
    return True
