"""``fab dashboard``: a real server process (secrets from the environment or a file, never argv),
and one clear line for a missing extra or bad options."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from tests.fixtures.records_servers import free_port
from tests.integration.dashboard.conftest import Seeded

REPO = Path(__file__).resolve().parents[3]


def _fab(*args: str, env: dict[str, str] | None = None, prelude: str = "") -> subprocess.Popen[str]:
    code = f"{prelude}from fabrikate.cli.program import entry; entry()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_missing_extra_names_what_to_install() -> None:
    proc = _fab(
        "dashboard",
        "--records",
        "memory://x",
        prelude="import sys; sys.modules['fastapi'] = None; ",
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and out == ""
    assert (
        err
        == "fab: error: fab dashboard needs fastapi: pip install 'fabrikate-gitops[dashboard]'\n"
    )


def test_the_server_freezes_its_start_up_heap_before_serving(sqlite_seeded: Seeded) -> None:
    # uvicorn.run stands in to look: what start-up made is out of the collector's sight by then
    proc = _fab(
        "dashboard",
        "--records",
        sqlite_seeded.url,
        prelude="import gc, uvicorn; uvicorn.run = lambda app, **_: print(gc.get_freeze_count()); ",
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert int(out) > 10_000  # modules, templates and the app, not a handful


def _wait_up(base: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            pytest.fail(f"fab dashboard exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("fab dashboard did not answer")


def test_the_server_reads_its_token_from_the_environment(sqlite_seeded: Seeded) -> None:
    port, token = free_port(), "t0ken-from-the-env"
    proc = _fab(
        "dashboard",
        "--records",
        sqlite_seeded.url,
        "--port",
        str(port),
        env={"FAB_DASHBOARD_TOKEN": token},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base, proc)
        assert token not in Path(f"/proc/{proc.pid}/cmdline").read_text()
        assert httpx.get(f"{base}/healthz").json() == {"ok": True}  # no names without the token
        auth = {"Authorization": f"Bearer {token}"}
        assert set(httpx.get(f"{base}/healthz", headers=auth).json()["clusters"]) == {
            "east",
            "west",
        }
        assert httpx.get(f"{base}/api/v1/matrix").status_code == 401
        answer = httpx.get(f"{base}/api/v1/matrix", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["rows"]
        page = httpx.get(f"{base}/", headers={"Authorization": f"Bearer {token}"}).text
        assert token not in page
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert err.startswith(f"fab: dashboard on {base}/") and token not in err


def test_login_sets_a_cookie_that_is_not_the_token(sqlite_seeded: Seeded, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from fabrikate.dashboard.app import create_app
    from fabrikate.dashboard.settings import DashboardSettings, Secret

    settings = DashboardSettings(records=sqlite_seeded.url, auth_token=Secret("s3cret-t0ken"))
    with TestClient(create_app(settings), follow_redirects=False) as web:
        form = web.get("/login?next=/deployments").text
        assert 'name="token"' in form and "s3cret" not in form
        wrong = web.post(
            "/login",
            content="token=nope&next=/deployments",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert wrong.status_code == 401 and "does not match" in wrong.text
        right = web.post(
            "/login",
            content="token=s3cret-t0ken&next=/deployments",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert right.status_code == 303 and right.headers["location"] == "/deployments"
        cookie = right.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "s3cret-t0ken" not in cookie
        assert web.get("/deployments").status_code == 200
        evil = web.post(
            "/login",
            content="token=s3cret-t0ken&next=//evil.example/",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert evil.headers["location"] == "/"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--trusted-proxy", "nonsense", "--user-header", "X-User"],
            "--trusted-proxy 'nonsense' is not an address or CIDR range",
        ),
        (["--trusted-proxy", "10.0.0.0/8"], "--trusted-proxy and --user-header go together"),
        (
            ["--auth-token-file", "/nonexistent/token"],
            "cannot read the auth token file /nonexistent/token",
        ),
        (["--records", "none"], "the dashboard needs a records store (recording is off: 'none')"),
    ],
)
def test_bad_options_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["dashboard", "--records", f"memory://{tmp_path.name}", *args]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"fab: error: {message}") and result.stderr.count("\n") == 1


def test_only_loopback_hosts_pass_without_a_warning() -> None:
    from fabrikate.cli.dashboard import _loopback

    assert _loopback("127.0.0.1") and _loopback("::1") and _loopback("localhost")
    assert not _loopback("0.0.0.0") and not _loopback("192.0.2.10") and not _loopback("example.com")
