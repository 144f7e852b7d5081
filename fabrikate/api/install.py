"""``install``: fetch every remote component of a tree, under the tree lock.

result = fabrikate.install("hld")
for failure in result.failures:
    print(failure)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.api.lock import tree_lock
from fabrikate.settings import Settings

if TYPE_CHECKING:
    from fabrikate.sources.installer import InstallResult
    from fabrikate.support.progress import Progress

__all__ = ["install"]


def install(
    path: str | Path = ".",
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
    locked: bool = False,
    update: Sequence[str] | bool = False,
) -> InstallResult:
    """Fetch every remote component of the tree at ``path``; every failure is in the result.

    fabrikate.lock pins what was fetched: ``locked`` installs exactly it (a component whose
    definition changed since, or a different archive, fails), ``update`` resolves again every
    component (True) or those named (by name or path in the tree) and relocks them.
    """
    from fabrikate.sources.installer import Locking
    from fabrikate.sources.installer import install as run_install

    settings = settings or Settings.from_env()
    names = None if update is False else frozenset(() if update is True else update)
    locking = Locking(locked=locked, update=names)
    with tree_lock(Path(path), settings):
        return run_install(path, settings, progress=progress, locking=locking)
