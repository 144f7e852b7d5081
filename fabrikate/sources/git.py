"""Git sources: bare mirrors in the cache, then a checkout copy at the destination.

    placed = GitFetcher(sources).place(Request("app", "git", "file:///srv/app.git", version="v1"),
                                       Path("components/app"))

Each URL has one bare mirror, a partial clone filled by shallow fetches of exactly the refs asked
for, commits and trees only (``--filter=blob:none``; a server without filters sends the blobs too,
as a plain shallow fetch). A checkout is sparse: the component's ``path`` and the sibling folders
its definitions or its chart's ``file://`` dependencies reach, their blobs fetched as the checkout
(kept in the cache, one per commit and folders) needs them. A commit or tag already in the mirror
needs no network; a branch (or the default branch) is fetched once per run. ``plan`` groups the
requests of sibling components by URL, so that each repository is fetched with one ``git fetch``
of all their refs (per-ref fetches are the fallback). The installed copy is its own small
repository whose ``origin`` is the URL without credentials; copies of one checkout share their
files as hard links, unless a component has hooks (which may change them). Tokens travel in an
HTTP header given through the environment, never in a URL.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import stat
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from fabrikate.errors import (
    FetchError,
    InputError,
    ProcessError,
    SourceError,
    TimedOut,
    ToolNotFound,
)
from fabrikate.hld import installs
from fabrikate.hld.model import COMPONENT_FILES
from fabrikate.sources.base import Finish, Placed, Request, SourceRun, cause_of, staging, swap_in
from fabrikate.sources.credentials import basic_auth, check_source
from fabrikate.support.cache import digest, slug, touch
from fabrikate.support.fsutil import read_regular, remove
from fabrikate.support.process import Command, run
from fabrikate.support.redact import redact_url

__all__ = ["GitFetcher", "config_env", "mirror_path"]

log = logging.getLogger("fabrikate")

_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_REF = re.compile(r"[A-Za-z0-9._/+@-]+")
# Fetched objects stay in one pack instead of a loose file each: copies of them are cheaper.
_PACKED = {"fetch.unpackLimit": "1"}
# Commits and trees only; a checkout fetches the blobs it needs (a server without filters sends
# everything, as a plain shallow fetch).
_FILTER = "--filter=blob:none"
# What git's stderr says, and what to tell the user, most specific first.
_CAUSES = (
    ("could not resolve host", "unknown host"),
    ("couldn't resolve host", "unknown host"),
    ("connection refused", "connection refused"),
    ("failed to connect", "connection refused"),
    ("authentication failed", "authentication failed"),
    ("could not read username", "authentication required"),
    ("could not read password", "authentication required"),
    ("returned error: 401", "authentication required"),
    ("returned error: 403", "access denied"),
    ("not our ref", "commit not found"),
    ("not a git repository", "not a git repository"),
    ("does not appear to be a git repository", "not a git repository"),
    ("repository not found", "not a git repository"),
    ("returned error: 404", "not a git repository"),
    ("timed out", "timed out"),
)


class _GitFailed(Exception):
    """A git command failed; ``stderr`` is already masked."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr


class _Missing(Exception):
    """Files a checkout needs are not in the cache, and the run may not fetch them (the text
    says which: ``folder apps/web at commit 1a2b3c4d5e6f``)."""


@dataclass(frozen=True)
class _Target:
    url: str  # without credentials
    auth: dict[str, str]  # environment that adds the auth header for this URL only


