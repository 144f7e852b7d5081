"""``fabrikate.lock``: what ``fab install`` placed, pinned, beside the root ``component.yaml``.

    lock = Lock.read(Path("hld"))
    entry = lock.entries.get("infra/efk")   # Entry(method='git', ..., commit='5a0e3c0...')
    lock.entries["infra/efk"] = entry
    lock.write()                            # sorted and stable: diffs show only what changed

For each installed component (by its path in the tree) the lock keeps what its definition
asks for (method, source, chart, version, branch), what that resolved to (the commit, the
exact chart version), the sha256 of the chart archive or http file, the mirror the map fetched
it from, and a git chart's fetched dependencies. A later install fetches exactly that while
the definition still asks for the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fabrikate.errors import InputError, Location

__all__ = ["LOCK_FILE", "Dependency", "Entry", "Lock"]

LOCK_FILE = "fabrikate.lock"
_FORMAT = 1
_HEADER = (
    "# fabrikate.lock: what fab install placed, pinned. Commit it.\n"
    "# fab install --locked installs exactly this; fab install --update [NAME...] relocks.\n"
)
# Field names in the file, in the file's camelCase.
_KEYS = {"chart_version": "chartVersion"}


def _key(name: str) -> str:
    return _KEYS.get(name, name)


@dataclass(frozen=True)
class Dependency:
    """One dependency a git chart's ``Chart.yaml`` (or ``requirements.yaml``) declares."""

    name: str  # the alias, else the chart name
    chart: str
    repository: str  # as the chart writes it
    version: str  # the version or range it asks for
    chart_version: str = ""  # what that resolved to
    digest: str = ""  # sha256 of the archive
    mirror: str = ""


@dataclass(frozen=True)
class Entry:
    """One installed component."""

    method: str
    source: str  # as the definition writes it, credentials removed
    path: str = ""  # the chart (helm) or chart folder (git charts)
    version: str = ""
    branch: str = ""
    commit: str = ""
    chart_version: str = ""
    digest: str = ""
    mirror: str = ""
    dependencies: tuple[Dependency, ...] = ()

    @property
    def asks(self) -> tuple[str, ...]:
        """What the definition asked for; a lock entry holds while this stays the same."""
        return (self.method, self.source, self.path, self.version, self.branch)

    @property
    def pin(self) -> str:
        """The commit or exact chart version to fetch."""
        return self.commit or self.chart_version

    def describe(self) -> str:
        """``git https://host/x.git branch main`` as a message names it."""
        what = [self.method, self.source]
        if self.path:
            what.append(f"chart {self.path}")
        if self.version:
            what.append(f"version {self.version}")
        if self.branch:
            what.append(f"branch {self.branch}")
        return " ".join(what)


@dataclass
class Lock:
    """The lock file of one tree (``exists`` False: there is none yet)."""

    path: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    exists: bool = False

    @classmethod
    def read(cls, root: Path) -> Lock:
        """The lock beside the root definition; an unreadable one is an error naming it."""
        from fabrikate.support.fsutil import read_regular
        from fabrikate.support.yamlio import parse_yaml

        path = root / LOCK_FILE
        if not path.exists() and not path.is_symlink():
            return cls(path)
        text = read_regular(path).decode("utf-8", "replace")
        data, _ = parse_yaml(text, str(path), strings=True)
        if data is None:
            return cls(path, exists=True)
        if not isinstance(data, dict) or str(data.get("lockVersion")) != str(_FORMAT):
            raise InputError(
                f"not a fabrikate.lock of version {_FORMAT} (lockVersion: {_FORMAT})",
                location=Location(str(path)),
            )
        listed = data.get("components") or {}
        if not isinstance(listed, dict):
            raise _bad(path, "'components' must map component paths to entries")
        entries = {str(name): _entry(value, path, str(name)) for name, value in listed.items()}
        return cls(path, entries, exists=True)

    def text(self) -> str:
        """The file's text: sorted keys, one line per field, the same for the same entries."""
        import yaml

        data = {
            "lockVersion": _FORMAT,
            "components": {name: _plain(self.entries[name]) for name in sorted(self.entries)},
        }
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        body = yaml.dump(data, Dumper=dumper, sort_keys=True, default_flow_style=False, width=4096)
        return _HEADER + body

    def write(self) -> bool:
        """Write the file if its text changed; whether it did."""
        from fabrikate.support.fsutil import write_file

        text = self.text()
        try:
            if self.path.read_text() == text:
                return False
        except (OSError, UnicodeDecodeError):
            pass
        write_file(self.path, text)
        self.exists = True
        return True


def _plain(entry: Entry | Dependency) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in fields(entry):
        value = getattr(entry, item.name)
        if item.name == "dependencies":
            value = [_plain(dep) for dep in sorted(value, key=lambda d: d.name)]
        elif item.name == "digest" and value:
            value = f"sha256:{value}"
        if value:
            data[_key(item.name)] = value
    return data


def _bad(path: Path, message: str) -> InputError:
    return InputError(f"fabrikate.lock: {message}", location=Location(str(path)))


def _entry(value: Any, path: Path, name: str) -> Entry:
    data = _fields(value, Entry, path, name)
    deps = data.pop("dependencies", None) or []
    if not isinstance(deps, list):
        raise _bad(path, f"{name}: 'dependencies' must be a list")
    dependencies = tuple(Dependency(**_fields(d, Dependency, path, name)) for d in deps)
    if not data.get("method") or not data.get("source"):
        raise _bad(path, f"{name}: an entry needs 'method' and 'source'")
    return Entry(**data, dependencies=dependencies)


def _fields(value: Any, kind: type, path: Path, name: str) -> dict[str, Any]:
    """The known fields of one entry, by their Python names; anything else is an error."""
    if not isinstance(value, dict):
        raise _bad(path, f"{name}: each entry is a map")
    names = {_key(f.name): f.name for f in fields(kind)}
    data: dict[str, Any] = {}
    for key, item in value.items():
        if key not in names:
            raise _bad(path, f"{name}: unknown field {key!r}")
        if names[key] == "dependencies":
            data[names[key]] = item
            continue
        text = "" if item is None else str(item)
        data[names[key]] = text.removeprefix("sha256:") if key == "digest" else text
    if kind is Dependency and not {"name", "chart", "repository", "version"} <= set(data):
        raise _bad(path, f"{name}: a dependency needs name, chart, repository and version")
    return data
