"""The web view of the deployment records (the ``dashboard`` extra: FastAPI, uvicorn, Jinja2).

    from fabrikate.dashboard import require
    require()                                   # one clear error when the extra is missing
    from fabrikate.dashboard.app import create_app

Routes read only through ``fabrikate.records.queries``, the query layer the CLI uses too.
"""

from __future__ import annotations

from fabrikate.errors import FabrikateError

__all__ = ["EXTRA_MODULES", "require"]

EXTRA_MODULES = ("fastapi", "uvicorn", "jinja2")


def require() -> None:
    """Raise one line naming what to install when a module of the extra is missing."""
    import importlib.util

    missing = []
    for name in EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module blocked or half there
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise FabrikateError(
            f"fab dashboard needs {', '.join(missing)}: pip install 'fabrikate-gitops[dashboard]'"
        )
