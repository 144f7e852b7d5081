"""Ways to look at records: time windows, tables, and the diff between two generations.

print(table(store.records(limit=10)))
changes = diff(store.get("84ff5b242088"), store.get("1c0e9d7a22f1"))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fabrikate.errors import InputError
from fabrikate.records.stores.base import Row

__all__ = ["diff", "diff_text", "parse_since", "rows_table", "table"]

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# What makes two component entries different versions.
_COMPONENT_KEYS = ("type", "method", "source", "path", "version", "branch", "commit", "chart")


def parse_since(text: str, now: datetime | None = None, option: str = "--since") -> str:
    """An ISO-8601 UTC time from ``2h``/``7d``-style ages or an ISO date or time (a bad one is
    an error naming ``option``)."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text.strip().lower())
    if match:
        return (now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})).isoformat()
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r}: want an age like 30m, 2h, 7d or an ISO date like 2025-01-31"
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


# Terminal renderings of the query layer's answers (records/queries.py), for the CLI.

_NONE = "-"


def _cell(value: Any) -> str:
    """A table cell: lists joined, nothing as '-'."""
    if isinstance(value, list | tuple):
        return ",".join(_cell(v) for v in value) if value else _NONE
    return _NONE if value is None or value == "" else str(value)


def _check(validation: Any) -> str:
    """A record's validation as a word: passed, N errors, or '-' when it did not run."""
    if not isinstance(validation, Mapping):
        return _cell(validation)
    if validation.get("passed"):
        warnings = validation.get("warnings") or 0
        return f"passed ({warnings} warnings)" if warnings else "passed"
    return f"{validation.get('errors') or 0} errors"


def _service(item: Mapping[str, Any]) -> str:
    if item.get("service"):
        return str(item["service"])
    return _cell([s["service"] for s in item.get("services") or [] if s.get("service")])


def _with_notes(grid: str, notes: Mapping[int, str]) -> str:
    """``grid`` with a note line after some of its body rows (0 is the first row)."""
    lines = grid.splitlines()
    out = lines[:1]
    for index, line in enumerate(lines[1:]):
        out.append(line)
        if index in notes:
            out.append(notes[index])
    return "\n".join(out)


DEPLOYMENTS_HEADER: tuple[str, ...] = (
    "ID",
    "STARTED",
    "SCOPE",
    "ENV",
    "RING",
    "SERVICE",
    "BRANCH",
    "AUTHOR",
)
DEPLOYMENTS_HEADER += ("OUTCOME", "VALIDATION", "HLD")


def deployments_table(items: Sequence[Mapping[str, Any]]) -> str:
    """Deployment summaries, one line each; a run standing for unchanged runs after it says how
    many; no items: the header and 'no records'."""
    if not items:
        return _grid(DEPLOYMENTS_HEADER, []) + "\nno records"
    notes = {}
    for index, item in enumerate(items):
        hidden = item.get("unchanged")
        if isinstance(hidden, int) and not isinstance(hidden, bool) and hidden > 0:
            runs = "run" if hidden == 1 else "runs"
            notes[index] = f"  ... {hidden} unchanged {runs} (--all shows them)"

    def line(item: Mapping[str, Any]) -> list[str]:
        outcome = _cell(item.get("outcome"))
        if item.get("unchanged") is True:
            outcome += " (unchanged)"
        return [
            _cell(item.get("rowKey")),
            _when(item.get("startedAt") or item.get("lastUpdated")),
            _cell(item.get("scope")),
            _cell(item.get("environment")),
            _cell(item.get("ring")),
            _service(item),
            _cell(item.get("branch")),
            _cell(item.get("author")),
            outcome,
            _check(item.get("validation")),
            _cell((item.get("hldUpdate") or {}).get("commit")),
        ]

    return _with_notes(_grid(DEPLOYMENTS_HEADER, [line(i) for i in items]), notes)


def _column(column: Mapping[str, Any]) -> str:
    """A matrix column's heading: env/ring, * for the default ring, @cluster."""
    parts = [p for p in (column.get("environment"), column.get("ring")) if p]
    label = "/".join(parts) or str(column.get("key") or _NONE)
    if column.get("default"):
        label += "*"
    if column.get("cluster"):
        label += f"@{column['cluster']}"
    return label


def age(iso: str | None, now: datetime | None = None) -> str:
    """How long ago ``iso`` was, in its largest unit: 45s, 3m, 5h, 2d."""
    if not iso:
        return _NONE
    seconds = max(
        0, int(((now or datetime.now(UTC)) - datetime.fromisoformat(iso)).total_seconds())
    )
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _drift(drift: Any) -> str:
    """One drift marker of a matrix cell, in words."""
    if not isinstance(drift, Mapping):
        return _cell(drift)
    kind, version = drift.get("kind"), _cell(drift.get("version"))
    changes = drift.get("changes")
    by = f" by {changes} change{'' if changes == 1 else 's'}" if changes else ""
    if kind in ("aheadOfDefault", "behindDefault"):
        where = "ahead of" if kind == "aheadOfDefault" else "behind"
        return f"{where} the default ring {_cell(drift.get('ring'))} ({version}){by}"
    if kind == "clusterBehind":
        return f"cluster {_cell(drift.get('cluster'))} is behind: it runs {version}"
    if kind == "notReported":
        return f"cluster {_cell(drift.get('cluster'))} has not reported it"
    return _cell(kind)


