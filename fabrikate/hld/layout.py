"""Where a component's files are, and the trust boundary every one of them is checked against.

    clone = clone_dir(parent.physical_path, "efk")      # <parent>/components/efk
    own_folder(clone, parent.physical_path)             # no symbolic link on the way
    chart = checked_chart(node)                         # inside its boundary, links checked
    for rel, path in chart_files(chart.path, chart.limit): ...

Every path fab reads or writes for a component is built here and nowhere else. The rules:

- the local tree is the user's: its paths stay inside the root, unless ``--allow-outside-root``
  (the walk then gives local components no boundary); a fetched definition's paths stay inside
  its own clone, always;
- symbolic links are resolved before a check, folders included; a link that leaves its boundary
  is an error naming the link and where it points;
- only regular files are read (devices, FIFOs and sockets are refused), each of at most
  ``MAX_FILE_BYTES``;
- fab's own folders (``components/<name>``, ``helm_repos/<name>`` and the folders on the way to
  them) are never links: fab neither follows one there nor deletes through it;
- a name becomes a path segment only when it is plain and short enough for fab's own prefixes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from fabrikate.errors import InputError, Location
from fabrikate.support.fsutil import MAX_FILE_BYTES, absolute, read_regular

__all__ = [
    "COMPONENTS",
    "GENERATED",
    "HELM_REPOS",
    "MAX_FILE_BYTES",
    "NAME_MAX",
    "Chart",
    "boundary_name",
    "chart_clone_dir",
    "chart_dir",
    "chart_files",
    "check_definition",
    "check_name",
    "check_output_dir",
    "checked_chart",
    "checked_static",
    "clone_dir",
    "confine",
    "escape",
    "http_static_file",
    "join_path",
    "output_dir",
    "own_folder",
    "read_file",
    "stat_inside",
    "static_dir",
    "subcomponent_dir",
]


# What the layout reads of a definition (``model.Component``) and of a placed component
# (``resolve.ResolvedComponent``): the layout sits below both, so it names only these fields.
class Definition(Protocol):
    """A component's definition: its name, type, method, source and path."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def path(self) -> str: ...


class Node(Protocol):
    """A component placed in the tree: its definition, folder, boundary and id."""

    @property
    def component(self) -> Definition: ...
    @property
    def physical_path(self) -> Path: ...
    @property
    def boundary(self) -> Path | None: ...
    @property
    def inline(self) -> bool: ...
    @property
    def remote(self) -> bool: ...
    @property
    def id(self) -> str: ...


COMPONENTS = "components"  # fetched directory components (and http static files)
HELM_REPOS = "helm_repos"  # fetched charts
GENERATED = "generated"  # the default output folder
NAME_MAX = 255  # bytes in one path segment, on every file system fab supports
# The most fab adds around a name in one segment: ".<name>.fab-new-<pid>-<8 hex>".
_OWN_AFFIXES = 32


def check_name(name: str, what: str = "component name") -> str | None:
    """Why ``name`` cannot become a path segment, or None when it can."""
    if not name:
        return f"{what} is empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"{what} {name!r} contains a control character"
    if "/" in name or "\\" in name:
        return f"{what} {name!r} contains a path separator"
    if name in (".", ".."):
        return f"{what} {name!r} is not a plain name"
    return _too_long(name, what)


def _too_long(segment: str, what: str) -> str | None:
    size = len(segment.encode("utf-8", "surrogateescape"))
    limit = NAME_MAX - _OWN_AFFIXES
    if size > limit:
        shown = segment[:40] + "…"
        return f"{what} {shown!r} is {size} bytes long; fab allows {limit} in one path segment"
    return None


# -- the layout --------------------------------------------------------------------------------


def clone_dir(parent: Path, name: str) -> Path:
    """Where a fetched directory component lives: ``<parent>/components/<name>``."""
    return parent / COMPONENTS / name


def chart_clone_dir(parent: Path, name: str) -> Path:
    """Where a fetched chart lives: ``<parent>/helm_repos/<name>``."""
    return parent / HELM_REPOS / name


def http_static_file(parent: Path, name: str) -> Path:
    """Where a downloaded static manifest lives: ``<parent>/components/<name>/<name>.yaml``."""
    return clone_dir(parent, name) / f"{name}.yaml"


def output_dir(root: Path, environments: Sequence[str]) -> Path:
    """``generated/<env1-env2-…>``, or ``generated/common`` with no environment (spec §1.4)."""
    name = "-".join(environments) or "common"
    problem = _too_long(name, "the output folder of environments")
    if problem:
        raise InputError(problem)
    return root / GENERATED / name


def join_path(folder: Path, path: str) -> Path:
    """``path`` inside ``folder``, as Fabrikate's ``path.Join``: a leading ``/`` does not make
    it absolute (real definitions write ``path: /helm-chart/app``)."""
    return folder / path.lstrip("/") if path else folder


