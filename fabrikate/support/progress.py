"""What install and generate report as they go: one ``Event`` per component start and end.

    def show(event: Event) -> None:
        print(event.component, event.state)

    install(path, settings, progress=show)

``cli/display.py`` draws them as a status line or log lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Event", "Progress"]


class Event(NamedTuple):
    """A progress report: a component started (``state`` is the verb, e.g. ``fetching``), or
    went ``done``, ``unchanged`` or ``failed``."""

    component: str
    state: str
    detail: str = ""
    cached: bool = False


Progress = Callable[[Event], None]
