"""``outdated``: which components of fabrikate.lock have newer tags, branch heads or versions.

result = fabrikate.outdated("hld")
for row in result.rows:
    print(row.component, row.current, row.wanted, row.latest)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import FabrikateError, InputError
from fabrikate.settings import Settings

if TYPE_CHECKING:
    from fabrikate.sources.outdated import Outdated

__all__ = ["OutdatedResult", "outdated"]


@dataclass
class OutdatedResult:
    """Every locked source with what its remote offers, and the remotes that did not answer."""

    rows: list[Outdated] = field(default_factory=list)
    failures: list[FabrikateError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """What ``fab outdated -o json`` prints."""
        return {
            "components": [row.as_json() for row in self.rows],
            "failures": [{"component": f.component, "error": f.message} for f in self.failures],
        }


def outdated(path: str | Path = ".", settings: Settings | None = None) -> OutdatedResult:
    """Ask the remote of every entry of the tree's fabrikate.lock, through the mirror map,
    with the local tree's access.yaml tokens."""
    from fabrikate.hld.resolve import walk
    from fabrikate.sources import Sources
    from fabrikate.sources.lockfile import LOCK_FILE, Lock
    from fabrikate.sources.outdated import outdated as check

    settings = settings or Settings.from_env()
    root = Path(path)
    lock = Lock.read(root)
    if not lock.exists:
        raise InputError(f"no {LOCK_FILE} in {root}: run fab install first")
    sources = Sources.for_tree(root, settings)
    tree = walk(root, (), keep_going=True, check_installs=False)
    for node in tree.components:
        if not node.remote:
            sources.credentials.load(node.physical_path, node.id)
    rows, failures = check(lock, sources)
    for failure in failures:
        failure.message = sources.mask(failure.message)
    return OutdatedResult(sorted(rows, key=lambda r: r.component), failures)
