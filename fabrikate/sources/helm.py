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

import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fabrikate.errors import FabrikateError, FetchError, HttpFailure, SourceError, TimedOut
from fabrikate.hld import installs
from fabrikate.sources.base import Finish, Placed, Request, SourceRun, cause_of, staging, swap_in
from fabrikate.sources.credentials import basic_auth, check_source
from fabrikate.sources.lockfile import Dependency
from fabrikate.sources.mirrors import is_stable
from fabrikate.sources.retired import INCUBATOR, STABLE, moved_to
from fabrikate.support.cache import slug, touch
from fabrikate.support.fsutil import remove
from fabrikate.support.helm import Helm
from fabrikate.support.redact import redact_url
from fabrikate.support.suggest import close_matches
from fabrikate.support.web import Tls, get
from fabrikate.support.yamlio import parse_yaml, read_text

__all__ = ["HelmFetcher", "archive_file", "pick_version"]

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
        fetched, digest = self.locked(request)
        shown = _shown_version(request, fetched.version)
        note = installs.read(dest, "helm")
        changed = not (dest.is_dir() and note is not None and note.check == digest)
        if changed:
            with staging(dest) as temp:
                chart = _untar(fetched.archive, temp)
                if finish is not None:
                    finish(chart)
                swap_in(chart, dest)
        installs.write(dest, "helm", _note(request, fetched.version, digest))
        self.deprecation(request, fetched.version, fetched.archive)
        return Placed(shown, fetched.cached, changed, fetched.version, digest)

    def plan(self, requests: Sequence[Request]) -> list[Callable[[], None]]:
        """No batches: each chart archive is fetched once per run by ``prefetch``."""
        return []

    def prefetch(self, request: Request) -> _Fetched:
        """The chart archive in the cache (fetched once per run; a locked pin is fetched)."""
        request = request.fetched
        key = ("helm", request.source, request.path, request.version)
        return self.sources.once(key, lambda: self._archive(request))

    def locked(self, request: Request) -> tuple[_Fetched, str]:
        """The archive ``request`` names and its digest, which must be the one the lock pins."""
        fetched = self.prefetch(request)
        digest = _digest(fetched.archive)
        if request.digest and digest != request.digest:
            raise FetchError(
                f"chart {request.path!r} version {fetched.version} from {request.shown} is not "
                f"the archive fabrikate.lock pins (sha256 {digest[:16]}..., locked "
                f"{request.digest[:16]}...): refused; run fab install --update if the change is "
                "wanted",
                cause="digest mismatch",
                component=request.component,
            )
        return fetched, digest

    def deprecation(self, request: Request, version: str, chart: Path) -> None:
        """Warn when a chart (an archive, or a ``Chart.yaml``) says it is deprecated, naming
        its successor when fab knows it."""
        if not _deprecated(chart):
            return
        name = request.path.rstrip("/").rsplit("/", 1)[-1]
        moved = moved_to(name) if is_stable(request.origin or request.source) else ""
        what = f"chart {name} {version}".rstrip()
        self.sources.warn(
            request.component,
            f"{what} of {request.asked} is deprecated"
            + (f": its successor is {moved}" if moved else " (its Chart.yaml says so)"),
            "deprecated-chart",
        )

    def _archive(self, request: Request) -> _Fetched:
        """The chart archive in the cache, downloaded unless an exact version is already there.

        Chart repositories are read with fab's own HTTP client, version ranges resolved from
        their index; only OCI registries need ``helm pull`` (and no secret on its command line).
        """
        oci = request.source.lower().startswith("oci://")
        schemes = ("http://", "https://", "file://") if request.routed else ("http://", "https://")
        if not oci and not request.source.lower().startswith(schemes):
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
        if self.sources.offline(request):
            what = f"chart {request.path!r} version {request.version or '(latest)'!r}"
            raise self.sources.missing(request, what)
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

    def versions(self, request: Request) -> list[dict[str, Any]]:
        """Every release of the chart ``request`` names, as index entries (``fab outdated``;
        asks the repository, or an OCI registry for its tags)."""
        if request.source.lower().startswith("oci://"):
            return [{"version": tag} for tag in self._oci_tags(request)]
        access = self._access(request)
        index = self.sources.once(("helm-index", access.url), lambda: self._index(access))
        if isinstance(index, HttpFailure):
            raise self._error(request, index.detail, cause=index.cause)
        listed = index.get(request.path) or []
        return [e for e in listed if isinstance(e, dict) and e.get("version")]

    def _oci_tags(self, request: Request) -> list[str]:
        """The tags of an OCI chart, from the registry's API (anonymous)."""
        host, _, path = request.source.removeprefix("oci://").rstrip("/").partition("/")
        plain = "--plain-http" in self._registry_flags(request.source)
        name = f"{path}/{request.path}" if path else request.path
        url = f"{'http' if plain else 'https'}://{host}/v2/{name}/tags/list"
        try:
            body = get(url, timeout=self.settings.timeout)
            tags = json.loads(body).get("tags") or []
            if not isinstance(tags, list):
                raise ValueError("tags is not a list")
        except (HttpFailure, ValueError, AttributeError) as exc:
            cause = exc.cause if isinstance(exc, HttpFailure) else "not a tag list"
            raise self._error(request, "", cause=f"cannot list tags: {cause}") from None
        return [str(tag).replace("_", "+") for tag in tags]

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
        if not url.lower().startswith("file://"):  # an index may name archives elsewhere
            url = self.sources.mirrors.rewrite(url).url
        same_host = urllib.parse.urlsplit(url)[:2] == urllib.parse.urlsplit(base)[:2]
        header = access.header if same_host or access.pass_all else ""
        local = base.lower().startswith("file://")
        try:
            body = get(
                url, header=header, timeout=self.settings.timeout, tls=access.tls, local=local
            )
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
        local = url.lower().startswith("file://")
        try:
            body = get(
                url,
                header=access.header,
                timeout=self.settings.timeout,
                tls=access.tls,
                local=local,
            )
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

    def dependencies(
        self,
        chart: Path,
        boundary: Path,
        request: Request,
        pins: Mapping[str, Dependency],
    ) -> list[Dependency]:
        """Fetch the dependencies a git chart declares into its ``charts/``, as ``helm
        dependency build`` (with a lock) or ``update`` would, but through fab's chart client:
        the mirror map, access.yaml tokens, the cache and fabrikate.lock apply to them too.

        ``pins`` are the dependencies fabrikate.lock holds for this chart, by name; each one
        still asked for the same way is fetched exactly. Returns what was fetched.
        """
        declared = _declared(chart)
        locked = _chart_lock(chart, declared, request.path)
        fetched: list[Dependency] = []
        placed: list[tuple[str, Path, str]] = []
        for dep in declared:
            name, repository = dep["name"], dep["repository"]
            key = dep["alias"] or name
            label = f"dependency {key} of chart {request.path}"
            if not repository:  # helm expects it in charts/ already
                continue
            if repository.startswith("file://"):
                _local_dependency(chart, boundary, name, repository, label)
                continue
            url = self.repository(repository, label, request.component)
            asked = Request(
                request.component, "helm", url, path=name, version=locked.get(key, dep["version"])
            )
            pin = pins.get(key)
            if pin is not None and (pin.chart, pin.repository, pin.version) == (
                name,
                repository,
                dep["version"],
            ):
                asked = replace(asked, pin=pin.chart_version, digest=pin.digest)
            routed = self.sources.route(asked)
            try:
                archive, digest = self.locked(routed)
            except FetchError as exc:
                if exc.cause == "offline" and list((chart / "charts").glob(f"{name}-*.tgz")):
                    log.debug("%s: offline, keeping the archive the chart brings", label)
                    continue
                exc.message = f"{label}: {exc.message}"
                raise
            placed.append((name, archive.archive, archive.version))
            self.deprecation(routed, archive.version, archive.archive)
            fetched.append(
                Dependency(
                    key,
                    name,
                    repository,
                    dep["version"],
                    archive.version,
                    digest,
                    redact_url(routed.mirror),
                )
            )
        _put_archives(chart / "charts", placed)
        return fetched

    def repository(self, repository: str, label: str, component: str) -> str:
        """A dependency's repository as a URL: ``@name`` and ``alias:name`` are the user's helm
        repository aliases (``stable`` and ``incubator`` are known without one)."""
        alias = ""
        for mark in ("@", "alias:"):
            if repository.startswith(mark):
                alias = repository.removeprefix(mark)
        if not alias:
            check_source(repository, f"{label}: repository")
            return repository
        entry = _find_repo(self._user_env().get("HELM_REPOSITORY_CONFIG", ""), "", alias)
        if entry is not None and entry.get("url"):
            return str(entry["url"])
        known = {"stable": STABLE, "incubator": INCUBATOR}.get(alias)
        if known:
            return known
        raise FetchError(
            f"{label} names the helm repository alias {alias!r}, which your helm configuration "
            "does not have (helm repo add it, or write the repository URL)",
            component=component,
        )


