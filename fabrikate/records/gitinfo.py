"""What git knows about the HLD and about fetched components, read with GitPython.

hld = hld_info(Path("."), excluded=("generated", "components", "helm_repos"))
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fabrikate.records.mask import strip_credentials

__all__ = ["hld_info", "pr_from_message", "repo_commit", "repo_name", "work_tree"]

log = logging.getLogger("fabrikate")

# Merge commit subjects of Azure Repos, GitHub and GitLab, with the PR number.
_PR_MESSAGES = (
    re.compile(r"^Merged PR (\d+):"),
    re.compile(r"^Merge pull request #(\d+) "),
    re.compile(r"\(#(\d+)\)$"),  # GitHub squash merges
    re.compile(r"^See merge request [^!\s]+!(\d+)$", re.MULTILINE),
)


def pr_from_message(message: str) -> str | None:
    """The PR number a merge commit message names, if any."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    for pattern in _PR_MESSAGES:
        match = pattern.search(message if pattern.flags & re.MULTILINE else first)
        if match:
            return match.group(1)
    return None


def _open(path: Path) -> Any:
    import git  # GitPython: lazy, it is slow to import

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _remote_url(repo: Any) -> str | None:
    try:
        remote = repo.remotes.origin if "origin" in repo.remotes else next(iter(repo.remotes))
        return strip_credentials(next(remote.urls))
    except (StopIteration, ValueError, AttributeError):
        return None


def repo_name(url: str | None, root: Path) -> str:
    """A scope name: the repository's name, else the HLD folder's name."""
    if url:
        name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        name = name.removesuffix(".git")
        if name:
            return name
    return root.resolve().name or "hld"


def _dirty(repo: Any, root: Path, excluded: Sequence[str]) -> bool:
    """Changes outside fab's own folders (output, fetched components) make the HLD dirty."""
    top = Path(repo.working_tree_dir).resolve()
    base = root.resolve()
    specs = [f":(exclude){(base / name).relative_to(top).as_posix()}" for name in excluded]
    status = repo.git.status("--porcelain", "--", base.relative_to(top).as_posix() or ".", *specs)
    return bool(status.strip())


def hld_info(root: Path, excluded: Sequence[str], branch_hint: str | None) -> dict[str, Any]:
    """Repo, commit, branch, dirty flag, author and PR of the HLD at ``root``."""
    repo = _open(root)
    if repo is None:
        return {"repo": None, "commit": None, "commitShort": None, "branch": None, "dirty": None}
    with repo:
        url = _remote_url(repo)
        try:
            head = repo.head.commit
        except ValueError:  # no commit yet
            return {"repo": url, "commit": None, "commitShort": None, "branch": None, "dirty": True}
        try:
            branch = repo.active_branch.name
        except TypeError:  # detached HEAD, as in most CI checkouts
            branch = branch_hint
        return {
            "repo": url,
            "commit": head.hexsha,
            "commitShort": head.hexsha[:7],
            "branch": branch,
            "dirty": _dirty(repo, root, excluded),
            "commitTime": datetime.fromtimestamp(head.committed_date, UTC).isoformat(),
            "commitAuthor": f"{head.author.name} <{head.author.email}>",
            "pr": pr_from_message(head.message),
            "message": head.message.strip().splitlines()[0] if head.message.strip() else "",
            "trailers": _trailers(head.message),
        }


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


def repo_commit(path: Path, hld_top: Path | None) -> str | None:
    """The HEAD commit of the clone at ``path``, unless that is just the HLD's own repository."""
    if not path.exists():
        return None
    repo = _open(path)
    if repo is None:
        return None
    with repo:
        if hld_top is not None and Path(repo.working_tree_dir).resolve() == hld_top:
            return None
        try:
            return repo.head.commit.hexsha
        except ValueError:
            return None


def work_tree(path: Path) -> Path | None:
    """The top folder of the git work tree holding ``path``."""
    repo = _open(path)
    if repo is None:
        return None
    with repo:
        return Path(repo.working_tree_dir).resolve()
