"""Every page and its JSON twin over each store kind (SQLite, PostgreSQL, Azure Table through
Azurite, memory): the twin is the query layer's answer, the page shows it, filters narrow it."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from fabrikate._version import __version__
from fabrikate.records import open_store, queries
from fabrikate.records.mask import mask_tree
from tests.fixtures.record_data import event_for, make_record
from tests.integration.dashboard.conftest import LEAKED, NOW, Seeded

PAGES = [
    "/",
    "/?pivot=environment",
    "/?pivot=cluster",
    "/deployments",
    "/deployments?all=1",
    "/environments/prod",
    "/rings/main",
    "/rings/canary",
    "/rings/dev",
    "/clusters/east",
    "/clusters/west",
    "/metrics",
    "/metrics?window=7d",
]


class _Scripts(HTMLParser):
    """Every script, inline style and event handler of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k for k, _ in attrs}
        if tag == "script" and "src" not in names:
            self.inline.append("<script> without src")
        if tag == "style" or "style" in names or any(n.startswith("on") for n in names):
            self.inline.append(f"<{tag} {sorted(names)}>")


def _check_html(text: str) -> None:
    parser = _Scripts()
    parser.feed(text)
    assert parser.inline == []
    assert LEAKED not in text


def test_every_page_and_its_twin_answer(web: TestClient, seeded: Seeded) -> None:
    ids = seeded.ids
    pages = [*PAGES, f"/deployments/{ids['api-3']}", f"/compare?a={ids['api-1']}&b={ids['api-2']}"]
    pages += [
        "/compare?a=ring:main&b=ring:canary&service=api",
        "/compare?a=env:prod&b=env:prod&service=web",
    ]
    for path in pages:
        page = web.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert page.headers["content-type"].startswith("text/html")
        _check_html(page.text)
        twin = web.get(
            "/api/v1" + ("/matrix" + path[1:] if path.startswith("/?") or path == "/" else path)
        )
        assert twin.status_code == 200, (path, twin.text[:300])
        assert LEAKED not in twin.text


def test_the_twin_is_the_query_layers_answer(web: TestClient, seeded: Seeded) -> None:
    with open_store(seeded.url, create=False) as store:
        matrix = mask_tree(queries.matrix(store, queries.Filters(ring="canary")))
        one = mask_tree(queries.deployment(store, seeded.ids["web-2"]))
    assert web.get("/api/v1/matrix?ring=canary").json() == matrix
    assert web.get(f"/api/v1/deployments/{seeded.ids['web-2']}").json() == one


def test_matrix_shows_versions_rings_and_declared_rings(web: TestClient) -> None:
    data = web.get("/api/v1/matrix").json()
    keys = [c["key"] for c in data["columns"]]
    assert keys[0] == "prod/main"  # the default ring first
    assert {c["ring"] for c in data["columns"] if c["declaredOnly"]} == {"dev"}
    api = next(r for r in data["rows"] if r["service"] == "api")
    assert api["cells"]["prod/main"]["version"] == "1.1.0"
    assert api["cells"]["prod/canary"]["version"] == "1.2.0"
    html = web.get("/").text
    assert "1.2.0" in html and "never deployed" in html and "default" in html
    assert "behind main (1.1.0) by 1 change" in html  # canary's drift marker, in words


def test_filters_are_in_the_url_with_spektate_names_too(web: TestClient, seeded: Seeded) -> None:
    def services(path: str) -> list[tuple[str, str]]:
        items = web.get(path).json()["items"]
        return [(i["service"], i["ring"]) for i in items]

    assert set(services("/api/v1/deployments?ring=canary")) == {
        ("api", "canary"),
        ("web", "canary"),
    }
    assert services("/api/v1/deployments?env=canary") == services("/api/v1/deployments?ring=canary")
    assert set(services("/api/v1/deployments?service=web&outcome=failed")) == {("web", "canary")}
    assert services("/api/v1/deployments?keyword=no-such-thing") == []
    page = web.get("/deployments?service=web&ring=main").text
    assert 'name="service" value="web"' in page and 'name="ring" value="main"' in page


def test_cursor_pages_walk_every_record_once(web: TestClient, seeded: Seeded) -> None:
    seen: list[str] = []
    path = "/api/v1/deployments?all=1&limit=3"
    while path:
        data = web.get(path).json()
        seen += [i["id"] for i in data["items"]]
        path = f"/api/v1/deployments?all=1&limit=3&cursor={data['next']}" if data["next"] else ""
    assert sorted(seen) == sorted(seeded.ids.values())
    html = web.get("/deployments?all=1&limit=3").text
    assert 'rel="next"' in html and "cursor=" in html


def test_unchanged_runs_are_collapsed_unless_asked(web: TestClient, seeded: Seeded) -> None:
    default = web.get("/api/v1/deployments").json()
    assert seeded.ids["api-4"] not in [i["id"] for i in default["items"]]
    assert default["collapsed"] == 1
    every = web.get("/api/v1/deployments?all=1").json()
    assert seeded.ids["api-4"] in [i["id"] for i in every["items"]]


def test_deployment_page_shows_the_journey_and_the_failing_stage(
    web: TestClient, seeded: Seeded
) -> None:
    page = web.get(f"/deployments/{seeded.ids['web-2']}").text
    assert "Journey" in page and 'class="stage stage-failed' in page and "failing" in page
    assert "broke checkout" in page  # the mark
    assert "Reproduce this render" in page and "git checkout" in page
    assert "Raw record" in page and seeded.ids["web-2"] in page