def _find_repo(config: str, url: str, name: str = "") -> dict[str, Any] | None:
    """The user's helm repository entry with URL ``url`` (or, given ``name``, that name)."""
    if not config or not Path(config).is_file():
        return None
    try:
        data, _ = parse_yaml(read_text(Path(config)), config)
    except FabrikateError:  # an unreadable user config is no alias
        return None
    for entry in (data or {}).get("repositories") or []:
        if not isinstance(entry, dict):
            continue
        if name and str(entry.get("name", "")) == name:
            return entry
        if not name and str(entry.get("url", "")).rstrip("/") == url.rstrip("/"):
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


def _declared(chart: Path) -> list[dict[str, str]]:
    """The dependencies of ``requirements.yaml`` (apiVersion v1 charts) or ``Chart.yaml``."""
    for name in ("requirements.yaml", "Chart.yaml"):
        path = chart / name
        if not path.is_file():
            continue
        data, _ = parse_yaml(read_text(path), str(path), strings=True)
        deps = (data or {}).get("dependencies") if isinstance(data, dict) else None
        if deps:
            return [
                {k: str(d.get(k) or "") for k in ("name", "version", "repository", "alias")}
                for d in deps
                if isinstance(d, dict) and d.get("name")
            ]
    return []


def _chart_lock(chart: Path, declared: list[dict[str, str]], label: str) -> dict[str, str]:
    """The versions ``Chart.lock`` (or ``requirements.lock``) pins, by dependency name; a lock
    that does not list the declared dependencies is out of sync, as ``helm dependency build``
    says."""
    for name, of in (("Chart.lock", "Chart.yaml"), ("requirements.lock", "requirements.yaml")):
        path = chart / name
        if not path.is_file():
            continue
        data, _ = parse_yaml(read_text(path), str(path), strings=True)
        deps = (data or {}).get("dependencies") if isinstance(data, dict) else None
        listed = [
            (str(d.get("name")), str(d.get("version") or ""))
            for d in deps or []
            if isinstance(d, dict)
        ]
        if [n for n, _ in listed] == [d["name"] for d in declared]:  # helm keeps their order
            return {d["alias"] or d["name"]: v for d, (_, v) in zip(declared, listed, strict=True)}
        pinned = dict(listed)
        wanted = {d["name"] for d in declared if d["repository"]}
        if not wanted <= set(pinned):
            raise FetchError(
                f"chart {label}: {name} is out of sync with {of} (it lacks "
                f"{', '.join(sorted(wanted - set(pinned)))}): run helm dependency update"
            )
        return {d["alias"] or d["name"]: pinned[d["name"]] for d in declared if d["name"] in pinned}
    return {}


