"""The ``fab`` command: a thin click shell over the library API.

Commands parse arguments, call ``fabrikate.api`` and print. Logs and warnings go to stderr,
data to stdout. Exit codes: 0 success, 1 a user or input error, 2 a usage error, 3 a bug,
130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fabrikate._version import __version__
from fabrikate.cli.display import MODES as PROGRESS_MODES
from fabrikate.settings import HOOK_POLICIES
from fabrikate.support.text import plural

if TYPE_CHECKING:
    import logging

    from fabrikate.errors import Diagnostic
    from fabrikate.settings import Settings

CI_SYSTEMS = ("azure", "github", "gitlab")  # fab init --ci (scaffold.CI_FILES)

# Everything else is imported where it is used, so `fab --version` and `fab --help` start fast.
SIGINT, SIGTERM = 2, 15


class _Log:
    """The ``fabrikate`` logger, imported on first use."""

    def __getattr__(self, name: str) -> Any:
        import logging

        return getattr(logging.getLogger("fabrikate"), name)


log: logging.Logger = _Log()  # type: ignore[assignment]


# -v, -q, --debug and --records work before the subcommand and after it: every command (and
# group) below the root takes them too, adding to what the root was given.
_GLOBAL_HELP = {
    "verbose": "Log more (debug): each command run, hook output.",
    "quiet": "Log only warnings and errors.",
    "debug": "Show tracebacks.",
    "records": "Records store (default: FAB_RECORDS, else SQLite).",
}


def _global_options(hidden: bool) -> list[click.Option]:
    """The global options, as the root takes them or (``hidden``) as every command takes them."""
    keep = {"expose_value": False, "callback": _set_global} if hidden else {}
    return [
        click.Option(
            ["-v", "--verbose"], count=True, help=_GLOBAL_HELP["verbose"], hidden=hidden, **keep
        ),
        click.Option(
            ["-q", "--quiet"], is_flag=True, help=_GLOBAL_HELP["quiet"], hidden=hidden, **keep
        ),
        click.Option(["--debug"], is_flag=True, help=_GLOBAL_HELP["debug"], hidden=hidden, **keep),
        click.Option(
            ["--records", "records"],
            metavar="URL",
            help=_GLOBAL_HELP["records"],
            hidden=hidden,
            **keep,
        ),
    ]


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the subcommand: add it to the root's, and apply it."""
    if not value or ctx.resilient_parsing:
        return
    obj = ctx.find_root().obj
    if obj is None:  # --help of a subcommand: the root's callback has not run
        return
    if param.name == "verbose":
        obj["verbose"] += value
    else:
        obj[param.name or ""] = value
    _setup_logging(obj["verbose"], obj["quiet"])


def _add_globals(command: click.Command) -> None:
    """Give ``command`` the global options it does not define itself (``--records`` of the
    records commands is theirs, with the root's as its default)."""
    taken = {opt for p in command.params for opt in p.opts}
    command.params.extend(o for o in _global_options(hidden=True) if not set(o.opts) & taken)


class _Command(click.Command):
    """A command that also takes the global options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_globals(self)


class _SubGroup(click.Group):
    """A group below the root (cache, records, deployment): its commands take the global
    options too."""

    command_class = _Command
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_globals(self)


class _Group(click.Group):
    """The root group: one error line and an exit code for everything below it."""

    command_class = _Command
    group_class = _SubGroup

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except KeyboardInterrupt:  # arrived outside a command, e.g. while click was closing
            sys.exit(128 + _SIGNAL.get("signum", SIGINT))

    def invoke(self, ctx: click.Context) -> Any:
        from fabrikate.errors import FabrikateError, Failures, Interrupted

        try:
            return super().invoke(ctx)
        except FabrikateError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                _traceback()
            for each in exc.errors if isinstance(exc, Failures) else ():
                click.echo(f"fab: error: {each}", err=True)
            click.echo(f"fab: error: {exc}", err=True)
            ctx.exit(ctx.obj.get("error_code", 1) if ctx.obj else 1)
        except (KeyboardInterrupt, Interrupted):
            click.echo("fab: interrupted", err=True)
            ctx.exit(128 + _SIGNAL.get("signum", SIGINT))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: one line, and the traceback where it can be read
            if ctx.obj and ctx.obj.get("debug"):
                _traceback()
            click.echo(
                f"fab: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True
            )
            ctx.exit(3)


_CONTEXT = {"help_option_names": ["-h", "--help"]}


# -- output formats: -o/--output FORMAT on every command that prints data ----------------------

# Names earlier releases used for the text format.
_FORMAT_ALIASES = {"table": "text", "normal": "text"}


class _Format(click.Choice):
    """A format choice that also takes the old names of ``text``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        alias = _FORMAT_ALIASES.get(str(value).lower())
        if alias in self.choices:
            value = alias
        return super().convert(value, param, ctx)


