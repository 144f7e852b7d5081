"""Helm chart sources: chart repositories and OCI registries, pulled with ``helm pull``.

    placed = HelmFetcher(sources).place(
        Request("web", "helm", "https://charts.example.com", path="nginx", version="1.2.3"),
        Path("helm_repos/web"))

Helm runs with its own config, cache and data homes inside fab's cache, so the user's helm
setup is never changed. An exact version from an http(s) repository is downloaded directly: the
repository's ``index.yaml`` is read once per run and the archive is checked against its digest
(one ``helm pull`` per chart cost more than all the git work of a large tree). Anything else
(version ranges, OCI, client certificates) goes through ``helm pull``. A token from
``access.yaml`` for the source, else the credentials of a user's helm alias with the same URL,
are sent as basic auth. Archives of exact versions are kept in the cache and need no network.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import tarfile
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fabrikate.errors import FabrikateError, FetchError, HttpFailure, SourceError, TimedOut
from fabrikate.hld import installs
from fabrikate.sources.base import Finish, Placed, Request, SourceRun, cause_of, staging, swap_in
from fabrikate.sources.credentials import basic_auth, check_source
from fabrikate.sources.web import Tls, get
from fabrikate.support.cache import slug, touch
from fabrikate.support.fsutil import remove
from fabrikate.support.helm import Helm
from fabrikate.support.suggest import close_matches
from fabrikate.support.yamlio import parse_yaml, read_text

__all__ = ["HelmFetcher"]

log = logging.getLogger("fabrikate")

# An exact chart version (SemVer 2); anything else (empty, ranges) asks the repository.
_EXACT = re.compile(r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
_CAUSES = (
    ("no such host", "unknown host"),
    ("server misbehaving", "unknown host"),
    ("connection refused", "connection refused"),
    ("401", "authentication required"),
    ("unauthorized", "authentication required"),
    ("403", "access denied"),
    ("no chart version found", "chart version not found"),
    ('version "', "chart version not found"),
    ("not found in", "chart not found"),
    ("404", "chart not found"),
    ("not found", "chart not found"),
    ("timed out", "timed out"),
)


@dataclass(frozen=True)
class _Access:
    """How to reach one chart repository with fab's own HTTP client."""

    url: str  # without credentials
    header: str  # basic auth, or ''
    tls: Tls
    pass_all: bool  # send the credentials to archive hosts other than the repository's


@dataclass(frozen=True)
class _Fetched:
    """A chart archive in the cache: its path, the exact version, whether the cache answered."""

    archive: Path
    version: str
    cached: bool


