"""Trust: secrets stay off every command line and go only to their own host; fab's own state
(cache, record stores) can fail or be damaged without failing a run or changing a file."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from fabrikate.errors import RecordsError
from fabrikate.records import open_store
from fabrikate.support.cache import Cache
from tests.fixtures.servers import TOKEN, GitHttp, Http, free_port
from tests.fixtures.trees import git, make_repo, write_tree

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"
HELM_TREE = "name: app\nsubcomponents:\n- name: demo\n  type: helm\n  path: ./demo\n"


def fab(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("fab: error:")]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def helm_tree(root: Path) -> Path:
    write_tree(root, {"component.yaml": HELM_TREE})
    shutil.copytree(CHARTS / "demo", root / "demo")
    return root


class CommandLines:
    """The command lines of a command and all its descendants, read from /proc while they run
    (other tests run beside this one: their processes are left out by ancestry)."""

    def __init__(self) -> None:
        self.parents: dict[int, int] = {}
        self.lines: dict[int, set[bytes]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/stat", "rb") as handle:
                            parent = int(handle.read().rsplit(b")", 1)[1].split()[1])
                        with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                            line = handle.read()
                    except (OSError, ValueError, IndexError):
                        continue
                    self.parents[int(entry.name)] = parent
                    self.lines.setdefault(int(entry.name), set()).add(line)
            time.sleep(0.002)

    def run(self, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Run ``command`` to its end, remembering it as one of the watched roots."""
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.roots.add(proc.pid)
        self.own.add(b"".join(os.fsencode(arg) + b"\0" for arg in command))
        out, err = proc.communicate()
        return subprocess.CompletedProcess(command, proc.returncode, out, err)

    @property
    def seen(self) -> set[bytes]:
        """Every command line of the watched commands' process trees but their own.

        A child forked but not yet exec'd shows its parent's command line: a root's own line
        seen again in a descendant is that moment, not a command fab ran."""
        found: set[bytes] = set()
        for pid, lines in self.lines.items():
            ancestor = self.parents.get(pid)
            while ancestor is not None and ancestor not in self.roots:
                ancestor = self.parents.get(ancestor)
            if ancestor is not None:
                found |= lines - self.own
        return found

    def __enter__(self) -> CommandLines:
        self.roots: set[int] = set()
        self.own: set[bytes] = set()  # the watched commands' own lines, as /proc shows them
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.helm
def test_no_secret_is_on_any_command_line_during_a_private_install(
    tmp_path: Path, private_site: Http, git_http: GitHttp
) -> None:
    url = git_http.repo(f"watched-{tmp_path.name}", {"component.yaml": "name: app\n"})
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": f"""
                name: app
                subcomponents:
                - {{name: exact, type: helm, method: helm, source: "{private_site.charts}",
                    path: demo, version: 0.1.0}}
                - {{name: ranged, type: helm, method: helm, source: "{private_site.charts}",
                    path: demo, version: ">= 0.1.0, < 0.2.0"}}
                - {{name: latest, type: helm, method: helm, source: "{private_site.charts}",
                    path: demo}}
                - {{name: private, method: git, source: "{url}"}}
                """,
            "access.yaml": f"{private_site.charts}: WATCHED_TOKEN\n{url}: WATCHED_TOKEN\n",
        },
    )
    env = {**os.environ, "WATCHED_TOKEN": TOKEN}
    command = [sys.executable, "-m", "fabrikate", "-v", "install", str(root), "-j", "2"]
    with CommandLines() as watched:
        done = watched.run(command, env)
        generated = watched.run(
            [sys.executable, "-m", "fabrikate", "generate", "-C", str(root)], env
        )
    assert done.returncode == 0, done.stderr
    assert generated.returncode == 0, generated.stderr
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode())
    assert any(b"git" in line and b"fetch" in line for line in watched.seen)  # it did watch
    for line in watched.seen:
        assert TOKEN.encode() not in line and encoded not in line, line
    assert TOKEN not in done.stderr + generated.stderr
    versions = {
        name: (root / "helm_repos" / name / "Chart.yaml").read_text()
        for name in ("exact", "ranged", "latest")
    }
    assert "version: 0.1.0" in versions["exact"] and "version: 0.1.0" in versions["ranged"]
    assert "version: 0.2.0" in versions["latest"]


@pytest.mark.helm
def test_a_percent_encoded_password_is_sent_decoded_and_never_shown(
    tmp_path: Path, private_site: Http
) -> None:
    encoded = TOKEN.replace("-", "%2D")  # what a user writes for a password with odd characters
    source = private_site.charts.replace("http://", f"http://me:{encoded}@")
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": f"name: app\nsubcomponents:\n- {{name: c, type: helm, method: helm, "
            f'source: "{source}", path: demo}}\n'
        },
    )
    code, err = fab("-v", "install", str(root))
    assert code == 0, err
    assert TOKEN not in err and encoded not in err
    assert "0.2.0" in (root / "helm_repos/c/Chart.yaml").read_text()


@pytest.mark.helm
def test_a_fetched_access_yaml_never_sends_the_users_token(
    tmp_path: Path, private_site: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "evil-work"
    make_repo(
        work,
        {
            "component.yaml": "name: evil\nsubcomponents:\n"
            f'- {{name: c, type: helm, method: helm, source: "{private_site.charts}", path: demo}}\n',
            "access.yaml": f"{private_site.charts}: USERS_OWN_SECRET\n",
        },
    )
    git(tmp_path, "clone", "-q", "--bare", str(work), "evil.git")
    source = (tmp_path / "evil.git").as_uri()
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": f"name: app\nsubcomponents:\n- {{name: evil, method: git, source: {source}}}\n"
        },
    )
    monkeypatch.setenv("USERS_OWN_SECRET", TOKEN)
    code, err = fab("install", str(root))
    assert code == 1
    assert "access.yaml of a fetched definition is ignored" in err
    assert "authentication required" in errors(err)[0]  # the server never got the token
    assert TOKEN not in err


@pytest.mark.helm
def test_damaged_cache_entries_are_misses_and_are_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FAB_RECORDS", f"sqlite:///{tmp_path / 'records.db'}")  # helm's version
    root = helm_tree(tmp_path / "hld")
    assert fab("generate", "-C", str(root))[0] == 0
    expected = files(root / "generated")
    damaged = [p for p in Cache.default().root.rglob("*") if p.is_file() and p.stat().st_size > 8]
    damaged = [
        p for p in damaged if p.parent.parent.name in ("render", "tools", "parsed", "stamps")
    ]
    assert {p.parent.parent.name for p in damaged} >= {"render", "tools", "stamps"}
    for path in damaged:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    (root / "generated" / "common" / "demo.yaml").write_text("tampered\n")
    code, err = fab("generate", "-C", str(root))
    assert code == 0, err
    assert files(root / "generated") == expected
    for path in damaged:  # rewritten whole
        blob = path.read_bytes() if path.exists() else b"fab\x01"
        assert blob.startswith(b"fab\x01")


@pytest.mark.parametrize("broken", ["root", "kind"])
def test_a_cache_that_cannot_be_used_means_one_warning_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    cache = tmp_path / "cache"
    if broken == "root":
        cache.write_text("a file where the cache folder should be\n")
    else:
        (cache / "v1").mkdir(parents=True)
        for kind in ("parsed", "validated", "locks", "stamps"):
            (cache / "v1" / kind).write_text("not a folder\n")
    monkeypatch.setenv("FAB_CACHE_DIR", str(cache))
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": "name: app\nsubcomponents:\n- name: m\n  type: static\n  path: m\n",
            "m/a.yaml": "kind: A\n",
        },
    )
    before = files(tmp_path / "cache") if cache.is_dir() else cache.read_bytes()
    code, err = fab("generate", "-C", str(root))
    assert code == 0, err
    assert err.count("cannot use the cache") == 1
    assert (root / "generated/common/m.yaml").read_text() == "---\nkind: A\n"
    after = files(tmp_path / "cache") if cache.is_dir() else cache.read_bytes()
    assert after == before


@pytest.mark.helm
@pytest.mark.skipif(os.geteuid() != 0, reason="chattr +i needs root")
def test_a_cache_that_cannot_be_written_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAB_CACHE_DIR", str(tmp_path / "cache"))
    root = helm_tree(tmp_path / "hld")
    assert fab("generate", "-C", str(root))[0] == 0
    write_tree(root, {"config/common.yaml": "subcomponents:\n  demo:\n    config: {a: 1}\n"})
    render = Cache.default().root / "render"
    folders = [render, *render.iterdir()]
    subprocess.run(["chattr", "+i", *map(str, folders)], check=True)
    try:
        code, err = fab("generate", "-C", str(root))
    finally:
        subprocess.run(["chattr", "-i", *map(str, folders)], check=True)
    assert code == 0, err
    assert err.count("cannot use the cache") == 1
    assert "ConfigMap" in (root / "generated/common/demo.yaml").read_text()


def _records(root: Path, db: Path) -> None:
    write_tree(root, {"component.yaml": "name: app\n"})
    assert fab("--quiet", "generate", "-C", str(root), "--records", f"sqlite:///{db}")[0] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="chattr +i needs root")
def test_read_commands_work_on_a_read_only_store_and_change_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    db = store / "records.db"
    _records(tmp_path / "hld", db)
    before = files(store)
    subprocess.run(["chattr", "+i", str(db), str(store)], check=True)
    try:
        url = f"sqlite:///{db}"
        for args in (
            ["records", "list"],
            ["records", "export"],
            ["records", "log", "--component", "app"],
            ["status"],
            ["deployment", "get"],
        ):
            result = CliRunner().invoke(main, [*args, "--records", url], catch_exceptions=False)
            assert result.exit_code == 0, result.stderr
        listed = CliRunner().invoke(main, ["records", "list", "--records", url, "--output", "json"])
        assert '"environment": "common"' in listed.stdout
    finally:
        subprocess.run(["chattr", "-i", str(db), str(store)], check=True)
    assert files(store) == before  # no -wal, no -shm, no migration


def test_read_commands_never_migrate_a_store(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("CREATE TABLE unrelated (x)").connection.commit()
    before = db.read_bytes()
    code, err = fab("records", "list", "--records", f"sqlite:///{db}")
    assert code == 1 and len(errors(err)) == 1 and "no such table" in err
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_record_required_with_an_unreachable_store_changes_nothing(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": "name: app\nsubcomponents:\n- name: m\n  type: static\n  path: m\n",
            "m/a.yaml": "kind: A\n",
        },
    )
    assert fab("generate", "-C", str(root))[0] == 0
    (root / "m" / "a.yaml").write_text("kind: B\n")
    before = {p: p.stat().st_mtime_ns for p in (root / "generated").rglob("*")}
    url = f"postgresql://fab@127.0.0.1:{free_port()}/records"
    code, err = fab("generate", "-C", str(root), "--record-required", "--records", url)
    assert code == 1 and len(errors(err)) == 1
    assert "cannot open the deployment records store" in err
    assert (root / "generated/common/m.yaml").read_text() == "---\nkind: A\n"
    assert {p: p.stat().st_mtime_ns for p in (root / "generated").rglob("*")} == before


def test_fab_find_keeps_url_credentials_off_the_command_line_and_out_of_the_clone(
    tmp_path: Path, git_http: GitHttp
) -> None:
    url = git_http.repo(
        f"defs-{tmp_path.name}", {"ingress/component.yaml": "name: ingress\n", "README.md": "x\n"}
    )
    private = url.replace("http://", f"http://me:{TOKEN}@")
    env = {**os.environ, "FAB_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "fabrikate", "find", "ingress", "--repo", private]
    with CommandLines() as watched:  # fab's own command line is the user's: only its children
        done = watched.run(command, env)
    assert done.returncode == 0, done.stderr
    assert "ingress" in done.stdout
    assert any(b"clone" in line for line in watched.seen)
    assert not any(TOKEN.encode() in line for line in watched.seen)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_token_is_never_sent_on_to_the_host_a_redirect_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.server

    from tests.fixtures.servers import serving

    seen: list[tuple[str, str]] = []

    class Elsewhere(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization", "")))
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Elsewhere) as other:
        # The same machine under another name: a different host to git, curl and urllib.
        target = other.replace("127.0.0.1", "localhost")

        class Redirect(Elsewhere):
            def do_GET(self) -> None:
                self.send_response(302)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

        with serving(Redirect) as url:
            root = write_tree(
                tmp_path / "hld",
                {
                    "component.yaml": f"""
                        name: app
                        subcomponents:
                        - {{name: g, method: git, source: "{url}/x.git"}}
                        - {{name: c, type: helm, method: helm, source: "{url}/charts", path: demo}}
                        - {{name: s, type: static, method: http, source: "{url}/s.yaml"}}
                        """,
                    "access.yaml": f"{url}/x.git: T\n{url}/charts: T\n{url}/s.yaml: T\n",
                },
            )
            monkeypatch.setenv("T", TOKEN)
            code, err = fab("install", str(root))
    assert code == 1 and len(errors(err)) == 3
    assert {path.split("/")[1].split("?")[0] for path, _ in seen} >= {"x.git", "charts", "s.yaml"}
    assert all(header == "" for _, header in seen), seen


def test_read_commands_create_no_store_of_any_kind(store_url: str, tmp_path: Path) -> None:
    # mark and prune write, but only to a store that exists.
    for args in (
        ["records", "list"],
        ["status"],
        ["records", "mark", "abcd1234", "--failed"],
        ["records", "prune", "--older-than", "1d"],
        ["deployment", "get"],
    ):
        code, err = fab(*args, "--records", store_url)
        assert code == 1 and len(errors(err)) == 1, (args, err)
    if store_url.startswith("sqlite"):
        assert not (tmp_path / "records.db").exists()
    elif store_url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(store_url) as conn:
            found = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchall()
        assert found == []
    elif store_url.startswith("memory"):
        with pytest.raises(RecordsError, match="nothing was recorded there"):
            open_store(store_url, create=False)
    else:
        from azure.data.tables import TableServiceClient

        name = store_url.removeprefix("azuretable://")
        with TableServiceClient.from_connection_string(
            os.environ["AZURE_STORAGE_CONNECTION_STRING"]
        ) as service:
            assert not [t for t in service.list_tables() if t.name.startswith(name)]
