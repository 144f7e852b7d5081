"""The ``fab`` program: the console entry point around the click commands of ``cli``.

It lives apart from ``cli`` so that it can set the process up before click is imported.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading

__all__ = ["entry"]


def entry() -> None:
    """Run ``fab``, then leave without the interpreter's teardown.

    The cyclic garbage collector is off: a run is short, and collecting while modules load
    and the tree is read costs more than it would free. Commands close what they open (temp
    folders, locks, stores), so once no other thread is left, all teardown would add is tens of
    milliseconds of freeing memory.
    """
    gc.disable()
    from fabrikate.cli.main import main

    try:
        main()
        code: str | int | None = 0
    except SystemExit as exc:
        code = exc.code
    if threading.active_count() > 1:  # a worker still finishing (an interrupt): wait for it
        sys.exit(code)
    cache = sys.modules.get("fabrikate.support.cache")
    if cache is not None:  # os._exit runs no atexit handler: drop a failed cache's stand-in
        cache.drop_fallbacks()
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code or 0)
