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
from fabrikate.sources.web import get
from fabrikate.support.fsutil import write_bytes

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
        """Download ``request.source`` to the file ``dest``."""
        check_source(request.source, "http source")
        if not request.source.lower().startswith(("http://", "https://")):
            raise FetchError(
                f"http source {request.shown!r} is not an http(s) URL",
                component=request.component,
            )
        if self.settings.offline:
            if dest.is_file():
                return Placed(request.shown, True, False)
            raise FetchError(
                f"{request.shown} is not installed and --offline was given",
                cause="offline",
                component=request.component,
            )
        body = self.sources.once(("http", request.source), lambda: self._get(request))
        note = installs.Note(source=request.shown, installed=_digest(body))
        if dest.is_file() and _digest(dest.read_bytes()) == note.installed:
            installs.write(dest, "http", note)
            return Placed(request.shown, False, False)
        write_bytes(dest, body, prefix=f".{dest.name}.fab-", finish=finish)
        installs.write(dest, "http", note)
        return Placed(request.shown, False, True)

    def _get(self, request: Request) -> bytes:
        credentials = self.sources.credentials
        url, user, password = credentials.userinfo(request.source, request.component)
        grant = credentials.grant(request.source, request.component)
        header = grant.header(user) if grant is not None else ""
        if not header and (user or password):
            header = basic_auth(user, password)
        credentials.add_secret(header, header.removeprefix("Basic "))
        try:
            return get(url, header=header, timeout=self.settings.timeout, limit=_MAX_BYTES)
        except HttpFailure as exc:
            cause = f"http {exc.status}" if exc.status else exc.cause
            raise self._error(request, cause, exc.detail) from None

    def _error(self, request: Request, cause: str, text: str) -> FetchError:
        message = self.sources.mask(f"cannot download {request.shown}: {text}")
        return FetchError(message, cause=cause, component=request.component)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
