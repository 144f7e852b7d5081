"""Ways to look at records in a terminal: time windows, and the query layer's answers
(``records/queries.py``) as tables and lines.

print(deployments_table(deployments(store, Filters(ring="canary")).items))
print(matrix_table(matrix(store, Filters())))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fabrikate.errors import InputError
from fabrikate.records.stores.base import Row

__all__ = [
    "DEPLOYMENTS_HEADER",
    "age",
    "compare_text",
    "component_version",
    "deployments_table",
    "log",
    "log_table",
    "matrix_table",
    "parse_since",
    "pruned_text",
    "rows_table",
]

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


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


def _short(value: Any) -> str:
    """A version as a person reads it: a chart as name:version, a commit as 7 digits."""
    if value is None:
        return "(none)"
    if isinstance(value, Mapping):
        if value.keys() <= {"name", "version"}:
            return ":".join(str(v) for v in value.values())
        return " ".join(_short(v)[:7] if k == "commit" else _short(v) for k, v in value.items())
    return str(value)


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


def deployments_table(items: Sequence[Mapping[str, Any]], collapsed: int = 0) -> str:
    """Deployment summaries, one line each, and how many unchanged runs were left out; no
    items: the header and 'no records'."""
    lines = [_deployment(item) for item in items]
    text = _grid(DEPLOYMENTS_HEADER, lines) + ("" if lines else "\nno records")
    if collapsed:
        runs = "run" if collapsed == 1 else "runs"
        text += f"\n({collapsed} unchanged {runs} not shown; --all shows them)"
    return text


def _deployment(item: Mapping[str, Any]) -> list[str]:
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


def _differences(found: Any, most: int = 3) -> str:
    """What two records deploy differently, in words (the first ``most``)."""
    listed = [d for d in found or [] if isinstance(d, Mapping)]
    words = [
        f"{d.get('kind')} {d.get('name')}: {_cell(d.get('a'))} -> {_cell(d.get('b'))}"
        for d in listed[:most]
    ]
    more = f"; {len(listed) - most} more" if len(listed) > most else ""
    return "; ".join(words) + more


def _drift(drift: Any) -> str:
    """One drift marker of a matrix cell, in words."""
    if not isinstance(drift, Mapping):
        return _cell(drift)
    kind, version = drift.get("kind"), _cell(drift.get("version"))
    changes = drift.get("changes")
    by = f" by {changes} change{'' if changes == 1 else 's'}" if changes else ""
    what = _differences(drift.get("differences"))
    if kind in ("aheadOfDefault", "behindDefault"):
        where = "ahead of" if kind == "aheadOfDefault" else "behind"
        text = f"{where} the default ring {_cell(drift.get('ring'))} ({version}){by}"
        return f"{text}: {what}" if what else text
    if kind == "clusterBehind":
        text = f"cluster {_cell(drift.get('cluster'))} is behind: it runs {version}"
        return f"{text} ({what})" if what else text
    if kind == "notReported":
        return f"cluster {_cell(drift.get('cluster'))} has not reported it"
    return _cell(kind)


DRIFT_NOTES = 20  # drift notes below the matrix; the JSON has every one


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
    if len(notes) > DRIFT_NOTES:
        more = len(notes) - DRIFT_NOTES
        notes[DRIFT_NOTES:] = [f"! ... {more} more drift notes (-o json has them all)"]
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
    rollback = comparison.get("rollback")
    if rollback:
        to = rollback.get("recordId") if isinstance(rollback, Mapping) else rollback
        lines.append(f"rollback: b returns to the output of {_cell(to)}")
    return "\n".join(lines)


def component_version(component: Mapping[str, Any]) -> str | None:
    """A component's version as a person names it: chart version, else version, else commit."""
    chart = component.get("chart") or {}
    commit = component.get("commit")
    return chart.get("version") or component.get("version") or (commit[:7] if commit else None)


def _with_image(item: Mapping[str, Any]) -> str:
    """A service's version, with its image when the version does not name it (a chart
    version: an image tag change is a change too)."""
    version, image = item["version"] or _NONE, item.get("image")
    return version if not image or image.endswith(f":{version}") else f"{version} ({image})"


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
            sorted({_with_image(s) for s in services(r) if s["service"] == service})
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
    differs from the previous deployment of the same scope, environment, ring and service,
    newest first."""
    from fabrikate.records.metrics import deployments
    from fabrikate.records.overview import author_name

    version = _subject(image, service, component)
    previous: dict[tuple[str, str, str, str], str] = {}
    found = []
    for record in deployments(records):
        group = (
            record["scope"],
            record["environment"],
            record.get("ring") or "",
            record.get("service") or "",
        )
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
                "service": record.get("service"),
                "from": before,
                "to": now,
                "author": author_name(record),
                "mergedBy": hld.get("mergedBy"),
                "pr": hld.get("pr"),
                "commit": hld.get("commitShort"),
            }
        )
    return found[::-1]


LOG_HEADER = (
    "STARTED",
    "ENV",
    "RING",
    "SERVICE",
    "FROM",
    "TO",
    "AUTHOR",
    "MERGED BY",
    "PR",
    "HLD",
    "ID",
)


def log_table(changes: Iterable[Mapping[str, Any]]) -> str:
    """``log`` as a table; none: the header and 'no records'."""
    rows = [
        [
            _when(c["startedAt"]),
            _cell(c["environment"]),
            _cell(c["ring"]),
            _cell(c["service"]),
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


def log_more(page: Mapping[str, Any]) -> str:
    """The line under a version log that has more (``version_log(...).to_data()``)."""
    if page["more"]:
        shown = len(page["items"])
        return f"showing the newest {shown} changes; more: --cursor {page['next']} (or --limit)"
    return (
        f"read the newest {page['read']} matching records; older ones: --cursor {page['next']}"
        " (or --since/--until)"
    )


def pruned_text(pruned: Mapping[str, Any]) -> str:
    """What a prune removed (``Pruned.to_data()``): a line per record, then the count."""
    verb = "would remove" if pruned["dryRun"] else "removed"
    lines = []
    for record in pruned["removed"]:
        where = "/".join(p for p in (record.get("environment"), record.get("ring")) if p)
        key = record.get("rowKey") or record["id"]
        lines.append(f"{verb} {key} {where or _NONE} {_when(record.get('startedAt'))}")
    count = len(pruned["removed"])
    done = "would be removed" if pruned["dryRun"] else "removed"
    plural = "" if count == 1 else "s"
    lines.append(f"{count} record{plural} {done} (started before {_when(pruned['before'])})")
    return "\n".join(lines)
