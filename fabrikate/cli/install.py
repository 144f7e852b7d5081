"""``fab install`` (fetch every remote component) and ``fab cache`` (inspect or empty the cache)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fabrikate.cli.base import (
    HLD_ROOT,
    OFFLINE,
    PROGRESS,
    Command,
    SubGroup,
    echo_data,
    make_settings,
    mirror_options,
    output_format,
    print_diagnostics,
    run_options,
)
from fabrikate.cli.exits import ERROR

if TYPE_CHECKING:
    from collections.abc import Callable

    from fabrikate.api.outdated import OutdatedResult
    from fabrikate.cli.display import Display
    from fabrikate.sources.installer import InstallResult
from fabrikate.support.text import plural

__all__ = ["cache", "install", "outdated_command", "run", "vendor_command"]


@click.command(cls=Command)
@click.argument(
    "path", required=False, default=Path("."), type=click.Path(file_okay=False, path_type=Path)
)
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel fetches (0: CPU count).")
@OFFLINE
@click.option(
    "--locked", is_flag=True, help="Install exactly fabrikate.lock; fail where it does not fit."
)
@click.option(
    "--update",
    "update",
    multiple=True,
    is_flag=False,
    flag_value="",
    metavar="[NAME]",
    help="Resolve again and relock every component, or each NAME given (repeatable).",
)
@click.option(
    "--from",
    "vendor",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Install from this vendor folder (fab vendor); implies --offline.",
)
@mirror_options
@run_options
@PROGRESS
@click.pass_context
def install(
    ctx: click.Context,
    path: Path,
    progress: str,
    locked: bool,
    update: tuple[str, ...],
    vendor: Path | None,
    **options: Any,
) -> None:
    """Fetch every remote component of the tree at PATH (git, helm, OCI, http), pinned by
    fabrikate.lock, which it writes."""
    from fabrikate.api.install import install as run_install

    if locked and update:
        raise click.UsageError("--locked installs the lock as it is; --update changes it")
    names = [n.strip() for item in update for n in item.split(",") if n.strip()]
    if vendor is not None:
        options.update(vendor=str(vendor), offline=True)
    settings = make_settings(**options)
    result = run(
        ctx,
        progress,
        lambda display: run_install(
            path, settings, progress=display, locked=locked, update=names or bool(update)
        ),
    )
    if result.lock_written and not ctx.obj["quiet"]:
        click.echo(f"fab: wrote {result.lock.path if result.lock else 'fabrikate.lock'}", err=True)
    if result.failures:
        ctx.exit(ERROR)


def run(
    ctx: click.Context, progress: str, work: Callable[[Display], InstallResult]
) -> InstallResult:
    """Run an install with the progress display, then print its warnings, failures and
    summary."""
    from fabrikate.cli.display import Display, summary

    display = Display(sys.stderr, progress, quiet=ctx.obj["quiet"])
    try:
        result = work(display)
    finally:
        display.close()
    print_diagnostics(result.warnings, ctx.obj["quiet"])
    for failure in result.failures:
        click.echo(f"fab: error: {failure}", err=True)
    if not ctx.obj["quiet"] or result.failures:
        click.echo(f"fab: {summary(result)}", err=True)
    return result


@click.command("vendor", cls=Command)
@click.argument("dest", required=False, type=click.Path(file_okay=False, path_type=Path))
@HLD_ROOT
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel fetches (0: CPU count).")
@OFFLINE
@click.option("--locked", is_flag=True, help="Install exactly fabrikate.lock first.")
@mirror_options
@run_options
@PROGRESS
@click.pass_context
def vendor_command(
    ctx: click.Context, dest: Path | None, root: Path, progress: str, locked: bool, **options: Any
) -> None:
    """Install the tree, then copy every remote source it needs into DEST (default: vendor/
    beside the root definition), for `fab install --from DEST` with no network."""
    from fabrikate.api.vendor import vendor

    settings = make_settings(**options)
    done: list[Any] = []

    def work(display: Display) -> InstallResult:
        done.append(vendor(root, dest, settings, progress=display, locked=locked))
        return done[0].install

    result = run(ctx, progress, work)
    exported = done[0].exported if done else None
    if result.failures or exported is None:
        ctx.exit(ERROR)
    if not ctx.obj["quiet"]:
        click.echo(
            f"fab: vendored into {exported.root}: "
            f"{plural(exported.repositories, 'repository', 'repositories')}, "
            f"{plural(exported.charts, 'chart')}, {plural(exported.files, 'file')}",
            err=True,
        )


@click.command("outdated", cls=Command)
@HLD_ROOT
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel checks (0: CPU count).")
@mirror_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    help="Seconds each remote may take to answer (0: no limit).",
)
@output_format("text", "json")
@click.pass_context
def outdated_command(ctx: click.Context, root: Path, output_format: str, **options: Any) -> None:
    """List the components of fabrikate.lock with newer tags, branch heads or chart versions."""
    from fabrikate.api.outdated import outdated

    result = outdated(root, make_settings(**options))
    if output_format == "json":
        echo_data(result.as_json(), "json")
    else:
        _print_outdated(result)
    for failure in result.failures:
        click.echo(f"fab: error: {failure}", err=True)
    if result.failures:
        ctx.exit(ERROR)


def _print_outdated(result: OutdatedResult) -> None:
    from fabrikate.support.redact import printable

    rows = [r for r in result.rows if r.behind]
    if not rows:
        click.echo(f"{plural(len(result.rows), 'component')} checked: all up to date")
        return
    table = [("COMPONENT", "ASKS", "CURRENT", "WANTED", "LATEST", "SOURCE")]
    table += [(r.component, r.asked, r.current, r.wanted, r.latest, r.source) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo(printable("  ".join([*cells, row[-1]])))


@click.group(cls=SubGroup)
def cache() -> None:
    """Inspect or empty the cache: git mirrors, chart archives and rendered output."""


@cache.command("info")
@output_format("text", "json", "yaml")
def cache_info(output_format: str) -> None:
    """Print where the cache is and what it holds."""
    from fabrikate.support.cache import Cache

    settings = make_settings()
    store = Cache.of(settings)
    entries = store.entries()
    remote = None  # the shared render cache: its URL and mode, never its key or token
    if settings.remote_cache:
        remote = {"url": settings.remote_cache, "push": settings.remote_cache_push}
    kinds = {}
    for kind in sorted({e.kind for e in entries}):
        mine = [e for e in entries if e.kind == kind]
        kinds[kind] = {"entries": len(mine), "bytes": sum(e.size for e in mine)}
    if output_format != "text":
        echo_data({"root": str(store.root), "kinds": kinds, "remote": remote}, output_format)
        return
    click.echo(f"cache: {store.root}")
    if remote is not None:
        click.echo(f"remote: {remote['url']} ({'push' if remote['push'] else 'pull only'})")
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

    removed = Cache.of(make_settings()).prune(older_than * 86400)
    size = sum(e.size for e in removed)
    click.echo(f"removed {plural(len(removed), 'entry', 'entries')} ({size / 1e6:.1f} MB)")