class HelmFetcher:
    """Fetch ``method: helm`` charts (``oci://`` sources included) through the chart cache."""

    def __init__(self, sources: SourceRun) -> None:
        self.sources = sources
        self.settings = sources.settings
        self.runner = Helm.of(self.settings, sources.cache)
        home = self.home = self.runner.home
        self.flags = (
            "--repository-config",
            str(home / "repositories.yaml"),
            "--repository-cache",
            str(home / "repository"),
        )

    def place(self, request: Request, dest: Path, finish: Finish | None = None) -> Placed:
        """Put the chart ``request.path`` of ``request.source`` at ``dest`` as a folder."""
        for value, what in (
            (request.source, "helm source"),
            (request.path, "chart"),
            (request.version, "version"),
        ):
            if value:
                check_source(value, what)
        if not request.source or not request.path:
            raise SourceError("helm component needs a source and a path (the chart name)")
        fetched = self.prefetch(request)
        digest = _digest(fetched.archive)
        shown = _shown_version(request, fetched.version)
        note = installs.read(dest, "helm")
        if dest.is_dir() and note is not None and note.check == digest:
            installs.write(dest, "helm", _note(request, fetched.version, digest))
            return Placed(shown, fetched.cached, False)
        with staging(dest) as temp:
            chart = _untar(fetched.archive, temp)
            if finish is not None:
                finish(chart)
            swap_in(chart, dest)
        installs.write(dest, "helm", _note(request, fetched.version, digest))
        return Placed(shown, fetched.cached, True)

    def plan(self, requests: Sequence[Request]) -> list[Callable[[], None]]:
        """No batches: each chart archive is fetched once per run by ``prefetch``."""
        return []

    def prefetch(self, request: Request) -> _Fetched:
        """The chart archive in the cache (fetched once per run)."""
        key = ("helm", request.source, request.path, request.version)
        return self.sources.once(key, lambda: self._archive(request))

    def _archive(self, request: Request) -> _Fetched:
        """The chart archive in the cache, downloaded unless an exact version is already there.

        Chart repositories are read with fab's own HTTP client, version ranges resolved from
        their index; only OCI registries need ``helm pull`` (and no secret on its command line).
        """
        oci = request.source.lower().startswith("oci://")
        if not oci and not request.source.lower().startswith(("http://", "https://")):
            raise FetchError(
                f"chart source {request.shown} is neither an http(s) chart repository nor an "
                "oci:// registry",
                component=request.component,
            )
        exact = request.version.removeprefix("v") if _EXACT.fullmatch(request.version) else ""
        if exact:
            found = self._cached(request, exact)
            if found is not None:
                return _Fetched(found, exact, True)
        if self.settings.offline:
            raise FetchError(
                f"chart {request.path!r} version {request.version or '(latest)'!r} of "
                f"{request.shown} is not in the cache and --offline was given",
                cause="offline",
                component=request.component,
            )
        if oci:
            version, body = self._oci(request)
            return _Fetched(self._keep(request, exact or version, body), exact or version, False)
        access = self._access(request)
        index = self.sources.once(("helm-index", access.url), lambda: self._index(access))
        if isinstance(index, HttpFailure):  # told to each component in its own words
            raise self._error(request, index.detail, cause=index.cause)
        entry = self._pick(index, request)
        version = str(entry["version"]).removeprefix("v")
        with self.sources.cache.lock("charts", _archive_key(request, version)):
            found = self._cached(request, version)
            if found is None:
                found = self._keep(request, version, self._download(access, entry, request))
        return _Fetched(found, version, False)

    def _cached(self, request: Request, version: str) -> Path | None:
        """The archive of ``version`` in the cache if it is whole (its digest checked)."""
        entry = self.sources.cache.folder("charts") / _archive_key(request, version)
        archive = entry / "chart.tgz"
        try:
            expected = (entry / "sha256").read_text().strip()
            if _digest(archive) == expected:
                touch(entry)
                return archive
        except OSError:
            return None
        log.debug("damaged chart archive in the cache: %s (fetching it again)", entry)
        return None

    def _keep(self, request: Request, version: str, body: bytes) -> Path:
        """Put an archive into the cache as the entry of ``version``, with its digest."""
        cache = self.sources.cache
        with cache.building("charts") as temp:
            (temp / "chart.tgz").write_bytes(body)
            (temp / "sha256").write_text(hashlib.sha256(body).hexdigest())
            entry = cache.folder("charts") / _archive_key(request, version)
            remove(entry)  # a damaged entry, which _cached refused
            os.rename(temp, entry)
        return entry / "chart.tgz"

    def _oci(self, request: Request) -> tuple[str, bytes]:
        """A chart from an OCI registry with ``helm pull``: its version and archive."""
        _, user, password = self.sources.credentials.userinfo(request.source, request.component)
        if user or password:
            raise FetchError(
                f"credentials in the oci:// source {request.shown} are not used: fab never puts "
                "a secret on a command line; log in with 'helm registry login' instead",
                component=request.component,
            )
        with self.sources.cache.building("charts") as temp:
            ref = f"{request.source.rstrip('/')}/{request.path}"
            args = ["pull", *self.flags, *self._registry_flags(request.source)]
            args += ["--destination", str(temp)]
            if request.version:
                args += ["--version", request.version]
            try:
                self.helm([*args, "--", ref], what="helm pull")
            except SourceError as exc:
                raise self._error(request, str(exc)) from None
            pulled = [p for p in temp.iterdir() if p.name.endswith(".tgz")]
            if len(pulled) != 1:
                raise FetchError(f"helm pull of {request.shown} wrote no chart archive")
            version = pulled[0].name.removeprefix(f"{request.path}-")[: -len(".tgz")]
            return version, pulled[0].read_bytes()

    def _pick(self, index: dict[str, Any], request: Request) -> dict[str, Any]:
        """The index entry of the version ``request`` asks for (helm's rules)."""
        listed = index.get(request.path) or []
        entries = [e for e in listed if isinstance(e, dict) and e.get("urls")]
        if not entries:
            close = close_matches(request.path, [str(n) for n in index], 3, 0.4)
            names = f"; closest names: {', '.join(close)}" if close else ""
            raise self._error(request, "", cause="chart not found" + names)
        found = pick_version(entries, request.version)
        if found is None:
            versions = [str(e.get("version")) for e in entries]
            near = ", ".join(_nearest(request.version, versions))
            cause = f"chart version not found; nearest versions: {near}"
            raise self._error(request, "", cause=cause)
        return found

    def _download(self, access: _Access, entry: dict[str, Any], request: Request) -> bytes:
        """A chart archive named by the index, checked against the index's digest."""
        base = access.url.rstrip("/") + "/"
        url = urllib.parse.urljoin(base, str(entry["urls"][0]))
        same_host = urllib.parse.urlsplit(url)[:2] == urllib.parse.urlsplit(base)[:2]
        header = access.header if same_host or access.pass_all else ""
        try:
            body = get(url, header=header, timeout=self.settings.timeout, tls=access.tls)
        except HttpFailure as exc:
            raise self._error(request, exc.detail, cause=exc.cause) from None
        expected = str(entry.get("digest") or "")
        if expected and hashlib.sha256(body).hexdigest() != expected:
            raise FetchError(
                f"chart {request.path!r} version {entry.get('version')!r} from {request.shown}: "
                "the archive does not match the digest in the repository index",
                cause="digest mismatch",
                component=request.component,
            )
        return body

    def _index(self, access: _Access) -> dict[str, Any] | HttpFailure:
        """The repository's parsed ``index.yaml`` (its ``entries``), or why not."""
        url = access.url.rstrip("/") + "/index.yaml"
        try:
            body = get(url, header=access.header, timeout=self.settings.timeout, tls=access.tls)
        except HttpFailure as exc:
            if exc.status == 404:
                return HttpFailure("chart repository not found", exc.detail, 404)
            return exc
        try:
            data, _ = parse_yaml(body.decode("utf-8"), "index.yaml")
        except (FabrikateError, UnicodeDecodeError):
            data = None
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            return HttpFailure("the repository's index.yaml is not an index", "")
        return entries

    def _access(self, request: Request) -> _Access:
        """Credentials for a chart repository: access.yaml, else a user alias, else the URL's."""
        credentials = self.sources.credentials
        url, user, password = credentials.userinfo(request.source, request.component)
        grant = credentials.grant(request.source, request.component)
        entry = (
            None
            if grant is not None
            else _find_repo(self._user_env().get("HELM_REPOSITORY_CONFIG", ""), url)
        )
        tls, pass_all = Tls(), False
        if grant is not None:
            user, password = user or "x-access-token", grant.token
        elif entry is not None:
            log.debug("using the credentials of helm repository alias %s", entry.get("name"))
            user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
            tls = Tls(
                str(entry.get("caFile") or ""),
                str(entry.get("certFile") or ""),
                str(entry.get("keyFile") or ""),
                bool(entry.get("insecure_skip_tls_verify")),
            )
            pass_all = bool(entry.get("pass_credentials_all"))
        header = ""
        if user or password:
            header = basic_auth(user, password)
            credentials.add_secret(password, header, header.removeprefix("Basic "))
        return _Access(url, header, tls, pass_all)

    def _error(self, request: Request, stderr: str, cause: str = "") -> FetchError:
        cause = cause or cause_of(stderr, _CAUSES)
        what = f"chart {request.path!r}" + (
            f" version {request.version!r}" if request.version else ""
        )
        text = f"cannot pull {what} from {request.shown}: {cause or stderr}"
        return FetchError(self.sources.mask(text), cause=cause, component=request.component)

    def helm(self, args: list[str], *, what: str) -> str:
        """Run helm with fab's own homes; a failure raises ``SourceError`` with masked stderr."""
        with self.sources.slot():
            try:
                done = self.runner.run(args, what=what, secrets=self.sources.credentials.known())
            except TimedOut:  # its message repeats the argv; the caller names the source
                raise SourceError(f"timed out after {self.settings.timeout:g}s") from None
        if done.returncode != 0:
            raise SourceError(self.sources.mask(done.stderr.strip() or done.stdout.strip()))
        return done.stdout

    # -- the user's own helm configuration (read, never written) --------------------------------

    def _user_env(self) -> dict[str, str]:
        return self.sources.once(("helm-env",), self.runner.user_environment)

    def _registry_flags(self, source: str) -> list[str]:
        user_config = self._user_env().get("HELM_REGISTRY_CONFIG", "")
        config = user_config if user_config and Path(user_config).is_file() else ""
        if not config:
            config = str(self.home / "registry.json")
            if not Path(config).is_file():
                Path(config).write_text("{}")
        flags = ["--registry-config", config]
        host = source.removeprefix("oci://").split("/", 1)[0]
        if host in self.settings.plain_http_registries:
            flags.append("--plain-http")
        return flags

    # -- chart dependencies --------------------------------------------------------------------

    def dependencies(self, chart: Path, component: str) -> bool:
        """Fetch a chart's declared dependencies into its ``charts/``; False when it has none."""
        declared = _dependencies(chart)
        if not declared:
            return False
        if self.settings.offline:
            if (chart / "charts").is_dir():
                return True
            raise FetchError(
                f"chart {chart} has dependencies that are not fetched and --offline was given",
                component=component,
            )
        repos = sorted({d for d in declared if d.startswith(("http://", "https://"))})
        for url in repos:
            _, user, password = self.sources.credentials.userinfo(url, component)
            if user or password:
                raise FetchError(
                    f"chart {chart} names a dependency repository with credentials in its URL "
                    f"({self.sources.mask(url)}); fab never puts a secret on helm's command line",
                    component=component,
                )
        for url in repos:
            self.sources.once(("helm-repo", url), functools.partial(self._add_repo, url, component))
        locked = (chart / "Chart.lock").is_file() or (chart / "requirements.lock").is_file()
        action = "build" if locked else "update"
        try:
            self.helm(
                ["dependency", action, *self.flags, "--", str(chart)],
                what=f"helm dependency {action}",
            )
        except SourceError as exc:
            raise FetchError(
                f"helm dependency {action} of {chart} failed: {exc}", component=component
            ) from None
        return True

    def _add_repo(self, url: str, component: str) -> None:
        name = "fab-" + hashlib.sha256(url.encode()).hexdigest()[:12]
        with self.sources.cache.lock("helm", "repo-add"):
            try:
                self.helm(
                    ["repo", "add", "--force-update", *self.flags, "--", name, url],
                    what="helm repo add",
                )
            except SourceError as exc:
                raise FetchError(
                    f"cannot add chart repository {self.sources.mask(url)}: {exc}",
                    component=component,
                ) from None


