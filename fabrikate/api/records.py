"""Writes people ask of a records store: a mark on a record, and pruning old records.

mark = mark_record(store, "84ff5b242088", "rollback", note="bad config", by="ana")
pruned = prune_records(store, "180d", keep_latest_per_environment=True, dry_run=True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fabrikate.errors import InputError
from fabrikate.records.events import MARK_KINDS, Mark
from fabrikate.records.stores.base import RecordQuery, Store
from fabrikate.records.view import parse_since

__all__ = ["MAX_NOTE", "PRUNE_PAGE", "Pruned", "mark_record", "prune_records"]


MAX_NOTE = 2000  # characters of a mark's note: a reason, not a report
PRUNE_PAGE = 1000  # records a prune reads at once to report on
_PRUNED_FIELDS = ("id", "rowKey", "scope", "environment", "ring", "startedAt")


def mark_record(
    store: Store, ref: str, kind: str, *, note: str = "", by: str | None = None
) -> Mark:
    """Mark the record ``ref`` (id, row key or a unique prefix) failed, hotfix or rollback."""
    if kind not in MARK_KINDS:
        raise InputError(f"mark {kind[:20]!r}: want one of {', '.join(MARK_KINDS)}")
    if len(note) > MAX_NOTE:
        raise InputError(f"the note has {len(note)} characters; at most {MAX_NOTE}")
    record = store.get(ref)
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    mark = Mark(record_id=record["id"], kind=kind, note=note, by=by, at=at)
    store.add_mark(mark)
    return mark


@dataclass(frozen=True)
class Pruned:
    """The records a prune removed (or, dry, would remove), oldest first."""

    before: str
    dry_run: bool
    records: list[dict[str, Any]] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data: the cut-off, and each record's id, row key, environment, ring, time."""
        return {
            "before": self.before,
            "dryRun": self.dry_run,
            "removed": [{k: r.get(k) for k in _PRUNED_FIELDS} for r in self.records],
        }


def prune_records(
    store: Store, older_than: str, *, keep_latest_per_environment: bool, dry_run: bool = False
) -> Pruned:
    """Remove the records started before ``older_than`` (an age like 180d or an ISO date)."""
    before = parse_since(older_than, option="--older-than")
    candidates = _candidates(store, before)
    ids = store.prune(
        before=before, keep_latest_per_environment=keep_latest_per_environment, dry_run=dry_run
    )
    removed = [candidates.get(i) or {"id": i} for i in ids]
    removed.sort(key=lambda r: (r.get("startedAt") or "", r["id"]))
    return Pruned(before=before, dry_run=dry_run, records=removed)


def _candidates(store: Store, before: str) -> dict[str, dict[str, Any]]:
    """The reported fields of every record started before ``before``, by id, read a keyset page
    of ``PRUNE_PAGE`` at a time (never whole records)."""
    found: dict[str, dict[str, Any]] = {}
    after: tuple[str, str] | None = None
    while True:
        page = store.views(
            RecordQuery(until=before, before=after, limit=PRUNE_PAGE), _PRUNED_FIELDS
        )
        found.update((view["id"], view) for view in page)
        if len(page) < PRUNE_PAGE:
            return found
        after = (page[-1]["startedAt"], page[-1]["id"])