def output_format(*formats: str, default: str | None = None) -> Any:
    """``-o/--output FORMAT``: how a command prints its data (the first format by default)."""
    return click.option(
        "-o",
        "--output",
        "output_format",
        type=_Format(formats, case_sensitive=False),
        default=default or formats[0],
        show_default=True,
        help="Output format.",
    )


def _echo_data(data: Any, output_format: str) -> None:
    """Print plain data as JSON or YAML."""
    if output_format == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=True, allow_unicode=True), nl=False)
    else:
        import json

        click.echo(json.dumps(data, indent=2, sort_keys=True))


def _traceback() -> None:
    import traceback

    traceback.print_exc()


_SIGNAL: dict[str, int] = {}


def _setup_logging(verbose: int, quiet: bool) -> None:
    import logging

    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    from fabrikate.support.redact import printable

    class Printable(logging.Formatter):
        """Log lines hold names, sources and tool output: no control character gets through."""

        def format(self, record: logging.LogRecord) -> str:
            return printable(super().format(record))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Printable("fab: %(message)s"))
    logger = logging.getLogger("fabrikate")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def _print_diagnostics(diagnostics: list[Diagnostic], quiet: bool = False) -> None:
    for item in diagnostics:
        if item.level == "error" or not quiet:
            click.echo(f"fab: {item.level}: {item}", err=True)


@click.group(cls=_Group, params=_global_options(hidden=False), context_settings=_CONTEXT)
@click.version_option(__version__, "--version", prog_name="fab", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, debug: bool, records: str | None) -> None:
    """Scalable GitOps for Kubernetes: render high level definitions into manifests."""
    import signal
    import threading

    # Imported here, not in the handler: a signal can come while a module is half imported.
    from fabrikate.support.interrupts import stop_all

    def on_signal(signum: int, frame: Any) -> None:
        """Stop every child process; the run then stops at its next safe point."""
        _SIGNAL.setdefault("signum", signum)
        stop_all()

    ctx.obj = {"debug": debug, "quiet": quiet, "verbose": verbose, "records": records}
    _setup_logging(verbose, quiet)
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        ctx.call_on_close(lambda: [signal.signal(s, h) for s, h in previous.items()])


def _run_options(command: Any) -> Any:
    """The options of every command that runs helm, git or hooks on a tree."""
    options = [
        click.option(
            "--hooks",
            type=click.Choice(HOOK_POLICIES),
            help="Which hooks run: all, local (not from fetched definitions) or none.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0),
            help="Seconds each helm, git or hook command may take (0: no limit).",
        ),
        click.option(
            "--allow-outside-root",
            is_flag=True,
            default=None,
            help="Let local sources point outside the tree.",
        ),
        click.option(
            "--wait",
            is_flag=True,
            default=None,
            help="Wait for another fab run on this tree to finish.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_PROGRESS = click.option(
    "--progress",
    type=click.Choice(PROGRESS_MODES),
    default="auto",
    show_default=True,
    help="A status line (auto: on a terminal), log lines (plain), or nothing.",
)


def _settings(**overrides: Any) -> Settings:
    from fabrikate.settings import Settings

    return Settings.from_env(**overrides)


_HLD_ROOT = click.option(
    "-C",
    "--chdir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The HLD root (default: the current folder).",
)


# -- fab generate -----------------------------------------------------------------------------


def _deprecated_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    if value is not None:
        log.warning("generate -o/--output DIR is deprecated: use --output-dir DIR")
    return value


@main.command()
@click.argument("environments", nargs=-1)
@_HLD_ROOT
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
@_run_options
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
@_PROGRESS
@click.option("--validate", is_flag=True, help="Check every rendered object (offline).")
@click.option("--kube-version", metavar="X.Y", help="Kubernetes version for --validate.")
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
    old_output: Path | None,
    timings: bool,
    validate: bool,
    kube_version: str | None,
    progress: str,
    **options: Any,
) -> None:
    """Render manifests for ENVIRONMENTS (first wins, `common` last) into generated/."""
    from fabrikate.api.generate import generate as run_generate
    from fabrikate.api.results import ValidationFailed
    from fabrikate.cli.display import Display

    options["records"] = options["records"] or ctx.obj["records"]
    settings = _settings(**options)
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
    _print_diagnostics(result.diagnostics, quiet)
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
        _print_diagnostics(result.validation.problems)
        if not result.validation.errors:
            log.info("validated %s", plural(result.validation.objects, "object"))


