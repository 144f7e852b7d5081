"""``python -m fabrikate``."""

from fabrikate.cli import main

main()
