"""``fab diff``: what a change to an HLD does to the rendered Kubernetes objects.

    result = diff("hld", ["prod"], base="origin/main")
    for change in result.environments[0].changes:
        print(change.status, change.kind, change.name)

The base (and a head given as a git revision) is rendered from a temporary ``git worktree``,
so the user's files are never touched; the render cache serves every component whose inputs
did not change. Objects are matched by identity (API group, kind, namespace, name) and compared
as data, so formatting, key order and document order are no change. Values of ``Secret``
objects never leave this module: their keys are reported as changed or unchanged.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fabrikate.errors import Diagnostic, FabrikateError, InputError
from fabrikate.settings import Settings
from fabrikate.support.text import plural

__all__ = ["DiffResult", "EnvironmentDiff", "ObjectChange", "Revision", "diff"]

log = logging.getLogger("fabrikate")

HIDDEN, HIDDEN_CHANGED = "(hidden)", "(hidden, changed)"
_DEFAULT_BRANCHES = ("origin/main", "origin/master", "main", "master")


@dataclass(frozen=True)
class Revision:
    """One side of the comparison: a git revision, or the working tree (``ref`` None)."""

    ref: str | None  # as given (or the default picked); None: the working tree
    commit: str | None  # the commit it names; for the working tree, HEAD (None before any)
    note: str = ""  # how the default was found, e.g. "merge base with origin/main"

    def as_json(self) -> dict[str, Any]:
        """Plain data."""
        return {"ref": self.ref, "commit": self.commit, "note": self.note}

    def __str__(self) -> str:
        if self.ref is None:
            return "working tree"
        short = (self.commit or "")[:12]
        return f"{self.ref} ({short})" if short and short != self.ref else self.ref


@dataclass(frozen=True)
class ObjectChange:
    """One Kubernetes object that was added, removed or changed."""

    status: str  # "added", "removed" or "changed"
    component: str  # the component writing it (in the head; in the base for a removed one)
    api_version: str
    kind: str
    namespace: str
    name: str
    diff: str  # a unified diff of the object as YAML, Secret values hidden
    secret_keys: dict[str, str] = field(default_factory=dict)  # Secrets: key -> its status

    @property
    def title(self) -> str:
        """``Deployment trivia-prod/backend``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def as_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "status": self.status,
            "component": self.component,
            "api_version": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "diff": self.diff,
            "secret_keys": self.secret_keys,
        }


@dataclass
class EnvironmentDiff:
    """The changes of one set of environments (``("prod",)``, ``("prod", "east")``)."""

    environments: tuple[str, ...]
    changes: list[ObjectChange] = field(default_factory=list)
    unchanged: int = 0

    def count(self, status: str) -> int:
        """How many objects have ``status``."""
        return sum(1 for c in self.changes if c.status == status)

    @property
    def name(self) -> str:
        """The environments as generate names their output folder."""
        return "-".join(self.environments) or "common"

    def summary(self) -> list[dict[str, Any]]:
        """Added, removed and changed objects per component and kind, in tree order."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for change in self.changes:
            row = rows.setdefault(
                (change.component, change.kind),
                {"component": change.component, "kind": change.kind}
                | dict.fromkeys(("added", "removed", "changed"), 0),
            )
            row[change.status] += 1
        return list(rows.values())

    def as_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "environments": list(self.environments),
            "added": self.count("added"),
            "removed": self.count("removed"),
            "changed": self.count("changed"),
            "unchanged": self.unchanged,
            "summary": self.summary(),
            "objects": [c.as_json() for c in self.changes],
        }


@dataclass
class DiffResult:
    """What ``diff`` found: the two sides and the changes of each set of environments."""

    root: Path
    base: Revision
    head: Revision
    environments: list[EnvironmentDiff] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether any object was added, removed or changed."""
        return any(e.changes for e in self.environments)

    def as_json(self) -> dict[str, Any]:
        """Plain data: what ``fab diff -o json`` prints."""
        return {
            "root": str(self.root),
            "base": self.base.as_json(),
            "head": self.head.as_json(),
            "changed": self.changed,
            "environments": [e.as_json() for e in self.environments],
            "warnings": [str(d) for d in self.diagnostics if d.level == "warning"],
        }


