"""The ring map of an HLD: which branch deploys as which ring, and which ring is the default.

    rings = read_rings(Path("."))          # rings.yaml and/or Bedrock's bedrock.yaml
    ring = resolve_ring(None, rings, "main")

``rings.yaml`` (written by ``fab init``) maps ring names to ``branch`` (or Bedrock's
``targetBranch``) and ``default`` (or ``isDefault``); a Bedrock ``bedrock.yaml`` lists
``rings: {name: {isDefault: true}}``, where the ring's branch is its name. Both files may be
present: ``rings.yaml`` wins for a ring both name, and its default ring is the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from fabrikate.errors import InputError, Location
from fabrikate.support.yamlio import parse_yaml, read_text

__all__ = ["RING_FILES", "Ring", "RingMap", "read_rings", "resolve_ring"]

RING_FILES = ("rings.yaml", "bedrock.yaml")


class Ring(NamedTuple):
    """One declared ring: its name, the branch that deploys as it, and the default flag."""

    name: str
    branch: str
    default: bool = False


class RingMap(NamedTuple):
    """The declared rings, in file order; ``files`` are the ones they were read from."""

    rings: tuple[Ring, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def default(self) -> Ring | None:
        """The default ring (the one that answers without a ``Ring:`` header)."""
        return next((ring for ring in self.rings if ring.default), None)

    def ring_for(self, branch: str | None) -> str | None:
        """The ring the branch deploys as, if the map names it."""
        return next((ring.name for ring in self.rings if branch and ring.branch == branch), None)

    def to_record(self) -> dict[str, Any] | None:
        """The record's ``rings`` field (None when no ring is declared)."""
        if not self.rings:
            return None
        default = self.default
        return {
            "declared": [ring.name for ring in self.rings],
            "default": default.name if default else None,
            "branches": {ring.name: ring.branch for ring in self.rings},
        }


def read_rings(root: Path) -> RingMap:
    """The ring map of the HLD at ``root`` (empty when neither file is there)."""
    found: dict[str, Ring] = {}
    files: list[str] = []
    for name in reversed(RING_FILES):  # bedrock.yaml first, so rings.yaml overrides it
        path = root / name
        if not path.is_file():
            continue
        _inside(path, root)
        rings = _parse(path, name)
        defaults = [ring.name for ring in rings if ring.default]
        if len(defaults) > 1:
            message = f"more than one default ring: {', '.join(defaults)}"
            raise InputError(message, location=Location(name))
        if defaults:  # this file's default replaces the other's
            found = {key: ring._replace(default=False) for key, ring in found.items()}
        found.update((ring.name, ring) for ring in rings)
        files.insert(0, name)
    return RingMap(tuple(found.values()), tuple(files))


def _inside(path: Path, root: Path) -> None:
    """A ring file that is a link out of the HLD is refused."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise InputError("the ring map links outside the HLD", location=Location(str(path)))


def _parse(path: Path, file: str) -> list[Ring]:
    data, _ = parse_yaml(read_text(path), file)
    rings = data.get("rings") if isinstance(data, dict) else None
    if data is None or (isinstance(data, dict) and rings is None):
        return []
    if not isinstance(rings, dict):
        raise InputError("'rings' must map ring names to settings", location=Location(file))
    return [_ring(str(name), value, file) for name, value in rings.items()]


def _ring(name: str, value: Any, file: str) -> Ring:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise InputError(f"ring {name!r} must be a mapping", location=Location(file))
    branch = value.get("branch", value.get("targetBranch")) or name
    default = value.get("default", value.get("isDefault", False))
    if not isinstance(branch, str) or not isinstance(default, bool):
        raise InputError(
            f"ring {name!r}: branch must be a string and default true or false",
            location=Location(file),
        )
    return Ring(name, branch, default)


def resolve_ring(explicit: str | None, rings: RingMap, branch: str | None) -> str | None:
    """The ring of a generation: ``--ring``/``FAB_RING``, else the map's ring for the HLD
    branch, else the branch itself."""
    return explicit or rings.ring_for(branch) or branch
