"""The dashboard as a static site: the same pages as files with relative links, no server.

    written = export_site(store, Path("site"))   # site/index.html, site/deployments/…

The export starts at the matrix, the deployment list and the metrics, and writes every page
they link to (and those pages link to), up to ``max_pages``; the JSON twin of each page goes
beside it (``x.json``). The folder is built aside and swapped in whole; a folder fab did not
export is never replaced.
"""

from __future__ import annotations

import json
import tempfile
from collections import deque
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.dashboard.links import ExportLinks, Link, file_name
from fabrikate.dashboard.pages import PAGES, Source
from fabrikate.dashboard.render import render
from fabrikate.errors import FabrikateError, InputError
from fabrikate.support.fsutil import remove, replace_dir

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store

__all__ = ["MARKER", "Export", "export_site"]

MARKER = ".fab-dashboard-export"
_START = (Link("matrix"), Link("deployments"), Link("metrics"))
_ASSETS = ("dashboard.css",)  # an export runs no script: htmx stays behind


@dataclass(frozen=True, slots=True)
class Export:
    """What an export wrote, and what it left out."""

    pages: int
    skipped: int  # pages linked but past max_pages, or that failed to render
    folder: Path


def _check_target(folder: Path) -> None:
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InputError(f"{folder} is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise InputError(f"{folder} is not empty and is not a fab dashboard export; pick another")


def _write(top: Path, relative: str, text: str) -> None:
    path = top / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _crawl(source: Source, top: Path, title: str, max_pages: int) -> tuple[int, int]:
    """Write the start pages and every page they lead to; (written, skipped)."""
    queue, seen, written, skipped = deque(_START), set(_START), 0, 0
    while queue:
        link = queue.popleft()
        if written >= max_pages:
            skipped += 1
            continue
        relative = file_name(link)
        links = ExportLinks(depth=relative.count("/"))
        try:
            page = PAGES[link.name](source, link.key, dict(link.params))
        except FabrikateError:  # a link to what is not there (a ring never deployed, say)
            skipped += 1
            continue
        _write(top, relative, render(page, links=links, here="", title=title))
        _write(top, relative.removesuffix(".html") + ".json", json.dumps(page.data, indent=1))
        written += 1
        for wanted in links.wanted:
            if wanted not in seen:
                seen.add(wanted)
                queue.append(wanted)
    return written, skipped


def export_site(
    store: Store,
    folder: Path,
    *,
    max_pages: int = 5000,
    title: str = "fab dashboard",
    manifest_repo: Path | None = None,
) -> Export:
    """Write the static site of ``store`` to ``folder`` (``manifest_repo``: a clone of the
    manifest repository, as ``fab dashboard --manifest-repo`` takes it)."""
    folder = Path(folder)
    _check_target(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        written, skipped = _crawl(Source.of(store, manifest_repo), staged, title, max_pages)
        static = resources.files("fabrikate.dashboard") / "static"
        for asset in _ASSETS:
            _write(staged, f"static/{asset}", (static / asset).read_text(encoding="utf-8"))
        (staged / MARKER).write_text("written by fab dashboard export\n", encoding="utf-8")
        staged.chmod(0o755)  # mkdtemp made it private; a site is for reading
        replace_dir(staged, folder)
    except BaseException:
        remove(staged)
        raise
    return Export(pages=written, skipped=skipped, folder=folder)