def diff(
    path: str | Path = ".",
    environments: Sequence[str] = (),
    *,
    base: str | None = None,
    head: str | None = None,
    environment_sets: Sequence[Sequence[str]] | None = None,
    settings: Settings | None = None,
) -> DiffResult:
    """Compare the objects the tree at ``path`` renders at ``base`` and at ``head``.

    ``base`` defaults to the merge base of ``head`` with the default branch, ``head`` to the
    working tree. ``environments`` are layered as ``generate`` layers them; pass
    ``environment_sets`` instead to compare several sets (each on its own) in one run.
    """
    settings = settings or Settings.from_env()
    root = Path(path)
    sets = (
        [tuple(environments)] if environment_sets is None else [tuple(s) for s in environment_sets]
    )
    repo = _Repository.find(root, settings)
    head_side = repo.revision(head) if head is not None else Revision(None, repo.head())
    base_side = repo.revision(base) if base is not None else repo.default_base(head_side)
    result = DiffResult(root, base_side, head_side)
    with repo.checkout(base_side) as old, repo.checkout(head_side) as new:
        base_trees = _render_all(old, sets, settings, base_side, result)
        head_trees = _render_all(new, sets, settings, head_side, result)
    for envs, before, after in zip(sets, base_trees, head_trees, strict=True):
        result.environments.append(compare(envs, before, after))
    return result


# --- git: finding the revisions, temporary worktrees ---------------------------------------


@dataclass
class _Repository:
    """The git repository holding the HLD, and where the HLD sits in it."""

    top: Path
    inside: Path  # the HLD root relative to ``top``
    root: Path
    settings: Settings

    @classmethod
    def find(cls, root: Path, settings: Settings) -> _Repository:
        if not root.is_dir():
            raise InputError(f"{root} is not a folder")
        probe = cls(root, Path("."), root, settings)
        found = probe.git("rev-parse", "--show-toplevel", check=False)
        if found is None:
            raise InputError(f"fab diff needs a git repository: {root} is not inside one")
        top = Path(found).resolve()
        return cls(top, Path(os.path.relpath(root.resolve(), top)), root, settings)

    def git(self, *args: str, check: bool = True) -> str | None:
        """git's stdout in the repository; None when it fails and not ``check``."""
        from fabrikate.support.process import Command, run

        command = Command(
            (self.settings.git, "-C", str(self.top), *args),
            env={"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"},
            timeout=self.settings.timeout,
            what=f"git {args[0]}",
        )
        done = run(command)
        if done.returncode != 0:
            if check:
                done.check()
            return None
        return done.stdout.strip()

    def commit(self, ref: str) -> str | None:
        """The commit ``ref`` names, or None."""
        if ref.startswith("-"):
            raise InputError(f"revision {ref!r} may not start with '-'")
        return (
            self.git(
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{ref}^{{commit}}",
                check=False,
            )
            or None
        )

    def head(self) -> str | None:
        return self.commit("HEAD")

    def revision(self, ref: str) -> Revision:
        commit = self.commit(ref)
        if commit is None:
            raise InputError(f"unknown git revision {ref!r} in {self.top}")
        return Revision(ref, commit)

    def default_branch(self) -> str:
        """``origin/HEAD``'s branch, else the first of origin/main, origin/master, main, master."""
        found = self.git(
            "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False
        )
        for ref in (found, *_DEFAULT_BRANCHES):
            if ref and self.commit(ref):
                return ref
        raise InputError(
            f"cannot tell the default branch of {self.top} (no origin/HEAD, main or master); "
            "give --base REF"
        )

    def default_base(self, head: Revision) -> Revision:
        """The merge base of ``head`` (the working tree: HEAD) with the default branch."""
        branch = self.default_branch()
        if head.commit is None:
            raise InputError(f"{self.top} has no commit yet; give --base REF")
        found = self.git("merge-base", branch, head.commit, check=False)
        if not found:
            raise InputError(f"{branch} and {head} have no common commit; give --base REF")
        return Revision(found[:12], found, f"merge base with {branch}")

    @contextlib.contextmanager
    def checkout(self, side: Revision) -> Iterator[_Checkout]:
        """The HLD of ``side``: the user's own folder, or one in a temporary worktree."""
        if side.ref is None:
            yield _Checkout(self.root, None)
            return
        with tempfile.TemporaryDirectory(prefix="fab-diff-") as temp:
            folder = Path(temp) / "tree"
            assert side.commit is not None
            self.git("worktree", "add", "--detach", "--quiet", str(folder), side.commit)
            try:
                yield _Checkout(folder / self.inside, folder)
            finally:
                self.remove_worktree(folder)

    def remove_worktree(self, folder: Path) -> None:
        """Drop a temporary worktree and git's note of it, as ``git worktree remove`` would.

        Done without git, so it also runs when an interrupt stops every command.
        """
        note = _worktree_note(folder)
        shutil.rmtree(folder, ignore_errors=True)
        if note is not None:
            shutil.rmtree(note, ignore_errors=True)