class GitFetcher:
    """Fetch ``method: git`` sources through per-URL bare mirrors."""

    def __init__(self, sources: SourceRun) -> None:
        self.sources = sources
        self.settings = sources.settings
        # URL -> the folders planned requests ask of it ("" for all): their blobs come in one
        # fetch per commit, not one per checkout.
        self._planned: dict[str, set[str]] = {}
        self._planned_lock = threading.Lock()

    def place(self, request: Request, dest: Path, finish: Finish | None = None) -> Placed:
        """Put the asked-for commit of ``request.source`` at ``dest`` as a git checkout (the
        locked commit, when ``request.pin`` names one)."""
        asked, request = request, request.fetched
        _check(asked)
        _check(request)
        dest = dest.absolute()
        target = self._target(request)
        sha, cached = self.sources.once(
            _key(target, request), lambda: self._resolve(target, request)
        )
        if self._unchanged(dest, sha, asked):
            return Placed(sha, cached, False, sha)
        mirror = mirror_path(self.sources, target.url)
        branch = "" if asked.version else asked.branch
        try:
            self._checkout(mirror, sha, dest, _origin(asked), branch, finish, target, request)
        except _GitFailed as exc:
            raise FetchError(
                f"cannot check out {sha[:12]} of {request.shown} into {dest}: "
                f"{_last_line(exc.stderr)}",
                component=request.component,
            ) from None
        except _Missing as exc:
            raise self.sources.missing(request, str(exc)) from None
        _note(dest, asked, sha)
        return Placed(sha, cached, True, sha)

    def _unchanged(self, dest: Path, sha: str, request: Request) -> bool:
        """Whether ``dest`` is an unmodified checkout of ``sha``: its files as fab left them
        (no git process needed), else what ``git status`` says. Its note then names
        ``request`` (another ref may point at the same commit)."""
        if not dest.is_dir():
            return False
        note = installs.read(dest, "git")
        fingerprint = _fingerprint(dest)
        if note is None or note.check != f"{sha} {fingerprint}":
            if self._installed(dest) != sha:
                return False
            # git status found the same files (a touch): their new times are the ones to keep
            installs.write_links(dest, _shared(dest, self._blobs(dest)))
        _note(dest, request, sha, fingerprint)
        return True

    def _blobs(self, checkout: Path) -> dict[str, str]:
        """Each file of ``checkout``'s index and the id of its content."""
        out = self._run(["ls-files", "-s", "-z"], checkout / ".git", work_tree=checkout)
        blobs = {}
        for entry in out.split("\0"):
            info, _, path = entry.partition("\t")
            fields = info.split()  # mode, object, stage
            if len(fields) == 3:
                blobs[path] = fields[1]
        return blobs

    def _target(self, request: Request) -> _Target:
        credentials = self.sources.credentials
        url, user, password = credentials.userinfo(request.source, request.component)
        grant = credentials.grant(request.source, request.component)
        header = ""
        if grant is not None:
            header = grant.header(user)
        elif password:
            header = basic_auth(user, password)
        if not header:
            return _Target(url, {})
        credentials.add_secret(header, header.removeprefix("Basic "))
        return _Target(url, {f"http.{url}.extraHeader": f"Authorization: {header}"})

    def prefetch(self, request: Request) -> None:
        """Nothing to do ahead: ``plan`` fetches sibling repositories together."""

    def plan(self, requests: Sequence[Request]) -> list[Callable[[], None]]:
        """One job per repository that resolves all of ``requests`` of it with one fetch.

        Run the jobs before (or while) placing the requests: ``place`` waits for their answers.
        """
        groups: dict[str, tuple[_Target, list[tuple[Request, Future[object]]]]] = {}
        for request in (r.fetched for r in requests):
            try:
                _check(request)
                target = self._target(request)
            except SourceError:
                continue  # place raises it for this component
            with self._planned_lock:
                folders = self._planned.setdefault(target.url, set())
                folders.update(_sparse_paths(request.path) or ("",))
            future = self.sources.promise(_key(target, request))
            if future is not None:
                groups.setdefault(target.url, (target, []))[1].append((request, future))
        return [
            functools.partial(self._batch, target, claimed) for target, claimed in groups.values()
        ]

    def _batch(self, target: _Target, claimed: list[tuple[Request, Future[object]]]) -> None:
        """Answer every claimed request: from one shared fetch, else one by one."""
        try:
            found = self._resolve_many(target, [request for request, _ in claimed])
        except (SourceError, _GitFailed) as exc:
            log.debug("one fetch for %s failed, fetching ref by ref: %s", target.url, exc)
            found = {}
        except BaseException as exc:  # an interrupt: nobody may wait forever for an answer
            for _, future in claimed:
                future.set_exception(exc)
            raise
        for request, future in claimed:
            answer = found.get(request)
            try:
                future.set_result(answer or self._resolve(target, request))
            except BaseException as exc:
                future.set_exception(exc)

    def _resolve_many(
        self, target: _Target, requests: list[Request]
    ) -> dict[Request, tuple[str, bool]]:
        """The commits of tags, full commits and branches of one URL, fetched together.

        Branches always ask the remote, and so does everything on a new mirror; tags and commits
        already in the mirror are then read from the refs that fetch leaves (two git processes
        per repository on a re-run, three on a first one).
        """
        cache = self.sources.cache
        key = slug(target.url)
        mirror = mirror_path(self.sources, target.url)
        offline = self.sources.offline(requests[0])
        wanted = {request: _batch_ref(request) for request in requests}
        with cache.lock("git", key):
            fresh = not mirror.is_dir()
            if fresh and offline:
                return {}
            if fresh:
                with cache.building("git") as temp:
                    _init(temp, bare=True, origin=target.url)
                    os.rename(temp, mirror)
            first = [] if offline else [r for r in wanted if fresh or not r.version]
            refs = self._fetch_many(target, mirror, [wanted[r][1] for r in first])
            found = {r: (refs[wanted[r][0]], False) for r in first if wanted[r][0] in refs}
            pinned = [r for r in wanted if r.version and r not in first]
            found.update(self._pinned(mirror, pinned, wanted, refs))
            rest = [r for r in pinned if r not in found]
            if rest and not offline:
                refs = self._fetch_many(target, mirror, [wanted[r][1] for r in rest])
                found.update({r: (refs[wanted[r][0]], False) for r in rest if wanted[r][0] in refs})
            touch(mirror)
        return found

    def _fetch_many(self, target: _Target, mirror: Path, refspecs: list[str]) -> dict[str, str]:
        """Fetch ``refspecs`` (if any) shallowly in one go; return the mirror's refs."""
        if refspecs:
            args = ["fetch", "-q", "--no-tags", "--no-write-fetch-head", "--depth", "1", _FILTER]
            config = {**_PACKED, **target.auth}
            _partial_mirror(mirror, target.url)
            self._run([*args, "--", "origin", *sorted(set(refspecs))], mirror, config)
        return self._refs(mirror)

    def _pinned(
        self,
        mirror: Path,
        requests: list[Request],
        wanted: dict[Request, tuple[str, str]],
        refs: dict[str, str],
    ) -> dict[Request, tuple[str, bool]]:
        """The tags and commits already in the mirror (no network needed for them)."""
        known = set(refs.values())
        found: dict[Request, tuple[str, bool]] = {}
        for request in requests:
            version = request.version
            sha = refs.get(wanted[request][0]) or (version if version in known else "")
            sha = sha or self._rev(mirror, version)  # an abbreviated or older commit
            if sha:
                found[request] = (sha, True)
        return found

    def _refs(self, repo: Path) -> dict[str, str]:
        """Every ref of ``repo`` that names a commit (tags peeled), by name."""
        fmt = "%(refname) %(objecttype) %(objectname) %(*objecttype) %(*objectname)"
        refs = {}
        for line in self._run(["for-each-ref", f"--format={fmt}"], repo).splitlines():
            name, kind, sha, *peeled = line.split()
            if peeled and peeled[0] == "commit":
                refs[name] = peeled[1]
            elif kind == "commit":
                refs[name] = sha
        return refs

    # -- the mirror ----------------------------------------------------------------------------

    def _resolve(self, target: _Target, request: Request) -> tuple[str, bool]:
        """The commit ``request`` names, and whether the cache answered without network."""
        cache = self.sources.cache
        key = slug(target.url)
        mirror = mirror_path(self.sources, target.url)
        version = request.version
        if version and mirror.is_dir():
            found = self._rev(mirror, version)
            if found:
                touch(mirror)
                return found, True
        if self.settings.offline:  # the cache first; then only a local (file://) source
            found = self._rev(mirror, _local_ref(request)) if mirror.is_dir() else ""
            if found:
                return found, True
            if self.sources.offline(request):
                raise self.sources.missing(request, _describe(request))
        with cache.lock("git", key):
            if version and mirror.is_dir():
                found = self._rev(mirror, version)
                if found:
                    return found, True
            if mirror.is_dir():
                sha = self._fetch(mirror, target, request)
            else:
                with cache.building("git") as temp:
                    _init(temp, bare=True, origin=target.url)
                    sha = self._fetch(temp, target, request)
                    os.rename(temp, mirror)
            touch(mirror)
            return sha, False

    def _fetch(self, repo: Path, target: _Target, request: Request) -> str:
        """Fetch just what ``request`` needs into ``repo``; return the commit."""
        version = request.version
        if not version:
            ref = f"refs/heads/{request.branch}" if request.branch else "HEAD"
            self._fetch_refs(repo, target, request, [f"+{ref}:{_local_ref(request)}"], depth=True)
            return self._rev(repo, _local_ref(request))
        tag = f"refs/tags/{version}"
        if self._try_fetch(repo, target, request, [f"+{tag}:{tag}"]):
            return self._rev(repo, tag)
        if _FULL_SHA.fullmatch(version) and self._try_fetch(
            repo, target, request, [f"+{version}:refs/fab/{version}"]
        ):
            return version
        # An abbreviated commit: only a full fetch can find it.
        refs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        self._fetch_refs(repo, target, request, refs, depth=False)
        found = self._rev(repo, version)
        if not found:
            raise self._error(request, "not found", "")
        return found

    def _try_fetch(self, repo: Path, target: _Target, request: Request, refs: list[str]) -> bool:
        """Fetch ``refs`` shallowly; False if the remote lacks them, raise on any other error."""
        try:
            self._fetch_refs(repo, target, request, refs, depth=True)
        except FetchError as exc:
            if exc.cause in ("not found", "commit not found"):
                return False
            raise
        return True

    def _fetch_refs(
        self, repo: Path, target: _Target, request: Request, refs: list[str], depth: bool
    ) -> None:
        args = ["fetch", "-q", "--no-tags", "--no-write-fetch-head", _FILTER]
        if depth:
            args += ["--depth", "1"]
        elif (repo / "shallow").exists():
            args.append("--unshallow")
        try:
            _partial_mirror(repo, target.url)
            self._run([*args, "--", "origin", *refs], repo, {**_PACKED, **target.auth})
        except _GitFailed as exc:
            cause = cause_of(exc.stderr, _CAUSES) or (
                "not found" if "couldn't find remote ref" in exc.stderr.lower() else ""
            )
            raise self._error(request, cause, exc.stderr) from None

    def _error(self, request: Request, cause: str, stderr: str) -> FetchError:
        shown = f"{_describe(request)} not found" if cause == "not found" else cause
        detail = _last_line(stderr)
        if cause == "timed out":
            shown = detail
        text = f"cannot fetch {_describe(request)} of {request.shown}: {shown or 'git failed'}"
        if detail and not cause:
            text += f" ({detail})"
        return FetchError(self.sources.mask(text), cause=cause, component=request.component)

    def _rev(self, repo: Path, ref: str) -> str:
        try:
            return self._run(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], repo)
        except _GitFailed:
            return ""

    # -- the installed copy --------------------------------------------------------------------

    def _installed(self, dest: Path) -> str:
        """The commit checked out at ``dest`` if it is an unmodified checkout, else ''."""
        if not (dest / ".git").is_dir():
            return ""
        try:
            out = self._run(
                ["status", "--porcelain=v2", "--branch", "--untracked-files=no"],
                dest / ".git",
                work_tree=dest,
            )
        except _GitFailed:
            return ""
        lines = out.splitlines()
        head = next((ln.split()[2] for ln in lines if ln.startswith("# branch.oid ")), "")
        changed = [ln for ln in lines if not ln.startswith("#")]
        return "" if changed else head

    def _checkout(
        self,
        mirror: Path,
        sha: str,
        dest: Path,
        url: str,
        branch: str,
        finish: Finish | None,
        target: _Target,
        request: Request,
    ) -> None:
        """Copy the prepared checkout of ``sha`` to ``dest`` (its files linked, unless the
        component may change them), set its branch and origin."""
        paths = _sparse_paths(request.path)
        offline = self.sources.offline(request)
        prepared, hooked = self.sources.once(
            ("checkout", url, sha, paths),
            lambda: self._prepare(mirror, sha, paths, target, offline),
        )
        private = request.private or hooked or finish is not None
        with staging(dest) as temp:
            work = temp / dest.name
            with self.sources.copying:
                shutil.copytree(
                    prepared,
                    work,
                    symlinks=True,
                    ignore=_skip_note,
                    copy_function=shutil.copy2 if private else _link_file,
                )
            git_dir = work / ".git"
            if branch:
                (git_dir / "refs" / "heads" / branch).parent.mkdir(parents=True, exist_ok=True)
                (git_dir / "refs" / "heads" / branch).write_text(sha + "\n")
                (git_dir / "HEAD").write_text(f"ref: refs/heads/{branch}\n")
            with (git_dir / "config").open("a") as config:
                config.write(f'[remote "origin"]\n\turl = {_quote(url)}\n')
                config.write("\tfetch = +refs/heads/*:refs/remotes/origin/*\n")
                config.write("\tpromisor = true\n\tpartialclonefilter = blob:none\n")
            if finish is not None:
                finish(work)
            if not private:  # the inodes survive the swap: the note holds for ``dest``
                blobs = self.sources.once(("blobs", str(prepared)), lambda: self._blobs(prepared))
                installs.write_links(work, _shared(work, blobs))
            swap_in(work, dest)

    def _prepare(
        self, mirror: Path, sha: str, paths: tuple[str, ...], target: _Target, offline: bool
    ) -> tuple[Path, bool]:
        """A checkout of ``sha`` in the cache (sparse: ``paths`` and the folders they reach),
        built once and then copied; and whether the definitions in it have hooks.

        It takes the mirror's objects as they are (a few shallow packs): linking them is much
        cheaper than a fetch from the mirror; the blobs it lacks then come from the remote,
        unless ``offline`` (then they are an error). A prepared checkout whose files changed
        since (through a linked copy) is built again.
        """
        cache = self.sources.cache
        key = f"{mirror.name}-{sha[:20]}" + (f"-{digest(*paths)[:12]}" if paths else "")
        prepared = cache.folder("checkouts") / key
        found = _prepared(prepared)
        if found is not None:
            touch(prepared)
            return prepared, found
        with cache.lock("checkouts", key):
            found = _prepared(prepared)
            if found is not None:
                return prepared, found
            remove(prepared)
            with cache.building("checkouts") as temp:
                git_dir = temp / ".git"
                _init(git_dir, bare=False, sparse=bool(paths))
                if not offline:
                    once = ("blobs", target.url, sha)
                    self.sources.once(once, lambda: self._prefetch(mirror, target, sha))
                with cache.lock("git", mirror.name):
                    _link_objects(mirror, git_dir)  # commits and trees (all of it, unfiltered)
                hooked = self._sparse_checkout(git_dir, sha, paths, target, offline)
                (git_dir / _NOTE).write_text(f"{int(hooked)} {_fingerprint(temp)}\n")
                os.rename(temp, prepared)
        return prepared, hooked

    def _sparse_checkout(
        self, git_dir: Path, sha: str, paths: tuple[str, ...], target: _Target, offline: bool
    ) -> bool:
        """Check ``sha`` out beside ``git_dir``, only ``paths`` and the folders they reach
        (the blobs it lacks fetched from the mirror's remote, unless ``offline``: then they are
        ``_Missing``); whether the definitions checked out have hooks."""
        work = git_dir.parent
        # The mirror's remote: the checkout fetches the blobs it lacks from there (offline, it
        # has none to ask).
        remote = {"remote.origin.url": target.url, "remote.origin.promisor": "true"}
        remote["remote.origin.partialclonefilter"] = "blob:none"
        config = dict(_PACKED) if offline else {**_PACKED, **remote, **target.auth}
        wanted = set(paths)
        while True:
            if paths:
                patterns = "".join(f"/{_literal(path)}/\n" for path in sorted(wanted))
                (git_dir / "info" / "sparse-checkout").write_text(patterns)
            if offline:
                self._check_present(git_dir, sha, sorted(wanted))
            args = ["checkout", "-q", "--detach", sha] if wanted == set(paths) else ["read-tree"]
            if args[0] == "read-tree":
                args += ["-mu", "HEAD"]
            self._run(args, git_dir, config, work_tree=work)
            reached = _reached(work, wanted) if paths else set()
            if reached <= wanted:
                return _hooked(work)
            wanted |= reached

    def _check_present(self, git_dir: Path, sha: str, folders: Sequence[str]) -> None:
        """Raise ``_Missing`` if a file of ``sha`` in ``folders`` (everywhere, if none) has no
        blob in ``git_dir``: a partial mirror has only the folders installs asked of it."""
        out = self._run(["rev-list", "--objects", "--missing=print", f"{sha}^{{tree}}"], git_dir)
        absent = {line[1:] for line in out.splitlines() if line.startswith("?")}
        if not absent:
            return
        limit = ["--", *folders] if folders else []
        for entry in self._run(["ls-tree", "-r", "-z", sha, *limit], git_dir).split("\0"):
            info, _, path = entry.partition("\t")
            fields = info.split()  # mode, type, object
            if len(fields) == 3 and fields[2] in absent:
                raise _Missing(f"{_folder_of(path, folders)} at commit {sha[:12]}")

    def remote_refs(self, request: Request) -> dict[str, str]:
        """The branches, tags (peeled) and HEAD of ``request.source``, by name (``fab
        outdated``; asks the remote)."""
        target = self._target(request)
        with self.sources.cache.building("git") as temp:
            _init(temp, bare=True, partial=False)
            try:
                out = self._run(
                    ["ls-remote", "--", target.url, "HEAD", "refs/heads/*", "refs/tags/*"],
                    temp,
                    target.auth,
                )
            except _GitFailed as exc:
                raise self._error(request, cause_of(exc.stderr, _CAUSES), exc.stderr) from None
        refs: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            if name.endswith("^{}"):  # an annotated tag's commit wins over the tag object
                refs[name[:-3]] = sha
            else:
                refs.setdefault(name, sha)
        return refs

    def export(self, url: str, refs: dict[str, str], into: Path) -> None:
        """Copy commits of the cache's mirror of ``url`` into the bare repository ``into``,
        under ``refs`` (ref name to commit; ``HEAD`` is written detached), for a vendor folder."""
        mirror = mirror_path(self.sources, url)
        _init(into, bare=True, partial=False)
        shas = sorted(set(refs.values()))
        args = ["fetch", "-q", "--no-tags", "--no-write-fetch-head", "--depth", "1"]
        request = Request("vendor", "git", url)
        try:
            self._complete(
                mirror, self._target(request), shas, offline=self.sources.offline(request)
            )
            self._run([*args, "--", str(mirror), *(f"+{sha}:refs/fab/{sha}" for sha in shas)], into)
            for ref, sha in sorted(refs.items()):
                if ref == "HEAD":
                    (into / "HEAD").write_text(sha + "\n")
                else:
                    self._run(["update-ref", ref, sha], into)
        except _GitFailed as exc:
            why = _last_line(exc.stderr)
        except _Missing as exc:
            why = f"{exc} is not in the cache, and --offline was given"
        else:
            return
        raise FetchError(f"cannot copy {redact_url(url)} into the vendor folder: {why}")

    def _prefetch(self, mirror: Path, target: _Target, sha: str) -> None:
        """Fetch the blobs of every folder planned of ``target`` at ``sha`` into the mirror,
        in one go (a checkout would fetch those it lacks itself, one fetch each)."""
        with self._planned_lock:
            folders = sorted(self._planned.get(target.url, ()))
        if folders and "" not in folders:
            try:
                self._complete(mirror, target, [sha], folders)
            except _GitFailed as exc:  # each checkout then fetches what it lacks
                log.debug("prefetching blobs of %s failed: %s", target.url, exc)

    def _complete(
        self,
        mirror: Path,
        target: _Target,
        shas: list[str],
        folders: Sequence[str] = (),
        offline: bool = False,
    ) -> None:
        """Fetch the blobs of ``shas`` (in ``folders``, if given) that the partial mirror left
        to its remote (``_Missing`` if there are any and the run is ``offline``)."""
        limit = ["--", *folders] if folders else []
        with self.sources.cache.lock("git", mirror.name):
            out = self._run(["rev-list", "--objects", "--missing=print", *shas, *limit], mirror)
            absent = [line[1:] for line in out.splitlines() if line.startswith("?")]
            if absent and offline:
                raise _Missing("the whole of " + ", ".join(f"commit {sha[:12]}" for sha in shas))
            args = ["fetch", "-q", "--no-tags", "--no-write-fetch-head", _FILTER, "origin"]
            # As git's own lazy fetch: no "have" lines, or the server sends nothing it thinks
            # the commits bring along.
            config = {**_PACKED, "fetch.negotiationAlgorithm": "noop", **target.auth}
            for start in range(0, len(absent), 500):
                self._run([*args, *absent[start : start + 500]], mirror, config)

    # -- running git ---------------------------------------------------------------------------

    def _run(
        self,
        args: list[str],
        git_dir: Path,
        config: dict[str, str] | None = None,
        work_tree: Path | None = None,
    ) -> str:
        """Run git on exactly ``git_dir`` (inherited GIT_* variables cannot redirect it).

        Through ``process.run``: a timeout or a signal kills git and its helpers (ssh,
        git-remote-http) as one process group.
        """
        env = config_env({"protocol.ext.allow": "never", "protocol.fd.allow": "never"})
        env.update(config_env(config or {}, start=2))
        env.update(
            GIT_DIR=str(git_dir),
            GIT_TERMINAL_PROMPT="0",
            GIT_ASKPASS="",
            SSH_ASKPASS="",
            GIT_INDEX_FILE=str(git_dir / "index"),
            GIT_OBJECT_DIRECTORY=str(git_dir / "objects"),
        )
        if work_tree is not None:
            env["GIT_WORK_TREE"] = str(work_tree)
        command = Command(
            (self.settings.git, *args),
            cwd=str(work_tree or git_dir.parent),
            env=env,
            timeout=self.settings.timeout,
            what=f"git {args[0]}",
        )
        with self.sources.slot():
            try:
                done = run(command)
            except TimedOut:  # its message repeats the argv; the caller names the source
                raise _GitFailed(f"timed out after {self.settings.timeout:g}s") from None
            except ToolNotFound:
                raise SourceError(f"git not found: {self.settings.git} (set FAB_GIT)") from None
            except ProcessError as exc:
                raise _GitFailed(self.sources.mask(exc.message)) from None
        if done.returncode != 0:
            raise _GitFailed(self.sources.mask(done.stderr))
        return done.stdout.strip()