def _print_timings(result: Any) -> None:
    """Phases in run order, then components slowest first, on stderr."""
    for phase, seconds in result.timings.items():
        click.echo(f"{phase:>10}  {seconds * 1000:9.1f} ms", err=True)
    for item in sorted(result.components, key=lambda c: c.seconds, reverse=True):
        click.echo(f"{item.seconds * 1000:9.1f} ms  {item.id}", err=True)


@main.command()
@output_format("text", "json", "yaml")
@click.pass_context
def version(ctx: click.Context, output_format: str) -> None:
    """Print the fab version and the helm it finds; exit 1 when there is none."""
    from fabrikate.errors import FabrikateError
    from fabrikate.support.process import Command, run

    settings = _settings()
    problem = None
    try:
        helm = (
            run(Command((settings.helm, "version", "--short"), timeout=30)).check().stdout.strip()
        )
    except FabrikateError as exc:
        helm, problem = None, str(exc)
    if output_format == "text":
        click.echo(f"fab {__version__}")
        click.echo(
            f"helm {helm} ({settings.helm})" if helm else f"helm: not found ({settings.helm})"
        )
    else:
        _echo_data({"fab": __version__, "helm": helm, "helm_binary": settings.helm}, output_format)
    if problem is not None:
        click.echo(f"fab: error: {problem} (set FAB_HELM or put helm on PATH)", err=True)
        ctx.exit(1)


# -- fab diff: what a change does to the rendered objects ---------------------------------------


@main.command(name="diff")
@click.argument("environments", nargs=-1)
@_HLD_ROOT
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
@_run_options
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
        ctx.obj["error_code"] = 2
    chosen = [environments] if environments or not sets else []
    chosen += [tuple(e for e in item.split(",") if e) for item in sets]
    result = diff(
        root, base=base, head=head, environment_sets=chosen, settings=_settings(**options)
    )
    _print_diagnostics(result.diagnostics, ctx.obj["quiet"])
    if output_format == "json":
        _echo_data(result.as_json(), "json")
    elif output_format == "markdown":
        click.echo(as_markdown(result), nl=False)
    else:
        click.echo(as_text(result))
    if exit_code and result.changed:
        ctx.exit(1)


# -- fab explain: which config layer set a value -------------------------------------------------


@main.command(name="explain")
@click.argument("environment", metavar="ENV[,ENV...]")
@click.argument("component")
@click.argument("key", metavar="KEY.PATH")
@_HLD_ROOT
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
    settings = _settings(allow_outside_root=allow_outside_root)
    found = explain(root, environments, component, key, settings=settings)
    if output_format == "json":
        _echo_data(found.as_json(), "json")
    else:
        click.echo(as_text(found))


# -- fab init: a new HLD and its pipeline -----------------------------------------------------


@main.command(name="init")
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


# -- fab completion ---------------------------------------------------------------------------


