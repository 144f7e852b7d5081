"""The remote render cache's registry is untrusted: a lying, stopped, silent or redirecting
registry, or a stranger's token realm, costs one warning and a local render, never a wrong
manifest, a failed run or a credential sent where it does not belong."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import HELM
from tests.fixtures.runners import (
    Runner,
    calls,
    counting_helm,
    output,
    remote_settings,
    warnings,
)
from tests.fixtures.servers import ISSUED, Front, Registry, registry_front, running_registry

pytestmark = pytest.mark.helm


def local_output(folder: Path) -> dict[str, bytes]:
    """What the tree renders to with no remote cache at all."""
    runner = Runner(folder, HELM, {})
    assert runner.generate().returncode == 0
    return output(runner.root)


def pushed(tmp_path: Path, host: str, **env: str) -> tuple[Runner, dict[str, str], Path]:
    """Runner A pushes the tree's renders to a fresh repository at ``host``: A, the settings of
    that repository (pull only) and the file counting helm's renders."""
    settings = remote_settings(host)
    helm, count = counting_helm(tmp_path / "bin")
    a = Runner(tmp_path / "a", helm, {**settings, "FAB_REMOTE_CACHE_PUSH": "1", **env})
    done = a.generate()
    assert done.returncode == 0 and warnings(done.stderr) == [], done.stderr
    assert calls(count) == 2
    return a, settings, count


def repository(settings: dict[str, str]) -> str:
    """The http URL of the repository the settings name."""
    return "http://" + settings["FAB_REMOTE_CACHE"].removeprefix("oci://").replace("/", "/v2/", 1)


def _changed(path: str, body: bytes) -> bytes:
    return body.replace(b"nginx", b"evil1") if "/blobs/sha256:" in path else body


def _longer(path: str, body: bytes) -> bytes:
    return body + b"evil1" * 100 if "/blobs/sha256:" in path else body


def _huge_manifest(path: str, body: bytes) -> bytes:
    return body + b" " * (1 << 20) + b"evil1" if "/manifests/" in path else body


@pytest.mark.parametrize(
    ("lie", "said"),
    [(_changed, "not signed"), (_longer, "too large"), (_huge_manifest, "too large")],
)
def test_a_lying_registry_is_ignored(
    tmp_path: Path, oci_registry: Registry, lie: object, said: str
) -> None:
    a, settings, count = pushed(tmp_path, oci_registry.host)
    upstream = f"http://{oci_registry.host}"
    with registry_front(Front(upstream, tamper=lie)) as front:
        moved = settings["FAB_REMOTE_CACHE"].replace(oci_registry.host, front.host)
        env = {**settings, "FAB_REMOTE_CACHE": moved, "FAB_PLAIN_HTTP_REGISTRIES": front.host}
        b = Runner(tmp_path / "b", a.env["FAB_HELM"], env)
        done = b.generate()
    assert done.returncode == 0, done.stderr
    assert any("/manifests/" in path for _, path, _ in front.seen)  # the lie was served
    assert calls(count) == 4
    assert len(warnings(done.stderr)) == 1 and said in done.stderr, done.stderr
    assert output(b.root) == output(a.root)
    assert b"evil1" not in b"".join(output(b.root).values())
    assert b"evil1" not in b"".join(p.read_bytes() for p in b.cache.rglob("*") if p.is_file())


