"""Benchmark the dashboard's queries on a large store: SQLite and PostgreSQL.

    python bench/dashboard.py [--records 100000] [--repeat 30] [--engines sqlite postgresql]

It fills a store with synthetic records (500 services, 5 rings, 3 environments, 4 clusters,
half a year of history) and cluster events for their manifest commits, then measures the
query layer that the CLI and the web share: the matrix, the filtered list (first page and a
deep page reached by the cursor), one deployment, a compare of two records and the DORA
metrics. It prints p50 and p95 latency in milliseconds per query and engine, against the
issue's targets (p95 under 150 ms; under 50 ms for a list page). PostgreSQL runs on a server
this script starts on 127.0.0.1 in a temp folder (Debian's postgresql).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median, quantiles
from typing import Any

from fabrikate.records import open_store
from fabrikate.records.events import ClusterEvent
from fabrikate.records.queries import (
    Filters,
    compare,
    deployment,
    deployments,
    matrix,
    metrics,
)
from fabrikate.support.heap import settle

SERVICES, RINGS, ENVIRONMENTS, CLUSTERS = 500, 5, 3, 4
AUTHORS = 25
MATRIX_PAGE = 100  # services on one page of the matrix (the dashboard's page)
FILL_BATCH = 1000  # records written at once (one transaction)
DEEP_PAGE = 40  # the page the cursor walks to for the "deep page" figure
TARGETS = {"list first page": 50.0, "list deep page": 50.0}
DEFAULT_TARGET = 150.0
END = datetime(2026, 11, 30, tzinfo=UTC)
SPAN = timedelta(days=180)


def sha(*parts: object) -> str:
    """A deterministic 40-hex commit id."""
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


def synthetic(i: int, count: int, rng: random.Random) -> dict[str, Any]:
    """Record ``i``: one service's generation in one ring and environment."""
    service = f"svc{rng.randrange(SERVICES):03d}"
    ring = f"ring{rng.randrange(RINGS)}"
    environment = ("dev", "staging", "prod")[rng.randrange(ENVIRONMENTS)]
    started = END - SPAN + SPAN * (i / count)
    finished = started + timedelta(seconds=rng.uniform(0.2, 20))
    version = f"1.{i // 1000}.{i % 1000}"
    author = f"dev{rng.randrange(AUTHORS)} <dev@example.com>"
    pipeline = rng.random() < 0.8
    image = f"acr.example.com/{service}:{version}"
    manifest = sha("manifest", i)
    digest = (
        "sha256:" + hashlib.sha256(f"{service}{ring}{environment}{version}".encode()).hexdigest()
    )
    rid = str(uuid.UUID(sha("id", i)[:32], version=4))
    return {
        "schema": "fabrikate.deployment-record/v2",
        "id": rid,
        "rowKey": rid.replace("-", "")[:12],
        "scope": "hld",
        "correlationId": None,
        "environment": environment,
        "environments": [environment],
        "ring": ring,
        "rings": {
            "declared": [f"ring{r}" for r in range(RINGS)],
            "default": "ring0",
            "branches": {
                f"ring{r}": ("master" if r == 0 else f"feature-{r}") for r in range(RINGS)
            },
        },
        "service": service,
        "hld": {
            "repo": "https://example.com/org/hld.git",
            "commit": sha("hld", i),
            "commitShort": sha("hld", i)[:7],
            "branch": "master",
            "dirty": False,
            "commitTime": (started - timedelta(minutes=5)).isoformat(),
            "commitAuthor": author,
            "pr": str(1000 + i // 3),
            "mergedBy": f"lead{rng.randrange(5)}",
        },
        "manifest": {
            "repo": "https://example.com/org/manifests.git",
            "commit": manifest,
            "commitShort": manifest[:7],
            "path": f"generated/{environment}",
        },
        "ci": {
            "provider": "github" if pipeline else "local",
            "reason": "push" if pipeline else None,
            "runId": str(5000 + i) if pipeline else None,
            "runNumber": str(i) if pipeline else None,
            "runUrl": f"https://example.com/runs/{i}" if pipeline else None,
            "validationOnly": False,
        },
        "startedAt": started.isoformat(),
        "finishedAt": finished.isoformat(),
        "durationMs": int((finished - started).total_seconds() * 1000),
        "outcome": "failed" if rng.random() < 0.03 else "succeeded",
        "error": None,
        "tool": {"fab": "0.1.0", "helm": "v3.17.3", "python": "3.11.7"},
        "components": [
            {
                "logicalPath": service,
                "name": service,
                "type": "helm",
                "method": "helm",
                "source": "https://charts.example.com",
                "mirror": None,
                "path": service,
                "version": version,
                "branch": None,
                "commit": None,
                "chart": {"name": service, "version": version},
            }
        ],
        "images": [
            {
                "component": service,
                "kind": "Deployment",
                "workload": service,
                "container": "app",
                "containerType": "containers",
                "image": image,
                "repository": image.rsplit(":", 1)[0],
                "tag": version,
                "digest": None,
            }
        ],
        "objects": [
            {
                "apiVersion": "v1" if kind != "Deployment" else "apps/v1",
                "kind": kind,
                "namespace": environment,
                "name": service,
                "digest": "sha256:" + hashlib.sha256(f"{kind}{digest}".encode()).hexdigest(),
                "component": service,
                "file": f"{service}.yaml",
            }
            for kind in ("Deployment", "Service", "ConfigMap")
        ],
        "source": {
            "commit": sha("src", i),
            "commitTime": (started - timedelta(hours=2)).isoformat(),
            "repo": f"https://example.com/org/{service}.git",
        },
        "output": {
            "path": f"generated/{environment}",
            "files": 1,
            "digest": digest,
            "changed": True,
        },
        "validation": None,
    }


def events_for(record: dict[str, Any], rng: random.Random) -> list[ClusterEvent]:
    """Flux events for one record's manifest commit from one or two clusters."""
    out = []
    finished = datetime.fromisoformat(record["finishedAt"])
    for c in rng.sample(range(CLUSTERS), rng.choice((1, 1, 2))):
        out.append(
            ClusterEvent.make(
                source="flux",
                cluster=f"cluster{c}",
                ring=record["ring"],
                environment=record["environment"],
                kind="Kustomization",
                namespace="flux-system",
                name=f"{record['environment']}-{record['ring']}",
                revision=record["manifest"]["commit"],
                state="failed" if rng.random() < 0.02 else "healthy",
                reason="ReconciliationSucceeded",
                message=None,
                at=(finished + timedelta(minutes=rng.uniform(1, 10))).isoformat(),
            )
        )
    return out


def fill(url: str, count: int) -> tuple[list[str], float]:
    """Write ``count`` records and their events; their ids (for picking) and seconds."""
    rng = random.Random(14)
    made = []
    started = time.perf_counter()
    with open_store(url) as store:
        for start in range(0, count, FILL_BATCH):
            records, events = [], []
            for i in range(start, min(start + FILL_BATCH, count)):  # the same draws as one by one
                records.append(synthetic(i, count, rng))
                events += events_for(records[-1], rng)
            store.add_all(records)
            store.add_events(events)
            made += [r["id"] for r in records]
            if (start + FILL_BATCH) % 10_000 == 0:
                print(f"  {start + FILL_BATCH:,} records", file=sys.stderr, flush=True)
        if url.startswith("postgresql"):  # as autovacuum would, but not while measuring
            _vacuum(url)
    return made, time.perf_counter() - started


def _vacuum(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def timings(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """p50 and p95 wall time and p50 CPU time of this process, in milliseconds, of ``repeat``
    calls (one warm-up call first). CPU time moves less on a loaded machine; it leaves out a
    PostgreSQL server's own work."""
    fn()
    samples, cpu = [], []
    for _ in range(repeat):
        start, used = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return median(samples), quantiles(samples, n=20, method="inclusive")[-1], median(cpu)


def deep_cursor(store: Any, filters: Filters) -> str | None:
    """The cursor of page ``DEEP_PAGE`` of the filtered list."""
    cursor = None
    for _ in range(DEEP_PAGE):
        cursor = deployments(store, filters, cursor=cursor, limit=50).next
        if cursor is None:
            break
    return cursor


def measure(url: str, ids: list[str], repeat: int) -> dict[str, tuple[float, float, float]]:
    """p50/p95 of each query on the filled store."""
    rng = random.Random(17)
    prod = Filters.from_params({"environment": "prod"})
    window_end = Filters(environment="prod", until=END.isoformat())  # the data's last 30 days
    with open_store(url, create=False) as store:
        cursor = deep_cursor(store, prod)
        settle()  # as `fab dashboard` does once started
        cases: dict[str, Callable[[], object]] = {
            "matrix": lambda: matrix(store, Filters(), limit=MATRIX_PAGE),
            "list first page": lambda: deployments(store, prod, limit=50),
            "list deep page": lambda: deployments(store, prod, cursor=cursor, limit=50),
            "deployment": lambda: deployment(store, rng.choice(ids)),
            "compare": lambda: compare(store, rng.choice(ids), rng.choice(ids)),
            "metrics": lambda: metrics(store, window_end, window="30d"),
        }
        return {name: timings(fn, repeat) for name, fn in cases.items()}


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1; yields its URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise SystemExit("PostgreSQL is not installed (scripts/system-deps installs it)")
    bindir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="fab-bench-pg-"))
    user: dict[str, Any] = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        os.chown(base, account.pw_uid, account.pw_gid)
    subprocess.run(
        [bindir / "initdb", "-D", base / "data", "-U", "fab", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
        **user,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    log = (base / "postgres.log").open("wb")
    proc = subprocess.Popen(
        [bindir / "postgres", "-D", base / "data", "-p", str(port), "-k", base, *settings],
        stdout=log,
        stderr=subprocess.STDOUT,
        **user,
    )
    try:
        url = f"postgresql://fab@127.0.0.1:{port}/postgres"
        _wait(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"postgres exited with {proc.returncode}")
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def engine(name: str, work: Path) -> Iterator[str]:
    """The URL of an empty store of engine ``name``."""
    if name == "sqlite":
        yield f"sqlite:///{work / 'records.db'}"
    else:
        with postgres() as url:
            yield url


def table(results: dict[str, dict[str, tuple[float, float, float]]]) -> str:
    """The Markdown table: query, then p50/p95 (and CPU p50) per engine, then the target."""
    engines = list(results)
    head = ["query", *(f"{e} p50 / p95 ms (CPU p50)" for e in engines), "target p95"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for query in next(iter(results.values())):
        cells = [query]
        target = TARGETS.get(query, DEFAULT_TARGET)
        for e in engines:
            p50, p95, cpu = results[e][query]
            over = "" if p95 <= target else " **over**"
            cells.append(f"{p50:.1f} / {p95:.1f}{over} ({cpu:.1f})")
        cells.append(f"< {target:.0f} ms")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Fill each engine's store, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="fab-bench-dash-") as tmp:
        for name in args.engines:
            with engine(name, Path(tmp)) as url:
                print(f"{name}: writing {args.records:,} records", file=sys.stderr)
                made, seconds = fill(url, args.records)
                print(f"{name}: filled in {seconds:.0f} s", file=sys.stderr)
                results[name] = measure(url, made, args.repeat)
    print(
        f"{args.records:,} records ({SERVICES} services, {RINGS} rings, {ENVIRONMENTS} "
        f"environments, {CLUSTERS} clusters), {args.repeat} runs each, Python "
        f"{sys.version.split()[0]}"
    )
    print(table(results))


if __name__ == "__main__":
    main()
