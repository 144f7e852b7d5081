"""``python -m fabrikate``."""

from fabrikate.cli.program import entry

entry()
