"""Small helpers for messages people read."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["cause_of", "plural"]


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``: the count and the right form of the word."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def cause_of(stderr: str, causes: Sequence[tuple[str, str]]) -> str:
    """What to tell the user about a failed tool: the cause of the first ``(needle, cause)``
    whose needle the tool's stderr contains (case-insensitive), or ''."""
    lowered = stderr.lower()
    return next((cause for needle, cause in causes if needle in lowered), "")