def matrix_table(matrix: Mapping[str, Any], now: datetime | None = None) -> str:
    """What runs where: a row per service, a column per ring (environment, cluster); each cell
    the version, state and age, '!' where it drifts (the notes below say how)."""
    columns = list(matrix.get("columns") or [])
    found = list(matrix.get("rows") or [])
    scoped = len({row.get("scope") for row in found}) > 1
    notes: list[str] = []

    def cell(service: str, column: Mapping[str, Any], value: Mapping[str, Any] | None) -> str:
        if not value:
            return _NONE
        drift = list(value.get("drift") or [])
        notes.extend(f"! {service} {_column(column)}: {_drift(d)}" for d in drift)
        text = f"{_cell(value.get('version'))} {_cell(value.get('state'))}"
        return f"{text} {age(value.get('startedAt'), now)}" + (" !" if drift else "")

    rows = []
    for row in found:
        name = _cell(row.get("service"))
        name = f"{row.get('scope')}/{name}" if scoped else name
        cells = row.get("cells") or {}
        rows.append([name, *(cell(name, c, cells.get(c["key"])) for c in columns)])
    grid = _grid(["SERVICE", *(_column(c) for c in columns)], rows)
    if not rows:
        return grid + "\nno records"
    legend = "* default ring" if any(c.get("default") for c in columns) else ""
    return "\n".join(line for line in (grid, *notes, legend) if line)


def _side(item: Any) -> str:
    """One side of a comparison: its id, where and when."""
    if not isinstance(item, Mapping):
        return _cell(item)
    where = "/".join(p for p in (item.get("environment"), item.get("ring")) if p)
    return f"{_cell(item.get('rowKey') or item.get('id'))} {where} {_when(item.get('startedAt'))}"


def _object(entry: Mapping[str, Any]) -> str:
    namespace = f"{entry['namespace']}/" if entry.get("namespace") else ""
    return f"{entry['kind']} {namespace}{entry['name']} ({_cell(entry.get('file'))})"


def compare_text(comparison: Mapping[str, Any]) -> str:
    """A comparison of two records as lines a person reads."""
    changes = []
    for kind in ("components", "images"):
        for item in comparison.get(kind) or []:
            changes.append(
                f"{kind[:-1]} {item['name']}: {_short(item['a'])} -> {_short(item['b'])}"
            )
    objects = comparison.get("objects") or {}
    for change in ("added", "removed"):
        changes.extend(f"object {change}: {_object(e)}" for e in objects.get(change) or [])
    changes.extend(f"object changed: {_object(c['b'])}" for c in objects.get("changed") or [])
    lines = [f"a: {_side(comparison.get('a'))}", f"b: {_side(comparison.get('b'))}"]
    lines += changes or ["no component, image or object changes"]
    if not objects.get("known", True):
        lines.append("objects: unknown (a record predates per-object digests)")
    elif "unchanged" in objects:
        lines.append(f"objects unchanged: {objects['unchanged']}")
    if comparison.get("rollback"):
        lines.append(f"rollback: b returns to the output of {_cell(comparison['rollback'])}")
    return "\n".join(lines)


def component_version(component: Mapping[str, Any]) -> str | None:
    """A component's version as a person names it: chart version, else version, else commit."""
    chart = component.get("chart") or {}
    commit = component.get("commit")
    return chart.get("version") or component.get("version") or (commit[:7] if commit else None)


def _subject(
    image: str | None, service: str | None, component: str | None
) -> Callable[[Mapping[str, Any]], str]:
    """What ``log`` follows in a record: the matching images, or a service's or component's
    version."""
    if image is not None:
        return lambda r: _cell(
            sorted({i["image"] for i in r.get("images") or [] if image in i["image"]})
        )
    if service is not None:
        from fabrikate.records.overview import services

        return lambda r: _cell(
            sorted({s["version"] or _NONE for s in services(r) if s["service"] == service})
        )
    name = component
    return lambda r: _cell(
        sorted(
            {
                component_version(c) or _NONE
                for c in r.get("components") or []
                if c.get("name") == name
            }
        )
    )


def log(
    records: Iterable[Mapping[str, Any]],
    *,
    image: str | None = None,
    service: str | None = None,
    component: str | None = None,
) -> list[dict[str, Any]]:
    """Who changed an image, service or component, and when: each deployment where its version
    differs from the previous deployment of the same scope, environment and ring, newest first."""
    from fabrikate.records.metrics import deployments

    version = _subject(image, service, component)
    previous: dict[tuple[str, str, str], str] = {}
    found = []
    for record in deployments(records):
        group = (record["scope"], record["environment"], record.get("ring") or "")
        now, before = version(record), previous.get(group)
        if now in (before, _NONE):
            continue
        previous[group] = now
        hld = record.get("hld") or {}
        found.append(
            {
                "startedAt": record["startedAt"],
                "id": record["id"],
                "rowKey": record["rowKey"],
                "scope": record["scope"],
                "environment": record["environment"],
                "ring": record.get("ring"),
                "from": before,
                "to": now,
                "author": hld.get("commitAuthor"),
                "mergedBy": hld.get("mergedBy"),
                "pr": hld.get("pr"),
                "commit": hld.get("commitShort"),
            }
        )
    return found[::-1]


LOG_HEADER = ("STARTED", "ENV", "RING", "FROM", "TO", "AUTHOR", "MERGED BY", "PR", "HLD", "ID")


def log_table(changes: Iterable[Mapping[str, Any]]) -> str:
    """``log`` as a table; none: the header and 'no records'."""
    rows = [
        [
            _when(c["startedAt"]),
            _cell(c["environment"]),
            _cell(c["ring"]),
            _cell(c["from"]),
            _cell(c["to"]),
            _cell(c["author"]),
            _cell(c["mergedBy"]),
            _cell(c["pr"]),
            _cell(c["commit"]),
            _cell(c["rowKey"]),
        ]
        for c in changes
    ]
    return _grid(LOG_HEADER, rows) + ("" if rows else "\nno records")
