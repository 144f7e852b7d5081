"""What git knows about the HLD and about fetched components, read with the git CLI.

A few `git` calls cost milliseconds; importing GitPython alone cost more than a whole no-op
`fab generate`, which records on every run.


hld = hld_info(Path("."), excluded=("generated", "components", "helm_repos"))
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fabrikate.records.mask import strip_credentials

__all__ = ["Ancestry", "hld_info", "pr_from_message", "repo_commit", "repo_name", "work_tree"]

log = logging.getLogger("fabrikate")

# Merge commit subjects of Azure Repos, GitHub and GitLab, with the PR number.
_PR_MESSAGES = (
    re.compile(r"^Merged PR (\d+):"),
    re.compile(r"^Merge pull request #(\d+) "),
    re.compile(r"\(#(\d+)\)$"),  # GitHub squash merges
    re.compile(r"^See merge request [^!\s]+!(\d+)$", re.MULTILINE),
)


_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")  # a full SHA-1 or SHA-256 commit id

# Committer names of merges made on a forge's web page: they say nothing of who merged.
_FORGE_COMMITTERS = {"GitHub", "GitHub Enterprise", "GitLab"}


def pr_from_message(message: str) -> str | None:
    """The PR number a merge commit message names, if any."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    for pattern in _PR_MESSAGES:
        match = pattern.search(message if pattern.flags & re.MULTILINE else first)
        if match:
            return match.group(1)
    return None


def _git(git: str, path: Path, *args: str) -> str | None:
    """Run git in ``path``; its stdout, or None when it fails (not a repository, no commit)."""
    from fabrikate.errors import FabrikateError
    from fabrikate.support.process import Command, Interrupted, run

    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = run(Command((git, "-C", str(path), *args), env=env, timeout=30, what="git"))
    except (FabrikateError, Interrupted):  # an interrupted run is recorded without git facts
        return None

    return done.stdout if done.returncode == 0 else None


def _remote_url(listing: str) -> str | None:
    """The URL of ``origin``, else of the first remote (``git remote -v``), without credentials."""
    remotes = dict(line.split()[:2] for line in listing.splitlines() if len(line.split()) >= 2)
    url = remotes.get("origin") or next(iter(remotes.values()), None)
    return strip_credentials(url) if url else None


def repo_name(url: str | None, root: Path) -> str:
    """A scope name: the repository's name, else the HLD folder's name."""
    if url:
        name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        name = name.removesuffix(".git")
        if name:
            return name
    return root.resolve().name or "hld"


def _status_args(excluded: Sequence[str]) -> tuple[str, ...]:
    """``git status`` of the HLD folder (its branch in the headers), without fab's own folders:
    changes there do not make the HLD dirty."""
    specs = [f":(exclude){name}" for name in excluded]  # relative to the HLD folder git runs in
    return ("status", "--porcelain=v2", "--branch", "--", ".", *specs)


def _read_status(status: str) -> tuple[str, bool]:
    """The branch (empty when HEAD is detached) and the dirty flag of a ``_status_args`` run."""
    branch, dirty = "", False
    for line in status.splitlines():
        if line.startswith("# branch.head "):
            head = line.removeprefix("# branch.head ")
            branch = "" if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    return branch, dirty


_HEAD_FORMAT = "--format=%H%x00%ct%x00%an%x00%ae%x00%P%x00%cn%x00%B"


