"""The user-facing record filters (CLI options, URL query) and cursor pages.

    filters = Filters.from_params({"env": "prod", "since": "7d"})   # Spektate's ``env`` is a ring
    rows = store.query(filters.query(limit=50))
    page = Page(rows, next=cursor_after(rows[-1]))

A cursor is opaque to its reader: the URL-safe base64 of ``startedAt|id`` of the last record of
a page; the next page starts strictly after it in the store's order (newest first).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fabrikate.errors import InputError
from fabrikate.records.view import parse_since

if TYPE_CHECKING:
    from fabrikate.records.stores.base import RecordQuery

__all__ = [
    "OUTCOMES",
    "PAGE_PARAMS",
    "TYPES",
    "Filters",
    "Page",
    "cursor_after",
    "read_cursor",
    "read_row_cursor",
    "row_cursor",
]

OUTCOMES = ("succeeded", "failed", "canceled")
TYPES = ("pipeline", "manual", "pr")
# Names a page reads beside the filters (Spektate's ``limit`` and ``refresh`` among them).
PAGE_PARAMS = ("cursor", "limit", "refresh", "all", "pivot", "window")
# Spektate's URL names and values (its filter bar), read as ours.
_ALIASES = {"env": "ring"}
_SPEKTATE_TYPES = {"bedrock deployments": "pipeline", "manual hld edits": "manual"}
_MAX_VALUE = 200  # a filter value is a name, a time or a search word; more is not a filter
_COMMIT = re.compile(r"^[0-9a-f]{4,64}$")
_MAX_CURSOR = 400  # a cursor holds a time and an id, or a scope and a service name


@dataclass(frozen=True)
class Filters:
    """Which records to show; every given filter must match (AND)."""

    scope: str | None = None
    service: str | None = None
    ring: str | None = None
    environment: str | None = None
    cluster: str | None = None
    author: str | None = None
    outcome: str | None = None
    type: str | None = None  # pipeline | manual | pr
    keyword: str | None = None
    since: str | None = None  # an age (30m, 2h, 7d) or an ISO-8601 date or time
    until: str | None = None
    image: str | None = None
    component: str | None = None
    commit: str | None = None  # a prefix of the HLD, source or manifest commit

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                object.__setattr__(self, item.name, _checked(item.name, value))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The filter names, in order."""
        return tuple(item.name for item in fields(cls))

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], *, allow: Sequence[str] = PAGE_PARAMS
    ) -> Filters:
        """The filters a URL query or CLI options give: our names and Spektate's (``env``,
        ``type=Bedrock Deployments``); names in ``allow`` are skipped, others refused."""
        values: dict[str, str] = {}
        for key in params:
            if key in allow:
                continue
            name = _ALIASES.get(key, key)
            if name not in cls.names():
                known = ", ".join(sorted({*cls.names(), *_ALIASES}))
                raise InputError(f"unknown filter {key[:40]!r} (known: {known})")
            value = _one(params, key)
            if value is None or not value.strip():
                continue  # an empty form field filters nothing
            if name in values and values[name] != value.strip():
                raise InputError(f"filter {name!r} is given twice with different values")
            values[name] = value.strip()
        return cls(**values)

    def to_params(self) -> dict[str, str]:
        """The filters that are set, by name (for URLs and saved views)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    def query(self, **extra: Any) -> RecordQuery:
        """The store query of these filters (``cluster`` is the query layer's: it is matched
        through events); ``extra`` adds fields such as ``before`` and ``limit``."""
        from fabrikate.records.stores.base import RecordQuery

        values: dict[str, Any] = {
            "scope": self.scope,
            "environment": self.environment,
            "ring": self.ring,
            "service": self.service,
            "outcome": self.outcome,
            "author": self.author,
            "kind": self.type,
            "since": self.since_iso,
            "until": self.until_iso,
            "commit": self.commit,
            "image": self.image,
            "component": self.component,
            "keyword": self.keyword,
        }
        return RecordQuery(**{**values, **extra})

    @property
    def since_iso(self) -> str | None:
        """``since`` as an ISO-8601 UTC time."""
        return _when("since", self.since) if self.since else None

    @property
    def until_iso(self) -> str | None:
        """``until`` as an ISO-8601 UTC time."""
        return _when("until", self.until) if self.until else None


def _one(params: Mapping[str, Any], key: str) -> str | None:
    """The one value of ``key`` (a multi-dict, such as a URL query, may repeat it)."""
    getlist = getattr(params, "getlist", None)
    values = [v for v in getlist(key) if v] if callable(getlist) else [params[key]]
    if len(set(values)) > 1:
        raise InputError(f"filter {key[:40]!r} takes one value, not {len(set(values))}")
    value = values[0] if values else None
    if value is not None and not isinstance(value, str):
        raise InputError(f"filter {key[:40]!r} must be text")
    return value


def _when(name: str, text: str) -> str:
    try:
        return parse_since(text)
    except InputError:
        raise InputError(
            f"{name} {text[:40]!r}: want an age like 30m, 2h, 7d or an ISO date like 2025-01-31"
        ) from None


def _checked(name: str, value: str) -> str:
    """A filter value, normalised; a bad one raises ``InputError``."""
    value = value.strip()
    if len(value) > _MAX_VALUE or any(ord(c) < 32 for c in value):
        raise InputError(f"filter {name!r}: too long or has control characters")
    if name == "outcome" and value.lower() not in OUTCOMES:
        raise InputError(f"outcome {value[:40]!r}: want one of {', '.join(OUTCOMES)}")
    if name == "outcome":
        return value.lower()
    if name == "type":
        kind = _SPEKTATE_TYPES.get(value.lower(), value.lower())
        if kind not in TYPES:
            raise InputError(f"type {value[:40]!r}: want one of {', '.join(TYPES)}")
        return kind
    if name == "commit":
        if not _COMMIT.match(value.lower()):
            raise InputError(f"commit {value[:40]!r}: want 4 to 64 hex digits")
        return value.lower()
    if name in ("since", "until"):
        _when(name, value)
    return value


@dataclass(frozen=True)
class Page:
    """One page of a list, and the cursor of the next (None: this is the last)."""

    items: list[dict[str, Any]]
    next: str | None = None
    extra: Mapping[str, Any] | None = None  # e.g. how many unchanged runs were collapsed

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data: ``{"items": [...], "next": ...}``."""
        return {"items": self.items, "next": self.next, **dict(self.extra or {})}


