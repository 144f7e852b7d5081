"""Deployment records: ``fab records ...`` (one record per ``fab generate``) and ``fab
deployment ...`` (Bedrock-style rows that pipeline stages stitch together)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fabrikate.cli.base import (
    SubGroup,
    echo_data,
    output_format,
)

if TYPE_CHECKING:
    from fabrikate.records.filters import Filters

__all__ = [
    "deployment",
    "echo_text",
    "filter_options",
    "manifest_repo_option",
    "open_records",
    "records",
    "records_option",
]


records_option = click.option(
    "--records", "url", metavar="URL", help="Records store (default: FAB_RECORDS, else SQLite)."
)
manifest_repo_option = click.option(
    "--manifest-repo",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="PATH",
    help="A clone of the manifest repository: a cluster at a later commit also runs the "
    "records before it (superseded).",
)


def open_records(url: str | None, *, create: bool = False, write: bool = False) -> Any:
    """The records store, from --records or the root's: read-only, unless ``write`` (an
    existing store) or ``create`` (one made when missing)."""
    from fabrikate.records import open_store

    url = url or click.get_current_context().find_root().obj.get("records")
    store = open_store(url, create=create)
    if store is None:
        raise click.UsageError("recording is off (records store 'none'); pass --records URL")
    if write and not create:
        with store:  # a store that is not there fails here, read-only, before anything is made
            store.records(limit=1)
        store = open_store(url, create=True)
    return store


def echo_text(text: str) -> None:
    """Lines of a table or diff: fields come from records of definitions, so each line is made
    printable (JSON output escapes control characters by itself)."""
    from fabrikate.support.redact import printable

    click.echo("\n".join(printable(line) for line in text.splitlines()))


@click.group(cls=SubGroup)
def records() -> None:
    """Deployment records: one per `fab generate` run."""


# The filters of the query layer (records/queries.py Filters), by the same names as its URL
# parameters: (option names, filter name, help).
_FILTERS = (
    (("--scope",), "scope", "Only this scope (partition key)."),
    (("--service",), "service", "Only this service (or records with a component of that name)."),
    (("--ring",), "ring", "Only this ring."),
    (("--env", "--environment"), "environment", "Only this environment (joined name, e.g. prod)."),
    (("--cluster",), "cluster", "Only what this cluster reported events for."),
    (("--author",), "author", "HLD commit author or merger (substring, any case)."),
    (("--outcome",), "outcome", "succeeded, failed or canceled."),
    (("--type",), "type", "pipeline (a CI run), manual (no CI) or pr (PR validation)."),
    (("--keyword",), "keyword", "Anywhere in the record (substring, any case)."),
    (("--since",), "since", "Newer than an age (30m, 2h, 7d) or an ISO date/time."),
    (("--until",), "until", "Older than an age (30m, 2h, 7d) or an ISO date/time."),
    (("--image",), "image", "With an image whose name contains this."),
    (("--component",), "component", "With a component of this name."),
    (("--commit",), "commit", "HLD, source or manifest commit (a prefix)."),
)


def filter_options(*names: str) -> Any:
    """The filter options ``names`` (all when none), given to the command as ``filters``; bad
    values are an error before any store is opened."""
    chosen = [f for f in _FILTERS if not names or f[1] in names]

    def decorate(command: Any) -> Any:
        @functools.wraps(command)
        def run(**values: Any) -> Any:
            from fabrikate.records.filters import Filters

            given = {name: values.pop(name) for _, name, _ in chosen}
            filters = Filters.from_params({k: v for k, v in given.items() if v is not None})
            return command(filters=filters, **values)

        for opts, name, text in reversed(chosen):
            run = click.option(*opts, name, help=text)(run)
        return run

    return decorate


@records.command("list")
@records_option
@filter_options()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--cursor", help="Where the previous page ended (its 'next').")
@click.option("--all", "show_all", is_flag=True, help="Also the runs that changed nothing.")
@output_format("text", "json", "yaml")
def records_list(
    url: str | None,
    filters: Filters,
    limit: int,
    cursor: str | None,
    show_all: bool,
    output_format: str,
) -> None:
    """List deployments, newest first; runs that changed nothing fold into the one before."""
    from fabrikate.records.queries import deployments
    from fabrikate.records.view import deployments_table

    with open_records(url) as store:
        page = deployments(store, filters, cursor=cursor, limit=limit, collapse=not show_all)
    if output_format != "text":
        echo_data(page.to_data(), output_format)
        return
    echo_text(deployments_table(page.items, (page.extra or {}).get("collapsed", 0)))
    if page.next:
        click.echo(f"more: --cursor {page.next}")


@records.command("show")
@records_option
@click.argument("record_id")
@output_format("json", "yaml")
def records_show(url: str | None, record_id: str, output_format: str) -> None:
    """Print one whole record (by id, 12-digit deployment id, or a unique prefix)."""
    with open_records(url) as store:
        echo_data(store.get(record_id), output_format)


@records.command("log")
@records_option
@click.option("--image", help="Follow the images whose name contains this.")
@click.option("--service", help="Follow this service's version.")
@click.option("--component", help="Follow this component's version.")
@filter_options("scope", "environment", "ring", "since", "until")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--cursor", help="Where the previous answer ended (its 'next').")
@output_format("text", "json", "yaml")
def records_log(
    url: str | None,
    image: str | None,
    service: str | None,
    component: str | None,
    filters: Filters,
    limit: int,
    cursor: str | None,
    output_format: str,
) -> None:
    """Who changed an image, service or component, and when (the newest --limit changes)."""
    from fabrikate.records.queries import version_log
    from fabrikate.records.view import log_more, log_table

    subject = {"image": image, "service": service, "component": component}
    given = {k: v for k, v in subject.items() if v is not None}
    if len(given) != 1:
        raise click.UsageError("give one of --image, --service or --component")
    with open_records(url) as store:
        page = version_log(store, filters, given, cursor=cursor, limit=limit)
    if output_format != "text":
        extra = page.extra or {}
        data = {"subject": given, "changes": page.items, "next": page.next, **extra}
        echo_data(data, output_format)
        return
    echo_text(log_table(page.items))
    if page.next:
        click.echo(log_more(page.to_data()))


@records.command("diff")
@records_option
@click.argument("a")
@click.argument("b")
@click.option("--service", help="The service to compare when A and B hold several.")
@output_format("text", "json", "yaml")
def records_diff(url: str | None, a: str, b: str, service: str | None, output_format: str) -> None:
    """What changed from A to B: component versions, images and objects. Each is a record id
    (or prefix), or an environment or ring name for its latest record (two rings or two
    environments first; env:NAME or ring:NAME says which)."""
    from fabrikate.records.queries import CLI_SPELLING, compare
    from fabrikate.records.view import compare_text

    with open_records(url) as store:
        comparison = compare(store, a, b, service=service, spelling=CLI_SPELLING)
    if output_format != "text":
        echo_data(comparison, output_format)
    else:
        echo_text(compare_text(comparison))


@records.command("mark")
@records_option
@click.argument("record_id")
@click.option("--failed", "kind", flag_value="failed", help="The deployment failed.")
@click.option("--hotfix", "kind", flag_value="hotfix", help="It was a hotfix.")
@click.option("--rollback", "kind", flag_value="rollback", help="It rolled a change back.")
@click.option("--note", default="", help="Why (kept with the mark).")
@click.option("--by", help="Who marks it (default: the login name).")
def records_mark(
    url: str | None, record_id: str, kind: str | None, note: str, by: str | None
) -> None:
    """Mark a record failed, hotfix or rollback (the DORA failure and rework rates count
    marks)."""
    from fabrikate.api.records import mark_record

    if kind is None:
        raise click.UsageError("give one of --failed, --hotfix or --rollback")
    with open_records(url, write=True) as store:
        mark = mark_record(store, record_id, kind, note=note, by=by or _login())
    echo_text(f"marked {mark.record_id} {mark.kind}" + (f": {mark.note}" if mark.note else ""))


def _login() -> str | None:
    """The login name, if the system knows one."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        return None


