"""Vendor folders: every remote source a tree needs, in a folder to commit or ship.

    exported = export(lock, sources, Path("vendor"))   # after an install wrote the lock
    vendor = Vendor.load(Path("vendor"))
    vendor.locate("https://github.com/org/defs.git")  # 'file:///.../vendor/git/github.com/...'

The folder is laid out by URL, so a mirror map can point at it as well as ``--from``::

    vendor.yaml                                   what is where, by source URL
    git/<host>/<path>                             bare repositories with the locked commits
    charts/<host>/<path>/index.yaml, *.tgz        chart repositories of the locked versions
    oci/<host>/<path>/index.yaml, *.tgz           charts of OCI registries, as a repository
    files/<host>/<path>                           http files

``fab install --from DIR`` routes every source found there to its ``file://`` copy and uses no
network; a mirror rule ``{from: https://github.com/, to: file:///srv/vendor/git/github.com/}``
does the same for one prefix.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import FetchError, InputError, Location
from fabrikate.support.redact import redact_url

if TYPE_CHECKING:
    from fabrikate.sources.base import Request, SourceRun
    from fabrikate.sources.lockfile import Lock

__all__ = ["VENDOR_FILE", "Exported", "Vendor", "check_dest", "export"]

VENDOR_FILE = "vendor.yaml"
_FORMAT = 1
_HEADER = "# fab vendor: the remote sources of a tree, for fab install --from (no network).\n"
_SAFE = "-._~+@=,"


def _key(url: str) -> str:
    """How a source URL is looked up: no credentials, no trailing slash."""
    return redact_url(url).rstrip("/")


@dataclass(frozen=True)
class Vendor:
    """A vendor folder ``fab vendor`` wrote: source URL to the copy's path inside it."""

    root: Path
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Vendor:
        """The vendor folder at ``root``; one fab did not write is an error naming it."""
        from fabrikate.support.yamlio import parse_yaml, read_text

        path = root / VENDOR_FILE
        if not path.is_file():
            raise InputError(f"{root} is not a vendor folder: it has no {VENDOR_FILE} (fab vendor)")
        data, _ = parse_yaml(read_text(path), str(path), strings=True)
        listed = data.get("sources") if isinstance(data, dict) else None
        if str((data or {}).get("vendorVersion")) != str(_FORMAT) or not isinstance(listed, dict):
            raise InputError(
                f"not a vendor folder of version {_FORMAT}", location=Location(str(path))
            )
        sources = {}
        for url, rel in listed.items():
            target = (root / str(rel)).resolve()
            if not target.is_relative_to(root.resolve()):
                raise InputError(
                    f"{url}: {rel} leaves the vendor folder", location=Location(str(path))
                )
            sources[_key(str(url))] = target.as_uri()
        return cls(root.resolve(), sources)

    def locate(self, url: str) -> str:
        """The ``file://`` URL of ``url``'s copy, or '' when it is not vendored."""
        return self.sources.get(_key(url), "")


def place(kind: str, url: str) -> str:
    """Where the copy of ``url`` goes inside a vendor folder: ``<kind>/<host>/<path>``, each
    segment percent-encoded where it is not plain (so no URL can leave the folder)."""
    clean = redact_url(url)
    parts = urllib.parse.urlsplit(clean)
    if parts.scheme and parts.netloc:
        host, path = parts.netloc, parts.path + (f"?{parts.query}" if parts.query else "")
    elif parts.scheme == "file":
        host, path = "local", parts.path
    elif re.match(r"^[^/:]+@?[^/:]*:", clean):  # scp-like git@host:org/repo
        host, _, path = clean.partition(":")
        host = host.rpartition("@")[2]
    else:
        host, path = "local", clean
    segments = [host.replace(":", "_")] + [s for s in path.split("/") if s]
    encoded = [urllib.parse.quote(s, safe=_SAFE) for s in segments]
    encoded = [s.replace(".", "%2E") if s in (".", "..") else s for s in encoded]
    return "/".join([kind, *encoded])


@dataclass
class Exported:
    """What ``export`` wrote."""

    root: Path
    repositories: int = 0
    charts: int = 0
    files: int = 0


