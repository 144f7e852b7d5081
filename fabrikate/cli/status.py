"""``fab status``: what runs where, as a table in the terminal (the dashboard's matrix)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fabrikate.cli.base import Command, echo_data, output_format
from fabrikate.cli.records import (
    echo_text,
    filter_options,
    manifest_repo_option,
    open_records,
    records_option,
)

if TYPE_CHECKING:
    from pathlib import Path

    from fabrikate.records.filters import Filters

__all__ = ["status"]


@click.command(cls=Command)
@records_option
# The filters the matrix applies (it reads the latest record of each group, not a history).
@filter_options("scope", "service", "ring", "environment", "cluster", "since", "image", "component")
@click.option(
    "--pivot",
    type=click.Choice(["ring", "environment", "cluster"]),
    default="ring",
    show_default=True,
    help="What the columns are.",
)
@manifest_repo_option
@output_format("text", "json", "yaml")
def status(
    url: str | None,
    filters: Filters,
    pivot: str,
    manifest_repo: Path | None,
    output_format: str,
) -> None:
    """What version of each service runs in each ring, environment and cluster."""
    from fabrikate.records.gitinfo import Ancestry
    from fabrikate.records.queries import matrix
    from fabrikate.records.view import matrix_table

    ancestry = Ancestry.open(manifest_repo) if manifest_repo else None  # before any store
    with open_records(url) as store:
        found = matrix(store, filters, pivot=pivot, ancestry=ancestry)
    if output_format != "text":
        echo_data(found, output_format)
    else:
        echo_text(matrix_table(found))