def _check(request: Request) -> None:
    """Refuse a request whose source or refs git could misread."""
    for value, what in (
        (request.source, "git source"),
        (request.branch, "branch"),
        (request.version, "version"),
    ):
        if value:
            check_source(value, what)
    if not request.source:
        raise SourceError("git component has no source", component=request.component)
    for ref in (request.branch, request.version):
        if ref and not _valid_ref(ref):
            raise InputError(f"{ref!r} is not a valid git branch, tag or commit name")


def _key(target: _Target, request: Request) -> tuple[str, ...]:
    return ("git", target.url, request.branch, request.version)


def _batch_ref(request: Request) -> tuple[str, str]:
    """The local ref and the refspec of a request in a shared fetch."""
    version = request.version
    if version and _FULL_SHA.fullmatch(version):
        return f"refs/fab/{version}", f"+{version}:refs/fab/{version}"
    if version:
        return f"refs/tags/{version}", f"+refs/tags/{version}:refs/tags/{version}"
    if request.branch:
        ref = f"refs/heads/{request.branch}"
        return ref, f"+{ref}:{ref}"
    return "refs/fab/HEAD", "+HEAD:refs/fab/HEAD"


def _init(
    git_dir: Path, bare: bool, origin: str = "", sparse: bool = False, partial: bool = True
) -> None:
    """An empty repository as ``git init --template=`` makes one, without starting git (a cold
    install makes one per repository and one per commit checked out): a ``partial`` clone, of
    ``origin`` if given (a mirror), else of the ``origin`` its copies are given."""
    for folder in ("info", "objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (git_dir / folder).mkdir(parents=True, exist_ok=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n")
    config = (
        f"[core]\n\trepositoryformatversion = 1\n\tfilemode = true\n\tbare = {str(bare).lower()}\n"
    )
    if sparse:
        config += "\tsparseCheckout = true\n"
    if partial:
        config += "[extensions]\n\tpartialClone = origin\n"
    if origin:
        config += f'[remote "origin"]\n\turl = {_quote(origin)}\n'
        config += "\tpromisor = true\n\tpartialclonefilter = blob:none\n"
    (git_dir / "config").write_text(config)


