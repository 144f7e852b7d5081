"""The ``fab`` command: a thin click shell over the library API.

Commands parse arguments, call ``fabrikate.api`` and print. Logs and warnings go to stderr,
data to stdout; exit codes are in ``exits.py``. Each command group has its module; this one
holds the root group, ``version`` and ``completion``, and puts the commands together.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from fabrikate._version import __version__
from fabrikate.cli.base import (
    Command,
    echo_data,
    global_options,
    make_settings,
    output_format,
    setup_logging,
)
from fabrikate.cli.exits import ERROR, SIGNAL, RootGroup

__all__ = ["main"]

CONTEXT = {"help_option_names": ["-h", "--help"]}
# Each command's module is imported when that command is looked up: a run pays for no other.
COMMANDS = {
    "generate": ("generate", "generate"),
    "install": ("install", "install"),
    "vendor": ("install", "vendor_command"),
    "outdated": ("install", "outdated_command"),
    "cache": ("install", "cache"),
    "diff": ("review", "diff_command"),
    "explain": ("review", "explain_command"),
    "init": ("authoring", "init_command"),
    "add": ("authoring", "add"),
    "remove": ("authoring", "remove"),
    "set": ("authoring", "set_command"),
    "validate": ("authoring", "validate_command"),
    "schema": ("authoring", "schema_command"),
    "find": ("authoring", "find_command"),
    "records": ("records", "records"),
    "deployment": ("records", "deployment"),
    "status": ("status", "status"),
    "dashboard": ("dashboard", "dashboard"),
}


class Main(RootGroup):
    """The root group, importing the module of a command (``COMMANDS``) when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, name = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"fabrikate.cli.{module}"), name)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=Main, params=global_options(hidden=False), context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="fab", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, debug: bool, records: str | None) -> None:
    """Scalable GitOps for Kubernetes: render high level definitions into manifests."""
    import signal
    import threading

    # Imported here, not in the handler: a signal can come while a module is half imported.
    from fabrikate.support.interrupts import stop_all

    def on_signal(signum: int, frame: Any) -> None:
        """Stop every child process; the run then stops at its next safe point."""
        SIGNAL.setdefault("signum", signum)
        stop_all()

    ctx.obj = {"debug": debug, "quiet": quiet, "verbose": verbose, "records": records}
    setup_logging(verbose, quiet)
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        ctx.call_on_close(lambda: [signal.signal(s, h) for s, h in previous.items()])


@click.command(cls=Command)
@output_format("text", "json", "yaml")
@click.pass_context
def version(ctx: click.Context, output_format: str) -> None:
    """Print the fab version and the helm it finds; exit 1 when there is none."""
    from fabrikate.errors import FabrikateError
    from fabrikate.support.helm import version as helm_version

    settings = make_settings()
    problem = None
    try:
        helm: str | None = helm_version(settings.helm, None)  # asked afresh, not from the cache
    except FabrikateError as exc:
        helm, problem = None, str(exc)
    if output_format == "text":
        click.echo(f"fab {__version__}")
        click.echo(
            f"helm {helm} ({settings.helm})" if helm else f"helm: not found ({settings.helm})"
        )
    else:
        echo_data({"fab": __version__, "helm": helm, "helm_binary": settings.helm}, output_format)
    if problem is not None:
        hint = "" if "FAB_HELM" in problem else " (set FAB_HELM or put helm on PATH)"
        click.echo(f"fab: error: {problem}{hint}", err=True)
        ctx.exit(ERROR)


@click.command(name="completion", cls=Command)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the completion script of SHELL, e.g. `eval "$(fab completion bash)"`."""
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None
    click.echo(complete(main, {}, "fab", "_FAB_COMPLETE").source())


for command in (version, completion_command):
    main.add_command(command)
