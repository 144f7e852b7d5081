"""``fab install`` (fetch every remote component) and ``fab cache`` (inspect or empty the cache)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from fabrikate.cli.base import (
    PROGRESS,
    Command,
    SubGroup,
    echo_data,
    make_settings,
    output_format,
    print_diagnostics,
    run_options,
)
from fabrikate.cli.exits import ERROR
from fabrikate.support.text import plural

__all__ = ["cache", "install"]


@click.command(cls=Command)
@click.argument(
    "path", required=False, default=Path("."), type=click.Path(file_okay=False, path_type=Path)
)
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel fetches (0: CPU count).")
@click.option(
    "--offline", is_flag=True, default=None, help="Use only the cache; never the network."
)
@run_options
@PROGRESS
@click.pass_context
def install(ctx: click.Context, path: Path, progress: str, **options: Any) -> None:
    """Fetch every remote component of the tree at PATH (git, helm, OCI, http)."""
    from fabrikate.api.install import install as run_install
    from fabrikate.cli.display import Display, summary

    display = Display(sys.stderr, progress, quiet=ctx.obj["quiet"])
    try:
        result = run_install(path, make_settings(**options), progress=display)
    finally:
        display.close()
    print_diagnostics(result.warnings, ctx.obj["quiet"])
    for failure in result.failures:
        click.echo(f"fab: error: {failure}", err=True)
    if not ctx.obj["quiet"] or result.failures:
        click.echo(f"fab: {summary(result)}", err=True)
    if result.failures:
        ctx.exit(ERROR)


@click.group(cls=SubGroup)
def cache() -> None:
    """Inspect or empty the cache: git mirrors, chart archives and rendered output."""


@cache.command("info")
@output_format("text", "json", "yaml")
def cache_info(output_format: str) -> None:
    """Print where the cache is and what it holds."""
    from fabrikate.support.cache import Cache

    store = Cache.default()
    entries = store.entries()
    kinds = {}
    for kind in sorted({e.kind for e in entries}):
        mine = [e for e in entries if e.kind == kind]
        kinds[kind] = {"entries": len(mine), "bytes": sum(e.size for e in mine)}
    if output_format != "text":
        echo_data({"root": str(store.root), "kinds": kinds}, output_format)
        return
    click.echo(f"cache: {store.root}")
    for kind, found in kinds.items():
        click.echo(
            f"{kind}: {plural(found['entries'], 'entry', 'entries')}, {found['bytes'] / 1e6:.1f} MB"
        )
    if not entries:
        click.echo("empty")


@cache.command("prune")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Only remove entries unused for this many days (default: remove all).",
)
def cache_prune(older_than: float) -> None:
    """Remove cached entries (all, or those unused for --older-than days)."""
    from fabrikate.support.cache import Cache

    removed = Cache.default().prune(older_than * 86400)
    size = sum(e.size for e in removed)
    click.echo(f"removed {plural(len(removed), 'entry', 'entries')} ({size / 1e6:.1f} MB)")