@dataclass(frozen=True)
class _Checkout:
    """Where one side's HLD is: ``root``, inside the temporary worktree ``folder`` (if any)."""

    root: Path
    folder: Path | None


def _worktree_note(folder: Path) -> Path | None:
    """The ``.git/worktrees/<name>`` folder of the worktree at ``folder``, if it is that."""
    try:
        pointer = (folder / ".git").read_text().strip()
    except OSError:
        return None
    note = Path(pointer.removeprefix("gitdir:").strip())
    try:
        back = Path((note / "gitdir").read_text().strip())
    except OSError:
        return None
    if note.parent.name != "worktrees" or back.resolve() != (folder / ".git").resolve():
        return None
    return note


# --- rendering both sides ---------------------------------------------------------------------

Rendered = list[tuple[str, str]]  # (component id, document text), in output order


def _render_all(
    checkout: _Checkout,
    sets: Sequence[tuple[str, ...]],
    settings: Settings,
    side: Revision,
    result: DiffResult,
) -> list[Rendered]:
    """Every set of environments rendered at ``root``; nothing when the HLD is not there."""
    from fabrikate.hld.model import component_file

    root = checkout.root
    if component_file(root) is None:
        if checkout.folder is None:
            raise InputError(f"no component.yaml or component.json in {root}")
        result.diagnostics.append(
            Diagnostic("warning", f"{side} has no HLD at {root.relative_to(checkout.folder)}")
        )
        return [[] for _ in sets]
    with _naming(side, checkout.folder):
        if checkout.folder is not None:
            _install(root, settings)
        return [_render(root, envs, settings, side) for envs in sets]


@contextlib.contextmanager
def _naming(side: Revision, folder: Path | None) -> Iterator[None]:
    """Errors about a temporary worktree name its files as git does: ``REF:path/in/repo``."""
    try:
        yield
    except FabrikateError as exc:
        if folder is not None:
            prefix, ref = f"{folder}{os.sep}", f"{side.ref}:"
            exc.message = exc.message.replace(prefix, ref)
            if exc.location is not None:
                exc.location = replace(exc.location, file=exc.location.file.replace(prefix, ref))
        raise


def _install(root: Path, settings: Settings) -> None:
    """Fetch the remote components of a checked-out revision (the cache serves most)."""
    from fabrikate.api.install import install

    installed = install(root, settings)
    if installed.failures:
        raise installed.failures[0]


def _render(root: Path, envs: tuple[str, ...], settings: Settings, side: Revision) -> Rendered:
    """The documents of one side, rendered as ``generate`` renders them; nothing is written
    or recorded."""
    from fabrikate.api.lock import tree_lock
    from fabrikate.api.render import render
    from fabrikate.api.results import GenerateResult
    from fabrikate.hld.layout import output_dir

    log.info("rendering %s for %s", side, "-".join(envs) or "common")
    rendered = GenerateResult(root, envs, output_dir(root, envs))
    with tree_lock(root, settings):  # hooks may write into the tree
        render(rendered, settings)
    return [(c.id, doc) for c in rendered.components for doc in c.documents]


# --- comparing objects -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Object:
    component: str
    data: Any  # the parsed document (a mapping for a Kubernetes object)
    text: str

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", "")) if isinstance(self.data, dict) else ""

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", "")) if isinstance(self.data, dict) else ""

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata") if isinstance(self.data, dict) else None
        return meta if isinstance(meta, dict) else {}

    @property
    def is_secret(self) -> bool:
        return self.kind == "Secret" and self.api_version == "v1"


def _parse(component: str, text: str) -> _Object:
    import yaml

    from fabrikate.support.yamlv2 import load_untrusted

    try:
        data, _ = load_untrusted(text)
    except yaml.YAMLError:  # compared as text
        data = None
    return _Object(component, data, text)


