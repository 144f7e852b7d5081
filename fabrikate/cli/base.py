"""What every ``fab`` command shares: the global options, output formats, logging, common
options, and the settings of a run.

    @click.command(cls=Command)
    @output_format("text", "json")
    def hello(output_format: str) -> None:
        echo_data({"hello": "world"}, output_format)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fabrikate.cli.display import MODES as PROGRESS_MODES
from fabrikate.settings import HOOK_POLICIES

if TYPE_CHECKING:
    import logging

    from fabrikate.errors import Diagnostic
    from fabrikate.settings import Settings

# Everything else is imported where it is used, so `fab --version` and `fab --help` start fast.

__all__ = [
    "HLD_ROOT",
    "OFFLINE",
    "PROGRESS",
    "Command",
    "SubGroup",
    "echo_data",
    "global_options",
    "log",
    "make_settings",
    "mirror_options",
    "output_format",
    "print_diagnostics",
    "run_options",
    "setup_logging",
]


class _Log:
    """The ``fabrikate`` logger, imported on first use."""

    def __getattr__(self, name: str) -> Any:
        import logging

        return getattr(logging.getLogger("fabrikate"), name)


log: logging.Logger = _Log()  # type: ignore[assignment]


# -v, -q, --debug and --records work before the subcommand and after it: every command (and

_GLOBAL_HELP = {
    "verbose": "Log more (debug): each command run, hook output.",
    "quiet": "Log only warnings and errors.",
    "debug": "Show tracebacks.",
    "records": "Records store (default: FAB_RECORDS, else SQLite).",
}


def global_options(hidden: bool) -> list[click.Option]:
    """The global options, as the root takes them or (``hidden``) as every command takes them."""
    keep: dict[str, Any] = {"expose_value": False, "callback": _set_global} if hidden else {}
    return [
        click.Option(
            ["-v", "--verbose"], count=True, help=_GLOBAL_HELP["verbose"], hidden=hidden, **keep
        ),
        click.Option(
            ["-q", "--quiet"], is_flag=True, help=_GLOBAL_HELP["quiet"], hidden=hidden, **keep
        ),
        click.Option(["--debug"], is_flag=True, help=_GLOBAL_HELP["debug"], hidden=hidden, **keep),
        click.Option(
            ["--records", "records"],
            metavar="URL",
            help=_GLOBAL_HELP["records"],
            hidden=hidden,
            **keep,
        ),
    ]


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the subcommand: add it to the root's, and apply it."""
    if not value or ctx.resilient_parsing:
        return
    obj = ctx.find_root().obj
    if obj is None:  # --help of a subcommand: the root's callback has not run
        return
    if param.name == "verbose":
        obj["verbose"] += value
    else:
        obj[param.name or ""] = value
    setup_logging(obj["verbose"], obj["quiet"])


def _add_globals(command: click.Command) -> None:
    """Give ``command`` the global options it does not define itself (``--records`` of the
    records commands is theirs, with the root's as its default)."""
    taken = {opt for p in command.params for opt in p.opts}
    command.params.extend(o for o in global_options(hidden=True) if not set(o.opts) & taken)


class Command(click.Command):
    """A command that also takes the global options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_globals(self)


class SubGroup(click.Group):
    """A group below the root (cache, records, deployment): its commands take the global
    options too."""

    command_class = Command
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_globals(self)


# -o/--output FORMAT on every command that prints data.
# Names earlier releases used for the text format.
_FORMAT_ALIASES = {"table": "text", "normal": "text"}


class _Format(click.Choice):
    """A format choice that also takes the old names of ``text``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        alias = _FORMAT_ALIASES.get(str(value).lower())
        if alias in self.choices:
            value = alias
        return super().convert(value, param, ctx)


def output_format(*formats: str, default: str | None = None) -> Any:
    """``-o/--output FORMAT``: how a command prints its data (the first format by default)."""
    return click.option(
        "-o",
        "--output",
        "output_format",
        type=_Format(formats, case_sensitive=False),
        default=default or formats[0],
        show_default=True,
        help="Output format.",
    )


def echo_data(data: Any, output_format: str) -> None:
    """Print plain data as JSON or YAML."""
    if output_format == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=True, allow_unicode=True), nl=False)
    else:
        import json

        click.echo(json.dumps(data, indent=2, sort_keys=True))


def setup_logging(verbose: int, quiet: bool) -> None:
    import logging

    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    from fabrikate.support.redact import printable

    class Printable(logging.Formatter):
        """Log lines hold names, sources and tool output: no control character gets through."""

        def format(self, record: logging.LogRecord) -> str:
            return printable(super().format(record))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Printable("fab: %(message)s"))
    logger = logging.getLogger("fabrikate")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def print_diagnostics(diagnostics: list[Diagnostic], quiet: bool = False) -> None:
    for item in diagnostics:
        if item.level == "error" or not quiet:
            click.echo(f"fab: {item.level}: {item}", err=True)


def run_options(command: Any) -> Any:
    """The options of every command that runs helm, git or hooks on a tree."""
    options = [
        click.option(
            "--hooks",
            type=click.Choice(HOOK_POLICIES),
            help="Which hooks run: all, local (not from fetched definitions) or none.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0),
            help="Seconds each helm, git or hook command may take (0: no limit).",
        ),
        click.option(
            "--allow-outside-root",
            is_flag=True,
            default=None,
            help="Let local sources point outside the tree.",
        ),
        click.option(
            "--wait",
            is_flag=True,
            default=None,
            help="Wait for another fab run on this tree to finish.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


OFFLINE = click.option(
    "--offline",
    is_flag=True,
    default=None,
    help="Use only the cache and local (file://) sources; never the network.",
)


def mirror_options(command: Any) -> Any:
    """The options of commands that fetch: which mirror map, and the built-in rules."""
    command = click.option(
        "--no-builtin-mirrors",
        "builtin_mirrors",
        flag_value=False,
        default=None,
        help="Do not rewrite the retired stable/incubator chart hosts to charts.helm.sh.",
    )(command)
    return click.option(
        "--mirrors",
        metavar="FILE",
        help="The mirror map (default: FAB_MIRRORS, else mirrors.yaml at the root, else the "
        "user config folder's; 'none': no map).",
    )(command)


PROGRESS = click.option(
    "--progress",
    type=click.Choice(PROGRESS_MODES),
    default="auto",
    show_default=True,
    help="A status line (auto: on a terminal), log lines (plain), or nothing.",
)


def make_settings(**overrides: Any) -> Settings:
    from fabrikate.settings import Settings

    return Settings.from_env(**overrides)


HLD_ROOT = click.option(
    "-C",
    "--chdir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The HLD root (default: the current folder).",
)
