"""File-system steps that must never be seen half done, and bounded reads of regular files.

replace_dir(staged, dest)  # dest now holds what staged held; staged is gone
data = read_regular(path)  # a regular file of at most MAX_FILE_BYTES, or an InputError
"""

from __future__ import annotations

import functools
import itertools
import os
import stat
from collections.abc import Callable
from pathlib import Path

from fabrikate.errors import InputError, Location

__all__ = [
    "MAX_FILE_BYTES",
    "absolute",
    "leftovers",
    "new_file_mode",
    "read_regular",
    "recover_dir",
    "remove",
    "replace_dir",
    "which",
    "write_all",
    "write_bytes",
    "write_file",
]

# The most fab reads from one file it is given (a definition, a manifest, a chart file).
MAX_FILE_BYTES = 16 * 1024 * 1024

# ctypes, shutil and tempfile are imported where used: importing this module stays cheap.


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).renameat2
    except (OSError, AttributeError):
        return None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or file system cannot."""
    call = _renameat2()
    if call is None:
        return False
    return call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def replace_dir(staged: Path, dest: Path) -> None:
    """Put the complete folder ``staged`` at ``dest``; the old ``dest`` is removed afterwards.

    Where the system allows it the two trade places atomically, so not even a SIGKILL leaves
    ``dest`` missing; elsewhere the old one is moved aside first and put back on failure.
    """
    if (dest.exists() or dest.is_symlink()) and _exchange(staged, dest):
        remove(staged)  # it now holds the old tree
        return
    old = None
    if dest.exists() or dest.is_symlink():
        import tempfile

        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.rename(dest, old / "x")
    try:
        os.rename(staged, dest)
    except BaseException:
        if old is not None:
            os.rename(old / "x", dest)
        raise
    finally:
        if old is not None:
            remove(old)


def recover_dir(dest: Path) -> None:
    """Put back a ``dest`` that a killed ``replace_dir`` had moved aside, and drop the leftovers."""
    if not dest.parent.is_dir():
        return
    for aside in leftovers(dest, "old"):
        kept = aside / "x"
        if not (dest.exists() or dest.is_symlink()) and (kept.exists() or kept.is_symlink()):
            os.rename(kept, dest)
        remove(aside)


def leftovers(dest: Path, tag: str) -> list[Path]:
    """The ``.<name>.<tag>-*`` siblings of ``dest`` (matched by prefix: no glob, so a name
    holding ``[`` or ``*`` matches only itself)."""
    prefix = f".{dest.name}.{tag}-"
    with os.scandir(dest.parent) as found:
        return [dest.parent / e.name for e in found if e.name.startswith(prefix)]


def which(name: str) -> str | None:
    """The executable ``name`` names: itself when it holds a folder, else the first on ``PATH``
    (``shutil.which`` on POSIX, without importing shutil and the compression modules it loads)."""
    places = (
        [name]
        if os.sep in name
        else [
            os.path.join(folder or ".", name)
            for folder in os.environ.get("PATH", os.defpath).split(os.pathsep)
        ]
    )
    return next((p for p in places if os.path.isfile(p) and os.access(p, os.X_OK)), None)


def remove(path: Path) -> None:
    """Remove a file, link or whole folder; what is already gone is fine."""
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def new_file_mode() -> int:
    """The mode of a file created now: ``0666`` less the process umask."""
    try:  # Linux tells the umask without changing it
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):  # pragma: no cover (not Linux)
        pass
    mask = os.umask(0o022)  # pragma: no cover
    os.umask(mask)  # pragma: no cover
    return 0o666 & ~mask  # pragma: no cover


def write_file(path: Path, text: str, *, new: bool = False) -> None:
    """``write_bytes`` of ``text`` as UTF-8 (newlines as given)."""
    write_bytes(path, text.encode("utf-8"), new=new)


def write_bytes(
    path: Path,
    data: bytes,
    *,
    new: bool = False,
    durable: bool = True,
    staging: Path | None = None,
    prefix: str | None = None,
    finish: Callable[[Path], None] | None = None,
    mode: int | None = None,
    parents: bool = True,
) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half.

    The file gets ``mode``; without it, an existing file keeps its mode and a new one follows
    the umask. With ``new`` the file must not
    exist yet: an existing one (or one that appears meanwhile) raises ``FileExistsError`` and
    is left alone.

    The one atomic write of fab: a temporary file in ``staging`` (default: beside ``path``,
    on the same filesystem), named ``prefix...`` (default ``.<name>.``), renamed over ``path``.
    ``durable`` syncs it to disk first (a cache entry need not be); ``finish`` runs on the
    complete temporary file before the rename, and when it raises nothing is replaced.
    ``parents=False``: the caller knows the folder exists (else ``FileNotFoundError``).
    """
    import contextlib

    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        mode = path.stat().st_mode & 0o7777 if path.exists() and not new else new_file_mode()
    fd, temp = _new_temp(staging or path.parent, prefix or f".{path.name}.")
    try:
        try:
            write_all(fd, data)
            if mode != _TEMP_MODE:
                os.fchmod(fd, mode)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if finish is not None:
            finish(Path(temp))
        if new:
            os.link(temp, path)  # never replaces: fails when path exists
            os.unlink(temp)
        else:
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def absolute(path: str | os.PathLike[str], cwd: str) -> str:
    """``os.path.abspath(path)`` with the working folder ``cwd`` asked once by the caller,
    not once per path."""
    return os.path.normpath(os.path.join(cwd, path))


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the open file ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_TEMP_MODE = 0o600
_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


# A temporary name: this process's random part and a count, so a name costs no system call;
# a name taken (a forked process counts alike) is tried again with a fresh random part.
_TEMP_RANDOM, _TEMP_COUNT = os.urandom(6).hex(), itertools.count()


def _new_temp(folder: Path, prefix: str) -> tuple[int, str]:
    """A new empty file ``<prefix><unique>.tmp`` in ``folder``, mode 0600, open for writing:
    ``tempfile.mkstemp``'s way, without importing tempfile (and random) on a run's path."""
    name = f"{_TEMP_RANDOM}-{next(_TEMP_COUNT)}"
    for _ in range(100):
        temp = os.path.join(folder, f"{prefix}{name}.tmp")
        try:
            return os.open(temp, _TEMP_FLAGS, _TEMP_MODE), temp
        except FileExistsError:
            name = os.urandom(6).hex()
    raise FileExistsError(f"no free temporary name in {folder}")


def read_regular(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (links followed), at most ``limit`` of them.

    Devices, FIFOs and sockets are refused without reading them: ``/dev/zero`` never ends and a
    FIFO blocks forever.
    """
    where = Location(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", location=where) from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a regular file (a device, FIFO or socket)", location=where)
        if info.st_size > limit:
            raise InputError(
                f"file is too large ({info.st_size} bytes, limit {limit})", location=where
            )
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror}", location=where) from exc
    if len(data) > limit:
        raise InputError(f"file is too large (more than {limit} bytes)", location=where)
    return data