def test_deployment_page_says_how_many_events_it_leaves_out(
    web: TestClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = seeded.records["web-2"]
    with open_store(seeded.url) as store:
        for minutes in (10, 20):
            store.add_event(
                event_for(record, "healthy", cluster="east", after=timedelta(minutes=minutes))
            )
    monkeypatch.setattr(queries, "EVENTS", 2)
    data = web.get(f"/api/v1/deployments/{record['id']}").json()
    assert len(data["events"]) == 2 and data["eventsTotal"] == 3
    assert "showing the newest 2 of 3 events" in web.get(f"/deployments/{record['id']}").text


def test_metrics_count_the_lead_times_they_cannot_tell(web: TestClient, seeded: Seeded) -> None:
    record = make_record("api-5", at=NOW, service="api", ring="main", tag="1.3.0")
    record["source"]["commitTime"] = None  # the HLD commit time is no stand-in
    with open_store(seeded.url) as store:
        store.add(record)
    groups = web.get("/api/v1/metrics").json()["groups"]
    main = next(g for g in groups if (g["environment"], g["ring"]) == ("prod", "main"))
    lead = next(f for f in main["figures"] if f["key"] == "leadTime")
    assert lead["unknown"] == 1 and record["id"] not in lead["records"]
    assert "1 unknown" in web.get("/metrics").text


def test_cluster_page_flags_stale_health(web: TestClient) -> None:
    health = web.get("/api/v1/clusters/west").json()["health"]
    assert health["stale"] is True and health["staleObjects"] == ["Kustomization apps"]
    page = web.get("/clusters/west").text
    assert "Health may be stale" in page and "Kustomization apps" in page


def test_compare_finds_rollbacks_and_object_changes(web: TestClient, seeded: Seeded) -> None:
    ids = seeded.ids
    data = web.get(f"/api/v1/compare?a={ids['web-2']}&b={ids['web-3']}").json()
    assert data["rollback"]["recordId"] == ids["web-1"]
    assert [i["b"] for i in data["images"]] == ["acr.example.com/web:2.0.0"]
    assert len(data["objects"]["changed"]) == 1
    page = web.get(f"/compare?a={ids['web-2']}&b={ids['web-3']}").text
    assert "Rollback" in page and "changed" in page


def test_spektate_api_shape(web: TestClient, seeded: Seeded) -> None:
    data = web.get("/api/deployments").json()
    assert set(data) == {"deployments", "clusterSync"}
    assert {t["name"] for t in data["clusterSync"]["tags"]} == {"EAST", "WEST"}
    first = data["deployments"][0]
    assert {
        "deploymentId",
        "service",
        "environment",
        "hldCommitId",
        "manifestCommitId",
        "status",
    } <= set(first)
    assert [
        d["deploymentId"]
        for d in web.get("/api/deployments?env=canary&limit=1").json()["deployments"]
    ] == [seeded.records["web-x"]["rowKey"]]
    assert LEAKED not in web.get("/api/deployments").text
    assert web.get("/api/version").json() == {"version": __version__}


def test_health(web: TestClient) -> None:
    data = web.get("/healthz").json()
    assert data["ok"] is True and set(data["clusters"]) == {"east", "west"}
    assert data["lastRecord"]["environment"] == "prod"


def test_openapi_documents_the_api(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/matrix",
        "/api/v1/deployments",
        "/api/v1/deployments/{key}",
        "/api/deployments",
        "/api/v1/ingest/{source}",
        "/api/v1/records/{record_id}/marks",
        "/healthz",
    } <= set(paths)
    names = {p["name"] for p in paths["/api/v1/deployments"]["get"]["parameters"]}
    assert {"cursor", "ring", "service", "author", "keyword"} <= names


def test_matrix_rows_come_in_pages(web: TestClient) -> None:
    first = web.get("/api/v1/matrix?limit=1").json()
    second = web.get(f"/api/v1/matrix?limit=1&cursor={first['next']}").json()
    assert [r["service"] for r in first["rows"] + second["rows"]] == ["api", "web"]
    assert second["next"] is None and first["columns"] == second["columns"]
    page = web.get("/?limit=1").text
    assert "More services" in page and f"cursor={first['next']}" in page


def test_a_manifest_clone_shows_clusters_past_a_record_as_running_it(tmp_path) -> None:
    """With --manifest-repo, a cluster at a later manifest commit runs the record too."""
    from fabrikate.dashboard.app import create_app
    from fabrikate.dashboard.settings import DashboardSettings
    from tests.fixtures.record_data import event_for, make_record
    from tests.fixtures.trees import git
    from tests.integration.dashboard.conftest import NOW

    clone = tmp_path / "manifests"
    clone.mkdir()
    git(clone, "init", "-q", "-b", "main")
    git(clone, "commit", "-q", "--allow-empty", "-m", "generated")
    first = git(clone, "rev-parse", "HEAD")
    git(clone, "commit", "-q", "--allow-empty", "-m", "a hand-made change")
    later = git(clone, "rev-parse", "HEAD")
    url = f"sqlite:///{tmp_path / 'records.db'}"
    record = make_record("one", at=NOW, service="api", ring="main", manifest=first)
    with open_store(url) as store:
        store.add(record)
        store.add_event(event_for(record, "healthy", cluster="east", revision=later))
    for repo, expected in ((str(clone), {"east": "superseded"}), (None, {})):
        with TestClient(create_app(DashboardSettings(records=url, manifest_repo=repo))) as web:
            cell = web.get("/api/v1/matrix").json()["rows"][0]["cells"]["prod/main"]
            assert cell["clusters"] == expected
            one = web.get(f"/api/v1/deployments/{record['id']}").json()
            assert one["superseded"] == list(expected)
            page = web.get(f"/deployments/{record['id']}").text
            assert ("superseded" in page) == bool(expected)