def _encode(first: str, second: str, sep: str = "|") -> str:
    return base64.urlsafe_b64encode(f"{first}{sep}{second}".encode()).decode().rstrip("=")


def _decode(cursor: str, sep: str = "|") -> tuple[str, str]:
    """The two parts of a cursor; a bad cursor raises ``InputError``."""
    bad = InputError(f"bad cursor {cursor[:40]!r}")
    if len(cursor) > _MAX_CURSOR:
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and a non-ASCII cursor
        raise bad from None
    first, bar, second = text.partition(sep)
    if not bar or not second:
        raise bad
    return first, second


def cursor_after(record: Mapping[str, Any]) -> str:
    """The cursor of the page that follows ``record``."""
    return _encode(record["startedAt"], record["id"])


def read_cursor(cursor: str) -> tuple[str, str]:
    """The (startedAt, id) a cursor names; a bad cursor raises ``InputError``."""
    started, rid = _decode(cursor)
    try:
        datetime.fromisoformat(started)
    except ValueError:
        raise InputError(f"bad cursor {cursor[:40]!r}") from None
    return started, rid


def row_cursor(scope: str, service: str) -> str:
    """The cursor of the matrix rows that follow the row of (scope, service)."""
    return _encode(scope, service, "\n")  # a name may hold "|", never a line break


def read_row_cursor(cursor: str) -> tuple[str, str]:
    """The (scope, service) a row cursor names; a bad cursor raises ``InputError``."""
    return _decode(cursor, "\n")
