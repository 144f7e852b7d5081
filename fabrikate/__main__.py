"""``python -m fabrikate``."""

from fabrikate.program import entry

entry()