def export(lock: Lock, sources: SourceRun, dest: Path) -> Exported:
    """Copy every source ``lock`` pins (from the cache the install just filled) into the
    vendor folder ``dest``, replacing an earlier vendor folder there as a whole."""
    from fabrikate.support.fsutil import replace_dir

    check_dest(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{dest.name}.fab-", dir=dest.parent))
    try:
        writer = _Writer(staged, sources)
        for name in sorted(lock.entries):
            writer.entry(name, lock.entries[name])
        writer.finish()
        replace_dir(staged, dest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return Exported(dest, writer.counts["git"], writer.counts["charts"], writer.counts["files"])


def check_dest(dest: Path) -> None:
    """fab replaces only a vendor folder it wrote (or an empty one)."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise InputError(f"{dest} is not a folder fab may write a vendor folder into")
    if dest.is_dir() and any(dest.iterdir()):
        marker = dest / VENDOR_FILE
        if not marker.is_file() or not marker.read_text(errors="replace").startswith(_HEADER):
            raise InputError(
                f"{dest} holds files fab did not write (no {VENDOR_FILE} of fab vendor): "
                "give an empty or new folder"
            )


@dataclass
class _Writer:
    root: Path
    sources: SourceRun
    listed: dict[str, str] = field(default_factory=dict)
    refs: dict[str, dict[str, str]] = field(default_factory=dict)  # contacted git URL -> refs
    repositories: dict[str, str] = field(default_factory=dict)  # folder -> contacted git URL
    counts: dict[str, int] = field(default_factory=lambda: {"git": 0, "charts": 0, "files": 0})

    def entry(self, name: str, entry: Any) -> None:
        from fabrikate.sources.base import Request

        request = Request(
            name,
            entry.method,
            entry.mirror or entry.source,
            path=entry.path,
            version=entry.version,
            branch=entry.branch,
            origin=entry.source,
            pin=entry.pin,
            digest=entry.digest,
        )
        if entry.method == "git":
            self.git(request, entry.commit)
            for dep in entry.dependencies:
                self.dependency(name, dep)
        elif entry.method == "helm":
            self.chart(request)
        elif entry.method == "http":
            self.file(request)

    def git(self, request: Request, commit: str) -> None:
        refs = self.refs.setdefault(request.source, {})
        if request.version and re.fullmatch(r"[0-9a-f]{4,40}", request.version):
            refs[f"refs/tags/fab/{commit}"] = commit
        elif request.version:
            refs[f"refs/tags/{request.version}"] = commit
        elif request.branch:
            refs[f"refs/heads/{request.branch}"] = commit
        else:
            refs["HEAD"] = commit
        refs[f"refs/fab/{commit}"] = commit
        folder = place("git", request.origin)
        self.listed[_key(request.origin)] = folder
        self.repositories.setdefault(folder, request.source)

    def chart(self, request: Request, origin: str = "") -> None:
        helm = self._helm()
        fetched, _ = helm.locked(request)
        origin = origin or request.origin
        kind = "oci" if origin.lower().startswith("oci://") else "charts"
        folder = place(kind, origin)
        target = self.root / folder / f"{request.path}-{fetched.version}.tgz"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fetched.archive, target)
        self.listed[_key(origin)] = folder
        self.counts["charts"] += 1

    def dependency(self, component: str, dep: Any) -> None:
        from fabrikate.sources.base import Request

        label = f"dependency {dep.name} of {component}"
        url = self._helm().repository(dep.repository, label, component)
        request = Request(
            component,
            "helm",
            dep.mirror or url,
            path=dep.chart,
            version=dep.version,
            origin=url,
            pin=dep.chart_version,
            digest=dep.digest,
        )
        self.chart(request, url)

    def file(self, request: Request) -> None:
        body = self.sources.cache.get("files", request.digest)
        if body is None or hashlib.sha256(body).hexdigest() != request.digest:
            raise FetchError(
                f"{request.asked} is not in the cache: run fab install, then fab vendor",
                component=request.component,
            )
        rel = place("files", request.origin)
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        self.listed[_key(request.origin)] = rel
        self.counts["files"] += 1

    def finish(self) -> None:
        """Write the git repositories, the chart indexes and ``vendor.yaml``."""
        from fabrikate.sources.git import GitFetcher

        git = GitFetcher(self.sources)
        for folder, url in sorted(self.repositories.items()):
            git.export(url, self.refs[url], self.root / folder)
            self.counts["git"] += 1
        for kind in ("charts", "oci"):
            for index_dir in sorted({p.parent for p in (self.root / kind).rglob("*.tgz")}):
                _write_index(index_dir)
        import yaml

        body = yaml.safe_dump({"vendorVersion": _FORMAT, "sources": self.listed}, sort_keys=True)
        (self.root / VENDOR_FILE).write_text(_HEADER + body)

    def _helm(self) -> Any:
        from fabrikate.sources.helm import HelmFetcher

        return HelmFetcher(self.sources)


def _write_index(folder: Path) -> None:
    """A chart repository ``index.yaml`` for the archives of ``folder`` (relative URLs)."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for archive in sorted(folder.glob("*.tgz")):
        meta = _chart_yaml(archive)
        entry: dict[str, Any] = {
            k: str(meta[k]) for k in ("name", "version", "apiVersion", "appVersion") if k in meta
        }
        if meta.get("deprecated") is True:
            entry["deprecated"] = True
        entry["digest"] = hashlib.sha256(archive.read_bytes()).hexdigest()
        entry["urls"] = [archive.name]
        entries.setdefault(str(meta.get("name") or archive.stem), []).append(entry)
    # JSON is YAML, and what helm's own index reader takes as well.
    text = json.dumps({"apiVersion": "v1", "entries": entries}, indent=1, sort_keys=True)
    (folder / "index.yaml").write_text(text + "\n")


def _chart_yaml(archive: Path) -> dict[str, Any]:
    from fabrikate.sources.helm import archive_file
    from fabrikate.support.yamlio import parse_yaml

    data, _ = parse_yaml(archive_file(archive, "Chart.yaml"), f"{archive.name}/Chart.yaml")
    if not isinstance(data, dict):
        raise FetchError(f"chart archive {archive.name} holds no Chart.yaml")
    return {str(k): v for k, v in data.items()}
