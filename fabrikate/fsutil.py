"""File-system steps that must never be seen half done.

replace_dir(staged, dest)  # dest now holds what staged held; staged is gone
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["recover_dir", "remove", "replace_dir"]

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
    import tempfile

    old = None
    if dest.exists() or dest.is_symlink():
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
    for aside in dest.parent.glob(f".{dest.name}.old-*"):
        kept = aside / "x"
        if not (dest.exists() or dest.is_symlink()) and (kept.exists() or kept.is_symlink()):
            os.rename(kept, dest)
        remove(aside)


def remove(path: Path) -> None:
    """Remove a file, link or whole folder; what is already gone is fine."""
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
