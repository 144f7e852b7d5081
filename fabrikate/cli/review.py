"""``fab diff`` (what a change does to the rendered objects) and ``fab explain`` (which config
layer set a value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fabrikate.cli.base import (
    HLD_ROOT,
    Command,
    echo_data,
    make_settings,
    output_format,
    print_diagnostics,
    run_options,
)
from fabrikate.cli.exits import CHANGED, USAGE

__all__ = ["diff_command", "explain_command"]


@click.command(name="diff", cls=Command)
@click.argument("environments", nargs=-1)
@HLD_ROOT
@click.option(
    "--base",
    metavar="REF",
    help="Compare from this revision (default: the merge base with the default branch).",
)
@click.option("--head", metavar="REF", help="Compare to this revision (default: the working tree).")
@click.option(
    "-e",
    "--envs",
    "sets",
    multiple=True,
    metavar="ENV[,ENV...]",
    help="Also compare this set of environments (first wins); repeatable.",
)
@output_format("text", "json", "markdown")
@click.option(
    "--exit-code", is_flag=True, help="Exit 1 when something changed, 0 when not, 2 on error."
)
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel renders (0: CPU count).")
@click.option("--offline", is_flag=True, default=None, help="Install the base from the cache only.")
@run_options
@click.pass_context
def diff_command(
    ctx: click.Context,
    environments: tuple[str, ...],
    root: Path,
    base: str | None,
    head: str | None,
    sets: tuple[str, ...],
    output_format: str,
    exit_code: bool,
    **options: Any,
) -> None:
    """Show how the objects rendered for ENVIRONMENTS change from --base to --head."""
    from fabrikate.api.diff import as_markdown, as_text, diff

    if exit_code:
        ctx.obj["error_code"] = USAGE  # 1 says "changed"
    chosen = [environments] if environments or not sets else []
    chosen += [tuple(e for e in item.split(",") if e) for item in sets]
    result = diff(
        root, base=base, head=head, environment_sets=chosen, settings=make_settings(**options)
    )
    print_diagnostics(result.diagnostics, ctx.obj["quiet"])
    if output_format == "json":
        echo_data(result.as_json(), "json")
    elif output_format == "markdown":
        click.echo(as_markdown(result), nl=False)
    else:
        click.echo(as_text(result))
    if exit_code and result.changed:
        ctx.exit(CHANGED)


@click.command(name="explain", cls=Command)
@click.argument("environment", metavar="ENV[,ENV...]")
@click.argument("component")
@click.argument("key", metavar="KEY.PATH")
@HLD_ROOT
@output_format("text", "json")
@click.option("--allow-outside-root", is_flag=True, default=None)
def explain_command(
    environment: str,
    component: str,
    key: str,
    root: Path,
    output_format: str,
    allow_outside_root: bool | None,
) -> None:
    """Show the value of config KEY.PATH of COMPONENT for ENV, and every layer that set it."""
    from fabrikate.api.explain import as_text, explain

    environments = [e for e in environment.split(",") if e]
    settings = make_settings(allow_outside_root=allow_outside_root)
    found = explain(root, environments, component, key, settings=settings)
    if output_format == "json":
        echo_data(found.as_json(), "json")
    else:
        click.echo(as_text(found))
