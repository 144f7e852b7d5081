"""Where a page links to: the server's paths, or the relative files of a static export.

    links = ServerLinks()
    links.page("deployment", "3f2a")              # '/deployments/3f2a'
    ExportLinks(depth=1).page("deployment", "3f2a")  # '../deployments/3f2a.html'

Templates build every link through one of these, so an export never holds an absolute path
and its crawler (``export.py``) learns each page it must write from the links it handed out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

__all__ = ["PAGES", "ExportLinks", "Link", "Links", "ServerLinks", "file_name"]

# page name -> (server path, the page's file folder in an export); "{}" is the page's key.
PAGES: dict[str, tuple[str, str]] = {
    "matrix": ("/", ""),
    "deployments": ("/deployments", "deployments"),
    "deployment": ("/deployments/{}", "deployments"),
    "compare": ("/compare", "compare"),
    "environment": ("/environments/{}", "environments"),
    "ring": ("/rings/{}", "rings"),
    "cluster": ("/clusters/{}", "clusters"),
    "metrics": ("/metrics", ""),
}
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Link:
    """One page: its name, key (an id or a name) and query parameters."""

    name: str
    key: str | None = None
    params: tuple[tuple[str, str], ...] = ()


def file_name(link: Link) -> str:
    """The export file of ``link``, relative to the export's top."""
    folder = PAGES[link.name][1]
    parts = [link.key or ""] if link.key is not None else []
    parts += [f"{k}-{v}" for k, v in link.params]
    if not folder:  # the top pages: index.html (the matrix), metrics.html
        parts.insert(0, "index" if link.name == "matrix" else link.name)
    stem = "_".join(parts) or "index"
    safe = _SAFE.sub("_", stem)
    if safe != stem or len(safe) > 120:  # keep distinct names distinct
        safe = f"{safe[:80]}-{hashlib.sha256(stem.encode()).hexdigest()[:10]}"
    return f"{folder}/{safe}.html" if folder else f"{safe}.html"


class Links:
    """The link builder templates call."""

    def page(self, name: str, key: str | None = None, /, **params: str | None) -> str:
        """The link to page ``name`` (``key``: its id or name) with ``params`` (None dropped)."""
        raise NotImplementedError

    def static(self, file: str) -> str:
        """The link to a packaged asset."""
        raise NotImplementedError

    @property
    def live(self) -> bool:
        """Whether the pages are served (live updates, filters) or exported (neither)."""
        return False


class ServerLinks(Links):
    """Absolute paths on the dashboard server."""

    def page(self, name: str, key: str | None = None, /, **params: str | None) -> str:
        path = PAGES[name][0]
        if "{}" in path:
            path = path.format(quote(key or "", safe=""))
        query = {k: v for k, v in params.items() if v not in (None, "")}
        return f"{path}?{urlencode(query)}" if query else path

    def static(self, file: str) -> str:
        return f"/static/{file}"

    @property
    def live(self) -> bool:
        return True


# What an export keeps of a page's parameters: the others filter, which needs a server.
EXPORTED_PARAMS: Mapping[str, tuple[str, ...]] = {
    "matrix": ("cursor",),
    "deployments": ("cursor",),
    "environment": ("cursor",),
    "compare": ("a", "b"),
}


@dataclass
class ExportLinks(Links):
    """Relative links between the files of a static export; remembers each page linked."""

    depth: int = 0
    wanted: list[Link] = field(default_factory=list)

    def _up(self) -> str:
        return "../" * self.depth

    def page(self, name: str, key: str | None = None, /, **params: str | None) -> str:
        kept = EXPORTED_PARAMS.get(name, ())
        link = Link(name, key, tuple((k, v) for k, v in params.items() if k in kept and v))
        self.wanted.append(link)
        return self._up() + quote(file_name(link))

    def static(self, file: str) -> str:
        return f"{self._up()}static/{file}"