@records.command("prune")
@records_option
@click.option(
    "--older-than",
    required=True,
    metavar="AGE",
    help="Remove records started before this age (180d, 26w) or ISO date.",
)
@click.option(
    "--keep-latest-per-environment",
    is_flag=True,
    help="Keep the newest record of each environment, however old.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@output_format("text", "json", "yaml")
def records_prune(
    url: str | None,
    older_than: str,
    keep_latest_per_environment: bool,
    dry_run: bool,
    output_format: str,
) -> None:
    """Remove old records, printing each one and the count (never silent)."""
    from fabrikate.api.records import prune_records
    from fabrikate.records.view import parse_since, pruned_text

    parse_since(older_than, option="--older-than")  # a bad age opens no store
    with open_records(url, write=not dry_run) as store:
        pruned = prune_records(
            store,
            older_than,
            keep_latest_per_environment=keep_latest_per_environment,
            dry_run=dry_run,
        )
    if output_format != "text":
        echo_data(pruned.to_data(), output_format)
    else:
        echo_text(pruned_text(pruned.to_data()))


@records.command("export")
@records_option
@filter_options(*(name for _, name, _ in _FILTERS if name != "cluster"))  # the store's filters
@output_format("json", "jsonl", "yaml")
def records_export(url: str | None, filters: Filters, output_format: str) -> None:
    """Write every matching record as JSON (an array, or one per line)."""
    import json

    with open_records(url) as store:
        found = store.query(filters.query())
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
@records_option
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
    with open_records(url, create=True) as store:
        click.echo(create(store, scope, stage))


@deployment.command("get")
@records_option
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

    with open_records(url) as store:
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
        echo_text(rows_table(rows))