def hld_info(
    root: Path, excluded: Sequence[str], branch_hint: str | None, git: str = "git"
) -> dict[str, Any]:
    """Repo, commit, branch, dirty flag, author and PR of the HLD at ``root``: four git
    commands, run at once."""
    from fabrikate.support.parallel import first_failure, run_parallel

    calls = [
        ("rev-parse", "--show-toplevel"),
        ("remote", "-v"),
        ("log", "-1", _HEAD_FORMAT),
        _status_args(excluded),
    ]
    found, listing, head, status = first_failure(
        run_parallel(lambda args: _git(git, root, *args), calls, jobs=len(calls))
    )
    top = Path(found.strip()).resolve() if found and found.strip() else None
    if top is None:
        return {"repo": None, "commit": None, "commitShort": None, "branch": None, "dirty": None}
    url = _remote_url(listing or "")
    if not head:  # no commit yet
        return {"repo": url, "commit": None, "commitShort": None, "branch": None, "dirty": True}
    sha, committed, name, email, parents, committer, message = head.split("\0", 6)
    branch, dirty = _read_status(status or "")
    return {
        "top": top,
        "repo": url,
        "commit": sha,
        "commitShort": sha[:7],
        "branch": branch or branch_hint,  # detached HEAD, as in most CI checkouts
        "dirty": dirty,
        "commitTime": datetime.fromtimestamp(int(committed), UTC).isoformat(),
        "commitAuthor": f"{name} <{email}>",
        "pr": pr_from_message(message),
        "mergedBy": _merged_by(parents, committer),
        "message": message.strip().splitlines()[0] if message.strip() else "",
        "trailers": _trailers(message),
    }


def _merged_by(parents: str, committer: str) -> str | None:
    """Who committed a merge commit, unless a forge did (GitHub's web-flow commits as GitHub)."""
    if len(parents.split()) < 2 or committer in _FORGE_COMMITTERS:
        return None
    return committer or None


def _trailers(message: str) -> dict[str, str]:
    """``Key: value`` lines of the message's last paragraph (git trailers)."""
    paragraphs = message.strip().split("\n\n")
    found = {}
    if len(paragraphs) > 1:
        for line in paragraphs[-1].splitlines():
            key, sep, value = line.partition(":")
            if sep and key and " " not in key.strip():
                found[key.strip()] = value.strip()
    return found


def repo_commit(path: Path, hld_top: Path | None, git: str = "git") -> str | None:
    """The HEAD commit of the clone at ``path``, unless that is just the HLD's own repository."""
    if not path.exists():
        return None
    found = _git(git, path, "rev-parse", "--show-toplevel", "HEAD")
    if not found or len(found.split()) != 2:
        return None
    top, sha = found.split()
    if hld_top is not None and Path(top).resolve() == hld_top:
        return None
    return sha


def work_tree(path: Path, git: str = "git") -> Path | None:
    """The top folder of the git work tree holding ``path``."""
    found = _git(git, path, "rev-parse", "--show-toplevel")
    return Path(found.strip()).resolve() if found and found.strip() else None


class Ancestry:
    """Which commits a clone of the manifest repository has at or below a revision, read
    once per revision with ``git rev-list`` (the newest ``REVISIONS`` kept): whether a record's
    manifest commit is part of what a cluster runs.

        ancestry = Ancestry(Path("manifests"))
        ancestry.includes(cluster_revision, record["manifest"]["commit"])   # True, False, None
    """

    REVISIONS = 16  # revisions whose commits are kept (a few per cluster)
    MAX_COMMITS = 200_000  # commits read below one revision

    def __init__(self, clone: Path, git: str = "git") -> None:
        self.clone, self.git = clone, git
        self._below: OrderedDict[str, frozenset[str] | None] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def open(cls, clone: Path, git: str = "git") -> Ancestry:
        """The ancestry of a clone; a folder that is not a git repository is an ``InputError``."""
        from fabrikate.errors import InputError

        if _git(git, clone, "rev-parse", "--git-dir") is None:
            raise InputError(f"manifest repository {clone}: not a git repository (want a clone)")
        return cls(clone, git)

    def includes(self, revision: str, commit: str) -> bool | None:
        """Whether ``commit`` is ``revision`` or one of its ancestors; None when the clone does
        not have ``revision`` (or either is not a commit id)."""
        revision, commit = revision.lower(), commit.lower()
        if not (_COMMIT.match(revision) and _COMMIT.match(commit)):
            return None
        below = self._commits(revision)
        return None if below is None else commit in below

    def _commits(self, revision: str) -> frozenset[str] | None:
        with self._lock:
            if revision in self._below:
                self._below.move_to_end(revision)
                return self._below[revision]
        out = _git(self.git, self.clone, "rev-list", f"--max-count={self.MAX_COMMITS}", revision)
        found = frozenset(out.split()) if out is not None else None
        with self._lock:
            self._below[revision] = found
            while len(self._below) > self.REVISIONS:
                self._below.popitem(last=False)
        return found
