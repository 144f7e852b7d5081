"""The ``fab`` command: a thin click shell over the library API.

Commands parse arguments, call ``fabrikate.api`` and print. Logs and warnings go to stderr,
data to stdout. Exit codes: 0 success, 1 a user or input error, 2 a usage error, 3 a bug,
130 interrupted.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from fabrikate import __version__
from fabrikate.errors import Diagnostic, FabrikateError
from fabrikate.settings import HOOK_POLICIES, Settings

log = logging.getLogger("fabrikate")


class _Group(click.Group):
    """The root group: one error line and an exit code for everything below it."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FabrikateError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"fab: error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("fab: interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: one line, and the traceback where it can be read
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(
                f"fab: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True
            )
            ctx.exit(3)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fab: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _print_diagnostics(diagnostics: list[Diagnostic], quiet: bool = False) -> None:
    for item in diagnostics:
        if item.level == "error" or not quiet:
            click.echo(f"fab: {item.level}: {item}", err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="fab", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", count=True, help="Log more (debug).")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Scalable GitOps for Kubernetes: render high level definitions into manifests."""
    ctx.obj = {"debug": debug, "quiet": quiet}
    _setup_logging(verbose, quiet)


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env(**overrides)


@main.command()
@click.argument("environments", nargs=-1)
@click.option(
    "-C",
    "--chdir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The HLD root (default: the current folder).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write here instead of generated/<envs>.",
)
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel renders (0: CPU count).")
@click.option("--strict", is_flag=True, help="Environments without any config file are errors.")
@click.option(
    "--hooks",
    type=click.Choice(HOOK_POLICIES),
    help="Which hooks run: all, local (not from fetched definitions) or none.",
)
@click.option("--timeout", type=float, help="Seconds each helm or hook command may take.")
@click.option(
    "--allow-outside-root",
    is_flag=True,
    default=None,
    help="Let local sources point outside the tree.",
)
@click.option("--records", metavar="URL", help="Records store (default: FAB_RECORDS, else SQLite).")
@click.option(
    "--record-required",
    is_flag=True,
    default=None,
    help="Fail when the deployment record cannot be written.",
)
@click.pass_context
def generate(
    ctx: click.Context,
    environments: tuple[str, ...],
    root: Path,
    output: Path | None,
    **options: Any,
) -> None:
    """Render manifests for ENVIRONMENTS (first wins, `common` last) into generated/."""
    from fabrikate.api import generate as run_generate

    settings = _settings(**options)
    result = run_generate(root, environments, output=output, settings=settings)
    _print_diagnostics(result.diagnostics, ctx.obj["quiet"])
    files = result.files
    assert files is not None
    log.info(
        "wrote %s: %d components, %d files changed, %d unchanged, %d removed",
        result.output,
        len(result.components),
        len(files.written),
        len(files.unchanged),
        len(files.removed),
    )


@main.command()
def version() -> None:
    """Print the fab version and the helm it finds."""
    from fabrikate.process import Command, run

    settings = _settings()
    click.echo(f"fab {__version__}")
    try:
        helm = (
            run(Command((settings.helm, "version", "--short"), timeout=30)).check().stdout.strip()
        )
    except FabrikateError as exc:
        helm = f"not found ({exc})"
    click.echo(f"helm {helm} ({settings.helm})")