def subcomponent_dir(folder: Path, sub: Definition) -> Path:
    """The folder of directory subcomponent ``sub`` of the component in ``folder`` (spec
    §2.5), unchecked: its clone for git, else its ``source`` (relative to ``folder`` unless
    absolute), then ``path`` inside it."""
    if sub.method == "git":
        base = clone_dir(folder, sub.name)
    else:
        source = Path(sub.source) if sub.source else Path(".")
        base = source if source.is_absolute() else folder / source
    return Path(os.path.normpath(join_path(base, sub.path)))


def chart_dir(node: Node) -> Path:
    """Where a helm component's chart is (spec §6.1), unchecked."""
    component = node.component
    if component.method == "git":
        return join_path(chart_clone_dir(node.physical_path, component.name), component.path)
    if component.method == "helm":
        return chart_clone_dir(node.physical_path, component.name)
    return join_path(node.physical_path, component.path)


def static_dir(node: Node) -> Path:
    """Where a static component's manifests are (spec §6.4), unchecked."""
    component = node.component
    if component.method.lower() == "http":
        return clone_dir(node.physical_path, component.name)
    return join_path(node.physical_path, component.path)


def check_output_dir(dest: Path, root: Path, nodes: Sequence[Node] = ()) -> None:
    """Refuse an output folder that is the tree root, contains it, or lies inside a folder fab
    reads: ``config/``, ``components/`` and ``helm_repos/`` of the root and of every component
    folder among ``nodes``, and their chart and static manifest folders."""
    real, top = os.path.realpath(dest), os.path.realpath(root)
    if real == top:
        raise InputError(f"the output folder {dest} is the tree root; pick a folder inside it")
    if _inside(top, real):
        raise InputError(f"the output folder {dest} contains the tree root {root}")
    # The folders holding the output, as file identities: one stat per input folder then
    # tells whether it is one of them (links included), far cheaper than a realpath each.
    around = {_identity(p) for p in (real, *_ancestors(real))} - {None}
    plain, cwd = os.path.abspath(dest), os.getcwd()
    for folder, what in [*_read_folders(root, "the root"), *_inputs(nodes)]:
        if _identity(str(folder)) in around or _inside(plain, absolute(folder, cwd)):
            raise InputError(
                f"the output folder {dest} lies inside {folder} ({what}), which fab reads"
            )


def _read_folders(folder: Path, component: str) -> list[tuple[Path, str]]:
    return [
        (folder / name, f"the {name} folder of {component}")
        for name in ("config", COMPONENTS, HELM_REPOS)
    ]


def _inputs(nodes: Sequence[Node]) -> list[tuple[Path, str]]:
    found = []
    for node in nodes:
        if not node.inline:
            found.extend(_read_folders(node.physical_path, f"component {node.id}"))
        if node.component.type == "helm":
            found.append((chart_dir(node), f"the chart of component {node.id}"))
        elif node.component.type == "static":
            found.append((static_dir(node), f"the manifests of component {node.id}"))
    return found


def _ancestors(path: str) -> list[str]:
    found = []
    while (parent := os.path.dirname(path)) != path:
        found.append(parent)
        path = parent
    return found


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


# -- checks ------------------------------------------------------------------------------------


def _inside(real: str, limit: str) -> bool:
    return real == limit or real.startswith(limit.rstrip(os.sep) + os.sep)


def escape(path: Path, boundary: Path) -> str | None:
    """How ``path`` leaves ``boundary`` once every link is resolved, or None when it stays.

    The answer names the first link on the way that leads out, when a link is the cause.
    """
    cwd = os.getcwd()
    top = absolute(boundary, cwd)
    if _walks_inside(top, os.path.join(cwd, path)):
        return None  # the common case, decided with a few lstat calls: no link on the way
    plain = os.path.abspath(path)
    limit = os.path.realpath(boundary)
    real = os.path.realpath(path)
    if _inside(real, limit):
        return None
    if _inside(plain, top):
        parts = Path(plain).relative_to(top).parts
        current = Path(top)
        for part in parts:
            current = current / part
            if os.path.islink(current) and not _inside(os.path.realpath(current), limit):
                return f"symbolic link {current} points to {os.readlink(current)}"
    return f"{real} is outside {limit}"


def _walks_inside(top: str, raw: str) -> bool:
    """Whether the absolute path ``raw`` (``..`` and all) goes from ``top`` down to a path
    inside it through no symbolic link: then resolving its links is reading it lexically
    (each ``..`` steps back over a folder known not to be a link)."""
    if raw != top and not raw.startswith(top.rstrip(os.sep) + os.sep):
        return False
    below: list[str] = []
    for part in raw[len(top) :].split(os.sep):
        if part in ("", "."):
            continue
        if part == "..":
            if not below:
                return False  # above ``top``: the full check decides
            below.pop()
            continue
        below.append(part)
        if os.path.islink(os.path.join(top, *below)):
            return False
    return True


def confine(path: Path, boundary: Path | None, what: str, where: str = "the tree") -> Path:
    """``path``, which must stay inside ``boundary`` (None: anywhere); ``where`` names it."""
    if boundary is None:
        return path
    problem = escape(path, boundary)
    if problem:
        raise InputError(f"{what} leaves {where}: {problem}", location=Location(str(path)))
    return path


