"""Deployment records: ``fab records ...`` (one record per ``fab generate``) and ``fab
deployment ...`` (Bedrock-style rows that pipeline stages stitch together)."""

from __future__ import annotations

from typing import Any

import click

from fabrikate.cli.base import (
    SubGroup,
    echo_data,
    output_format,
)

__all__ = ["deployment", "records"]


_records_option = click.option(
    "--records", "url", metavar="URL", help="Records store (default: FAB_RECORDS, else SQLite)."
)


def _open_records(url: str | None, *, create: bool = False) -> Any:
    """The records store, from --records or the root's; only writers may create one."""
    from fabrikate.records import open_store

    url = url or click.get_current_context().find_root().obj.get("records")
    store = open_store(url, create=create)
    if store is None:
        raise click.UsageError("recording is off (records store 'none'); pass --records URL")
    return store


def _echo_text(text: str) -> None:
    """Lines of a table or diff: fields come from records of definitions, so each line is made
    printable (JSON output escapes control characters by itself)."""
    from fabrikate.support.redact import printable

    click.echo("\n".join(printable(line) for line in text.splitlines()))


@click.group(cls=SubGroup)
def records() -> None:
    """Deployment records: one per `fab generate` run."""


@records.command("list")
@_records_option
@click.option("--scope", help="Only this scope (partition key).")
@click.option("--env", "environment", help="Only this environment (joined name, e.g. prod).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--since", help="Newer than an age (30m, 2h, 7d) or an ISO date/time.")
@output_format("text", "json", "yaml")
def records_list(
    url: str | None,
    scope: str | None,
    environment: str | None,
    limit: int,
    since: str | None,
    output_format: str,
) -> None:
    """List records, newest first."""
    from fabrikate.records.view import parse_since, table

    after = parse_since(since) if since else None  # a bad --since opens (creates) no store
    with _open_records(url) as store:
        found = store.records(scope=scope, environment=environment, since=after, limit=limit)
    if output_format != "text":
        echo_data(found, output_format)
    elif found:
        _echo_text(table(found))


@records.command("show")
@_records_option
@click.argument("record_id")
@output_format("json", "yaml")
def records_show(url: str | None, record_id: str, output_format: str) -> None:
    """Print one whole record (by id, 12-digit deployment id, or a unique prefix)."""
    with _open_records(url) as store:
        echo_data(store.get(record_id), output_format)


@records.command("diff")
@_records_option
@click.argument("old")
@click.argument("new")
@output_format("text", "json", "yaml")
def records_diff(url: str | None, old: str, new: str, output_format: str) -> None:
    """Which component versions and images changed from OLD to NEW."""
    from fabrikate.records.view import diff, diff_text

    with _open_records(url) as store:
        changes = diff(store.get(old), store.get(new))
    if output_format != "text":
        echo_data(changes, output_format)
    else:
        _echo_text(diff_text(changes))


@records.command("export")
@_records_option
@click.option("--scope", help="Only this scope (partition key).")
@click.option("--env", "environment", help="Only this environment.")
@click.option("--since", help="Newer than an age (30m, 2h, 7d) or an ISO date/time.")
@output_format("json", "jsonl", "yaml")
def records_export(
    url: str | None,
    scope: str | None,
    environment: str | None,
    since: str | None,
    output_format: str,
) -> None:
    """Write every matching record as JSON (an array, or one per line)."""
    import json

    from fabrikate.records.view import parse_since

    after = parse_since(since) if since else None  # a bad --since opens (creates) no store
    with _open_records(url) as store:
        found = store.records(scope=scope, environment=environment, since=after)
    if output_format != "jsonl":
        echo_data(found, output_format)
    else:
        for record in found:
            click.echo(json.dumps(record, sort_keys=True))


@click.group(cls=SubGroup)
def deployment() -> None:
    """Bedrock-style deployment rows that pipeline stages stitch together."""


_scope_option = click.option(
    "-p",
    "--partition-key",
    "--scope",
    "scope",
    envvar="FAB_RECORDS_SCOPE",
    help="Scope (Bedrock partition key); default FAB_RECORDS_SCOPE.",
)


@deployment.command("create")
@_records_option
@_scope_option
@click.option("--p1", help="Image-build (SRC to ACR) CI run id.")
@click.option("--image-tag", help="Image tag built by stage 1.")
@click.option("--commit-id", help="Source repository commit.")
@click.option("--service", help="Service name.")
@click.option("--p2", help="HLD-update (ACR to HLD) CI run id.")
@click.option("--hld-commit-id", help="HLD commit.")
@click.option("--env", help="Ring (the source branch).")
@click.option("--p3", help="Manifest-generation (HLD to manifest) CI run id.")
@click.option("--manifest-commit-id", help="Manifest repository commit.")
@click.option("--pr", help="HLD pull request id.")
@click.option("--repository", help="URL of the calling stage's repository.")
@click.option(
    "--correlation-id",
    envvar="FAB_CORRELATION_ID",
    help="Deployment id to update (wins over the Bedrock heuristics).",
)
def deployment_create(url: str | None, scope: str | None, **values: Any) -> None:
    """Record a pipeline stage; prints the deployment id it wrote."""
    from fabrikate.records import Stage, create
    from fabrikate.records.deployments import check_stage

    if not scope:
        raise click.UsageError("give -p/--partition-key (or FAB_RECORDS_SCOPE)")
    stage = check_stage(scope, Stage(**values))  # bad input opens (creates) no store
    with _open_records(url, create=True) as store:
        click.echo(create(store, scope, stage))


@deployment.command("get")
@_records_option
@_scope_option
@click.option("-b", "--build-id", help="Only rows with this p1.")
@click.option("-c", "--commit-id", help="Only rows with this source commit.")
@click.option("-d", "--deployment-id", help="Only this deployment id.")
@click.option("-i", "--image-tag", help="Only rows with this image tag.")
@click.option("-r", "--ring", help="Only rows of this ring (env).")
@click.option("-s", "--service", help="Only rows of this service.")
@click.option("-t", "--top", type=click.IntRange(min=1), default=50, show_default=True)
@output_format("text", "json", "yaml")
def deployment_get(
    url: str | None, scope: str | None, top: int, output_format: str, **filters: str | None
) -> None:
    """List deployment rows, newest first."""
    from fabrikate.records.deployments import select
    from fabrikate.records.view import rows_table

    with _open_records(url) as store:
        rows = select(store.rows(scope), **filters)[:top]
    if output_format != "text":
        echo_data(
            [
                {"PartitionKey": r.scope, "RowKey": r.row_key, **r.fields, "updated": r.updated}
                for r in rows
            ],
            output_format,
        )
    elif rows:
        _echo_text(rows_table(rows))
