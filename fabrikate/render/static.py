"""The static generator: every ``.yaml``, ``.yml`` and ``.json`` file of a component's folder.

documents = static_documents(node, diagnostics)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fabrikate.errors import Diagnostic, InputError, Location
from fabrikate.hld import layout
from fabrikate.hld.resolve import ResolvedComponent
from fabrikate.render.documents import split_documents
from fabrikate.support.fsutil import read_regular

__all__ = ["STATIC_SUFFIXES", "StaticGenerator", "static_documents"]

STATIC_SUFFIXES = (".yaml", ".yml", ".json")


def static_documents(node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
    folder = layout.checked_static(node)
    if not folder.is_dir():
        raise InputError(f"static manifests folder {folder} does not exist")
    where = layout.boundary_name(node)
    docs: list[str] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        info = layout.stat_inside(path, node.boundary, "static manifest", where)
        if stat.S_ISDIR(info.st_mode):
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "sub-folder skipped in static manifests",
                    Location(str(path)),
                    node.id,
                )
            )
            continue
        if path.suffix.lower() not in STATIC_SUFFIXES:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "not a .yaml, .yml or .json file; skipped in static manifests",
                    Location(str(path)),
                    node.id,
                )
            )
            continue
        try:
            text = read_regular(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"cannot read static manifest: {exc}", location=Location(str(path))
            ) from exc
        docs.extend(split_documents(text))
    return docs


class StaticGenerator:
    """``type: static``: the manifest files of a folder, read again every run (never cached)."""

    def key(self, node: ResolvedComponent) -> str | None:
        """None: reading the files is cheaper than the cache."""
        return None

    def documents(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
        """Every document of the folder's files, in file name order."""
        return static_documents(node, diagnostics)

    def cost(self, node: ResolvedComponent) -> float:
        """Next to nothing: files are read, no program runs."""
        return 0.0

    def took(self, node: ResolvedComponent, seconds: float) -> None:
        """Nothing to remember."""

    def remember(self) -> None:
        """Nothing heard."""
