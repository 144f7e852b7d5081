"""Live updates: one thread waits for the store to change and wakes every server-sent-event
stream.

    feed = ChangeFeed(lambda: open_store(url, create=False), poll_seconds=5)
    feed.start()                     # from inside the event loop
    async for message in feed.stream(): ...

The thread has a store connection of its own, since ``wait_for_change`` blocks (PostgreSQL:
LISTEN/NOTIFY, so every dashboard process behind a load balancer hears every writer; the
other stores poll their change counter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from fabrikate.errors import FabrikateError

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store

__all__ = ["KEEPALIVE_SECONDS", "STREAM_SECONDS", "ChangeFeed", "sse"]

log = logging.getLogger("fabrikate.dashboard")

KEEPALIVE_SECONDS = 15.0  # a comment line keeps proxies from closing an idle stream
STREAM_SECONDS = 300.0  # then the stream ends and the browser reconnects (EventSource does)
_RETRY_MS = 2000


def sse(event: str, data: str) -> bytes:
    """One server-sent event."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


class ChangeFeed:
    """The store's change counter, watched by one thread, awaited by many streams."""

    def __init__(self, open_store: Callable[[], Store], *, poll_seconds: float = 5.0) -> None:
        self._open = open_store
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self.count = 0

    def start(self, initial: int) -> None:
        """Start watching (call it from the event loop that serves the streams)."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self.count = initial
        self._thread = threading.Thread(target=self._watch, name="fab-dashboard-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; the thread ends (and closes its store) when its wait returns, within
        one poll; shutting down waits for it a second at most."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _watch(self) -> None:
        try:
            store = self._open()
        except FabrikateError as exc:
            log.warning("fab: live updates are off: %s", exc)
            return
        with store:
            count = self.count
            while not self._stop.is_set():
                try:
                    newer = store.wait_for_change(count, self._poll)
                except FabrikateError as exc:  # the store went away: try again after a pause
                    log.warning("fab: waiting for store changes failed: %s", exc)
                    self._stop.wait(self._poll)
                    continue
                if newer != count:
                    count = newer
                    assert self._loop is not None
                    with contextlib.suppress(RuntimeError):  # the loop closed under us
                        self._loop.call_soon_threadsafe(self._wake, newer)

    def _wake(self, count: int) -> None:
        self.count = count
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def notify(self, count: int) -> None:
        """A write made by this process (an ingested event, a mark): wake the streams now."""
        if count != self.count:
            self._wake(count)

    async def stream(
        self, *, keepalive: float = KEEPALIVE_SECONDS, lifetime: float = STREAM_SECONDS
    ) -> AsyncIterator[bytes]:
        """Server-sent events: ``change`` with the counter each time the store changes."""
        yield f"retry: {_RETRY_MS}\n".encode() + sse("hello", str(self.count))
        loop = asyncio.get_running_loop()
        end = loop.time() + lifetime
        while loop.time() < end and not self._stop.is_set():
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), timeout=min(keepalive, end - loop.time()))
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            yield sse("change", str(self.count))
