"""``fab dashboard``: serve the deployment view; ``fab dashboard export DIR``: write it as a
static site.

Secrets are read from a file or the environment, never from the command line (where any user
of the machine can read them in the process list)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fabrikate.cli.base import SubGroup
from fabrikate.cli.records import manifest_repo_option

__all__ = ["dashboard"]

_SECRETS = (
    ("auth_token", "auth token", "DASHBOARD_TOKEN", "readers' bearer token"),
    ("write_token", "write token", "DASHBOARD_WRITE_TOKEN", "token to POST marks"),
    ("ingest_secret", "ingest secret", "DASHBOARD_INGEST_SECRET", "Flux/Argo CD shared secret"),
)


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _records(url: str | None) -> str | None:
    return url or click.get_current_context().find_root().obj.get("records")


def _secret_options(command: Any) -> Any:
    for field, _, env, what in reversed(_SECRETS):
        flag = field.replace("_", "-")
        command = click.option(
            f"--{flag}-file",
            f"{field}_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"File holding the {what} (else FAB_{env}).",
        )(command)
    return command


def _settings(url: str | None, **values: Any) -> Any:
    """The dashboard settings from the options; secrets from their files or FAB_* variables."""
    from fabrikate.dashboard import require

    require()
    from fabrikate.dashboard.settings import DashboardSettings, Secret, read_secret

    def secret(field: str) -> Secret | None:
        _, name, env, _ = next(s for s in _SECRETS if s[0] == field)
        return read_secret(name, values.pop(f"{field}_file"), env)

    return DashboardSettings(
        records=_records(url),
        auth_token=secret("auth_token"),
        write_token=secret("write_token"),
        ingest_secret=secret("ingest_secret"),
        **values,
    )


@click.group(cls=SubGroup, invoke_without_command=True)
@click.option(
    "--records", "url", metavar="URL", help="Records store (default: FAB_RECORDS, else SQLite)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=4040, show_default=True)
@_secret_options
@manifest_repo_option
@click.option("--trusted-proxy", metavar="CIDR", help="An OIDC proxy's address or range.")
@click.option("--user-header", metavar="NAME", help="The proxy's user header (X-Forwarded-User).")
@click.pass_context
def dashboard(ctx: click.Context, url: str | None, **values: Any) -> None:
    """Serve the deployment view: what runs where, journeys, compare, DORA metrics."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(url, **values)
    import uvicorn

    from fabrikate.dashboard.app import create_app
    from fabrikate.support.heap import settle

    app = create_app(settings)
    settle()  # what start-up made lives as long as the server
    click.echo(f"fab: dashboard on http://{settings.host}:{settings.port}/", err=True)
    if not _loopback(settings.host) and settings.auth_token is None and not settings.trusted_proxy:
        click.echo(
            f"fab: warning: anyone who reaches {settings.host} can read the records "
            "(give --auth-token-file or --trusted-proxy)",
            err=True,
        )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=3,
        server_header=False,
    )


@dashboard.command("export")
@click.option(
    "--records", "url", metavar="URL", help="Records store (default: FAB_RECORDS, else SQLite)."
)
@click.option("--max-pages", type=click.IntRange(min=1), default=5000, show_default=True)
@manifest_repo_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def export_command(
    ctx: click.Context, url: str | None, max_pages: int, manifest_repo: Path | None, folder: Path
) -> None:
    """Write the pages to FOLDER as a static site (relative links, no server needed)."""
    from fabrikate.dashboard import require

    url = url or (ctx.parent.params.get("url") if ctx.parent else None)

    require()
    from fabrikate.dashboard.export import export_site
    from fabrikate.records import open_store

    store = open_store(_records(url), create=False)
    if store is None:
        raise click.UsageError("recording is off (records store 'none'); pass --records URL")
    with store:
        done = export_site(store, folder, max_pages=max_pages, manifest_repo=manifest_repo)
    note = f" ({done.skipped} linked pages not written)" if done.skipped else ""
    click.echo(f"fab: wrote {done.pages} pages to {done.folder}{note}", err=True)