def _partial_mirror(mirror: Path, url: str) -> None:
    """Make ``mirror`` a partial clone of ``url`` (a mirror made by an older fab was not)."""
    config = mirror / "config"
    if "partialclone" not in config.read_text().lower():
        _init(mirror, bare=True, origin=url)


def _sparse_paths(path: str) -> tuple[str, ...]:
    """The folders a checkout for a component at ``path`` starts with: none (everything) for
    the repository's root."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return ()
    return ("/".join(parts),)


def _folder_of(path: str, folders: Sequence[str]) -> str:
    """How to name what holds the file ``path`` of a checkout of ``folders``: the folder asked
    for that has it, else the file's own folder."""
    found = [f for f in folders if path.startswith(f + "/")]
    if found:
        return f"folder {max(found, key=len)}"
    parent = os.path.dirname(path)
    return f"folder {parent}" if parent else f"file {path}"


def _literal(path: str) -> str:
    """``path`` as a sparse-checkout pattern that matches only itself (gitignore syntax)."""
    return re.sub(r"([\\*?\[\]!#])", r"\\\1", path)


def _reached(work: Path, folders: set[str]) -> set[str]:
    """The folders of the checkout at ``work``, outside ``folders``, that the definitions and
    charts in ``folders`` reach (``path: ../x``, ``repository: file://../x``)."""
    reached: set[str] = set()
    for folder in folders:
        base = work / folder
        for name in COMPONENT_FILES:
            data = _read_data(base / name)
            if isinstance(data, dict):
                for sub in data.get("subcomponents") or []:
                    local = isinstance(sub, dict) and str(sub.get("method") or "local") == "local"
                    if local and isinstance(sub.get("path"), str):
                        reached |= _inside(work, base, sub["path"])
        for name in ("Chart.yaml", "requirements.yaml"):
            data = _read_data(base / name)
            for dep in (data.get("dependencies") or []) if isinstance(data, dict) else []:
                repo = dep.get("repository") if isinstance(dep, dict) else None
                if isinstance(repo, str) and repo.startswith("file://"):
                    reached |= _inside(work, base, repo.removeprefix("file://"))
    return {f for f in reached if not any(f == w or f.startswith(w + "/") for w in folders)}


