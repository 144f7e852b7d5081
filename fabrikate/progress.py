"""How ``fab install`` shows progress: a live status line on a terminal, log lines otherwise.

display = InstallDisplay(sys.stderr)
result = install(path, settings, progress=display)
display.close()
"""

from __future__ import annotations

import threading
from typing import TextIO

from fabrikate.installer import Event, InstallResult

__all__ = ["InstallDisplay", "summary"]

_MARKS = {"done": "✓", "unchanged": "=", "failed": "✗"}


class InstallDisplay:
    """Receives install events from worker threads and writes them to ``stream``."""

    def __init__(self, stream: TextIO, *, live: bool | None = None, quiet: bool = False) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.quiet = quiet
        self.fetching: dict[str, str] = {}
        self.finished = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.state == "fetching":
                self.fetching[event.component] = event.detail
            else:
                self.fetching.pop(event.component, None)
                self.finished += 1
            if self.live:
                self._draw(event)
            elif not self.quiet:
                self._log(event)

    def _log(self, event: Event) -> None:
        if event.state == "fetching":
            text = f"fab: fetching {event.component} from {event.detail}"
        elif event.state == "failed":
            return  # failures are printed once, at the end
        else:
            how = " (cache)" if event.cached else ""
            text = f"fab: {event.state} {event.component}: {event.detail}{how}"
        self.stream.write(text + "\n")
        self.stream.flush()

    def _draw(self, event: Event) -> None:
        self.stream.write("\r\033[K")
        if event.state != "fetching" and not (self.quiet and event.state != "failed"):
            mark = _MARKS.get(event.state, "·")
            how = " (cache)" if event.cached else ""
            detail = "" if event.state == "failed" else f" {event.detail}{how}"
            self.stream.write(f"{mark} {event.component}{detail}\n")
        names = ", ".join(sorted(self.fetching)[:4])
        more = f" +{len(self.fetching) - 4}" if len(self.fetching) > 4 else ""
        if self.fetching:
            self.stream.write(f"[{self.finished} done] fetching {names}{more}")
        self.stream.flush()

    def close(self) -> None:
        """Clear the status line."""
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()


def summary(result: InstallResult) -> str:
    """One line: counts, cache hits and time."""
    return (
        f"install of {result.root} finished in {result.seconds:.1f}s: "
        f"{len(result.visited)} components, {len(result.installed)} sources "
        f"({result.changed} updated, {len(result.installed) - result.changed} unchanged, "
        f"{result.cache_hits} from cache), {len(result.failures)} failed"
    )
