"""The up-to-date check of one ``generate`` (``Settings.incremental``): the stamp of (tree,
environments, output), checked before anything is imported for rendering.

    check = UpToDate(root, ["prod"], dest, settings)
    result = check.up_to_date()       # a GenerateResult needing no render, or None
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.api.results import GenerateResult
from fabrikate.errors import Diagnostic
from fabrikate.output import WriteResult
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest
from fabrikate.support.fsutil import absolute

if TYPE_CHECKING:
    from fabrikate.hld.resolve import Tree

__all__ = ["UpToDate"]

log = logging.getLogger("fabrikate")


class UpToDate:
    """The up-to-date check of one generate: the stamp of (tree, environments, output)."""

    def __init__(
        self, root: Path, environments: Sequence[str], dest: Path, settings: Settings
    ) -> None:
        from fabrikate.api import stamp

        self.root, self.environments, self.dest, self.settings = root, environments, dest, settings
        self.key = digest(
            "stamp", os.path.realpath(root), *environments, "", os.path.realpath(dest)
        )
        relevant = ("helm", "strict", "hooks", "allow_outside_root")
        self.facts = stamp.facts({name: getattr(settings, name) for name in relevant})
        self.before: Any = None

    def up_to_date(self) -> GenerateResult | None:
        """The result of a run that needs to render nothing, with its record written; or None."""
        from fabrikate.api import stamp
        from fabrikate.records.stores import records_off

        started = time.perf_counter()
        payload = stamp.check(Cache.of(self.settings), self.key, self.root, self.dest, self.facts)
        recorded = not records_off(self.settings.records)
        if not _payload(payload) or (payload["record"] is None and recorded):
            return None
        try:
            diagnostics = [Diagnostic.from_data(d) for d in payload["diagnostics"]]
        except (TypeError, ValueError):  # a damaged stamp: the run renders
            return None
        result = GenerateResult(
            self.root,
            tuple(self.environments),
            self.dest,
            disabled=list(payload["disabled"]),
            files=WriteResult(self.dest, unchanged=list(payload["files"])),
            diagnostics=diagnostics,
            up_to_date=True,
        )
        result.timings["check"] = result.timings["total"] = time.perf_counter() - started
        if recorded:
            from fabrikate.records.recording import recording

            with recording(self.root, self.environments, self.settings, result.keep_record) as run:
                run.facts = payload["record"]
        log.debug("%s is up to date", self.dest)
        return result

    def scan(self) -> None:
        """Note the inputs before the run reads them."""
        from fabrikate.api import stamp

        self.before = stamp.scan_inputs(self.root, self.dest)

    def save(self, tree: Tree, result: GenerateResult) -> None:
        """Stamp a successful run whose every input lies inside its tree (so a scan covers it)."""
        from fabrikate.api import stamp
        from fabrikate.hld.hooks import has_generate_hooks
        from fabrikate.records.build import tree_facts
        from fabrikate.render.tree import input_paths

        if result.files is None or any(has_generate_hooks(n) for n in tree.components):
            return
        # Plain paths are enough: a link to a folder inside the tree makes the scan refuse one.
        cwd = os.getcwd()
        root, dest = absolute(self.root, cwd), absolute(self.dest, cwd)
        outside = (os.path.join(root, "generated"), dest)
        for path in input_paths(tree):
            where = absolute(path, cwd)
            if not _inside(where, root) or any(_inside(where, o) for o in outside):
                return
        payload = {
            "files": sorted(result.files.written + result.files.unchanged),
            "disabled": list(result.disabled),
            "diagnostics": [d.to_data() for d in result.diagnostics],
            "record": tree_facts(result.record) if result.record else None,
        }
        stamp.save(
            Cache.of(self.settings),
            self.key,
            self.before,
            self.root,
            self.dest,
            self.facts,
            payload,
        )


def _payload(payload: Any) -> bool:
    """Whether a stamp's payload has the shape ``save`` gives it."""
    return (
        isinstance(payload, dict)
        and all(isinstance(payload.get(k), list) for k in ("files", "disabled", "diagnostics"))
        and all(isinstance(name, str) for k in ("files", "disabled") for name in payload[k])
        and isinstance(payload.get("record"), dict | type(None))
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