def _hooked(work: Path) -> bool:
    """Whether a definition in the checkout at ``work`` has hooks (they may change its files)."""
    for folder, dirs, files in os.walk(work):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in COMPONENT_FILES:
            data = _read_data(Path(folder) / name) if name in files else None
            if isinstance(data, dict) and data.get("hooks"):
                return True
    return False


def _inside(work: Path, base: Path, rel: str) -> set[str]:
    """The folder ``rel`` (from ``base``) names, relative to ``work``, if it is inside it."""
    try:
        found = os.path.relpath(os.path.normpath(base / rel), work)
    except ValueError:
        return set()
    return set() if found == "." or found.startswith("..") else {Path(found).as_posix()}


def _read_data(path: Path) -> object:
    """The YAML or JSON data of a small file, or None (a problem is the walk's to report)."""
    import yaml

    from fabrikate.support.yamlv2 import load_untrusted

    try:
        if not path.is_file() or path.stat().st_size > 1 << 20:
            return None
        return load_untrusted(path.read_text())[0]
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


_NOTE = "fab-prepared"  # in a prepared checkout's .git: hooks seen, and its files' fingerprint


def _skip_note(folder: str, names: list[str]) -> list[str]:
    """Leave a prepared checkout's note out of its copies."""
    return [_NOTE] if os.path.basename(folder) == ".git" else []


