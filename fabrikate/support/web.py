"""fab's own HTTP client: how chart indexes, chart archives, static files and remote render
cache entries travel.

    body = get("https://charts.example.com/index.yaml", header=auth, timeout=30, tls=Tls())
    reply = send("PUT", url, header=auth, data=blob, timeout=5, limit=64 * 1024)

Credentials travel in an ``Authorization`` header of this process's own request, never in a
command line, and the header is not sent on after a redirect. TLS options (a CA file, a client
certificate, skipped verification) come from the user's helm repository alias.
"""

from __future__ import annotations

import logging
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.errors import HttpFailure
from fabrikate.support.text import cause_of

if TYPE_CHECKING:
    import http.client

__all__ = ["MAX_DOWNLOAD_BYTES", "Reply", "Tls", "get", "send"]

log = logging.getLogger("fabrikate")

MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
# What urllib's reason says, and what to tell the user.
_CAUSES = (
    ("name or service not known", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("temporary failure in name resolution", "unknown host"),
    ("no address associated", "unknown host"),
    ("connection refused", "connection refused"),
    ("timed out", "timed out"),
    ("certificate verify failed", "TLS certificate not trusted"),
)
_STATUS = {401: "authentication required", 403: "access denied", 404: "not found"}


@dataclass(frozen=True)
class Tls:
    """TLS options for one host (from a helm repository alias)."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    insecure: bool = False

    def context(self) -> ssl.SSLContext | None:
        """The SSL context these options make, or None for the default one."""
        if not (self.ca_file or self.cert_file or self.insecure):
            return None
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file or None)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


@dataclass(frozen=True)
class Reply:
    """A 2xx answer: its status, headers and (bounded) body."""

    status: int
    headers: Message = field(repr=False)
    body: bytes


def get(
    url: str,
    *,
    header: str = "",
    timeout: float | None,
    tls: Tls | None = None,
    limit: int = MAX_DOWNLOAD_BYTES,
    local: bool = False,
) -> bytes:
    """The body of a 2xx answer to GET ``url``; any other outcome raises ``HttpFailure``.

    A ``file://`` URL (a vendor folder, a mirror on disk) is read only with ``local``: a
    remote index or definition may not name local files.
    """
    if url.lower().startswith("file://"):
        return _read_local(url, limit) if local else _refuse_local(url)
    return send("GET", url, header=header, timeout=timeout, tls=tls, limit=limit).body


def send(
    method: str,
    url: str,
    *,
    header: str = "",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    timeout: float | None,
    tls: Tls | None = None,
    limit: int = MAX_DOWNLOAD_BYTES,
    total: float | None = None,
) -> Reply:
    """The 2xx answer to ``method`` on the http(s) ``url``, its body read up to ``limit``
    bytes (within ``total`` seconds, when given: ``timeout`` bounds each wait, and a server
    may trickle); any other outcome raises ``HttpFailure`` (a 401's challenge in
    ``challenge``). ``header`` is the Authorization, never sent on after a redirect."""
    if not url.lower().startswith(("http://", "https://")):
        raise HttpFailure("not an http(s) URL", f"{url.split(':', 1)[0]}: is not http(s)")
    request = urllib.request.Request(url, data=data, method=method)
    for name, value in {"User-Agent": "fabrikate", **(headers or {})}.items():
        request.add_header(name, value)
    if header:
        request.add_unredirected_header("Authorization", header)
    try:
        context = (tls or Tls()).context()
        until = None if total is None else time.monotonic() + total
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            body = response.read(limit + 1) if until is None else _read(response, limit, until)
            status, answered = response.status, response.headers
    except urllib.error.HTTPError as exc:
        cause = _STATUS.get(exc.code, f"http {exc.code}")
        failure = HttpFailure(cause, f"http {exc.code} {exc.reason}", exc.code)
        failure.challenge = (exc.headers or Message()).get("WWW-Authenticate", "")[:4096]
        raise failure from None
    except urllib.error.URLError as exc:
        reason = str(exc.reason)
        cause = cause_of(reason, _CAUSES)
        raise HttpFailure(cause, cause or reason) from None
    except (TimeoutError, OSError, ssl.SSLError, ValueError) as exc:
        timed_out = "timed out" if isinstance(exc, TimeoutError) else ""
        cause = cause_of(str(exc), _CAUSES) or timed_out
        raise HttpFailure(cause, str(exc) or type(exc).__name__) from None
    if len(body) > limit:
        raise HttpFailure("too large", f"larger than {limit} bytes")
    return Reply(status, answered, body)


def _read(response: http.client.HTTPResponse, limit: int, until: float) -> bytes:
    """Up to ``limit + 1`` bytes of ``response``, a TimeoutError once ``until`` passed."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        if time.monotonic() > until:
            raise TimeoutError("timed out")
        chunk = response.read1(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _read_local(url: str, limit: int) -> bytes:
    """A regular local file named by a ``file://`` URL."""
    from fabrikate.errors import InputError
    from fabrikate.support.fsutil import read_regular

    path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    if not path.is_file():
        raise HttpFailure("not found", f"no file {path}", 404)
    try:
        return read_regular(path, limit)
    except InputError as exc:
        raise HttpFailure("not a regular file", str(exc)) from None


def _refuse_local(url: str) -> bytes:
    raise HttpFailure("a local file", f"{url} is a local file, which only a mirror map may name")
