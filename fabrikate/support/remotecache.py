"""A render cache shared through an OCI registry, for CI runners without a common disk.

    remote = RemoteCache.of(settings)       # None unless FAB_REMOTE_CACHE is set
    data = remote.pull(key)                 # a signed entry, or None
    remote.push(key, data)                  # on a thread (FAB_REMOTE_CACHE_PUSH=1)
    remote.wait()                           # at the end of the run, bounded

An entry is a blob; an OCI image manifest tagged with the render key points at it and holds
HMAC-SHA256(FAB_REMOTE_CACHE_KEY, key + blob digest) in an annotation. The registry is
untrusted: every answer is bounded, an entry whose digest or signature does not verify is
ignored (one warning), nothing it says names a file, and credentials go to the configured host
only (and to a token realm that is https or on that host). A registry that fails is given up
for the run after one warning: the run renders locally.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit

from fabrikate.errors import HttpFailure, Interrupted
from fabrikate.settings import Settings
from fabrikate.support.interrupts import check_interrupted
from fabrikate.support.redact import mask, mask_text, printable
from fabrikate.support.web import Reply, send

if TYPE_CHECKING:
    from queue import SimpleQueue

__all__ = ["ENTRY_TYPE", "SIGNATURE", "RemoteCache", "signature"]

log = logging.getLogger("fabrikate")

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.fabrikate.render.config.v1+json"
ENTRY_TYPE = "application/vnd.fabrikate.render.v1+json"
SIGNATURE = "dev.fabrikate.render.signature"
_CONFIG = b"{}"
_SMALL = 64 * 1024  # a manifest, a token answer, an upload's answer
_MAX_ENTRY = 64 * 1024 * 1024
_TIMEOUT = 5.0  # seconds per request: a slow remote must cost less than rendering
_WHOLE = 4  # timeouts an answer may take in all (a server may trickle it)
_PUSH_WAIT = 30.0  # seconds the end of a run waits for pushes still under way
_PUSHERS = 4  # threads pushing: each entry is four requests, mostly waiting on the network
_KEY = re.compile(r"[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PARAM = re.compile(r'(\w+)="([^"]*)"')
_TOKEN = re.compile(r"[\x21-\x7e]{1,8192}")


def signature(secret: bytes, key: str, blob_digest: str) -> str:
    """The signature of the entry ``key`` whose blob has ``blob_digest``."""
    return hmac.new(secret, (key + blob_digest).encode(), hashlib.sha256).hexdigest()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RemoteCache:
    """The remote render cache of one run."""

    def __init__(self, settings: Settings) -> None:
        assert settings.remote_cache and settings.remote_cache_key
        self.shown = settings.remote_cache
        self.host, _, self.name = settings.remote_cache.removeprefix("oci://").partition("/")
        plain = self.host in settings.plain_http_registries
        self.base = f"{'http' if plain else 'https'}://{self.host}"
        self.secret = settings.remote_cache_key.value.encode()
        token = settings.remote_cache_token.value if settings.remote_cache_token else ""
        self.basic = "Basic " + base64.b64encode(token.encode()).decode() if token else ""
        self.secrets = [settings.remote_cache_key.value, token, self.basic]
        self.pushing = settings.remote_cache_push
        self.timeout = min(_TIMEOUT, settings.timeout) if settings.timeout else _TIMEOUT
        self.bearer = ""
        self.usable: bool | None = None  # None: not asked yet
        self.warned: set[str] = set()
        self.warn_lock = threading.Lock()
        self.lock = threading.Lock()  # held while the registry is first asked
        self.queue_lock = threading.Lock()
        self.queue: SimpleQueue[tuple[str, bytes] | None] | None = None
        self.threads: list[threading.Thread] = []
        self.config_pushed = False

    @classmethod
    def of(cls, settings: Settings) -> RemoteCache | None:
        """The remote cache the settings name, if any."""
        return cls(settings) if settings.remote_cache and settings.remote_cache_key else None

    # -- pull ----------------------------------------------------------------------------------

    def pull(self, key: str) -> bytes | None:
        """The entry ``key`` if the registry holds one signed with the shared key."""
        if not _KEY.fullmatch(key) or not self.ready():
            return None
        try:
            reply = self.call("GET", f"manifests/{key}", {"Accept": MANIFEST_TYPE}, limit=_SMALL)
        except HttpFailure as exc:
            if exc.status != 404:  # 404: not there (a miss)
                self.give_up("cannot read", exc)
            return None
        layer = _layer(reply.body)
        if layer is None or not hmac.compare_digest(
            layer[2], signature(self.secret, key, layer[0])
        ):
            self.distrust(key)
            return None
        try:
            blob = self.call("GET", f"blobs/{layer[0]}", limit=layer[1]).body
        except HttpFailure as exc:
            self.give_up("cannot read", exc)
            return None
        if _sha256(blob) != layer[0]:
            self.distrust(key)
            return None
        return blob

    def distrust(self, key: str) -> None:
        """Ignore an entry that is not signed with the shared key (one warning per run)."""
        log.debug("remote cache entry %s is not signed with FAB_REMOTE_CACHE_KEY", key)
        self.warn(
            "untrusted",
            f"remote cache {self.shown}: ignoring an entry not signed with FAB_REMOTE_CACHE_KEY"
            " (rendered locally)",
        )

    # -- push ----------------------------------------------------------------------------------

    def push(self, key: str, data: bytes) -> None:
        """Have the entry ``key`` pushed on the push thread (when pushing is on)."""
        if not self.pushing or not _KEY.fullmatch(key) or len(data) > _MAX_ENTRY:
            return
        with self.queue_lock:
            if self.queue is None:
                from queue import SimpleQueue

                self.queue = SimpleQueue()
                for _ in range(_PUSHERS):
                    thread = threading.Thread(
                        target=self._pushes, args=(self.queue,), name="fab-remote", daemon=True
                    )
                    thread.start()
                    self.threads.append(thread)
            self.queue.put((key, data))

    def _pushes(self, pending: SimpleQueue[tuple[str, bytes] | None]) -> None:
        while (item := pending.get()) is not None:
            if self.ready():
                self.upload(*item)

    def upload(self, key: str, data: bytes) -> None:
        """Push one entry now: its blob, then its signed manifest tagged ``key``."""
        try:
            if not self.config_pushed:  # pushed once a run, unless the registry has it
                self.blob(_CONFIG, check=True)
                self.config_pushed = True
            layer = self.blob(data)
            manifest = {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": CONFIG_TYPE, "digest": _sha256(_CONFIG), "size": 2},
                "layers": [{"mediaType": ENTRY_TYPE, **layer}],
                "annotations": {SIGNATURE: signature(self.secret, key, layer["digest"])},
            }
            body = json.dumps(manifest).encode()
            self.call("PUT", f"manifests/{key}", {"Content-Type": MANIFEST_TYPE}, body)
        except HttpFailure as exc:
            self.give_up("cannot push to", exc, then="not pushing")

    def blob(self, data: bytes, *, check: bool = False) -> dict[str, Any]:
        """Upload ``data`` as a blob (a monolithic POST then PUT), with ``check`` only if the
        registry does not have it; its descriptor."""
        blob_digest = _sha256(data)
        descriptor = {"digest": blob_digest, "size": len(data)}
        try:
            if check:
                self.call("HEAD", f"blobs/{blob_digest}")
                return descriptor
        except HttpFailure as exc:
            if exc.status != 404:
                raise
        started = self.call("POST", "blobs/uploads/", {"Content-Length": "0"}, b"")
        where = self.same_host(started.headers.get("Location", ""))
        where += ("&" if "?" in where else "?") + urlencode({"digest": blob_digest})
        self.call("PUT", where, {"Content-Type": "application/octet-stream"}, data)
        return descriptor

    def same_host(self, location: str) -> str:
        """The absolute URL of an upload ``location``, refused unless on the registry."""
        url = urljoin(f"{self.base}/v2/{self.name}/blobs/uploads/", location)
        if not location or not url.startswith(f"{self.base}/"):
            why = "an upload location off the registry"
            raise HttpFailure(why, why)
        return url

    def wait(self) -> None:
        """Wait, a bounded time, for the pushes under way."""
        with self.queue_lock:
            threads, pending = list(self.threads), self.queue
        if pending is None:
            return
        for _ in threads:
            pending.put(None)
        try:
            check_interrupted()
        except Interrupted:  # a stopped run leaves its pushes unfinished
            return
        deadline = time.monotonic() + _PUSH_WAIT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            self.warn("failed", f"remote cache {self.shown}: pushes left unfinished")

    # -- talking to the registry ---------------------------------------------------------------

    def ready(self) -> bool:
        """Whether the registry answers (asked once per run, other threads waiting)."""
        with self.lock:
            if self.usable is None:
                try:
                    self.call("GET", "", limit=_SMALL)
                    self.usable = True
                except HttpFailure as exc:
                    self.give_up("cannot reach", exc)
            return bool(self.usable)

    def call(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        limit: int = _SMALL,
    ) -> Reply:
        """One request to the registry (``path`` under the repository, ``''`` the API root,
        or an absolute URL on the registry), with a token exchange on a Bearer challenge."""
        if path.startswith(self.base + "/"):
            url = path
        else:
            url = f"{self.base}/v2/{self.name}/{path}" if path else f"{self.base}/v2/"
        try:
            return self._send(method, url, self.bearer or self.basic, headers, data, limit)
        except HttpFailure as exc:
            if exc.status != 401 or not exc.challenge.lower().startswith("bearer "):
                raise
            self.bearer = "Bearer " + self.exchange(exc.challenge)
            return self._send(method, url, self.bearer, headers, data, limit)

    def _send(
        self,
        method: str,
        url: str,
        header: str,
        headers: Mapping[str, str] | None,
        data: bytes | None,
        limit: int,
    ) -> Reply:
        return send(
            method,
            url,
            header=header,
            headers=headers,
            data=data,
            timeout=self.timeout,
            limit=limit,
            total=_WHOLE * self.timeout,
        )

    def exchange(self, challenge: str) -> str:
        """A bearer token from the challenge's realm, for the configured credentials."""
        params = dict(_PARAM.findall(challenge))
        realm = params.get("realm", "")
        parts = urlsplit(realm)
        registry = urlsplit(self.base)
        if parts.scheme != "https" and (
            parts.scheme != "http" or parts.hostname != registry.hostname
        ):
            why = "a token realm that is neither https nor on the registry"
            raise HttpFailure(why, why)
        query = urlencode({k: params[k] for k in ("service", "scope") if k in params})
        url = f"{realm}{'&' if '?' in realm else '?'}{query}" if query else realm
        reply = send(
            "GET", url, header=self.basic, timeout=self.timeout, limit=_SMALL, total=self.timeout
        )
        try:
            answer = json.loads(reply.body)
        except ValueError:
            answer = None
        token = (
            answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else ""
        )
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise HttpFailure("the token realm gave no token", "no token")
        self.secrets.append(token)
        return token

    def give_up(self, doing: str, exc: HttpFailure, then: str = "rendering locally") -> None:
        """Stop using the registry for this run, after one warning."""
        self.usable = False
        why = printable(mask(mask_text(exc.cause or exc.detail), self.secrets))
        self.warn("failed", f"remote cache {self.shown}: {doing} it ({why}): {then}")

    def warn(self, kind: str, message: str) -> None:
        """Log ``message`` unless a warning of ``kind`` was given this run."""
        with self.warn_lock:
            if kind in self.warned:
                return
            self.warned.add(kind)
        log.warning("%s", message)


def _layer(body: bytes) -> tuple[str, int, str] | None:
    """The digest, size and signature of a manifest's one entry; None if it is not one."""
    try:
        manifest = json.loads(body)
        layer = manifest["layers"][0]
        found = (layer["digest"], layer["size"], manifest["annotations"][SIGNATURE])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    valid = isinstance(found[1], int) and 0 <= found[1] <= _MAX_ENTRY
    return (
        found if valid and _DIGEST.fullmatch(str(found[0])) and isinstance(found[2], str) else None
    )
