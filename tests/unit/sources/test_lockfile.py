"""fabrikate.lock: a stable, sorted text that reads back to the same entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabrikate.errors import InputError
from fabrikate.sources.lockfile import Dependency, Entry, Lock
from fabrikate.sources.vendor import place

ENTRIES = {
    "web": Entry(
        "git",
        "https://host/charts.git",
        path="stable/web",
        commit="a" * 40,
        dependencies=(
            Dependency("redis", "redis", "@stable", "^10.0.0", "10.5.7", "b" * 64, "http://m"),
            Dependency("db", "postgresql", "https://x/", "8.x"),
        ),
    ),
    "infra/efk": Entry("git", "https://host/efk.git", branch="main", commit="c" * 40),
    "demo": Entry("helm", "https://charts", path="demo", version="^0.1", chart_version="0.2.0"),
}


def test_a_lock_round_trips_sorted_and_stable(tmp_path: Path) -> None:
    lock = Lock(tmp_path / "fabrikate.lock", dict(ENTRIES))
    assert lock.write() and not lock.write()  # the same entries: the same text, no write
    text = (tmp_path / "fabrikate.lock").read_text()
    assert text.index("demo:") < text.index("infra/efk:") < text.index("web:")
    assert text.index("name: db") < text.index("name: redis")
    assert f"digest: sha256:{'b' * 64}" in text and "chartVersion: 0.2.0" in text
    again = Lock.read(tmp_path)
    assert again.exists and again.entries == {
        **ENTRIES,
        "web": Entry(
            **{
                **ENTRIES["web"].__dict__,
                "dependencies": tuple(sorted(ENTRIES["web"].dependencies, key=lambda d: d.name)),
            }
        ),
    }
    assert again.text() == text
    shuffled = Lock(tmp_path / "other.lock", dict(reversed(list(ENTRIES.items()))))
    assert shuffled.text() == text
    assert not Lock.read(tmp_path / "nowhere").exists


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lockVersion: 9\n", "not a fabrikate.lock of version 1"),
        ("lockVersion: 1\ncomponents: [a]\n", "'components' must map"),
        ("lockVersion: 1\ncomponents:\n  a: {method: git}\n", "needs 'method' and 'source'"),
        ("lockVersion: 1\ncomponents:\n  a: {method: git, source: x, sha: y}\n", "unknown field"),
    ],
)
def test_a_damaged_lock_is_an_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "fabrikate.lock").write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        Lock.read(tmp_path)
    assert caught.value.location is not None
    assert caught.value.location.file.endswith("fabrikate.lock")


@pytest.mark.parametrize(
    ("kind", "url", "where"),
    [
        ("git", "https://github.com/org/repo.git", "git/github.com/org/repo.git"),
        ("charts", "https://u:p@charts.helm.sh/stable/", "charts/charts.helm.sh/stable"),
        ("oci", "oci://127.0.0.1:5000/charts", "oci/127.0.0.1_5000/charts"),
        ("git", "git@github.com:org/x.git", "git/github.com/org/x.git"),
        ("files", "https://h/../../etc/passwd", "files/h/%2E%2E/%2E%2E/etc/passwd"),
        ("files", "https://h/a b/c.yaml?x=1", "files/h/a%20b/c.yaml%3Fx=1"),
        ("git", "file:///srv/repos/app.git", "git/local/srv/repos/app.git"),
    ],
)
def test_vendor_places_stay_inside_the_folder(kind: str, url: str, where: str) -> None:
    assert place(kind, url) == where


def test_a_vendor_folder_may_not_point_outside_itself(tmp_path: Path) -> None:
    from fabrikate.sources.vendor import VENDOR_FILE, Vendor

    folder = tmp_path / "vendor"
    folder.mkdir()
    (folder / VENDOR_FILE).write_text(
        "vendorVersion: 1\nsources:\n  https://h/x.git: git/h/x.git\n  https://h/y: ../../etc\n"
    )
    with pytest.raises(InputError, match="https://h/y: ../../etc leaves the vendor folder"):
        Vendor.load(folder)
    (folder / VENDOR_FILE).write_text(
        "vendorVersion: 1\nsources:\n  https://u:pw@h/x.git/: git/x\n"
    )
    vendor = Vendor.load(folder)
    assert vendor.locate("https://h/x.git") == (folder / "git/x").resolve().as_uri()
    assert vendor.locate("https://other/x.git") == ""
    with pytest.raises(InputError, match="is not a vendor folder"):
        Vendor.load(tmp_path)