def _prepared(prepared: Path) -> bool | None:
    """Whether the definitions of a prepared checkout have hooks; None when it is missing, or
    its files changed since it was made (a linked copy was edited in place)."""
    if any(p.is_symlink() for p in (prepared, prepared / ".git", prepared / ".git" / _NOTE)):
        return None  # never followed out of the cache: built again in its place
    try:
        note = read_regular(prepared / ".git" / _NOTE, 4096)
        hooked, fingerprint = note.decode().split()
    except (InputError, ValueError):
        return None
    return hooked == "1" if fingerprint == _fingerprint(prepared) else None


def _link_file(source: str, dest: str) -> None:
    """Share a prepared checkout's file (a hard link); its small git files are copied, since
    git and fab rewrite them in place."""
    parts = Path(source).parts
    if ".git" in parts and "objects" not in parts[parts.index(".git") :]:
        shutil.copy2(source, dest)
        return
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _shared(checkout: Path, blobs: Mapping[str, str]) -> list[installs.Link]:
    """The files of ``checkout`` that are hard links (shared with other copies of its commit)."""
    links = []
    for folder, dirs, files in os.walk(checkout):
        if folder == str(checkout):
            dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(folder) / name
            info = os.lstat(path)
            rel = path.relative_to(checkout).as_posix()
            if info.st_nlink > 1 and stat.S_ISREG(info.st_mode) and rel in blobs:
                links.append(
                    installs.Link(rel, info.st_ino, info.st_size, info.st_mtime_ns, blobs[rel])
                )
    return links


