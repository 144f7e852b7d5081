"""Exit codes, in one place: 0 success, 1 a user or input error (``FabrikateError``: one line
each) or a failed check, 2 a usage error (click), 3 a bug (one line; ``--debug`` shows the
traceback), and 128 + the signal for an interrupt (130 for SIGINT, 143 for SIGTERM).
``fab diff --exit-code`` answers like ``git diff --exit-code``: 1 changed, 2 an error.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from fabrikate.cli.base import Command, SubGroup

__all__ = [
    "BUG",
    "CHANGED",
    "ERROR",
    "SIGINT",
    "SIGNAL",
    "SIGTERM",
    "USAGE",
    "RootGroup",
    "print_traceback",
]

ERROR, USAGE, BUG = 1, 2, 3
CHANGED = 1  # fab diff --exit-code: something changed
SIGINT, SIGTERM = 2, 15
# The signal that stopped the run (set by the root's handler): the exit code is 128 + it.
SIGNAL: dict[str, int] = {}


class RootGroup(click.Group):
    """The root group: one error line and an exit code for everything below it."""

    command_class = Command
    group_class = SubGroup

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except KeyboardInterrupt:  # arrived outside a command, e.g. while click was closing
            sys.exit(128 + SIGNAL.get("signum", SIGINT))

    def invoke(self, ctx: click.Context) -> Any:
        from fabrikate.errors import FabrikateError, Failures, Interrupted

        try:
            return super().invoke(ctx)
        except FabrikateError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                print_traceback()
            for each in exc.errors if isinstance(exc, Failures) else ():
                click.echo(f"fab: error: {each}", err=True)
            click.echo(f"fab: error: {exc}", err=True)
            ctx.exit(ctx.obj.get("error_code", ERROR) if ctx.obj else ERROR)
        except (KeyboardInterrupt, Interrupted):
            click.echo("fab: interrupted", err=True)
            ctx.exit(128 + SIGNAL.get("signum", SIGINT))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: one line, and the traceback where it can be read
            if ctx.obj and ctx.obj.get("debug"):
                print_traceback()
            click.echo(
                f"fab: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True
            )
            ctx.exit(BUG)


def print_traceback() -> None:
    import traceback

    traceback.print_exc()
