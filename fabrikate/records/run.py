"""One generation as the records see it: when it ran, how it ended, and its frozen summary.

run = Run(root, ("prod",), settings, datetime.now(UTC))
run.summary = RunSummary(...)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import Diagnostic

if TYPE_CHECKING:
    from fabrikate.records.summary import RunSummary
    from fabrikate.settings import Settings

__all__ = ["Run", "Told"]


# Hears of the record written (None when none was) and of the warnings of writing it.
Told = Callable[[dict[str, Any] | None, list[Diagnostic]], None]


@dataclass
class Run:
    """What one generation did, collected by ``recording`` while it runs."""

    root: Path
    environments: tuple[str, ...]
    settings: Settings
    started: datetime
    finished: datetime | None = None
    summary: RunSummary | None = None  # set by the run: what the record says about the tree
    error: BaseException | None = None
    canceled: bool = False
    facts: dict[str, Any] | None = None  # the tree facts of an identical earlier run, reused
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    recorded: bool = True  # False: records are off, and nothing is built
    # What the record takes from outside the run (git facts, ring map, the open store),
    # collected on a thread while the run renders (``recording.prepare``).
    early: Future[Any] | None = field(default=None, repr=False)
    # Set by the run once its renders are under way (and by ``recording`` when it ends): the
    # collecting thread waits for it before its own imports and the store, which would
    # otherwise hold the interpreter while the first ``helm template`` is being started.
    rendering: threading.Event = field(default_factory=threading.Event, repr=False)
    told: Told | None = field(default=None, repr=False)
