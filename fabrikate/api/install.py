"""``install``: fetch every remote component of a tree, under the tree lock.

result = fabrikate.install("hld")
for failure in result.failures:
    print(failure)
"""

from __future__ import annotations

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
) -> InstallResult:
    """Fetch every remote component of the tree at ``path``; every failure is in the result."""
    from fabrikate.sources.installer import install as run_install

    settings = settings or Settings.from_env()
    with tree_lock(Path(path), settings):
        return run_install(path, settings, progress=progress)
