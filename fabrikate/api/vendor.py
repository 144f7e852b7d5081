"""``vendor``: install the tree, then copy every remote source it needs into a folder.

result = fabrikate.vendor("hld", "hld/vendor")
print(result.exported.repositories, result.exported.charts, result.exported.files)
fabrikate.install("hld", Settings.from_env(vendor="hld/vendor", offline=True))  # no network
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.api.lock import tree_lock
from fabrikate.settings import Settings

if TYPE_CHECKING:
    from fabrikate.sources.installer import InstallResult
    from fabrikate.sources.vendor import Exported
    from fabrikate.support.progress import Progress

__all__ = ["VendorResult", "vendor"]


@dataclass
class VendorResult:
    """The install that pinned the sources, and what was copied (None when it failed)."""

    install: InstallResult
    exported: Exported | None


def vendor(
    path: str | Path = ".",
    dest: str | Path | None = None,
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
    locked: bool = False,
) -> VendorResult:
    """Install the tree at ``path`` (as ``install``: fabrikate.lock pins it, ``locked``
    follows it exactly), then write every source of the lock into ``dest`` (default:
    ``vendor/`` beside the root definition)."""
    from fabrikate.sources import Sources
    from fabrikate.sources.installer import Locking
    from fabrikate.sources.installer import install as run_install
    from fabrikate.sources.lockfile import LOCK_FILE, Lock
    from fabrikate.sources.vendor import check_dest, export

    settings = settings or Settings.from_env()
    root = Path(path)
    target = Path(dest) if dest is not None else root / "vendor"
    check_dest(target)  # before anything is fetched
    with tree_lock(root, settings):
        installed = run_install(root, settings, progress=progress, locking=Locking(locked))
        if not installed.ok:
            return VendorResult(installed, None)
        lock = installed.lock or Lock(root / LOCK_FILE)  # nothing remote: an empty folder
        exported = export(lock, Sources.for_tree(root, settings), target)
    return VendorResult(installed, exported)
