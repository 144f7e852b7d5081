"""The remote render cache's settings and the checks that need no registry."""

from __future__ import annotations

import json

import pytest

from fabrikate.errors import HttpFailure, InputError
from fabrikate.settings import Secret, Settings
from fabrikate.support.remotecache import SIGNATURE, RemoteCache, _layer, signature

DIGEST = "sha256:" + "a" * 64


def remote(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"FAB_{name}", value)
    return Settings.from_env()


def test_the_remote_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = remote(
        monkeypatch,
        REMOTE_CACHE="oci://registry.example.com:5000/team/fab-cache/",
        REMOTE_CACHE_KEY=" shh ",
        REMOTE_CACHE_TOKEN="me:pw",
    )
    assert settings.remote_cache == "oci://registry.example.com:5000/team/fab-cache"
    assert settings.remote_cache_key == Secret("shh")
    assert settings.remote_cache_token == Secret("me:pw")
    assert not settings.remote_cache_push
    assert "shh" not in repr(settings) and "me:pw" not in repr(settings)
    assert str(settings.remote_cache_key) == "***"
    assert remote(monkeypatch, REMOTE_CACHE_PUSH="1").remote_cache_push
    assert Settings.from_env(remote_cache_push=False).remote_cache_push is False


def test_no_remote_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = remote(monkeypatch, REMOTE_CACHE_KEY="shh", REMOTE_CACHE_PUSH="1")
    assert settings.remote_cache is None and settings.remote_cache_key is None
    assert RemoteCache.of(settings) is None


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("oci://host/repo", "needs FAB_REMOTE_CACHE_KEY"),
        ("https://host/repo", "want oci://<host>/<repository>"),
        ("oci://host", "want oci://<host>/<repository>"),
        ("oci://host/Repo", "want oci://<host>/<repository>"),
        ("oci://host/../x", "want oci://<host>/<repository>"),
        ("oci://me:pw@host/repo", "credentials go in FAB_REMOTE_CACHE_TOKEN"),
    ],
)
def test_a_bad_remote_is_one_error(monkeypatch: pytest.MonkeyPatch, url: str, error: str) -> None:
    key = {} if "needs" in error else {"REMOTE_CACHE_KEY": "shh"}
    with pytest.raises(InputError, match=error.replace("<", ".").replace(">", ".")) as caught:
        remote(monkeypatch, REMOTE_CACHE=url, **key)
    assert "pw" not in str(caught.value)


def test_settings_made_in_code_are_checked_alike() -> None:
    with pytest.raises(InputError, match="needs FAB_REMOTE_CACHE_KEY"):
        Settings(remote_cache="oci://h/c")
    with pytest.raises(InputError, match="want oci://"):
        Settings(remote_cache="https://h/c", remote_cache_key=Secret("k"))
    with pytest.raises(InputError, match="want user:password"):
        Settings(
            remote_cache="oci://h/c", remote_cache_key=Secret("k"), remote_cache_token=Secret("t")
        )
    assert Settings(remote_cache="oci://h/c", remote_cache_key=Secret("k")).remote_cache


def test_the_token_is_user_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"REMOTE_CACHE": "oci://h/c", "REMOTE_CACHE_KEY": "k", "REMOTE_CACHE_TOKEN": "t0k3n"}
    with pytest.raises(InputError, match="want user:password") as caught:
        remote(monkeypatch, **env)
    assert "t0k3n" not in str(caught.value)


@pytest.mark.parametrize("push", ["true", "yes", "2"])
def test_push_is_1_or_0(monkeypatch: pytest.MonkeyPatch, push: str) -> None:
    with pytest.raises(InputError, match="want 1 .push. or 0"):
        remote(monkeypatch, REMOTE_CACHE="oci://h/c", REMOTE_CACHE_KEY="k", REMOTE_CACHE_PUSH=push)
    assert not remote(monkeypatch, REMOTE_CACHE_PUSH="0").remote_cache_push


def test_plain_http_only_for_listed_hosts() -> None:
    key = Secret("k")
    listed = Settings(
        remote_cache="oci://10.0.0.1:5000/c",
        remote_cache_key=key,
        plain_http_registries=("10.0.0.1:5000",),
    )
    assert RemoteCache(listed).base == "http://10.0.0.1:5000"
    assert RemoteCache(Settings(remote_cache="oci://h/c", remote_cache_key=key)).base == "https://h"


def test_the_signature_binds_key_and_blob() -> None:
    one = signature(b"k", "1" * 64, DIGEST)
    assert one != signature(b"k", "2" * 64, DIGEST)
    assert one != signature(b"k", "1" * 64, "sha256:" + "b" * 64)
    assert one != signature(b"other", "1" * 64, DIGEST)


@pytest.mark.parametrize(
    "manifest",
    [
        b"not json",
        b"[]",
        {"layers": []},
        {"layers": [{"digest": DIGEST, "size": 3}]},  # no signature
        {"layers": [{"digest": "sha256:../../x", "size": 3}], "annotations": {SIGNATURE: "s"}},
        {"layers": [{"digest": DIGEST, "size": -1}], "annotations": {SIGNATURE: "s"}},
        {"layers": [{"digest": DIGEST, "size": 2**40}], "annotations": {SIGNATURE: "s"}},
        {"layers": [{"digest": DIGEST, "size": "3"}], "annotations": {SIGNATURE: "s"}},
        {"layers": [{"digest": DIGEST, "size": 3}], "annotations": {SIGNATURE: 5}},
    ],
)
def test_a_manifest_that_is_not_an_entry(manifest: object) -> None:
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    assert _layer(body) is None


def test_an_entry_manifest() -> None:
    body = json.dumps(
        {"layers": [{"digest": DIGEST, "size": 3}], "annotations": {SIGNATURE: "s"}}
    ).encode()
    assert _layer(body) == (DIGEST, 3, "s")


def test_an_upload_location_must_stay_on_the_registry() -> None:
    cache = RemoteCache(Settings(remote_cache="oci://h:5000/c", remote_cache_key=Secret("k")))
    assert cache.same_host("/v2/c/blobs/uploads/u?x=1") == "https://h:5000/v2/c/blobs/uploads/u?x=1"
    assert cache.same_host("u") == "https://h:5000/v2/c/blobs/uploads/u"
    for elsewhere in (
        "https://h:5001/u",
        "http://h:5000/u",
        "//other/u",
        "https://h:5000.evil/u",
        "",
    ):
        with pytest.raises(HttpFailure):
            cache.same_host(elsewhere)


@pytest.mark.parametrize(
    "realm",
    ["http://elsewhere/token", "file:///etc/passwd", "ftp://h/token", "", "http://h.evil/t"],
)
def test_a_token_realm_is_https_or_on_the_registry(realm: str) -> None:
    cache = RemoteCache(Settings(remote_cache="oci://h/c", remote_cache_key=Secret("k")))
    with pytest.raises(HttpFailure, match="token realm"):
        cache.exchange(f'Bearer realm="{realm}",service="s"')