def _put_archives(charts: Path, placed: list[tuple[str, Path, str]]) -> None:
    """Put dependency archives into ``charts/`` as ``<name>-<version>.tgz``, first removing
    other versions of them (as helm's ``safeDeleteDep``: files named ``<name>-*.tgz`` that
    hold the chart ``name``)."""
    if not placed:
        return
    charts.mkdir(exist_ok=True)
    targets = {f"{name}-{version}.tgz" for name, _, version in placed}
    for name in {name for name, _, _ in placed}:
        for old in charts.glob(f"{name}-*.tgz"):
            regular = old.is_file() and not old.is_symlink()
            if old.name not in targets and regular and _holds(old, name):
                old.unlink()
    for name, archive, version in placed:
        shutil.copyfile(archive, charts / f"{name}-{version}.tgz")


def _holds(archive: Path, name: str) -> bool:
    """Whether a chart archive's top folder is ``name``."""
    try:
        with tarfile.open(archive) as tar:
            first = tar.next()
    except (OSError, tarfile.TarError):
        return False
    return first is not None and first.name.split("/", 1)[0] == name


def _local_dependency(chart: Path, boundary: Path, name: str, repository: str, label: str) -> None:
    """A ``file://`` dependency: the chart folder it names (inside the clone) copied into
    ``charts/<name>``; helm reads it as it reads the archive ``helm dependency`` would make."""
    from fabrikate.hld import layout

    relative = repository.removeprefix("file://")
    folder = layout.confine(chart / relative, boundary, label, "its clone")
    if not (folder / "Chart.yaml").is_file():
        raise FetchError(f"{label}: {repository} is not a chart folder (no Chart.yaml)")
    layout.chart_files(layout.Chart(folder, boundary, "its clone"))
    target = chart / "charts" / name
    if target.is_symlink() or target.exists():
        raise FetchError(f"{label}: charts/{name} is already there")
    (chart / "charts").mkdir(exist_ok=True)
    shutil.copytree(folder, target, symlinks=False)


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
        source=request.asked,
        version=request.version,
        chart=request.path,
        installed=version,
        check=digest,
        mirror=redact_url(request.mirror),
        digest=digest,
    )


def _deprecated(chart: Path) -> bool:
    """Whether a chart archive, or a chart's ``Chart.yaml``, says ``deprecated: true``."""
    try:
        folder = chart.name == "Chart.yaml"
        text = read_text(chart) if folder else archive_file(chart, "Chart.yaml")
        data, _ = parse_yaml(text, str(chart))
    except (OSError, tarfile.TarError, FabrikateError):
        return False
    return isinstance(data, dict) and data.get("deprecated") is True


def archive_file(archive: Path, name: str) -> str:
    """The text of ``<chart>/<name>`` in a chart archive ('' when it has none)."""
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == name and member.isfile():
                handle = tar.extractfile(member)
                return handle.read(1 << 20).decode("utf-8", "replace") if handle else ""
    return ""


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
