"""The mirror map: prefixes at boundaries, the order of built-in and user rules, the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabrikate.errors import InputError
from fabrikate.settings import Settings
from fabrikate.sources.mirrors import Mirrors, Rule, is_stable, parse, under

STABLE_OLD = "https://kubernetes-charts.storage.googleapis.com"


@pytest.mark.parametrize(
    ("url", "prefix", "rest"),
    [
        ("https://host/a", "https://host/a", ""),
        ("https://host/a/", "https://host/a", "/"),
        ("https://host/a/b", "https://host/a/", "/b"),
        ("https://HOST/a/b", "https://host/a", "/b"),
        ("HTTPS://host/a?x=1", "https://host/a", "?x=1"),
        ("https://me:pw@host/a/b", "https://host/a", "/b"),
        ("https://host/ab", "https://host/a", None),
        ("https://host.evil/a", "https://host", None),
        ("https://host:8443/a", "https://host", None),
        ("http://host/a", "https://host/a", None),
        ("https://host/A", "https://host/a", None),
        ("git@github.com:org/x.git", "git@github.com:", "org/x.git"),
        ("git@github.com:org/x.git", "git@github.com", ":org/x.git"),
    ],
)
def test_prefixes_match_at_a_boundary(url: str, prefix: str, rest: str | None) -> None:
    assert under(url, prefix) == rest


@pytest.mark.parametrize(
    ("to", "url", "rewritten"),
    [
        ("https://m/stable", "https://o/charts/", "https://m/stable/"),
        ("https://m/stable/", "https://o/charts/x.tgz", "https://m/stable/x.tgz"),
        ("https://m/stable/", "https://o/charts", "https://m/stable/"),
        ("https://m/git", "https://o/charts?ref=1", "https://m/git?ref=1"),
    ],
)
def test_a_rule_keeps_what_follows_the_prefix(to: str, url: str, rewritten: str) -> None:
    assert Rule("https://o/charts", to, "test").apply(url) == rewritten


def test_scp_like_sources_are_rewritten_to_urls() -> None:
    rule = Rule("git@github.com:", "https://git.corp/github", "test")
    assert rule.apply("git@github.com:org/x.git") == "https://git.corp/github/org/x.git"


def test_builtin_rules_then_the_first_user_rule_that_matches() -> None:
    mirrors = Mirrors(
        (
            Rule("https://other", "https://never", "rule 1"),
            Rule("https://charts.helm.sh/stable", "http://127.0.0.1:1/stable", "rule 2"),
            Rule("https://charts.helm.sh", "http://127.0.0.1:1/all", "rule 3"),
        )
    )
    hop = mirrors.rewrite(f"{STABLE_OLD}/")
    assert hop.url == "http://127.0.0.1:1/stable/"
    assert [r.where for r in hop.rules] == ["built-in rule: a retired host", "rule 2"]
    assert hop.explain() == (
        f"{STABLE_OLD}/ -> https://charts.helm.sh/stable/ (built-in rule: a retired host) -> "
        "http://127.0.0.1:1/stable/ (rule 2)"
    )
    incubator = mirrors.rewrite("https://kubernetes-charts-incubator.storage.googleapis.com")
    assert incubator.url == "http://127.0.0.1:1/all/incubator"
    assert mirrors.rewrite("https://storage.googleapis.com/kubernetes-charts-incubator/").url == (
        "http://127.0.0.1:1/all/incubator/"
    )
    assert not mirrors.rewrite("https://example.com/charts").rewritten


def test_a_user_rule_for_a_retired_url_wins_and_builtin_rules_can_be_off() -> None:
    own = Rule(STABLE_OLD, "https://nexus/old-stable", "rule 1")
    assert Mirrors((own,)).rewrite(STABLE_OLD + "/x").url == "https://nexus/old-stable/x"
    off = Mirrors(builtin=False)
    assert not off.rewrite(STABLE_OLD).rewritten
    assert off.retired(STABLE_OLD + "/") == "https://charts.helm.sh/stable/"
    assert is_stable(STABLE_OLD) and is_stable("https://charts.helm.sh/stable/")
    assert not is_stable("https://charts.helm.sh/incubator")


def test_git_config_for_hooks_chains_the_rules() -> None:
    mirrors = Mirrors((Rule("https://charts.helm.sh", "http://m", "rule 1"),))
    pairs = mirrors.git_config()
    assert pairs[0] == ("url.http://m.insteadOf", "https://charts.helm.sh")
    assert ("url.http://m/stable.insteadOf", STABLE_OLD) in pairs
    assert all(key.startswith("url.http://m") for key, _ in pairs)


def test_the_file_and_its_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "hld"
    root.mkdir()
    user = tmp_path / "home" / ".config" / "fabrikate" / "mirrors.yaml"
    user.parent.mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    user.write_text("mirrors:\n  - {from: https://a, to: https://user}\n")
    assert Mirrors.load(root, Settings()).rewrite("https://a/x").url == "https://user/x"
    (root / "mirrors.yaml").write_text(
        "builtin: false\nmirrors:\n- {from: https://a, to: https://root}\n"
    )
    found = Mirrors.load(root, Settings())
    assert found.rewrite("https://a/x").url == "https://root/x" and not found.builtin
    named = tmp_path / "named.yaml"
    named.write_text("mirrors: [{from: https://a, to: https://named}]\n")
    assert Mirrors.load(root, Settings(mirrors=str(named))).rewrite("https://a").url == (
        "https://named"
    )
    assert not Mirrors.load(root, Settings(mirrors="none")).rules
    assert not Mirrors.load(root, Settings(builtin_mirrors=False)).builtin
    with pytest.raises(InputError, match="FAB_MIRRORS names"):
        Mirrors.load(root, Settings(mirrors=str(tmp_path / "gone.yaml")))


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("mirrors:\n  - {from: https://a}\n", "each rule is {from: URL_PREFIX, to: URL_PREFIX}", 2),
        ("mirror: []\n", "unknown key 'mirror'", 1),
        ("builtin: maybe\n", "'builtin' must be true or false", 1),
        ("mirrors:\n- {from: https://a, to: 'https://u:p@m'}\n", "credentials do not belong", 2),
        ("mirrors:\n- {from: '', to: https://m}\n", "'from' must be a URL prefix", 2),
        ("- a\n", "want a map", 1),
    ],
)
def test_mistakes_name_the_file_and_line(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    path = tmp_path / "mirrors.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match="mirror map: ") as caught:
        parse(path)
    assert message in caught.value.message
    assert caught.value.location is not None and caught.value.location.line == line
