"""The install progress display: log lines off a terminal, a live status line on one."""

from __future__ import annotations

import io
from pathlib import Path

from fabrikate.cli.display import Display, summary
from fabrikate.sources.installer import Installed, InstallResult
from fabrikate.support.progress import Event


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_off_a_terminal_and_failures_left_for_the_end() -> None:
    out = io.StringIO()
    display = Display(out, "plain")
    display(Event("infra/efk", "fetching", "https://host/efk.git"))
    display(Event("infra/efk", "done", "abc123", cached=True))
    display(Event("web", "failed", "cannot pull chart"))
    lines = out.getvalue().splitlines()
    assert lines == [
        "fab: fetching infra/efk from https://host/efk.git",
        "fab: done infra/efk: abc123 (cache)",
    ]


def test_live_display_keeps_one_status_line() -> None:
    out = _Terminal()
    display = Display(out)
    display(Event("a", "fetching", "u"))
    display(Event("b", "fetching", "u"))
    display(Event("a", "done", "sha"))
    display.close()
    text = out.getvalue()
    assert "✓ a sha\n" in text and "[1 done] fetching b" in text
    assert text.endswith("\r\033[K")


def test_offline_reads_from_the_cache_and_none_or_piped_generate_print_nothing() -> None:
    out = io.StringIO()
    Display(out, "plain")(Event("app", "reading", "https://host/app.git"))
    assert out.getvalue() == "fab: reading app from cache: https://host/app.git\n"
    for display in (Display(out := io.StringIO(), "none"), Display(out, piped_lines=False)):
        display(Event("app", "rendering"))
        display(Event("app", "done", "3 documents"))
        display.close()
        assert out.getvalue() == ""


def test_generate_status_line_on_a_terminal() -> None:
    out = _Terminal()
    display = Display(out, piped_lines=False)
    display(Event("web", "rendering"))
    display(Event("db", "rendering"))
    display(Event("db", "done", "2 documents", cached=True))
    assert "✓ db 2 documents (cache)\n[1 done] rendering web" in out.getvalue()


def test_summary_counts_updates_cache_hits_and_failures() -> None:
    one = InstallResult(Path("hld"), visited=["root"], seconds=0.5)
    one.installed = [Installed("a", "git", "u", Path("x"), "sha", cached=False, changed=True)]
    assert "1 component, 1 source (1 updated" in summary(one)
    result = InstallResult(Path("hld"), visited=["root", "a"], seconds=1.25)
    result.installed = [
        Installed("a", "git", "u", Path("x"), "sha", cached=True, changed=False),
        Installed("b", "helm", "u", Path("y"), "demo 1.0.0", cached=False, changed=True),
    ]
    assert summary(result) == (
        "install of hld finished in 1.2s: 2 components, 2 sources "
        "(1 updated, 1 unchanged, 1 from cache), 0 failed"
    )
