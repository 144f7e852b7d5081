"""``fab dashboard export DIR``: the same pages as files whose relative links all resolve, no
script, and a folder fab did not export is never replaced."""

from __future__ import annotations

import json
import posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from fabrikate.dashboard.export import MARKER
from tests.integration.dashboard.conftest import LEAKED, Seeded


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def _export(url: str, folder: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["dashboard", "export", "--records", url, str(folder), *args])
    return result.exit_code, result.stderr


def test_the_export_is_a_site_whose_links_all_resolve(
    sqlite_seeded: Seeded, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    code, err = _export(sqlite_seeded.url, site)
    assert code == 0, err
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert err.startswith(f"fab: wrote {len(pages)} pages to {site}")
    ids = sqlite_seeded.ids
    for must in (
        "index.html",
        "deployments/index.html",
        "metrics.html",
        f"deployments/{ids['web-2']}.html",
        "rings/main.html",
        "environments/prod.html",
        "clusters/east.html",
    ):
        assert must in pages
    for page in pages:
        text = (site / page).read_text()
        parser = _Links()
        parser.feed(text)
        assert parser.scripts == 0 and LEAKED not in text, page
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme:  # a link out (a commit, a pull request)
                continue
            assert not link.startswith("/"), (page, link)
            target = posixpath.normpath(
                posixpath.join(posixpath.dirname(page), unquote(parts.path))
            )
            assert (site / target).is_file(), (page, link)
        twin = site / page.replace(".html", ".json")
        assert isinstance(json.loads(twin.read_text()), dict)
    assert "1.2.0" in (site / "index.html").read_text()


def test_an_export_replaces_its_own_folder_only(sqlite_seeded: Seeded, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert _export(sqlite_seeded.url, site)[0] == 0
    (site / "old.html").write_text("stale")
    assert _export(sqlite_seeded.url, site)[0] == 0
    assert (site / MARKER).is_file() and not (site / "old.html").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code, err = _export(sqlite_seeded.url, foreign)
    assert (
        code == 1
        and err
        == f"fab: error: {foreign} is not empty and is not a fab dashboard export; pick another\n"
    )
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_a_page_cap_is_said(sqlite_seeded: Seeded, tmp_path: Path) -> None:
    code, err = _export(sqlite_seeded.url, tmp_path / "site", "--max-pages", "2")
    assert code == 0 and "fab: wrote 2 pages" in err and "linked pages not written" in err


@pytest.mark.parametrize(
    ("url", "code", "words"),
    [("none", 2, "recording is off"), ("sqlite:///{tmp}/absent.db", 1, "no records database at")],
)
def test_no_store_is_one_line(url: str, code: int, words: str, tmp_path: Path) -> None:
    got, err = _export(url.format(tmp=tmp_path), tmp_path / "site")
    assert got == code and words in err.splitlines()[-1]
    assert not (tmp_path / "site").exists()
