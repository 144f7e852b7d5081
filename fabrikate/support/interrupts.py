"""The run's stop switch, shared by every thread: a signal turns it on and running commands die.

    check_interrupted()   # at a safe point: raise Interrupted once the run must stop

Signal handlers only call ``stop_all`` and never raise: an exception at an arbitrary bytecode
can break an import half-way. Code raises ``Interrupted`` at its next safe point. This module
imports nothing that loads slowly, so a handler can rely on it being loaded whenever a signal
comes.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING

from fabrikate.errors import Interrupted

if TYPE_CHECKING:
    import subprocess

__all__ = ["check_interrupted", "kill_group", "stop_all", "track", "untrack"]

# Signals reach the whole process, so the children they must stop are tracked process-wide.
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.RLock()  # reentrant: a handler may run in a thread that holds it
_STOPPING = threading.Event()


def check_interrupted() -> None:
    """Raise ``Interrupted`` once a signal asked the run to stop; called at safe points."""
    if _STOPPING.is_set():
        raise Interrupted("interrupted")


def stop_all() -> None:
    """Kill every running command's process group and refuse to start new ones."""
    _STOPPING.set()
    with _LIVE_LOCK:
        for proc in list(_LIVE):
            kill_group(proc)


def track(proc: subprocess.Popen[bytes]) -> None:
    """Note a started command, so ``stop_all`` kills it (at once if it already ran)."""
    with _LIVE_LOCK:
        _LIVE.add(proc)
        if _STOPPING.is_set():  # stop_all ran while it started, so it could not kill it
            kill_group(proc)


def untrack(proc: subprocess.Popen[bytes]) -> None:
    """Forget a finished command."""
    with _LIVE_LOCK:
        _LIVE.discard(proc)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a command and every process it started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
