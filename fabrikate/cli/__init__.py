"""The ``fab`` command: click commands, one module per command group, over ``fabrikate.api``.

``main`` (``cli/main.py``) is the root group; ``program.entry`` is the console script.
"""
