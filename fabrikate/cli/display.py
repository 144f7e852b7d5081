"""How ``fab install`` and ``fab generate`` show progress: a live status line on a terminal,
log lines (``plain``) or nothing (``none``).

display = Display(sys.stderr, "auto", verb="fetching")
result = install(path, settings, progress=display)
display.close()
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TextIO

from fabrikate.support.progress import Event
from fabrikate.support.redact import printable
from fabrikate.support.text import plural

if TYPE_CHECKING:
    from fabrikate.sources.installer import InstallResult

__all__ = ["MODES", "Display", "summary"]

MODES = ("auto", "plain", "none")
_MARKS = {"done": "✓", "unchanged": "=", "failed": "✗"}
_FINISHED = tuple(_MARKS)


class Display:
    """Receives events from worker threads and writes them to ``stream``.

    ``mode`` ``auto`` is a live status line on a terminal and otherwise ``plain`` (log lines)
    when ``piped_lines``, else nothing; ``plain`` and ``none`` are what they say.
    """

    def __init__(
        self,
        stream: TextIO,
        mode: str = "auto",
        *,
        quiet: bool = False,
        piped_lines: bool = True,
    ) -> None:
        self.stream = stream
        terminal = mode == "auto" and stream.isatty()
        self.live = terminal
        self.plain = mode == "plain" or (mode == "auto" and not terminal and piped_lines)
        self.quiet = quiet
        self.running: dict[str, str] = {}
        self.verb = ""
        self.finished = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        # Names and sources come from definitions: no control character reaches the terminal.
        event = event._replace(component=printable(event.component), detail=printable(event.detail))
        with self._lock:
            if event.state not in _FINISHED:
                self.running[event.component] = event.detail
                self.verb = event.state
            else:
                self.running.pop(event.component, None)
                self.finished += 1
            if self.live:
                self._draw(event)
            elif self.plain and not self.quiet:
                self._log(event)

    def _log(self, event: Event) -> None:
        if event.state == "failed":
            return  # failures are printed once, at the end
        if event.state not in _FINISHED:
            source = f" {_FROM.get(event.state, 'from')} {event.detail}" if event.detail else ""
            text = f"fab: {event.state} {event.component}{source}"
        else:
            how = " (cache)" if event.cached else ""
            text = f"fab: {event.state} {event.component}: {event.detail}{how}"
        self.stream.write(text + "\n")
        self.stream.flush()

    def _draw(self, event: Event) -> None:
        self.stream.write("\r\033[K")
        if event.state in _FINISHED and not (self.quiet and event.state != "failed"):
            mark = _MARKS[event.state]
            how = " (cache)" if event.cached else ""
            detail = "" if event.state == "failed" else f" {event.detail}{how}"
            self.stream.write(f"{mark} {event.component}{detail}\n")
        names = ", ".join(sorted(self.running)[:4])
        more = f" +{len(self.running) - 4}" if len(self.running) > 4 else ""
        if self.running:
            self.stream.write(f"[{self.finished} done] {self.verb} {names}{more}")
        self.stream.flush()

    def close(self) -> None:
        """Clear the status line."""
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()


# How a started state names where the component comes from.
_FROM = {"fetching": "from", "reading": "from cache:"}


def summary(result: InstallResult) -> str:
    """One line: counts, cache hits and time."""
    return (
        f"install of {result.root} finished in {result.seconds:.1f}s: "
        f"{plural(len(result.visited), 'component')}, {plural(len(result.installed), 'source')} "
        f"({result.changed} updated, {len(result.installed) - result.changed} unchanged, "
        f"{result.cache_hits} from cache), {len(result.failures)} failed"
    )
