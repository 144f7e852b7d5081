"""Small helpers for messages people read."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``: the count and the right form of the word."""
    return f"{count} {one if count == 1 else many or one + 's'}"
