"""A real browser (Debian's chromium, driven by Playwright; no browser download) on a served
dashboard: load the matrix, filter, open a deployment, compare two, and see a live update
arrive without a reload. Screenshots of each page are kept with the test's temp files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from fabrikate.dashboard.settings import DashboardSettings
from fabrikate.records import open_store
from tests.fixtures.record_data import make_record
from tests.integration.dashboard.conftest import DECLARED, NOW, Seeded, serve

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The live feed's EventSource is open (htmx-ext-sse keeps it on the sse-connect element).
SSE_OPEN = (
    "() => { const d = document.body['htmx-internal-data'];"
    " return !!(d && d.sseEventSource && d.sseEventSource.readyState === 1); }"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps (Debian package chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go (kept with pytest's last temp folders)."""
    folder = tmp_path_factory.getbasetemp() / "dashboard-screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def _page(browser: Browser) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)  # a loaded machine is slow, never wrong
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, problems


def test_matrix_filter_deployment_compare_and_live_update(
    browser: Browser, sqlite_seeded: Seeded, shots: Path
) -> None:
    ids = sqlite_seeded.ids
    with serve(DashboardSettings(records=sqlite_seeded.url, poll_seconds=0.2)) as base:
        page, problems = _page(browser)

        page.goto(f"{base}/")
        matrix = page.locator("table.matrix")
        assert matrix.locator("thead th").nth(1).inner_text().startswith("main")
        assert "1.2.0" in matrix.inner_text() and "never deployed" in matrix.inner_text()
        page.screenshot(path=shots / "matrix.png", full_page=True)

        page.goto(f"{base}/deployments")
        page.fill("form.filters input[name=ring]", "canary")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**/deployments?*ring=canary*")
        rings = page.locator("table.deployments tbody td:nth-child(4)").all_inner_texts()
        assert rings and set(rings) == {"CANARY"}
        page.screenshot(path=shots / "deployments-filtered.png", full_page=True)

        page.click(f"a[href='/deployments/{ids['web-x']}']")
        page.wait_for_url(f"**/deployments/{ids['web-x']}")
        assert page.locator("ol.journey li").count() >= 4
        assert page.locator("ol.journey li.failing").count() == 1
        assert "Failing stage" in page.inner_text("main")
        page.screenshot(path=shots / "journey.png", full_page=True)

        page.goto(f"{base}/deployments?all=1")
        page.check(f"tr[data-id='{ids['web-2']}'] input[name=a]")
        page.check(f"tr[data-id='{ids['web-3']}'] input[name=b]")
        page.click("form.compare button[type=submit]")
        page.wait_for_url("**/compare?*")
        text = page.inner_text("main")
        assert (
            "Rollback" in text
            and "Kubernetes objects" in text
            and "acr.example.com/web:2.0.0" in text
        )
        page.screenshot(path=shots / "compare.png", full_page=True)

        page.goto(f"{base}/deployments")
        page.evaluate("() => { window.__notReloaded = 42; }")
        page.wait_for_function(SSE_OPEN)
        assert "7.7.7" not in page.inner_text("main")
        with open_store(sqlite_seeded.url) as store:  # a `fab generate` elsewhere
            store.add(
                make_record(
                    "live",
                    at=NOW,
                    service="api",
                    ring="main",
                    tag="7.7.7",
                    declared=DECLARED,
                    default="main",
                )
            )
        page.wait_for_selector("table.deployments >> text=api:7.7.7")
        assert page.evaluate("() => window.__notReloaded") == 42
        assert page.url == f"{base}/deployments"
        page.screenshot(path=shots / "live-update.png", full_page=True)

        for name, path, title in [
            ("environment", "/environments/prod", "Environment prod"),
            ("ring", "/rings/canary", "Ring canary"),
            ("cluster", "/clusters/west", "Cluster west"),
            ("metrics", "/metrics", "Metrics"),
        ]:
            page.goto(base + path)
            assert page.inner_text("h1") == title
            page.screenshot(path=shots / f"{name}.png", full_page=True)

        assert problems == []  # no CSP violation, script error or missing asset
        page.close()
    names = {p.name for p in shots.iterdir()}
    assert names >= {"matrix.png", "journey.png", "compare.png", "metrics.png", "cluster.png"}


def test_a_page_is_usable_without_script(browser: Browser, sqlite_seeded: Seeded) -> None:
    """The filters are a plain form: with JavaScript off the same URL filters the same way."""
    context = browser.new_context(java_script_enabled=False)
    with serve(DashboardSettings(records=sqlite_seeded.url)) as base:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{base}/deployments")
        page.fill("form.filters input[name=service]", "web")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**service=web*")
        services = page.locator("table.deployments tbody td:nth-child(3)").all_inner_texts()
        assert services and set(services) == {"web"}
    context.close()
