"""Ways to look at records: time windows, tables, and the diff between two generations.

print(table(store.records(limit=10)))
changes = diff(store.get("84ff5b242088"), store.get("1c0e9d7a22f1"))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fabrikate.errors import InputError
from fabrikate.records.stores.base import Row

__all__ = ["diff", "diff_text", "parse_since", "rows_table", "table"]

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# What makes two component entries different versions.
_COMPONENT_KEYS = ("type", "method", "source", "path", "version", "branch", "commit", "chart")


def parse_since(text: str, now: datetime | None = None) -> str:
    """An ISO-8601 UTC time from ``2h``/``7d``-style ages or an ISO date or time."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text.strip().lower())
    if match:
        return (now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})).isoformat()
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--since {text!r}: want an age like 30m, 2h, 7d or an ISO date like 2025-01-31"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()


def _grid(header: Sequence[str], lines: Iterable[Sequence[str]]) -> str:
    body = [list(header), *[list(line) for line in lines]]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in body
    )


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def table(records: Iterable[Mapping[str, Any]]) -> str:
    """A readable table of native records, one line each."""

    def line(r: Mapping[str, Any]) -> list[str]:
        output = r.get("output") or {}
        changed = {True: "yes", False: "no", None: "-"}.get(output.get("changed"), "-")
        return [
            r["rowKey"],
            _when(r["startedAt"]) + " UTC",
            r["scope"],
            r["environment"],
            r["outcome"],
            (r.get("hld") or {}).get("commitShort") or "-",
            changed,
            str(len(r.get("components") or [])),
            str(len(r.get("images") or [])),
            f"{r['durationMs'] / 1000:.1f}s",
        ]

    header = (
        "ID",
        "STARTED",
        "SCOPE",
        "ENV",
        "OUTCOME",
        "HLD",
        "CHANGED",
        "COMP",
        "IMAGES",
        "TIME",
    )
    return _grid(header, (line(r) for r in records))


def rows_table(rows: Iterable[Row]) -> str:
    """Deployment rows with Bedrock's columns (ids, commits, ring)."""
    names = ("service", "env", "imageTag", "p1", "commitId", "p2", "hldCommitId", "pr", "p3")
    header: tuple[str, ...] = ("ID", "SCOPE", "SERVICE", "RING", "IMAGE TAG", "P1", "COMMIT")
    header += ("P2", "HLD", "PR", "P3", "MANIFEST", "UPDATED")
    return _grid(
        header,
        (
            [row.row_key, row.scope]
            + [row.fields.get(n) or "-" for n in names]
            + [row.fields.get("manifestCommitId") or "-", _when(row.updated)]
            for row in rows
        ),
    )


def _keyed(items: Iterable[Mapping[str, Any]], key: Sequence[str]) -> dict[tuple[str, ...], Any]:
    return {tuple(str(item.get(k) or "") for k in key): item for item in items}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Component versions and images that changed from ``old`` to ``new``."""
    components: list[dict[str, Any]] = []
    before = _keyed(old.get("components") or [], ("logicalPath",))
    after = _keyed(new.get("components") or [], ("logicalPath",))
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            components.append(
                {"logicalPath": key[0], "change": "added" if a is None else "removed"}
            )
            continue
        changed = {k: [a.get(k), b.get(k)] for k in _COMPONENT_KEYS if a.get(k) != b.get(k)}
        if changed:
            components.append({"logicalPath": key[0], "change": "changed", "fields": changed})
    images = []
    image_key = ("component", "kind", "workload", "containerType", "container")
    before = _keyed(old.get("images") or [], image_key)
    after = _keyed(new.get("images") or [], image_key)
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        old_image = a["image"] if a else None
        new_image = b["image"] if b else None
        if old_image != new_image:
            where = dict(zip(image_key, key, strict=True))
            images.append({**where, "from": old_image, "to": new_image})
    return {
        "from": old["rowKey"],
        "to": new["rowKey"],
        "hld": [(old.get("hld") or {}).get("commit"), (new.get("hld") or {}).get("commit")],
        "outputChanged": (old.get("output") or {}).get("digest")
        != (new.get("output") or {}).get("digest"),
        "components": components,
        "images": images,
    }


def diff_text(changes: Mapping[str, Any]) -> str:
    """``diff`` as lines a person reads."""
    lines = [f"{changes['from']} -> {changes['to']}"]
    lines.append("output: " + ("changed" if changes["outputChanged"] else "identical"))
    for item in changes["components"]:
        if item["change"] != "changed":
            lines.append(f"component {item['logicalPath']}: {item['change']}")
            continue
        for name, (a, b) in item["fields"].items():
            lines.append(f"component {item['logicalPath']}: {name} {_short(a)} -> {_short(b)}")
    for item in changes["images"]:
        where = f"{item['component']} {item['kind']}/{item['workload']} {item['container']}"
        lines.append(f"image {where}: {item['from'] or '(none)'} -> {item['to'] or '(none)'}")
    if not changes["components"] and not changes["images"]:
        lines.append("no component or image changes")
    return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return ":".join(str(v) for v in value.values())
    return "(none)" if value is None else str(value)