def _note(dest: Path, request: Request, sha: str, fingerprint: str | None = None) -> None:
    """Note what was asked for and the commit checked out, with a fingerprint of the files."""
    note = installs.Note(
        source=request.asked,
        version=request.version,
        branch=request.branch,
        installed=sha,
        check=f"{sha} {fingerprint or _fingerprint(dest)}",
        mirror=redact_url(request.mirror),
    )
    installs.write(dest, "git", note)


def _origin(request: Request) -> str:
    """The ``origin`` of an installed copy: the source as written, or the mirror the map
    chose (never a vendor folder's path), without credentials."""
    return redact_url(request.mirror or request.origin or request.source)


def mirror_path(sources: SourceRun, url: str) -> Path:
    """The cache's bare mirror of the git URL ``url`` (credentials removed); a link found there
    is removed, never followed out of the cache."""
    mirror = sources.cache.folder("git") / slug(url)
    if mirror.is_symlink():
        remove(mirror)
    return mirror


def _fingerprint(dest: Path) -> str:
    """A digest of the name, size, mode and time of every file of a checkout (``.git/HEAD``
    and the index included, the object store not)."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(dest):
        base = Path(folder)
        if base == dest:
            dirs[:] = [d for d in dirs if d != ".git"]
            files = [*files, ".git/HEAD", ".git/index"]
        dirs.sort()
        for name in sorted(files):
            try:
                info = os.lstat(base / name)
            except OSError:
                continue
            rel = (base / name).relative_to(dest)
            digest.update(f"{rel}\0{info.st_size}\0{info.st_mode}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _link_objects(mirror: Path, git_dir: Path) -> None:
    """Give a new repository the mirror's objects: hard links (git never changes an object
    file in place), or copies across file systems."""
    source = mirror / "objects"
    for folder, _, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        if rel.parts[:1] == ("info",):
            continue
        into = git_dir / "objects" / rel
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name.startswith("tmp_"):
                continue
            try:
                os.link(Path(folder) / name, into / name)
            except OSError:
                shutil.copy2(Path(folder) / name, into / name)
    if (mirror / "shallow").is_file():
        shutil.copyfile(mirror / "shallow", git_dir / "shallow")


def config_env(
    values: Mapping[str, str] | Sequence[tuple[str, str]], start: int = 0
) -> dict[str, str]:
    """Git config given through the environment, so it shows in no argv and no file (pairs
    may repeat a key: git reads a multi-valued setting)."""
    pairs = list(values.items()) if isinstance(values, Mapping) else list(values)
    env = {}
    for index, (key, value) in enumerate(pairs, start):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if pairs:
        env["GIT_CONFIG_COUNT"] = str(start + len(pairs))
    return env


def _valid_ref(ref: str) -> bool:
    """A ref name git accepts and that stays inside ``.git/refs`` (git check-ref-format)."""
    parts = ref.split("/")
    return (
        bool(_REF.fullmatch(ref))
        and ".." not in ref
        and "@{" not in ref
        and all(p and not p.startswith(".") and not p.endswith(".lock") for p in parts)
        and not ref.endswith(".")
    )


def _local_ref(request: Request) -> str:
    if request.version:
        return request.version
    return f"refs/heads/{request.branch}" if request.branch else "refs/fab/HEAD"


def _describe(request: Request) -> str:
    if request.version:
        return f"version {request.version!r}"
    return f"branch {request.branch!r}" if request.branch else "the default branch"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
