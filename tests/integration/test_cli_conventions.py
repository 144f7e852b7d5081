"""One set of CLI conventions over every command: ``-o/--output FORMAT``, global options before
or after the subcommand, SQLite store URLs, file modes, and str or Path in the library."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from tests.fixtures.trees import git, make_repo

# Every command, and the formats its -o/--output takes (None: it prints no data). A command
# missing here fails the first test: give it its formats.
FORMATS: dict[str, tuple[str, ...] | None] = {
    "add": None,
    "cache info": ("text", "json", "yaml"),
    "cache prune": None,
    "completion": None,
    "dashboard export": None,
    "deployment create": None,
    "deployment get": ("text", "json", "yaml"),
    "diff": ("text", "json", "markdown"),
    "explain": ("text", "json"),
    "find": ("text", "json", "yaml"),
    "generate": None,
    "init": None,
    "install": None,
    "outdated": ("text", "json"),
    "records diff": ("text", "json", "yaml"),
    "records export": ("json", "jsonl", "yaml"),
    "records list": ("text", "json", "yaml"),
    "records log": ("text", "json", "yaml"),
    "records mark": None,
    "records prune": ("text", "json", "yaml"),
    "records show": ("json", "yaml"),
    "remove": None,
    "schema": ("json", "yaml"),
    "set": None,
    "status": ("text", "json", "yaml"),
    "validate": ("text", "json", "yaml"),
    "vendor": None,
    "version": ("text", "json", "yaml"),
}
GLOBALS = (["-v"], ["-q"], ["--debug"], ["--records", "none"])


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield path, command
            yield from _commands(command, path + " ")
        else:
            yield path, command


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_command_has_its_output_formats() -> None:
    leaves = {path: cmd for path, cmd in _commands(main) if not isinstance(cmd, click.Group)}
    assert sorted(leaves) == sorted(FORMATS)
    for path, command in leaves.items():
        output = next((p for p in command.params if "-o" in p.opts), None)
        formats = FORMATS[path]
        if formats is None:
            assert output is None or "--output-dir" in (output.help or "") or output.hidden, path
            continue
        assert output is not None and output.opts == ["-o", "--output"], path
        assert isinstance(output.type, click.Choice)
        assert tuple(output.type.choices) == formats, path
        assert output.default == formats[0], path


@pytest.mark.parametrize("path", sorted({p for p, _ in _commands(main)}))
@pytest.mark.parametrize("option", GLOBALS, ids=lambda o: o[0])
def test_global_options_are_taken_before_and_after_the_subcommand(path: str, option) -> None:
    words = path.split()
    for args in ([*option, *words, "--help"], [*words, *option, "--help"]):
        code, out, err = fab(*args)
        assert code == 0, (args, err)
        assert out.startswith("Usage: ")


def test_global_options_act_in_either_place(tmp_path: Path) -> None:
    for args in (["-v", "version"], ["version", "-v"]):
        assert "fab: running " in fab(*args)[2]  # debug logging
    for args in (["-q", "init"], ["init", "-q"]):
        folder = tmp_path / args[0].strip("-")
        code, _, err = fab(*args, str(folder))
        assert code == 0 and err == "" and (folder / "component.yaml").is_file()
    for args in (["--debug", "explain"], ["explain", "--debug"]):
        code, _, err = fab(*args, "prod", "x", "y", "-C", str(tmp_path / "q"))
        assert (
            code == 1
            and "Traceback" in err
            and err.endswith(
                f"fab: error: no component 'x' in {tmp_path / 'q'}; known: q, namespace\n"
            )
        )
    url = f"sqlite:///{tmp_path}/nothing-here.db"
    for args in (["--records", url, "records", "list"], ["records", "list", "--records", url]):
        code, _, err = fab(*args)
        assert code == 1 and f"no records database at {tmp_path}/nothing-here.db" in err
    assert not (tmp_path / "nothing-here.db").exists()


STATIC_HLD = {
    "component.yaml": "name: site\nsubcomponents:\n  - {name: web, type: static, path: ./manifests}\n",
    "config/common.yaml": "subcomponents:\n  web:\n    config:\n      colour: blue\n",
    "config/prod.yaml": "subcomponents:\n  web:\n    config:\n      colour: red\n",
    "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n",
    "manifests/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {p: v}\n",
}


def _parse(output_format: str, out: str) -> object:
    if output_format == "json":
        return json.loads(out)
    if output_format == "jsonl":
        return [json.loads(line) for line in out.splitlines()]
    if output_format == "yaml":
        return yaml.safe_load(out)
    return out or "(empty)"


def test_each_format_prints_what_it_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "hld"
    make_repo(root, STATIC_HLD)
    git(root, "branch", "-M", "main")
    (root / "manifests" / "cm.yaml").write_text(
        STATIC_HLD["manifests/cm.yaml"].replace("a: b", "a: c")
    )
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///records.db"  # relative: in the current folder
    for env in ("prod", "prod"):
        assert fab("generate", env, "-C", "hld", "--records", url)[0] == 0
    assert (tmp_path / "records.db").is_file()
    listed = json.loads(fab("records", "list", "--all", "--records", url, "-o", "json")[1])
    first, second = (r["id"] for r in listed["items"])
    stage = ["--p1", "1", "--image-tag", "web-1", "--commit-id", "abc", "--service", "web"]
    assert fab("deployment", "create", "--records", url, "-p", "site", *stage)[0] == 0
    runs = {
        "cache info": ["cache", "info"],
        "deployment get": ["deployment", "get", "--records", url, "-p", "site"],
        "diff": ["diff", "prod", "-C", "hld"],
        "explain": ["explain", "prod", "web", "colour", "-C", "hld"],
        "records diff": ["records", "diff", second, first, "--records", url],
        "records export": ["records", "export", "--records", url],
        "records list": ["records", "list", "--records", url],
        "records log": ["records", "log", "--component", "web", "--records", url],
        "records prune": ["records", "prune", "--older-than", "0d", "--dry-run", "--records", url],
        "records show": ["records", "show", first, "--records", url],
        "schema": ["schema", "config"],
        "status": ["status", "--records", url],
        "validate": ["validate", "hld", "prod"],
        "version": ["version"],
    }
    for name, args in runs.items():
        for output_format in FORMATS[name] or ():
            code, out, err = fab(*args, "-o", output_format)
            assert code == 0, (name, output_format, err)
            assert _parse(output_format, out), (name, output_format)
            assert out.strip() or name == "validate", name  # a valid tree: no problem to list
    assert json.loads(fab(*runs["explain"], "-o", "json")[1])["value"] == "red"
    diff = json.loads(fab(*runs["diff"], "-o", "json")[1])
    assert [o["name"] for o in diff["environments"][0]["objects"]] == ["web"]
    # The old names of the text format still work.
    assert fab(*runs["records list"], "-o", "table")[0] == 0
    assert fab(*runs["deployment get"], "--output", "normal")[0] == 0


def test_sqlite_urls_follow_sqlalchemy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "hld"
    root.mkdir()
    (root / "component.yaml").write_text("name: empty\n")
    monkeypatch.chdir(tmp_path)
    absolute = tmp_path / "abs" / "r.db"
    absolute.parent.mkdir()
    assert fab("generate", "-C", "hld", "--records", f"sqlite:///{absolute}")[0] == 0  # 4 slashes
    assert absolute.is_file()
    assert (
        fab(
            "generate",
            "-C",
            "hld",
            "--force",
            "--records",
            "sqlite:///rel/r.db",
            "--record-required",
        )[0]
        == 1
    )  # the folder rel/ does not exist
    assert not (tmp_path / "rel").exists()
    code, _, err = fab(
        "generate", "-C", "hld", "--force", "--records", "sqlite://", "--record-required"
    )
    assert code == 1 and "must be sqlite:///relative/path.db or sqlite:////absolute/path.db" in err
    for read in (["records", "list"], ["records", "export"], ["deployment", "get", "-p", "x"]):
        code, _, err = fab(*read, "--records", "sqlite:///missing.db")
        assert code == 1 and "no records database at missing.db" in err
    assert not (tmp_path / "missing.db").exists()


def test_files_fab_creates_follow_the_umask(tmp_path: Path) -> None:
    (tmp_path / "component.yaml").write_text("name: a\n")
    old = os.umask(0o022)
    try:
        assert fab("set", "-C", str(tmp_path), "-e", "prod", "x=1")[0] == 0
        assert (
            fab("add", "new", "-C", str(tmp_path / "fresh"), "--source", "https://h/x.git")[0] == 0
        )
    finally:
        os.umask(old)
    assert (tmp_path / "config" / "prod.yaml").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "fresh" / "component.yaml").stat().st_mode & 0o777 == 0o644
    # An existing file keeps its own mode.
    (tmp_path / "config" / "prod.yaml").chmod(0o600)
    assert fab("set", "-C", str(tmp_path), "-e", "prod", "x=2")[0] == 0
    assert (tmp_path / "config" / "prod.yaml").stat().st_mode & 0o777 == 0o600


def test_the_library_takes_str_or_path(tmp_path: Path) -> None:
    folder = str(tmp_path / "hld")
    fabrikate.init(folder, environments=["prod"])
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 2\n")
    fabrikate.add_subcomponent(folder, "app", source="https://h/app.git")
    fabrikate.set_config(folder, ["tag=1"], environment="prod", file=str(values))
    assert fabrikate.validate(folder, ["prod"]).files >= 1
    fabrikate.remove_subcomponent(folder, "app")
    assert fabrikate.load(folder, ["prod"]).components
    assert fabrikate.explain(folder, ["prod"], "namespace", "x").found is False
    assert fabrikate.generate(folder, ["prod"]).files.written == ["hld.yaml", "namespace.yaml"]
    for function in (
        fabrikate.generate,
        fabrikate.install,
        fabrikate.load,
        fabrikate.validate,
        fabrikate.diff,
        fabrikate.explain,
        fabrikate.add_subcomponent,
        fabrikate.remove_subcomponent,
        fabrikate.set_config,
    ):
        first = next(iter(function.__annotations__.values()))
        assert "str" in str(first) and "Path" in str(first), function.__name__


def test_completion_scripts_and_their_answers() -> None:
    for shell, marker in (
        ("bash", "complete -o"),
        ("zsh", "compdef"),
        ("fish", "complete --no-files"),
    ):
        code, out, _ = fab("completion", shell)
        assert code == 0 and marker in out and "_FAB_COMPLETE" in out
    result = CliRunner().invoke(
        main,
        [],
        env={"_FAB_COMPLETE": "bash_complete", "COMP_WORDS": "fab di", "COMP_CWORD": "1"},
        prog_name="fab",
    )
    assert result.stdout.split() == ["plain,diff"]


def test_version_exits_1_without_helm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAB_HELM", str(tmp_path / "no-helm"))
    code, out, err = fab("version")
    assert code == 1
    assert out == f"fab {fabrikate.__version__}\nhelm: not found ({tmp_path / 'no-helm'})\n"
    assert err.startswith("fab: error: ") and err.count("\n") == 1
    code, out, _ = fab("version", "-o", "json")
    assert code == 1 and json.loads(out)["helm"] is None


def test_generate_output_dir_progress_and_hook_output(tmp_path: Path) -> None:
    root = tmp_path / "hld"
    make_repo(
        root,
        {
            **STATIC_HLD,
            "component.yaml": STATIC_HLD["component.yaml"].replace(
                "path: ./manifests}",
                "path: ./manifests, hooks: {before-generate: [echo hello-hook]}}",
            ),
        },
    )
    code, _, err = fab(
        "generate", "-C", str(root), "--output-dir", str(tmp_path / "a"), "--progress", "plain"
    )
    assert code == 0 and (tmp_path / "a" / "web.yaml").is_file()
    assert "fab: rendering web\n" in err and "fab: done web: 2 documents\n" in err
    assert "of web: hello-hook" not in err  # the output of hooks needs -v
    code, _, err = fab(
        "generate", "-C", str(root), "-o", str(tmp_path / "b"), "-v", "--progress", "none"
    )
    assert code == 0 and (tmp_path / "b" / "web.yaml").is_file()
    assert "generate -o/--output DIR is deprecated: use --output-dir DIR" in err
    assert "fab: hook before-generate of web: hello-hook" in err
    assert "rendering web" not in err