@main.command(name="completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the completion script of SHELL, e.g. `eval "$(fab completion bash)"`."""
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None
    click.echo(complete(main, {}, "fab", "_FAB_COMPLETE").source())


# -- fab install, fab cache (issue 3) ---------------------------------------------------------


@main.command()
@click.argument(
    "path", required=False, default=Path("."), type=click.Path(file_okay=False, path_type=Path)
)
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Parallel fetches (0: CPU count).")
@click.option(
    "--offline", is_flag=True, default=None, help="Use only the cache; never the network."
)
@_run_options
@_PROGRESS
@click.pass_context
def install(ctx: click.Context, path: Path, progress: str, **options: Any) -> None:
    """Fetch every remote component of the tree at PATH (git, helm, OCI, http)."""
    from fabrikate.api.install import install as run_install
    from fabrikate.cli.display import Display, summary

    display = Display(sys.stderr, progress, quiet=ctx.obj["quiet"])
    try:
        result = run_install(path, _settings(**options), progress=display)
    finally:
        display.close()
    _print_diagnostics(result.warnings, ctx.obj["quiet"])
    for failure in result.failures:
        click.echo(f"fab: error: {failure}", err=True)
    if not ctx.obj["quiet"] or result.failures:
        click.echo(f"fab: {summary(result)}", err=True)
    if result.failures:
        ctx.exit(1)


@main.group()
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
        _echo_data({"root": str(store.root), "kinds": kinds}, output_format)
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


# --- authoring and validation: add, remove, set, validate, schema, find --------------------------

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


@main.command()
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


@main.command()
@click.argument("name")
@click.option("--prune-config", is_flag=True, help="Also remove its entries from config/*.")
@_CHDIR
def remove(name: str, directory: Path, prune_config: bool) -> None:
    """Remove subcomponent NAME from component.yaml."""
    from fabrikate.api.edit import remove_subcomponent

    _wrote(remove_subcomponent(directory, name, prune_config=prune_config))


@main.command(name="set")
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


@main.command(name="validate")
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
    settings = _settings(allow_outside_root=allow_outside_root, strict=strict)
    report = validate(root, args, manifests=manifests, kube_version=kube_version, settings=settings)
    if output_format != "text":
        _echo_data(report.as_json(), output_format)
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
        sys.exit(1)


@main.command(name="schema")
@click.argument("kind", type=click.Choice(["component", "config"]))
@output_format("json", "yaml")
def schema_command(kind: str, output_format: str) -> None:
    """Print the JSON Schema of component or config files."""
    from fabrikate.hld.model import schema

    _echo_data(schema(kind), output_format)


@main.command(name="find")
@click.argument("keyword")
@click.option("--repo", help="Definitions repository (default: microsoft/fabrikate-definitions).")
@click.option("--offline", is_flag=True, default=None, help="Search the cached copy only.")
@output_format("text", "json", "yaml")
def find_command(keyword: str, repo: str | None, offline: bool | None, output_format: str) -> None:
    """List the definitions in a definitions repository that mention KEYWORD."""
    from fabrikate.api.find import DEFAULT_REPOSITORY, find
    from fabrikate.support.redact import printable

    found = find(keyword, repo or DEFAULT_REPOSITORY, settings=_settings(offline=offline))
    if output_format != "text":
        _echo_data([{"path": d.path, "description": d.description} for d in found], output_format)
        return
    if not found:
        log.info("no definitions mention %r", keyword)
    width = max((len(d.path) for d in found), default=0)
    for definition in found:
        line = f"{definition.path:<{width}}  {definition.description}".rstrip()
        click.echo(printable(line))  # a fetched README's words


# ---- deployment records (issue 5): fab records …, fab deployment … ----------------------

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


@main.group()
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
        _echo_data(found, output_format)
    elif found:
        _echo_text(table(found))


@records.command("show")
@_records_option
@click.argument("record_id")
@output_format("json", "yaml")
def records_show(url: str | None, record_id: str, output_format: str) -> None:
    """Print one whole record (by id, 12-digit deployment id, or a unique prefix)."""
    with _open_records(url) as store:
        _echo_data(store.get(record_id), output_format)


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
        _echo_data(changes, output_format)
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
        _echo_data(found, output_format)
    else:
        for record in found:
            click.echo(json.dumps(record, sort_keys=True))


@main.group()
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
def deployment_create(url: str | None, scope: str | None, **values: str | None) -> None:
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
        _echo_data(
            [
                {"PartitionKey": r.scope, "RowKey": r.row_key, **r.fields, "updated": r.updated}
                for r in rows
            ],
            output_format,
        )
    elif rows:
        _echo_text(rows_table(rows))
