"""One runner for every external command: helm, git and hooks (``hld/hooks.py``).

    result = run(Command(("helm", "version", "--short"), timeout=30))
    print(result.stdout)

Commands take an argv tuple (hooks are the one ``sh -c`` exception), have a timeout that kills
the whole process group, capture stdout and stderr separately, and mask secrets in everything
they log or raise.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from fabrikate.errors import Interrupted, ProcessError, TimedOut, ToolNotFound
from fabrikate.support.interrupts import check_interrupted, kill_group, track, untrack
from fabrikate.support.redact import mask

__all__ = ["Command", "Completed", "Interrupted", "run"]


log = logging.getLogger("fabrikate")


# Variables that make git act on another repository than the one we name (pre-commit's
# no_git_env): fab may itself run inside a git hook.
_GIT_LEAKS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")
# fab's own secrets, which no tool it runs (nor a helm plugin or git hook) needs.
_LEAKS = (*_GIT_LEAKS, "FAB_REMOTE_CACHE_KEY", "FAB_REMOTE_CACHE_TOKEN")


@dataclass(frozen=True)
class Command:
    """An external command: argv, where to run it, extra environment and a timeout in seconds."""

    argv: tuple[str, ...]
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = 300.0
    secrets: tuple[str, ...] = ()
    what: str = ""  # a short description for errors, e.g. "helm template"
    replace_env: bool = False  # env is the whole environment, not an overlay
    input: bytes | None = field(default=None, repr=False)  # written to stdin (else: none)

    def __str__(self) -> str:
        import shlex  # only for messages: not imported by every run

        text = shlex.join(self.argv)
        if self.cwd:
            text += f" (in {self.cwd})"
        return mask(text, self.secrets)


class Completed(NamedTuple):
    """What a finished command returned."""

    command: Command
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> Completed:
        """Raise ``ProcessError`` unless the command succeeded."""
        if self.returncode != 0:
            what = self.command.what or self.command.argv[0]
            detail = mask(_last_lines(self.stderr or self.stdout), self.command.secrets)
            raise ProcessError(
                f"{what} failed (exit {self.returncode}): {detail}"
                if detail
                else f"{what} failed (exit {self.returncode})",
                returncode=self.returncode,
                stderr=mask(self.stderr, self.command.secrets),
            )
        return self


def _last_lines(text: str, limit: int = 6) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-limit:])


def _environment(command: Command) -> dict[str, str]:
    if command.replace_env:
        return dict(command.env)
    env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
    env.update(command.env)
    return env


def run(command: Command) -> Completed:
    """Run ``command`` to completion, killing its process group if it outlives its timeout."""
    log.debug("running %s", command)
    what = command.what or command.argv[0]
    check_interrupted()
    try:
        proc = subprocess.Popen(
            command.argv,
            cwd=command.cwd,
            env=_environment(command),
            stdin=subprocess.DEVNULL if command.input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,  # communicate reads the pipes whole: no buffer, no isatty or seek calls
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        if command.cwd and not os.path.isdir(command.cwd):  # Popen says so for either
            raise ProcessError(f"{what}: working directory does not exist: {command.cwd}") from exc
        raise ToolNotFound(f"{what}: executable not found: {command.argv[0]}") from exc
    except PermissionError as exc:
        raise ProcessError(f"{what}: cannot execute {command.argv[0]}: permission denied") from exc
    except NotADirectoryError as exc:
        raise ProcessError(f"{what}: working directory does not exist: {command.cwd}") from exc
    track(proc)
    try:
        out, err = proc.communicate(command.input, timeout=command.timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.communicate()
        raise TimedOut(f"{what} timed out after {command.timeout:g}s: {command}") from None
    except BaseException:
        kill_group(proc)
        proc.wait()
        raise
    finally:
        untrack(proc)
    check_interrupted()

    return Completed(
        command,
        proc.returncode,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
    )
