"""``fab outdated``: which locked components have newer tags, branch heads or chart versions.

    rows, failures = outdated(lock, sources)
    for row in rows:
        print(row.component, row.current, row.wanted, row.latest)

For each entry of fabrikate.lock (and each dependency of a git chart) the remote is asked,
through the mirror map: ``current`` is what the lock pins, ``wanted`` the newest the
definition accepts (the branch head, the newest version its range allows; a pinned tag or
commit wants itself), ``latest`` the newest release there is (the highest SemVer tag or chart
version; none for a branch-only repository).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from fabrikate.errors import FabrikateError
from fabrikate.sources.base import Request
from fabrikate.support.parallel import run_parallel

if TYPE_CHECKING:
    from fabrikate.sources import Sources
    from fabrikate.sources.lockfile import Dependency, Entry, Lock

__all__ = ["Outdated", "outdated"]


@dataclass(frozen=True)
class Outdated:
    """One locked source and what its remote offers now."""

    component: str  # its path in the tree ('web > redis' for a git chart's dependency)
    method: str
    source: str
    asked: str  # the version, range or branch the definition asks for
    current: str
    wanted: str
    latest: str

    @property
    def behind(self) -> bool:
        """Whether anything newer than ``current`` is there."""
        return any(v and v != self.current for v in (self.wanted, self.latest))

    def as_json(self) -> dict[str, Any]:
        """Plain data, with ``behind``."""
        return {**asdict(self), "behind": self.behind}


def outdated(lock: Lock, sources: Sources) -> tuple[list[Outdated], list[FabrikateError]]:
    """Ask every remote of ``lock``; every failure is returned, not raised."""
    jobs: list[tuple[str, Entry | Dependency, str]] = []
    for name, entry in sorted(lock.entries.items()):
        jobs.append((name, entry, ""))
        jobs.extend((f"{name} > {dep.name}", dep, name) for dep in entry.dependencies)
    outcomes = run_parallel(lambda job: _check(sources, *job), jobs, max(1, sources.settings.jobs))
    rows = [o for o in outcomes if isinstance(o, Outdated)]
    failures = [o for o in outcomes if isinstance(o, FabrikateError)]
    for other in outcomes:
        if isinstance(other, Exception) and not isinstance(other, FabrikateError):
            raise other
    return rows, failures


def _check(sources: Sources, name: str, item: Entry | Dependency, parent: str) -> Outdated:
    from fabrikate.sources.lockfile import Dependency

    if isinstance(item, Dependency):
        label = f"dependency {item.name} of {parent}"
        url = sources.charts().repository(item.repository, label, parent)
        request = sources.route(Request(name, "helm", url, path=item.chart, version=item.version))
        return _chart(sources, request, item.chart_version, item.repository)
    request = sources.route(
        Request(name, item.method, item.source, item.path, item.version, item.branch)
    )
    if item.method == "git":
        return _git(sources, request, item.commit)
    if item.method == "helm":
        return _chart(sources, request, item.chart_version, item.source)
    return _file(sources, request, item.digest)


def _git(sources: Sources, request: Request, commit: str) -> Outdated:
    from fabrikate.sources.git import GitFetcher

    refs = GitFetcher(sources).remote_refs(request)
    version = request.version
    tags = [name.removeprefix("refs/tags/") for name in refs if name.startswith("refs/tags/")]
    if version in tags:  # a tag: its newest successor
        current = wanted = version
        latest = _highest([*tags, version])
    elif version:  # a commit: nothing to compare it with
        current = wanted = commit[:12]
        latest = ""
    else:  # a branch: its head
        ref = f"refs/heads/{request.branch}" if request.branch else "HEAD"
        current, wanted, latest = commit[:12], refs.get(ref, "")[:12], ""
    asked = version or (f"branch {request.branch}" if request.branch else "the default branch")
    return Outdated(request.component, "git", request.asked, asked, current, wanted, latest)


def _chart(sources: Sources, request: Request, current: str, shown: str) -> Outdated:
    from fabrikate.sources.helm import pick_version

    entries = sources.charts().versions(request)
    wanted = pick_version(entries, request.version) if entries else None
    latest = pick_version(entries, "") if entries else None
    return Outdated(
        request.component,
        "helm",
        shown,
        request.version or "(latest)",
        current,
        str(wanted["version"]).removeprefix("v") if wanted else "",
        str(latest["version"]).removeprefix("v") if latest else "",
    )


def _file(sources: Sources, request: Request, digest: str) -> Outdated:
    from fabrikate.sources.http import HttpFetcher

    body = HttpFetcher(sources).download(request)
    now = hashlib.sha256(body).hexdigest()
    return Outdated(request.component, "http", request.asked, "", digest[:12], now[:12], now[:12])


def _highest(tags: list[str]) -> str:
    """The highest SemVer tag (``v`` allowed), pre-releases only when there is nothing else."""
    import nodesemver

    valid = [t for t in tags if re.fullmatch(r"v?\d+\.\d+\.\d+\S*", t)]
    valid = [t for t in valid if nodesemver.valid(t, loose=True)]
    if not valid:
        return ""
    stable = [t for t in valid if not nodesemver.make_semver(t, loose=True).prerelease] or valid
    order = functools.cmp_to_key(lambda a, b: nodesemver.compare(a, b, loose=True))
    return max(stable, key=order)
