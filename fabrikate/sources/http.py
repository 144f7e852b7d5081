"""Static manifests downloaded over http(s) (``type: static, method: http``).

    placed = HttpFetcher(sources).place(Request("crds", "http", "https://host/crds.yaml"),
                                        Path("components/crds/crds.yaml"))

Only a 2xx answer counts: an error page is never saved as a manifest. The file is replaced
atomically, and left untouched when the content did not change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from fabrikate.errors import FetchError, HttpFailure
from fabrikate.hld import installs
from fabrikate.sources.base import Finish, Placed, Request, SourceRun
from fabrikate.sources.credentials import basic_auth, check_source
from fabrikate.support.fsutil import write_bytes
from fabrikate.support.redact import redact_url
from fabrikate.support.web import get

__all__ = ["HttpFetcher"]

_MAX_BYTES = 64 * 1024 * 1024


class HttpFetcher:
    """Download one file per component."""

    def __init__(self, sources: SourceRun) -> None:
        self.sources = sources
        self.settings = sources.settings

    def plan(self, requests: Sequence[Request]) -> list[Callable[[], None]]:
        """No batches: one download per component."""
        return []

    def prefetch(self, request: Request) -> None:
        """Nothing ahead: the file is downloaded by ``place``."""

    def place(self, request: Request, dest: Path, finish: Finish | None = None) -> Placed:
        """Download ``request.source`` to the file ``dest`` (the locked content, when
        ``request.digest`` names one: from the cache if it is there)."""
        check_source(request.source, "http source")
        schemes = ("http://", "https://", "file://") if request.routed else ("http://", "https://")
        if not request.source.lower().startswith(schemes):
            raise FetchError(
                f"http source {request.shown!r} is not an http(s) URL",
                component=request.component,
            )
        body, cached = self._body(request, dest)
        digest = _digest(body)
        if request.digest and digest != request.digest:
            raise FetchError(
                f"{request.shown} is not the file fabrikate.lock pins (sha256 {digest[:16]}..., "
                f"locked {request.digest[:16]}...): refused; run fab install --update if the "
                "change is wanted",
                cause="digest mismatch",
                component=request.component,
            )
        note = installs.Note(
            source=request.asked,
            installed=digest,
            mirror=redact_url(request.mirror),
            digest=digest,
        )
        if dest.is_file() and _digest(dest.read_bytes()) == note.installed:
            installs.write(dest, "http", note)
            return Placed(request.shown, cached, False, digest=digest)
        write_bytes(dest, body, prefix=f".{dest.name}.fab-", finish=finish)
        installs.write(dest, "http", note)
        return Placed(request.shown, cached, True, digest=digest)

    def _body(self, request: Request, dest: Path) -> tuple[bytes, bool]:
        """The file's bytes, and whether no network was needed: the locked digest from the
        cache, else (offline) the installed copy, else a download kept in the cache."""
        if request.digest:
            kept = self.sources.cache.get("files", request.digest)
            if kept is not None and _digest(kept) == request.digest:
                return kept, True
        if self.sources.offline(request):
            if dest.is_file() and not dest.is_symlink():
                return dest.read_bytes(), True
            raise self.sources.missing(request, "the file")
        body = self.sources.once(("http", request.source), lambda: self.download(request))
        self.sources.cache.put("files", _digest(body), body)
        return body, False

    def download(self, request: Request) -> bytes:
        """The body of ``request.source`` (its access.yaml token sent to it, and only to it)."""
        credentials = self.sources.credentials
        url, user, password = credentials.userinfo(request.source, request.component)
        grant = credentials.grant(request.source, request.component)
        header = grant.header(user) if grant is not None else ""
        if not header and (user or password):
            header = basic_auth(user, password)
        credentials.add_secret(header, header.removeprefix("Basic "))
        local = url.lower().startswith("file://") and request.routed
        try:
            return get(
                url, header=header, timeout=self.settings.timeout, limit=_MAX_BYTES, local=local
            )
        except HttpFailure as exc:
            cause = f"http {exc.status}" if exc.status else exc.cause
            raise self._error(request, cause, exc.detail) from None

    def _error(self, request: Request, cause: str, text: str) -> FetchError:
        message = self.sources.mask(f"cannot download {request.shown}: {text}")
        return FetchError(message, cause=cause, component=request.component)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
