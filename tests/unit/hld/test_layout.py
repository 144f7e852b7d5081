"""The boundary module: paths, links, fab's own folders, chart files; and the one masker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fabrikate.errors import InputError
from fabrikate.hld import layout
from fabrikate.sources.helm import pick_version
from fabrikate.support.fsutil import read_regular
from fabrikate.support.redact import AmbiguousURL, mask_text, printable, redact_url, split_userinfo


def test_escape_names_the_link_that_leads_out(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "in").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, tree / "shared")
    os.symlink(tree / "in", tree / "inner")
    assert layout.escape(tree / "in", tree) is None
    assert layout.escape(tree / "inner" / "x", tree) is None  # a link that stays inside
    assert layout.escape(tree / "shared" / "m", tree) == (
        f"symbolic link {tree / 'shared'} points to {outside}"
    )
    assert layout.escape(tree / ".." / "outside", tree) == f"{outside} is outside {tree}"


def test_escape_reads_dot_dot_after_a_link_where_the_link_leads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``group/../charts`` is ``charts`` only when ``group`` is no link (POSIX resolves the
    link first); the check reads a relative path from the working folder."""
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "group").mkdir(parents=True)
    (tree / "charts" / "c").mkdir(parents=True)
    (outside / "deep").mkdir(parents=True)
    (outside / "charts" / "c").mkdir(parents=True)
    os.symlink(outside / "deep", tree / "linked")
    assert layout.escape(tree / "group" / ".." / "charts" / "c", tree) is None
    assert layout.escape(tree / "linked" / ".." / "charts" / "c", tree) == (
        f"{outside / 'charts' / 'c'} is outside {tree}"
    )
    assert layout.escape(tree / "group" / ".." / ".." / "tree" / "charts", tree) is None
    monkeypatch.chdir(tree)
    assert layout.escape(Path("group/../charts/c"), Path(".")) is None
    assert layout.escape(Path("linked/../charts/c"), Path(".")) is not None


def test_own_folder_refuses_links_and_files_on_the_way(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    assert layout.own_folder(tmp_path / "components" / "x", tmp_path)  # missing is fine
    os.symlink(tmp_path / "elsewhere", tmp_path / "components")
    with pytest.raises(InputError, match="symbolic link .* where fab keeps its own folder"):
        layout.own_folder(tmp_path / "components" / "x", tmp_path)
    (tmp_path / "components").unlink()
    (tmp_path / "components").write_text("a file\n")
    with pytest.raises(InputError, match="is not a folder"):
        layout.own_folder(tmp_path / "components" / "x", tmp_path)


def test_chart_files_follow_inner_links_and_refuse_the_rest(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: c\n")
    (chart / "templates" / "a.yaml").write_text("kind: A\n")
    os.symlink("a.yaml", chart / "templates" / "b.yaml")
    checked = layout.Chart(chart, chart, "the chart")
    assert [rel for rel, _ in layout.chart_files(checked)] == [
        "Chart.yaml",
        "templates/a.yaml",
        "templates/b.yaml",
    ]
    os.symlink(chart, chart / "templates" / "loop")
    with pytest.raises(InputError, match="links back to itself"):
        layout.chart_files(checked)
    (chart / "templates" / "loop").unlink()
    os.symlink("/dev/null", chart / "templates" / "null.yaml")
    with pytest.raises(InputError, match="leaves the chart"):
        layout.chart_files(checked)
    with pytest.raises(InputError, match="not a regular file"):
        layout.chart_files(layout.Chart(chart, None, "anywhere"))


def test_read_regular_refuses_fifos_without_blocking_and_bounds_size(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="not a regular file"):
        read_regular(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="too large"):
        read_regular(tmp_path / "big", limit=10)
    assert read_regular(tmp_path / "big", limit=11) == b"x" * 11


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("a/b", "path separator"),
        ("..", "not a plain name"),
        ("é" * 112, "bytes long"),
    ],
)
def test_names_must_be_plain_short_segments(name: str, problem: str) -> None:
    assert problem in (layout.check_name(name) or "")
    assert layout.check_name("é" * 111) is None  # 222 bytes: fits with fab's own prefixes


def test_user_info_is_split_decoded_and_masked_whole() -> None:
    assert split_userinfo("https://me:p%40ss%2Fw@host/x.git") == (
        "https://host/x.git",
        "me",
        "p@ss/w",
    )
    assert split_userinfo("https://host/x.git") == ("https://host/x.git", "", "")
    with pytest.raises(AmbiguousURL) as info:
        split_userinfo("https://me:pa/ss@host/x.git")
    assert "pa/ss" not in str(info.value)
    text = "cannot fetch https://me:pa/ss@w0rd@host/x.git: denied, see https://host/help"
    assert redact_url(text) == "cannot fetch https://host/x.git: denied, see https://host/help"
    assert mask_text(text) == "cannot fetch https://***@host/x.git: denied, see https://host/help"


def test_printable_shows_control_characters_as_git_does() -> None:
    assert printable("\x1b[2J\x07ok\n\x9b") == "^[[2J^Gok^J\\x9b"
    assert printable("plain ünïcode") == "plain ünïcode"


@pytest.mark.parametrize(
    ("wanted", "version"),
    [
        ("", "1.3.0"),
        ("*", "1.3.0"),
        ("1.2.0", "1.2.0"),
        ("v1.2.0", "v1.2.0"),
        ("^1.2.0", "1.3.0"),
        ("~1.2.0", "1.2.9"),
        (">= 1.2, < 1.3", "1.2.9"),
        ("1.2.x", "1.2.9"),
        (">=1.2.9 !=1.3.0", "1.2.9"),
        (">=2.0.0-0", "2.0.0-rc.1"),
        ("< 1.0 || >= 1.3", "1.3.0"),
        ("9.9.9", None),
        ("not a range", None),
    ],
)
def test_version_ranges_pick_what_helm_would(wanted: str, version: str | None) -> None:
    entries = [{"version": v} for v in ("2.0.0-rc.1", "1.3.0", "1.2.9", "v1.2.0", "1.2.0", "junk")]
    found = pick_version(entries, wanted)
    assert (found or {}).get("version") == version


# --- the output folder -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (".", "is the tree root"),
        ("..", "contains the tree root"),
        ("config", "lies inside"),
        ("components/x/out", "lies inside"),
        ("helm_repos", "lies inside"),
        ("charts/app/templates", "the chart of component app"),
    ],
)
def test_the_output_may_not_be_the_root_contain_it_or_lie_in_an_input(
    tmp_path: Path, output: str, message: str
) -> None:
    from fabrikate.hld.config import ConfigLayer
    from fabrikate.hld.layout import check_output_dir
    from fabrikate.hld.model import Component
    from fabrikate.hld.resolve import ResolvedComponent

    root = tmp_path / "hld"
    root.mkdir()
    chart = Component(name="app", type="helm", path="/charts/app")  # inside, as Fabrikate joins
    nodes = [ResolvedComponent(chart, "", root, ConfigLayer(), inline=True)]
    with pytest.raises(InputError, match=message):
        check_output_dir(root / output, root, nodes)
    check_output_dir(root / "generated" / "prod", root, nodes)
    check_output_dir(tmp_path / "elsewhere", root, nodes)


def test_a_link_into_an_input_folder_is_refused_too(tmp_path: Path) -> None:
    from fabrikate.hld.layout import check_output_dir

    root = tmp_path / "hld"
    (root / "config").mkdir(parents=True)
    os.symlink(root / "config", tmp_path / "out")
    with pytest.raises(InputError, match="lies inside"):
        check_output_dir(tmp_path / "out" / "prod", root)
