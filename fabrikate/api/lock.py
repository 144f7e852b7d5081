"""The tree lock: one fab process at a time per tree.

with tree_lock(root, settings):
    ...
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest

__all__ = ["tree_lock"]


def tree_lock(root: Path, settings: Settings) -> contextlib.AbstractContextManager[None]:
    """One fab process at a time per tree; others wait (``settings.wait``) or fail clearly."""
    name = digest("tree", os.path.realpath(root))
    return Cache.of(settings).lock("locks", name, wait=settings.wait, what=f"the tree at {root}")
