"""Static manifests downloaded over http(s) (``type: static, method: http``).

    placed = HttpFetcher(sources).place(Request("crds", "http", "https://host/crds.yaml"),
                                        Path("components/crds/crds.yaml"))

Only a 2xx answer counts: an error page is never saved as a manifest. The file is replaced
atomically, and left untouched when the content did not change.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from fabrikate.sources import FetchError, Finish, Placed, Request, Sources, cause_of
from fabrikate.sources.credentials import check_source, strip_userinfo

__all__ = ["HttpFetcher"]

# What urllib's reason says, and what to tell the user.
_CAUSES = (
    ("name or service not known", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("temporary failure in name resolution", "unknown host"),
    ("no address associated", "unknown host"),
    ("connection refused", "connection refused"),
)
_MAX_BYTES = 64 * 1024 * 1024


class HttpFetcher:
    """Download one file per component."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.settings = sources.settings

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
        if dest.is_file() and _digest(dest.read_bytes()) == _digest(body):
            return Placed(request.shown, False, False)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{dest.name}.fab-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            if finish is not None:
                finish(Path(temp))
            os.replace(temp, dest)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return Placed(request.shown, False, True)

    def _get(self, request: Request) -> bytes:
        url, user, password = strip_userinfo(request.source)
        credentials = self.sources.credentials
        credentials.add_secret(password)
        grant = credentials.grant(request.source, request.component)
        http_request = urllib.request.Request(url, headers={"User-Agent": "fabrikate"})
        if grant is not None:
            header = grant.header(user)
            credentials.add_secret(header, header.removeprefix("Basic "))
            http_request.add_unredirected_header("Authorization", header)
        try:
            with urllib.request.urlopen(http_request, timeout=self.settings.timeout) as response:
                body = response.read(_MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise self._error(
                request, f"http {exc.code}", f"http {exc.code} {exc.reason}"
            ) from None
        except urllib.error.URLError as exc:
            reason = str(exc.reason)
            cause = cause_of(reason, _CAUSES)
            raise self._error(request, cause, cause or reason) from None
        except (TimeoutError, OSError) as exc:
            raise self._error(request, "timed out", str(exc)) from None
        if len(body) > _MAX_BYTES:
            raise self._error(request, "too large", f"larger than {_MAX_BYTES} bytes")
        return body

    def _error(self, request: Request, cause: str, text: str) -> FetchError:
        message = self.sources.mask(f"cannot download {request.shown}: {text}")
        return FetchError(message, cause=cause, component=request.component)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
