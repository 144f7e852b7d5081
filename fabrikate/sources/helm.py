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
import logging
import os
import re
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fabrikate.cache import slug, touch
from fabrikate.errors import FabrikateError, SourceError
from fabrikate.process import Command, TimedOut, run
from fabrikate.sources import (
    FetchError,
    Finish,
    Placed,
    Request,
    Sources,
    cause_of,
    read_stamp,
    staging,
    stamp_file,
    swap_in,
    write_stamp,
)
from fabrikate.sources.credentials import basic_auth, check_source, strip_userinfo
from fabrikate.yamlio import parse_yaml, read_text

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
# Keys of a helm repositories.yaml entry that carry its TLS settings.
_TLS_FLAGS = (
    ("certFile", "--cert-file"),
    ("keyFile", "--key-file"),
    ("caFile", "--ca-file"),
)


@dataclass(frozen=True)
class _Access:
    """How to reach one chart repository: ``helm pull`` flags and a header for direct downloads."""

    url: str  # without credentials
    flags: tuple[str, ...]
    header: str  # basic auth, or ''
    direct: bool  # no client certificates or TLS options that only helm handles
    pass_all: bool  # send the credentials to archive hosts other than the repository's


class HelmFetcher:
    """Fetch ``method: helm`` charts (``oci://`` sources included) through the chart cache."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.settings = sources.settings
        home = sources.cache.folder("helm")
        self.home = home
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
        archive, cached = self.prefetch(request)
        digest = _digest(archive)
        stamp = stamp_file(dest)
        if dest.is_dir() and read_stamp(stamp) == digest:
            return Placed(_shown_version(request, dest), cached, False)
        with staging(dest) as temp:
            chart = _untar(archive, temp)
            if finish is not None:
                finish(chart)
            swap_in(chart, dest)
        write_stamp(stamp, digest)
        return Placed(_shown_version(request, dest), cached, True)

    def prefetch(self, request: Request) -> tuple[Path, bool]:
        """The chart archive in the cache (pulled once per run), and whether it was there."""
        key = ("helm", request.source, request.path, request.version)
        return self.sources.once(key, lambda: self._archive(request))

    def _archive(self, request: Request) -> tuple[Path, bool]:
        """The chart archive in the cache, pulled unless an exact version is already there."""
        cache = self.sources.cache
        folder = cache.folder("charts")
        exact = bool(_EXACT.fullmatch(request.version))
        key = slug(f"{request.source}#{request.path}@{request.version}")
        archive = folder / f"{key}.tgz"
        if exact and archive.is_file():
            touch(archive)
            return archive, True
        if self.settings.offline:
            raise FetchError(
                f"chart {request.path!r} version {request.version or '(latest)'!r} of "
                f"{request.shown} is not in the cache and --offline was given",
                cause="offline",
                component=request.component,
            )
        with cache.lock("charts", key):
            if exact and archive.is_file():
                return archive, True
            with cache.building("charts") as temp:
                if not (exact and self._download(request, temp)):
                    self._pull(request, temp)
                pulled = [p for p in temp.iterdir() if p.name.endswith(".tgz")]
                if len(pulled) != 1:
                    raise FetchError(f"helm pull of {request.shown} wrote no chart archive")
                os.replace(pulled[0], archive)
        return archive, False

    def _pull(self, request: Request, into: Path) -> None:
        if request.source.startswith("oci://"):
            ref = f"{request.source.rstrip('/')}/{request.path}"
            extra = self._registry_flags(request.source)
        else:
            ref = request.path
            extra = list(self._access(request).flags)
        args = ["pull", *self.flags, *extra, "--destination", str(into)]
        if request.version:
            args += ["--version", request.version]
        try:
            self.helm([*args, "--", ref], what="helm pull")
        except SourceError as exc:
            raise self._error(request, str(exc)) from None

    def _download(self, request: Request, into: Path) -> bool:
        """Fetch an exact version straight from the repository; False leaves it to helm pull."""
        if not request.source.lower().startswith(("http://", "https://")):
            return False
        access = self._access(request)
        if not access.direct:
            return False
        index = self.sources.once(("helm-index", access.url), lambda: self._index(access))
        entry = _find_version(index, request.path, request.version)
        if entry is None and index is not None:
            raise self._error(request, "no chart version found")
        if entry is None:
            return False  # helm pull reports the missing chart or version in its own words
        base = access.url.rstrip("/") + "/"
        url = urllib.parse.urljoin(base, str(entry["urls"][0]))
        same_host = urllib.parse.urlsplit(url)[:2] == urllib.parse.urlsplit(base)[:2]
        body = self._get(url, access.header if same_host or access.pass_all else "")
        if body is None:
            return False
        expected = str(entry.get("digest") or "")
        if expected and hashlib.sha256(body).hexdigest() != expected:
            raise FetchError(
                f"chart {request.path!r} version {request.version!r} from {request.shown}: "
                "the archive does not match the digest in the repository index",
                cause="digest mismatch",
                component=request.component,
            )
        (into / f"{request.path}-{entry.get('version')}.tgz").write_bytes(body)
        return True

    def _index(self, access: _Access) -> dict[str, Any] | None:
        """The repository's parsed ``index.yaml``, or None when it cannot be read."""
        body = self._get(access.url.rstrip("/") + "/index.yaml", access.header)
        if body is None:
            return None
        try:
            data, _ = parse_yaml(body.decode("utf-8"), "index.yaml")
        except (FabrikateError, UnicodeDecodeError):
            return None
        entries = data.get("entries") if isinstance(data, dict) else None
        return entries if isinstance(entries, dict) else None

    def _get(self, url: str, header: str) -> bytes | None:
        """A 2xx body, or None on any failure (helm pull then reports it)."""
        request = urllib.request.Request(url, headers={"User-Agent": "fabrikate"})
        if header:
            request.add_unredirected_header("Authorization", header)
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
                return response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.debug("direct download of %s failed: %s", self.sources.mask(url), exc)
            return None

    def _access(self, request: Request) -> _Access:
        """Credentials for a chart repository: access.yaml, else a user alias, else the URL's."""
        url, user, password = strip_userinfo(request.source)
        credentials = self.sources.credentials
        credentials.add_secret(password)
        grant = credentials.grant(request.source, request.component)
        entry = (
            None
            if grant is not None
            else _find_repo(self._user_env().get("HELM_REPOSITORY_CONFIG", ""), url)
        )
        flags = ["--repo", url]
        direct, pass_all = True, False
        if grant is not None:
            user, password = user or "x-access-token", grant.token
        elif entry is not None:
            log.debug("using the credentials of helm repository alias %s", entry.get("name"))
            user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
            for key, flag in _TLS_FLAGS:
                if entry.get(key):
                    flags += [flag, str(entry[key])]
                    direct = False
            if entry.get("insecure_skip_tls_verify"):
                flags.append("--insecure-skip-tls-verify")
                direct = False
            if entry.get("pass_credentials_all"):
                flags.append("--pass-credentials")
                pass_all = True
        header = ""
        if user or password:
            flags += ["--username", user, "--password", password]
            header = basic_auth(user, password)
            credentials.add_secret(password, header, header.removeprefix("Basic "))
        return _Access(url, tuple(flags), header, direct, pass_all)

    def _error(self, request: Request, stderr: str) -> FetchError:
        cause = cause_of(stderr, _CAUSES)
        what = f"chart {request.path!r}" + (
            f" version {request.version!r}" if request.version else ""
        )
        if cause in ("chart not found", "chart version not found"):
            cause = self._closest(request)
        text = f"cannot pull {what} from {request.shown}: {cause or stderr}"
        return FetchError(self.sources.mask(text), cause=cause, component=request.component)

    def _closest(self, request: Request) -> str:
        """What is missing (the chart or its version), with the closest names or versions in
        the repository's index (none for OCI, or an index that cannot be read)."""
        if not request.source.lower().startswith(("http://", "https://")):
            return "chart not found"
        access = self._access(request)
        index = self.sources.once(("helm-index", access.url), lambda: self._index(access))
        if not index:
            return "chart not found"
        entries = index.get(request.path)
        if not entries:
            import difflib

            close = difflib.get_close_matches(request.path, [str(n) for n in index], 3, 0.4)
            return "chart not found" + (f"; closest names: {', '.join(close)}" if close else "")
        versions = [str(e.get("version")) for e in entries if isinstance(e, dict)]
        near = ", ".join(_nearest(request.version, versions))
        return f"chart version not found; nearest versions: {near}"

    def helm(self, args: list[str], *, what: str) -> str:
        """Run helm with fab's own homes; a failure raises ``SourceError`` with masked stderr."""
        env = {
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        command = Command(
            (self.settings.helm, *args),
            env=env,
            timeout=self.settings.timeout,
            secrets=self.sources.credentials.known(),
            what=what,
        )
        with self.sources.slot():
            try:
                done = run(command)
            except TimedOut:  # its message repeats the argv; the caller names the source
                raise SourceError(f"timed out after {self.settings.timeout:g}s") from None
        if done.returncode != 0:
            raise SourceError(self.sources.mask(done.stderr.strip() or done.stdout.strip()))
        return done.stdout

    # -- the user's own helm configuration (read, never written) --------------------------------

    def _user_env(self) -> dict[str, str]:
        def read() -> dict[str, str]:
            try:
                out = run(Command((self.settings.helm, "env"), timeout=30)).check().stdout
            except FabrikateError:  # no helm env means no user configuration
                return {}
            pairs = (line.split("=", 1) for line in out.splitlines() if "=" in line)
            return {k: v.strip('"') for k, v in pairs}

        return self.sources.once(("helm-env",), read)

    def _registry_flags(self, source: str) -> list[str]:
        user_config = self._user_env().get("HELM_REGISTRY_CONFIG", "")
        config = user_config if user_config and Path(user_config).is_file() else ""
        if not config:
            config = str(self.home / "registry.json")
            if not Path(config).is_file():
                Path(config).write_text("{}")
        flags = ["--registry-config", config]
        host = source.removeprefix("oci://").split("/", 1)[0]
        plain = os.environ.get("FAB_PLAIN_HTTP_REGISTRIES", "")
        if host in {h.strip() for h in plain.split(",") if h.strip()}:
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
            self.sources.once(("helm-repo", url), lambda url=url: self._add_repo(url, component))
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


def _find_version(index: dict[str, Any] | None, chart: str, version: str) -> dict[str, Any] | None:
    """The index entry of exactly ``chart`` at ``version`` (a leading ``v`` is ignored)."""
    wanted = version.removeprefix("v")
    for entry in (index or {}).get(chart) or []:
        if not isinstance(entry, dict) or not entry.get("urls"):
            continue
        if str(entry.get("version", "")).removeprefix("v") == wanted:
            return entry
    return None


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


def _shown_version(request: Request, chart: Path) -> str:
    """``traefik 1.1.0 (from ^1.0.0)``: the version placed, and what was asked when it differs."""
    try:
        data, _ = parse_yaml(read_text(chart / "Chart.yaml"), str(chart / "Chart.yaml"))
        placed = str(data.get("version") or "") if isinstance(data, dict) else ""
    except FabrikateError:
        placed = ""
    asked = request.version
    if not placed:
        return f"{request.path} {asked or '(latest)'}"
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
