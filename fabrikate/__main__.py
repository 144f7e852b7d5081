"""``python -m fabrikate``."""

from fabrikate.cli import entry

entry()