def test_a_manifest_moved_to_another_key_is_ignored(tmp_path: Path, oci_registry: Registry) -> None:
    a, settings, count = pushed(tmp_path, oci_registry.host)
    base = repository(settings)
    with urllib.request.urlopen(f"{base}/tags/list") as reply:
        first, second = json.load(reply)["tags"]
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    with urllib.request.urlopen(
        urllib.request.Request(f"{base}/manifests/{second}", headers=accept)
    ) as reply:
        manifest = reply.read()
    put = urllib.request.Request(
        f"{base}/manifests/{first}",
        data=manifest,
        method="PUT",
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    urllib.request.urlopen(put).close()  # the first key now serves the second's signed entry
    b = Runner(tmp_path / "b", a.env["FAB_HELM"], settings)
    done = b.generate()
    assert done.returncode == 0, done.stderr
    assert calls(count) == 3  # the moved entry was rendered again, the other one pulled
    assert len(warnings(done.stderr)) == 1 and "not signed" in done.stderr, done.stderr
    assert output(b.root) == output(a.root)


def test_a_stopped_registry_is_one_warning(tmp_path: Path) -> None:
    with running_registry(tmp_path / "registry") as registry:
        a, settings, count = pushed(tmp_path, registry.host)
    b = Runner(tmp_path / "b", a.env["FAB_HELM"], settings)
    done = b.generate()
    assert done.returncode == 0, done.stderr
    assert calls(count) == 4
    assert len(warnings(done.stderr)) == 1 and "rendering locally" in done.stderr
    assert output(b.root) == output(a.root)


def test_a_silent_registry_times_out_once(tmp_path: Path) -> None:
    with socket.socket() as silent:  # connections queue in the backlog; nothing ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        helm, count = counting_helm(tmp_path / "bin")
        runner = Runner(tmp_path / "a", helm, {**remote_settings(host, push=True)})
        done = runner.generate()
    assert done.returncode == 0, done.stderr
    assert calls(count) == 2
    assert len(warnings(done.stderr)) == 1 and "timed out" in done.stderr, done.stderr
    assert output(runner.root) == local_output(tmp_path / "c")


def test_a_trickling_registry_is_given_up(tmp_path: Path) -> None:
    stop = threading.Event()

    def trickle(server: socket.socket) -> None:  # headers at once, then a byte a second
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not stop.wait(0.5):
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        break

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        thread = threading.Thread(target=trickle, args=(server,), daemon=True)
        thread.start()
        host = f"127.0.0.1:{server.getsockname()[1]}"
        helm, count = counting_helm(tmp_path / "bin")
        runner = Runner(tmp_path / "a", helm, remote_settings(host, push=True))
        try:
            done = runner.generate(FAB_TIMEOUT="3")  # each wait 3 s at most, the answer 12 s
        finally:
            stop.set()
    assert done.returncode == 0, done.stderr
    assert calls(count) == 2
    assert len(warnings(done.stderr)) == 1 and "timed out" in done.stderr, done.stderr
    assert output(runner.root) == local_output(tmp_path / "c")


def test_a_bearer_registry_shares_renders_with_the_token(
    tmp_path: Path, oci_registry: Registry
) -> None:
    upstream = f"http://{oci_registry.host}"
    with registry_front(Front(upstream, credentials="ci:pa55-w0rd")) as front:
        settings = {**remote_settings(front.host), "FAB_REMOTE_CACHE_TOKEN": "ci:pa55-w0rd"}
        helm, count = counting_helm(tmp_path / "bin")
        a = Runner(tmp_path / "a", helm, {**settings, "FAB_REMOTE_CACHE_PUSH": "1"})
        done_a = a.generate()
        pushes = [seen for seen in front.seen if seen[0] in ("PUT", "POST")]
        b = Runner(tmp_path / "b", helm, settings)
        before = len(front.seen)
        done_b = b.generate()
        pulls = front.seen[before:]
    assert done_a.returncode == 0 and warnings(done_a.stderr) == [], done_a.stderr
    assert done_b.returncode == 0 and warnings(done_b.stderr) == [], done_b.stderr
    assert calls(count) == 2  # B pulled both renders
    assert output(b.root) == output(a.root)
    assert pushes and all(auth == f"Bearer {ISSUED}" for _, _, auth in pushes)
    assert not any(method in ("PUT", "POST", "PATCH") for method, _, _ in pulls)  # pull only
    tokens = [auth for _, path, auth in front.seen if path.startswith("/token")]
    assert tokens and all(auth.startswith("Basic ") for auth in tokens)
    assert ISSUED not in done_a.stderr + done_b.stderr


def test_wrong_credentials_are_one_warning(tmp_path: Path, oci_registry: Registry) -> None:
    with registry_front(Front(f"http://{oci_registry.host}", credentials="ci:right")) as front:
        settings = {**remote_settings(front.host, push=True), "FAB_REMOTE_CACHE_TOKEN": "ci:wrong"}
        helm, count = counting_helm(tmp_path / "bin")
        runner = Runner(tmp_path / "a", helm, settings)
        done = runner.generate()
    assert done.returncode == 0, done.stderr
    assert calls(count) == 2
    assert len(warnings(done.stderr)) == 1 and "authentication required" in done.stderr
    assert "ci:wrong" not in done.stderr
    assert output(runner.root) == local_output(tmp_path / "c")


def test_a_plain_http_realm_elsewhere_gets_no_credentials(
    tmp_path: Path, oci_registry: Registry
) -> None:
    with registry_front(Front("http://127.0.0.1:9")) as stranger:
        realm = f"http://localhost:{stranger.host.rsplit(':', 1)[1]}/token"
        front = Front(f"http://{oci_registry.host}", credentials="ci:pw", realm=realm)
        with registry_front(front):
            settings = {**remote_settings(front.host, push=True), "FAB_REMOTE_CACHE_TOKEN": "ci:pw"}
            runner = Runner(tmp_path / "a", HELM, settings)
            done = runner.generate()
    assert done.returncode == 0, done.stderr
    assert stranger.seen == []  # the realm was never asked
    assert len(warnings(done.stderr)) == 1, done.stderr
    assert output(runner.root) == local_output(tmp_path / "c")


def test_a_blob_redirect_carries_no_credentials(tmp_path: Path, oci_registry: Registry) -> None:
    a, settings, count = pushed(tmp_path, oci_registry.host)
    with registry_front(Front("http://127.0.0.1:9")) as elsewhere:
        front = Front(f"http://{oci_registry.host}", redirect_blobs=elsewhere.url)
        with registry_front(front):
            moved = settings["FAB_REMOTE_CACHE"].replace(oci_registry.host, front.host)
            env = {
                **settings,
                "FAB_REMOTE_CACHE": moved,
                "FAB_PLAIN_HTTP_REGISTRIES": front.host,
                "FAB_REMOTE_CACHE_TOKEN": "ci:secret-pw",
            }
            b = Runner(tmp_path / "b", a.env["FAB_HELM"], env)
            done = b.generate()
    assert done.returncode == 0, done.stderr
    assert elsewhere.seen and all(auth == "" for _, _, auth in elsewhere.seen)
    assert any(auth.startswith("Basic ") for _, _, auth in front.seen)
    assert calls(count) == 4
    assert output(b.root) == output(a.root)


def test_an_upload_sent_to_another_host_is_not_followed(
    tmp_path: Path, oci_registry: Registry
) -> None:
    front = Front(f"http://{oci_registry.host}", keep_location=True)
    with registry_front(front):
        settings = {**remote_settings(front.host, push=True), "FAB_REMOTE_CACHE_TOKEN": "ci:pw"}
        helm, count = counting_helm(tmp_path / "bin")
        done = Runner(tmp_path / "a", helm, settings).generate()
        b = Runner(tmp_path / "b", helm, settings)
        assert b.generate().returncode == 0
    assert done.returncode == 0, done.stderr
    assert len(warnings(done.stderr)) == 1 and "cannot push" in done.stderr, done.stderr
    assert not any(method == "PUT" for method, _, _ in front.seen)  # nothing went further
    assert calls(count) == 4
