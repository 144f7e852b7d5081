"""Bad input (ids, cursors, filters, page parameters) is a 4xx with a one-line error, JSON for
the API and a page for a browser: never a 500, found by fuzzing."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from fabrikate.records.queries import Filters
from tests.integration.dashboard.conftest import Seeded

TEXT = st.text(min_size=0, max_size=60)
NAMES = st.sampled_from(
    [*Filters.names(), "env", "cursor", "limit", "all", "pivot", "window", "a", "b", "zzz"]
)
PAGES = ["/deployments/{}", "/environments/{}", "/rings/{}", "/clusters/{}"]
LISTS = ["/", "/deployments", "/metrics", "/compare", "/environments/prod"]


def _checked(web: TestClient, path: str, params: dict[str, str] | None = None) -> None:
    for prefix in ("/api/v1", ""):
        target = prefix + ("/matrix" if prefix and path == "/" else path)
        answer = web.get(target, params=params)
        assert answer.status_code < 500, (target, params, answer.text[:200])
        if answer.status_code >= 400:
            if prefix:
                error = answer.json()
                assert set(error) == {"error", "status"} and "\n" not in error["error"]
            else:
                assert 'class="error-line"' in answer.text


def test_fuzzed_ids_and_names(sqlite_web: TestClient) -> None:
    @given(page=st.sampled_from(PAGES), key=TEXT)
    def check(page: str, key: str) -> None:
        if key.strip(".") == "":  # "." and ".." are path steps, not names
            return
        _checked(sqlite_web, page.format(quote(key, safe="")))

    check()


def test_fuzzed_query_parameters(sqlite_web: TestClient) -> None:
    @given(path=st.sampled_from(LISTS), params=st.dictionaries(NAMES, TEXT, max_size=4))
    def check(path: str, params: dict[str, str]) -> None:
        _checked(sqlite_web, path, params)

    check()


def test_known_bad_input_is_a_clear_4xx(sqlite_web: TestClient, sqlite_seeded: Seeded) -> None:
    cases = {
        "/api/v1/deployments?cursor=%%%": (400, "bad cursor"),
        "/api/v1/deployments?cursor=bm90LWEtY3Vyc29y": (400, "bad cursor"),
        "/api/v1/deployments?outcome=maybe": (400, "outcome"),
        "/api/v1/deployments?since=yesterdayish": (400, "since"),
        "/api/v1/deployments?limit=0": (400, "limit"),
        "/api/v1/deployments?bogus=1": (400, "unknown filter"),
        "/api/v1/deployments?ring=a&ring=b": (400, "one value"),
        "/api/v1/matrix?pivot=sideways": (400, "pivot"),
        "/api/v1/metrics?window=forever": (400, "window"),
        "/api/v1/deployments/zzzz": (400, "bad record id"),
        "/api/v1/deployments/abcdef0123": (404, "no record"),
        "/api/v1/rings/nowhere": (404, "no ring"),
        "/api/v1/clusters/nowhere": (404, "no events"),
        "/api/v1/environments/nowhere": (404, "no records"),
        "/api/v1/compare?a=only": (400, "compare needs"),
        "/api/v1/rings/main?x=1": (400, "unknown parameter"),
        "/api/v1/nothing-here": (404, "Not Found"),
    }
    for path, (status, words) in cases.items():
        answer = sqlite_web.get(path)
        assert answer.status_code == status, (path, answer.text)
        assert words in answer.json()["error"], path
    page = sqlite_web.get("/deployments?outcome=maybe")
    assert (
        page.status_code == 400
        and "outcome" in page.text
        and page.headers["content-type"].startswith("text/html")
    )
    assert sqlite_web.post("/api/v1/matrix").status_code == 405


def test_fuzzed_signed_events_are_stored_or_refused(sqlite_seeded: Seeded) -> None:
    """Whatever a signed body holds, ingest answers 201, 200 or 400: never a 500."""
    import hashlib
    import hmac
    import json

    from fabrikate.dashboard.app import create_app
    from fabrikate.dashboard.settings import DashboardSettings, Secret
    from tests.unit.records.test_events import argocd, flux

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=8,
    )
    settings = DashboardSettings(records=sqlite_seeded.url, ingest_secret=Secret("k"))

    @given(
        source=st.sampled_from(["flux", "argocd"]),
        changes=st.dictionaries(
            st.sampled_from(
                [
                    "involvedObject",
                    "metadata",
                    "timestamp",
                    "severity",
                    "reason",
                    "app",
                    "at",
                    "syncStatus",
                    "revision",
                ]
            ),
            json_values,
            max_size=3,
        ),
    )
    def check(source: str, changes: dict) -> None:
        raw = json.dumps((flux if source == "flux" else argocd)(**changes)).encode()
        signature = "sha256=" + hmac.new(b"k", raw, hashlib.sha256).hexdigest()
        answer = web.post(
            f"/api/v1/ingest/{source}", content=raw, headers={"X-Signature": signature}
        )
        assert answer.status_code in (200, 201, 400), (raw, answer.text)

    with TestClient(create_app(settings)) as web:
        check()


def test_a_store_that_fails_is_503_not_404(sqlite_web: TestClient, sqlite_seeded: Seeded) -> None:
    sqlite_web.app.state.dashboard.store.close()  # as a database gone away would
    answer = sqlite_web.get(f"/api/v1/deployments/{sqlite_seeded.ids['api-1']}")
    assert answer.status_code == 503 and "error" in answer.json()
    assert sqlite_web.get("/healthz").status_code == 503
