"""Authoring and checking an HLD: ``fab init``, ``add``, ``remove``, ``set``, ``validate``,
``schema`` and ``find``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from fabrikate.cli.base import (
    Command,
    echo_data,
    log,
    make_settings,
    output_format,
)
from fabrikate.cli.exits import ERROR
from fabrikate.support.text import plural

CI_SYSTEMS = ("azure", "github", "gitlab")  # fab init --ci (scaffold.CI_FILES)

__all__ = [
    "add",
    "find_command",
    "init_command",
    "remove",
    "schema_command",
    "set_command",
    "validate_command",
]


@click.command(name="init", cls=Command)
@click.argument(
    "path", required=False, default=Path("."), type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--name", help="The root component's name (default: the folder's).")
@click.option(
    "-e",
    "--env",
    "environments",
    multiple=True,
    metavar="ENV",
    help="A named environment (repeatable; default: dev and prod).",
)
@click.option("--ci", type=click.Choice(sorted(CI_SYSTEMS)), help="Also write a CI pipeline.")
@click.option("--branch", default="main", show_default=True, help="The branch that deploys.")
def init_command(
    path: Path, name: str | None, environments: tuple[str, ...], ci: str | None, branch: str
) -> None:
    """Start a new HLD at PATH (default: .): component, config, ring map, .gitignore, hooks."""
    from fabrikate.api.scaffold import init

    result = init(
        path, name=name, environments=environments or ("dev", "prod"), ci=ci, branch=branch
    )
    for rel in result.written:
        log.info("wrote %s", path / rel)
    for rel in result.extended:
        log.info("added fab's entries to %s", path / rel)
    for rel in result.skipped:
        log.warning("%s exists; left as it is", path / rel)


_CHDIR = click.option(
    "-C",
    "--chdir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The component folder to edit (default: the current folder).",
)


def _wrote(paths: list[Path]) -> None:
    for path in paths:
        log.info("wrote %s", path)


@click.command(cls=Command)
@click.argument("name")
@click.option("--source", help="Git URL, chart repository URL, oci:// reference or local folder.")
@click.option(
    "--type", "kind", type=click.Choice(["component", "helm", "static"]), help="Default: component."
)
@click.option("--method", type=click.Choice(["local", "git", "helm", "http"]), help="Default: git.")
@click.option("--path", help="Folder inside the source, or the chart name.")
@click.option("--version", help="git: commit or tag; helm: chart version.")
@click.option("--branch", help="git: branch (default: the remote's default branch).")
@_CHDIR
def add(name: str, directory: Path, kind: str | None, **fields: str | None) -> None:
    """Add subcomponent NAME to component.yaml, or update the given fields of it."""
    from fabrikate.api.edit import add_subcomponent

    _wrote(add_subcomponent(directory, name, type=kind, **fields))


@click.command(cls=Command)
@click.argument("name")
@click.option("--prune-config", is_flag=True, help="Also remove its entries from config/*.")
@_CHDIR
def remove(name: str, directory: Path, prune_config: bool) -> None:
    """Remove subcomponent NAME from component.yaml."""
    from fabrikate.api.edit import remove_subcomponent

    _wrote(remove_subcomponent(directory, name, prune_config=prune_config))


@click.command(name="set", cls=Command)
@click.argument("pairs", nargs=-1, metavar="KEY.PATH=VALUE...")
@click.option("-e", "--environment", default="common", show_default=True)
@click.option("-s", "--subcomponent", default="", help="Dotted subcomponent path, e.g. a.b.")
@click.option("--no-new-config-keys", is_flag=True, help="Only change keys that exist.")
@click.option(
    "-f",
    "--file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A YAML file of values to merge in (before the KEY=VALUE pairs).",
)
@click.option("--string", is_flag=True, help="Keep every value a string.")
@click.option("--json", "json_values", is_flag=True, help="Read every value as JSON.")
@click.option("--namespace", help="Set the namespace of the component (or -s subcomponent).")
@click.option(
    "--inject-namespace/--no-inject-namespace",
    default=None,
    help="Set injectNamespace of the component (or -s subcomponent).",
)
@click.option(
    "--disable/--enable",
    "disabled",
    default=None,
    help="Set disabled: true (or false) of the -s subcomponent.",
)
@_CHDIR
def set_command(pairs: tuple[str, ...], directory: Path, **options: Any) -> None:
    """Set config values in config/<environment>.yaml.

    Values are typed as helm --set types them: integers, true/false and null are typed,
    everything else (1.10, 0777, 1e3, yes) stays the string typed.
    """
    from fabrikate.api.edit import set_config

    options["no_new_keys"] = options.pop("no_new_config_keys")
    _wrote([set_config(directory, pairs, **options)])


@click.command(name="validate", cls=Command)
@click.argument("args", nargs=-1, metavar="[PATH] [ENV]...")
@click.option("--manifests", is_flag=True, help="Also render ENVs and check every object.")
@click.option("--kube-version", metavar="X.Y", help="Kubernetes schemas to check against.")
@output_format("text", "json", "yaml")
@click.option("--strict", is_flag=True, help="Every warning is an error.")
@click.option("--allow-outside-root", is_flag=True, default=None)
def validate_command(
    args: tuple[str, ...],
    manifests: bool,
    kube_version: str | None,
    output_format: str,
    strict: bool,
    allow_outside_root: bool | None,
) -> None:
    """Check the HLD at PATH (default: .) for ENVs; print every problem; exit 1 if any."""
    from fabrikate.api.validate import validate

    root = Path(".")
    if args and ("/" in args[0] or Path(args[0]).is_dir()):
        root, args = Path(args[0]), args[1:]
    settings = make_settings(allow_outside_root=allow_outside_root, strict=strict)
    report = validate(root, args, manifests=manifests, kube_version=kube_version, settings=settings)
    if output_format != "text":
        echo_data(report.as_json(), output_format)
    else:
        for item in report.diagnostics:
            click.echo(f"{item} ({item.level})" if item.level != "error" else str(item))
        checked = plural(report.files, "file") + (
            f", {plural(report.objects, 'object')}" if manifests else ""
        )
        summary = f"{plural(len(report.errors), 'error')} in {checked}"
        if report.not_installed:
            summary += f"; not installed, not checked: {', '.join(report.not_installed)}"
        click.echo(f"fab: {summary}" if report.errors else f"fab: ok, {checked}", err=True)
    if not report.ok:
        sys.exit(ERROR)


@click.command(name="schema", cls=Command)
@click.argument("kind", type=click.Choice(["component", "config"]))
@output_format("json", "yaml")
def schema_command(kind: str, output_format: str) -> None:
    """Print the JSON Schema of component or config files."""
    from fabrikate.hld.model import schema

    echo_data(schema(kind), output_format)


@click.command(name="find", cls=Command)
@click.argument("keyword")
@click.option("--repo", help="Definitions repository (default: microsoft/fabrikate-definitions).")
@click.option("--offline", is_flag=True, default=None, help="Search the cached copy only.")
@output_format("text", "json", "yaml")
def find_command(keyword: str, repo: str | None, offline: bool | None, output_format: str) -> None:
    """List the definitions in a definitions repository that mention KEYWORD."""
    from fabrikate.api.find import DEFAULT_REPOSITORY, find
    from fabrikate.support.redact import printable

    found = find(keyword, repo or DEFAULT_REPOSITORY, settings=make_settings(offline=offline))
    if output_format != "text":
        echo_data([{"path": d.path, "description": d.description} for d in found], output_format)
        return
    if not found:
        log.info("no definitions mention %r", keyword)
    width = max((len(d.path) for d in found), default=0)
    for definition in found:
        line = f"{definition.path:<{width}}  {definition.description}".rstrip()
        click.echo(printable(line))  # a fetched README's words