def _identities(rendered: Rendered) -> dict[tuple[str, ...], _Object]:
    """Objects by (API group, kind, namespace, name); a repeated identity gets a number."""
    found: dict[tuple[str, ...], _Object] = {}
    for index, (component, text) in enumerate(rendered):
        obj = _parse(component, text)
        if obj.kind and obj.metadata.get("name"):
            group = obj.api_version.rpartition("/")[0]
            meta = obj.metadata
            key: tuple[str, ...] = (
                group,
                obj.kind,
                str(meta.get("namespace") or ""),
                str(meta["name"]),
            )
        else:  # not an object (or not YAML): matched by its place in its component
            key = ("", "(document)", component, str(index))
        base, number = key, 1
        while key in found:
            number += 1
            key = (*base, str(number))
        found[key] = obj
    return found


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def compare(environments: tuple[str, ...], base: Rendered, head: Rendered) -> EnvironmentDiff:
    """The objects added, removed and changed from ``base`` to ``head``."""
    old, new = _identities(base), _identities(head)
    result = EnvironmentDiff(environments)
    for key in [*new, *(k for k in old if k not in new)]:
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None and _same(before, after):
            result.unchanged += 1
            continue
        result.changes.append(_change(key, before, after))
    order = {"changed": 0, "added": 1, "removed": 2}
    result.changes.sort(key=lambda c: (c.component, order[c.status], c.kind, c.namespace, c.name))
    return result


def _same(before: _Object, after: _Object) -> bool:
    if before.data is None or after.data is None:
        return before.text.strip() == after.text.strip()
    return _canonical(before.data) == _canonical(after.data)


def _change(key: tuple[str, ...], before: _Object | None, after: _Object | None) -> ObjectChange:
    status = "changed" if before and after else "added" if after else "removed"
    some = after or before
    assert some is not None
    secret = some.is_secret and all(o is None or o.is_secret for o in (before, after))
    old, new, keys = _hide_secrets(before, after) if secret else (_data(before), _data(after), {})
    lines = difflib.unified_diff(_dump(old), _dump(new), "base", "head", lineterm="", n=3)
    name = str(some.metadata.get("name") or key[-1])
    return ObjectChange(
        status,
        some.component,
        some.api_version,
        some.kind or "(document)",
        str(some.metadata.get("namespace") or ""),
        name,
        "\n".join(lines),
        keys,
    )


def _data(obj: _Object | None) -> Any:
    if obj is None:
        return None
    return obj.data if obj.data is not None else obj.text


def _hide_secrets(before: _Object | None, after: _Object | None) -> tuple[Any, Any, dict[str, str]]:
    """Both Secrets with every value replaced, and each key's status."""
    old = _values(before)
    new = _values(after)
    keys: dict[str, str] = {}
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            keys[key] = "removed"
        elif key not in old:
            keys[key] = "added"
        else:
            keys[key] = "unchanged" if old[key] == new[key] else "changed"
    return (
        _masked(before, lambda field, key: HIDDEN),
        _masked(
            after,
            lambda field, key: HIDDEN_CHANGED if keys.get(key) == "changed" else HIDDEN,
        ),
        keys,
    )


