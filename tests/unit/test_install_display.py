"""The install progress display: log lines off a terminal, a live status line on one."""

from __future__ import annotations

import io
from pathlib import Path

from fabrikate.installer import Event, Installed, InstallResult
from fabrikate.progress import InstallDisplay, summary


def test_plain_lines_off_a_terminal_and_failures_left_for_the_end() -> None:
    out = io.StringIO()
    display = InstallDisplay(out, live=False)
    display(Event("infra/efk", "fetching", "https://host/efk.git"))
    display(Event("infra/efk", "done", "abc123", cached=True))
    display(Event("web", "failed", "cannot pull chart"))
    lines = out.getvalue().splitlines()
    assert lines == [
        "fab: fetching infra/efk from https://host/efk.git",
        "fab: done infra/efk: abc123 (cache)",
    ]


def test_live_display_keeps_one_status_line() -> None:
    out = io.StringIO()
    display = InstallDisplay(out, live=True)
    display(Event("a", "fetching", "u"))
    display(Event("b", "fetching", "u"))
    display(Event("a", "done", "sha"))
    display.close()
    text = out.getvalue()
    assert "✓ a sha\n" in text and "[1 done] fetching b" in text
    assert text.endswith("\r\033[K")


def test_summary_counts_updates_cache_hits_and_failures() -> None:
    result = InstallResult(Path("hld"), visited=["root", "a"], seconds=1.25)
    result.installed = [
        Installed("a", "git", "u", Path("x"), "sha", cached=True, changed=False),
        Installed("b", "helm", "u", Path("y"), "demo 1.0.0", cached=False, changed=True),
    ]
    assert summary(result) == (
        "install of hld finished in 1.2s: 2 components, 2 sources "
        "(1 updated, 1 unchanged, 1 from cache), 0 failed"
    )