def stat_inside(path: Path, boundary: Path | None, what: str, where: str) -> os.stat_result:
    """What ``path`` is, links followed, once it is known to stay inside ``boundary``."""
    confine(path, boundary, what, where)
    try:
        return os.stat(path)
    except OSError as exc:
        raise InputError(
            f"cannot read {what}: {exc.strerror} (a broken or looping symbolic link?)",
            location=Location(str(path)),
        ) from exc


def own_folder(path: Path, base: Path) -> Path:
    """``path``, a folder (or file) fab owns below ``base``: neither it nor any folder between
    them may be a symbolic link or other non-folder; missing ones are fine."""
    current = base
    parts = path.relative_to(base).parts
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return path
        except OSError as exc:
            raise InputError(f"cannot read {current}: {exc.strerror}") from exc
        if stat.S_ISLNK(info.st_mode):
            raise InputError(
                f"{current} is a symbolic link (to {os.readlink(current)}) where fab keeps its "
                "own folder; fab never writes or deletes through a link",
                location=Location(str(current)),
            )
        last = index == len(parts) - 1
        if not last and not stat.S_ISDIR(info.st_mode):
            raise InputError(f"{current} is not a folder", location=Location(str(current)))
    return path


def read_file(path: Path, boundary: Path | None, where: str = "the tree") -> bytes:
    """The bytes of a regular file inside ``boundary``, at most ``MAX_FILE_BYTES``."""
    confine(path, boundary, "file", where)
    return read_regular(path)


def check_definition(
    directory: Path, boundary: Path | None, layers: Sequence[str], where: str
) -> None:
    """The files a component folder's definition is read from stay inside ``boundary``:
    ``component.yaml|json``, ``config/`` and the config files of ``layers``."""
    if boundary is None:
        return
    names = ["component.yaml", "component.json", "config"]
    names += [f"config/{env}{suffix}" for env in layers for suffix in (".yaml", ".json")]
    for name in names:
        path = directory / name
        # The folder itself is inside (the walk checked it): only a link can lead out.
        if os.path.islink(path):
            confine(path, boundary, "definition file", where)


def boundary_name(node: Node) -> str:
    """What a component's boundary is called in errors."""
    return "its fetched definition" if node.remote else "the tree"


class Chart(NamedTuple):
    """A chart folder that passed its checks, and the folder its links must stay inside."""

    path: Path
    limit: Path | None
    where: str  # what ``limit`` is called in errors


def checked_chart(node: Node) -> Chart:
    """A helm component's chart: inside its boundary, fab's own folders no links, a Chart.yaml.

    A local chart's links stay inside the tree (or a fetched definition's clone); a chart fetched
    with git stays inside its clone; one from a chart repository inside its own folder.
    """
    component = node.component
    chart = chart_dir(node)
    if component.method in ("git", "helm"):
        fetched = chart_clone_dir(node.physical_path, component.name)
        own_folder(fetched, node.physical_path)
        where = "its clone" if component.method == "git" else "the chart"
        confine(chart, fetched, "chart path", where)
        limit: Path | None = fetched
    else:
        where = boundary_name(node)
        confine(chart, node.boundary, "chart folder", where)
        limit = node.boundary
    if not os.path.isfile(chart / "Chart.yaml"):
        hint = " (run 'fab install' first?)" if component.method in ("git", "helm") else ""
        raise InputError(f"no helm chart at {chart}{hint}")
    return Chart(chart, limit, where)


def checked_static(node: Node) -> Path:
    """A static component's manifest folder, inside its boundary."""
    folder = static_dir(node)
    if node.component.method.lower() == "http":
        return own_folder(folder, node.physical_path)
    return confine(folder, node.boundary, "manifest folder", boundary_name(node))


def chart_files(chart: Chart) -> list[tuple[str, Path]]:
    """Every file helm would read from ``chart``, by relative path, links followed as helm
    follows them: each a regular file of bounded size whose links stay inside ``limit``."""
    limit = chart.limit
    found: list[tuple[str, Path]] = []
    seen = {os.path.realpath(chart.path)}
    pending = [(chart.path, "")]
    while pending:
        folder, rel = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(
                f"cannot read chart folder: {exc.strerror}", location=Location(str(folder))
            ) from exc
        for entry in entries:
            path = Path(entry.path)
            name = f"{rel}{entry.name}"
            info = stat_inside(
                path, limit if entry.is_symlink() else None, "chart file", chart.where
            )
            if stat.S_ISDIR(info.st_mode):
                real = os.path.realpath(path)
                if real in seen:
                    raise InputError(
                        "chart folder links back to itself", location=Location(str(path))
                    )
                seen.add(real)
                pending.append((path, f"{name}/"))
            elif stat.S_ISREG(info.st_mode):
                if info.st_size > MAX_FILE_BYTES:
                    raise InputError(
                        f"chart file is too large ({info.st_size} bytes, limit {MAX_FILE_BYTES})",
                        location=Location(str(path)),
                    )
                found.append((name, path))
            else:
                raise InputError(
                    "chart file is not a regular file (a device, FIFO or socket)",
                    location=Location(str(path)),
                )
    return sorted(found)