def _find_repo(config: str, url: str) -> dict[str, Any] | None:
    if not config or not Path(config).is_file():
        return None
    try:
        data, _ = parse_yaml(read_text(Path(config)), config)
    except FabrikateError:  # an unreadable user config is no alias
        return None
    for entry in (data or {}).get("repositories") or []:
        if isinstance(entry, dict) and str(entry.get("url", "")).rstrip("/") == url.rstrip("/"):
            return entry
    return None


def pick_version(entries: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The entry ``helm pull --version wanted`` would take: the exact version string if one
    matches, else the highest SemVer version that satisfies the range (``*`` when empty, so
    pre-releases only when the range names one). Masterminds ranges: ``,`` or blanks for AND,
    ``||``, ``^``, ``~``, ``x``, hyphens and ``!=``."""
    import nodesemver

    for entry in entries:
        if wanted and str(entry.get("version")) == wanted:
            return entry
    exclude = {v.removeprefix("v") for v in re.findall(r"!=\s*([^\s,|]+)", wanted)}
    ranged = re.sub(r"!=\s*[^\s,|]+", " ", wanted).replace(",", " ").strip() or "*"
    best: tuple[Any, dict[str, Any]] | None = None
    for entry in entries:
        text = str(entry.get("version"))
        if text.removeprefix("v") in exclude or not nodesemver.valid(text, loose=True):
            continue
        try:
            if not nodesemver.satisfies(text, ranged, loose=True):
                continue
        except ValueError:
            return None
        version = nodesemver.make_semver(text, loose=True)
        if best is None or nodesemver.gt(version, best[0], loose=True):
            best = (version, entry)
    return best[1] if best else None


def _dependencies(chart: Path) -> list[str]:
    """The ``repository`` of every dependency in ``requirements.yaml`` or ``Chart.yaml``."""
    for name in ("requirements.yaml", "Chart.yaml"):
        path = chart / name
        if path.is_file():
            data, _ = parse_yaml(read_text(path), str(path))
            deps = (data or {}).get("dependencies") if isinstance(data, dict) else None
            if deps:
                return [str(d.get("repository") or "") for d in deps if isinstance(d, dict)]
    return []


def _untar(archive: Path, into: Path) -> Path:
    """Unpack a chart archive safely; return its one top-level chart folder."""
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise SourceError(f"chart archive {archive.name} does not hold exactly one chart")
    return tops[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _note(request: Request, version: str, digest: str) -> installs.Note:
    return installs.Note(
        source=request.shown,
        version=request.version,
        chart=request.path,
        installed=version,
        check=digest,
    )


def _shown_version(request: Request, placed: str) -> str:
    """``traefik 1.1.0 (from ^1.0.0)``: the version placed, and what was asked when it differs."""
    asked = request.version
    if not asked:
        return f"{request.path} {placed} (latest)"
    same = asked.removeprefix("v") == placed.removeprefix("v")
    return f"{request.path} {placed}" + ("" if same else f" (from {asked})")


def _nearest(wanted: str, versions: list[str], count: int = 2) -> list[str]:
    """The ``count`` versions just below and just above ``wanted`` (numbers compared)."""

    def key(version: str) -> tuple[tuple[int, ...], bool, str]:
        numbers = tuple(int(n) for n in re.findall(r"\d+", version.split("-")[0])[:3])
        return numbers, "-" not in version, version

    ordered = sorted(set(versions), key=key)
    at = sum(1 for v in ordered if key(v) < key(wanted))
    return ordered[max(0, at - count) : at + count]


def _archive_key(request: Request, version: str) -> str:
    """The cache entry of one exact chart version."""
    return slug(f"{request.source}#{request.path}@{version}")