def _values(obj: _Object | None) -> dict[str, str]:
    """A Secret's keys and decoded values (``data`` is base64, ``stringData`` plain)."""
    import base64
    import binascii

    if obj is None or not isinstance(obj.data, dict):
        return {}
    values: dict[str, str] = {}
    for key, value in (obj.data.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            values[str(key)] = str(value)
    for key, value in (obj.data.get("stringData") or {}).items():
        values[str(key)] = str(value)  # as the API server does: stringData wins
    return values


def _masked(obj: _Object | None, label: Any) -> Any:
    if obj is None or not isinstance(obj.data, dict):
        return _data(obj)
    data = dict(obj.data)
    for field_name in ("data", "stringData"):
        values = data.get(field_name)
        if isinstance(values, dict):
            data[field_name] = {k: label(field_name, str(k)) for k in values}
        elif values is not None:
            data[field_name] = HIDDEN
    return data


def _dump(data: Any) -> list[str]:
    import yaml

    if data is None:
        return []
    if isinstance(data, str):
        return data.strip("\n").splitlines()
    text = yaml.safe_dump(
        data, sort_keys=True, default_flow_style=False, allow_unicode=True, width=10_000
    )
    return text.splitlines()


# --- reports: text and markdown (json is ``DiffResult.as_json``) ------------------------------

# GitHub refuses comments over 65,536 characters; leave room for what a pipeline adds.
MARKDOWN_LIMIT = 60_000


def _counts(env: EnvironmentDiff) -> str:
    return (
        f"{env.count('added')} added, {env.count('removed')} removed, "
        f"{env.count('changed')} changed, {env.unchanged} unchanged"
    )


def _sides(result: DiffResult) -> tuple[str, str]:
    base = str(result.base) + (f" ({result.base.note})" if result.base.note else "")
    return base, str(result.head)


def as_text(result: DiffResult) -> str:
    """The summary per set of environments, then a unified diff of each changed object."""
    base, head = _sides(result)
    lines = [f"base: {base}", f"head: {head}"]
    for env in result.environments:
        lines.append(f"{env.name}: {_counts(env)}")
        rows = [("component", "kind", "added", "removed", "changed")] + [
            (r["component"], r["kind"], str(r["added"]), str(r["removed"]), str(r["changed"]))
            for r in env.summary()
        ]
        if len(rows) > 1:
            widths = [max(len(row[i]) for row in rows) for i in range(5)]
            for row in rows:
                cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
                cells += [cell.rjust(widths[i]) for i, cell in enumerate(row[2:], 2)]
                lines.append("  " + "  ".join(cells).rstrip())
    for env in result.environments:
        for change in env.changes:
            lines.append("")
            lines.append(f"{env.name}: {change.status} {change.title} [{change.component}]")
            lines.extend(_secret_lines(change))
            lines.append(change.diff)
    return "\n".join(lines)


def _secret_lines(change: ObjectChange) -> list[str]:
    if not change.secret_keys:
        return []
    keys = ", ".join(f"{k} {s}" for k, s in change.secret_keys.items())
    return [f"secret values are hidden; keys: {keys}"]


def as_markdown(result: DiffResult, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment: summaries in tables, each object's diff folded, under ``limit``
    characters (the objects that do not fit are counted, and ``fab diff`` shows them)."""
    import html

    def side(revision: Revision) -> str:
        if revision.ref is None:
            return "the working tree"
        text = f"`{revision.ref}`" if "`" not in revision.ref else revision.ref
        short = (revision.commit or "")[:12]
        text += f" ({short})" if short and short != revision.ref else ""
        return text + (f" ({revision.note})" if revision.note else "")

    parts = [f"**fab diff** from {side(result.base)} to {side(result.head)}", ""]
    for env in result.environments:
        parts.append(f"#### `{env.name}`: {_counts(env)}")
        parts.append("")
        if env.changes:
            parts.append("| component | kind | added | removed | changed |")
            parts.append("| --- | --- | ---: | ---: | ---: |")
            for row in env.summary():
                counts = [str(row[s] or "") for s in ("added", "removed", "changed")]
                parts.append(f"| `{row['component']}` | {row['kind']} | {' | '.join(counts)} |")
        else:
            parts.append("No change to the rendered objects.")
        parts.append("")
    head_text = "\n".join(parts)
    budget = limit - len(head_text) - 200
    blocks: list[str] = []
    left_out = 0
    for env in result.environments:
        for change in env.changes:
            summary = html.escape(f"{env.name}: {change.status} {change.title}")
            where = html.escape(change.component)
            body = [*_secret_lines(change), change.diff]
            block = _details(f"{summary} <sub>{where}</sub>", "\n".join(body))
            if len(block) > budget:
                block = _details(
                    f"{summary} <sub>{where}</sub>",
                    _cut("\n".join(body), budget - len(summary) - len(where) - 200),
                )
            if len(block) > budget or budget < 500:
                left_out += 1
                continue
            budget -= len(block)
            blocks.append(block)
    if left_out:
        blocks.append(
            f"_{plural(left_out, 'more object')} not shown here: run `fab diff` to see "
            f"{'it' if left_out == 1 else 'them'}._"
        )
    return "\n".join([head_text, *blocks]).rstrip() + "\n"


def _cut(text: str, size: int) -> str:
    """``text`` cut at a line end to at most ``size`` characters, saying what was cut."""
    if size <= 0:
        return ""
    kept = text[:size].rpartition("\n")[0]
    dropped = text[len(kept) :].count("\n")
    return f"{kept}\n... {plural(dropped, 'more line')}"


def _details(summary: str, diff_text: str) -> str:
    fence = "`" * max(3, _longest_backticks(diff_text) + 1)
    return (
        f"<details><summary>{summary}</summary>\n\n{fence}diff\n{diff_text}\n{fence}\n\n"
        "</details>\n"
    )


def _longest_backticks(text: str) -> int:
    longest = current = 0
    for char in text:
        current = current + 1 if char == "`" else 0
        longest = max(longest, current)
    return longest
