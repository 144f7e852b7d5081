"""Links of the server and of a static export: the export's are relative and resolvable."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from fabrikate.dashboard.links import ExportLinks, Link, ServerLinks, file_name


def test_server_links() -> None:
    links = ServerLinks()
    assert links.page("matrix") == "/"
    assert links.page("deployment", "ab/c d") == "/deployments/ab%2Fc%20d"
    assert links.page("deployments", None, ring="prod", author=None) == "/deployments?ring=prod"
    assert links.page("compare", None, a="x", b="env:prod") == "/compare?a=x&b=env%3Aprod"
    assert links.static("dashboard.css") == "/static/dashboard.css"


def test_export_links_are_relative_to_the_page_that_holds_them() -> None:
    top = ExportLinks(depth=0)
    deep = ExportLinks(depth=1)
    assert top.page("deployment", "abc") == "deployments/abc.html"
    assert deep.page("deployment", "abc") == "../deployments/abc.html"
    assert deep.page("matrix") == "../index.html"
    assert deep.static("dashboard.css") == "../static/dashboard.css"
    # Filters need a server: an export links to the unfiltered list; a cursor is kept.
    assert top.page("deployments", None, ring="prod") == "deployments/index.html"
    assert top.page("deployments", None, cursor="MjAy") == "deployments/cursor-MjAy.html"
    assert Link("deployment", "abc") in deep.wanted
    assert deep.page("matrix", None, cursor="YXBp", ring="x") == "../index_cursor-YXBp.html"
    assert top.page("metrics", None, window="7d") == "metrics.html"


def test_every_export_link_resolves_to_its_file() -> None:
    for depth, name, key in [
        (1, "ring", "canary"),
        (1, "environment", "prod/east"),
        (0, "cluster", "a b"),
    ]:
        link = ExportLinks(depth=depth).page(name, key)
        holder = "deployments/x.html" if depth else "index.html"
        target = posixpath.normpath(posixpath.join(posixpath.dirname(holder), unquote(link)))
        assert target == file_name(Link(name, key))


def test_unsafe_names_stay_distinct() -> None:
    assert file_name(Link("ring", "a/b")) != file_name(Link("ring", "a_b"))
    assert "/" not in file_name(Link("ring", "a/b")).split("/", 1)[1]
