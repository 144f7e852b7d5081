"""``fab generate``: render manifests for environments into ``generated/``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from fabrikate.cli.base import (
    HLD_ROOT,
    PROGRESS,
    Command,
    log,
    make_settings,
    print_diagnostics,
    run_options,
)
from fabrikate.support.text import plural

__all__ = ["generate"]


def _deprecated_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    if value is not None:
        log.warning("generate -o/--output DIR is deprecated: use --output-dir DIR")
    return value


@click.command(cls=Command)
@click.argument("environments", nargs=-1)
@HLD_ROOT
@click.option(
    "--output-dir",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write here instead of generated/<envs>.",
)
@click.option(
    "-o",
    "--output",
    "old_output",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_deprecated_output,
    hidden=True,
)
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel renders (0: CPU count).")
@click.option("--strict", is_flag=True, help="Every warning is an error.")
@run_options
@click.option(
    "--no-cache",
    "render_cache",
    flag_value=False,
    default=None,
    help="Render everything again; ignore the render cache.",
)
@click.option(
    "--force",
    "incremental",
    flag_value=False,
    default=True,
    help="Render even when no input or output changed since the last run.",
)
@click.option("--timings", is_flag=True, help="Print where the time went, per phase and component.")
@PROGRESS
@click.option("--validate", is_flag=True, help="Check every rendered object (offline).")
@click.option("--kube-version", metavar="X.Y", help="Kubernetes version for --validate.")
@click.option("--records", metavar="URL", help="Records store (default: FAB_RECORDS, else SQLite).")
@click.option(
    "--ring", metavar="NAME", help="The ring the record names (default: FAB_RING, the ring map)."
)
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
    old_output: Path | None,
    timings: bool,
    validate: bool,
    kube_version: str | None,
    progress: str,
    **options: Any,
) -> None:
    """Render manifests for ENVIRONMENTS (first wins, `common` last) into generated/."""
    from fabrikate.api.generate import generate as run_generate
    from fabrikate.cli.display import Display
    from fabrikate.errors import ValidationFailed

    options["records"] = options["records"] or ctx.obj["records"]
    settings = make_settings(**options)
    display = Display(sys.stderr, progress, quiet=ctx.obj["quiet"], piped_lines=False)
    try:
        try:
            result = run_generate(
                root,
                environments,
                output=output or old_output,
                settings=settings,
                validate=validate,
                kube_version=kube_version,
                progress=display,
            )
        finally:
            display.close()
    except ValidationFailed as exc:
        _report_generation(exc.result, ctx.obj["quiet"], timings)
        raise
    _report_generation(result, ctx.obj["quiet"], timings)


def _report_generation(result: Any, quiet: bool, timings: bool) -> None:
    """What a generation did, on stderr: its warnings, a summary, timings, validation."""
    print_diagnostics(result.diagnostics, quiet)
    files = result.files
    assert files is not None
    if result.up_to_date:
        log.info(
            "%s is up to date: %s unchanged",
            result.output,
            plural(len(files.unchanged), "file"),
        )
    else:
        log.info(
            "wrote %s: %s, %s changed, %d unchanged, %d removed (%s)",
            result.output,
            plural(len(result.components), "component"),
            plural(len(files.written), "file"),
            len(files.unchanged),
            len(files.removed),
            plural(result.cache_hits, "cached render"),
        )
    if timings:
        _print_timings(result)
    if result.validation is not None:
        print_diagnostics(result.validation.problems)
        if not result.validation.errors:
            log.info("validated %s", plural(result.validation.objects, "object"))


def _print_timings(result: Any) -> None:
    """Phases in run order, then components slowest first, on stderr."""
    for phase, seconds in result.timings.items():
        click.echo(f"{phase:>10}  {seconds * 1000:9.1f} ms", err=True)
    for item in sorted(result.components, key=lambda c: c.seconds, reverse=True):
        click.echo(f"{item.seconds * 1000:9.1f} ms  {item.id}", err=True)
