"""fab find: a definitions repository cloned over file://, cached, searched offline."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fabrikate.cli.main import main
from tests.fixtures.trees import git, make_repo

DEFINITIONS = {
    "README.md": "# Definitions\n",
    "definitions/fabrikate-elasticsearch/component.yaml": (
        "name: elasticsearch\ntype: helm\nmethod: helm\nsource: https://charts.example.com\n"
    ),
    "definitions/fabrikate-elasticsearch/README.md": (
        "# Elasticsearch\n\nElasticsearch and Kibana for **logging**.\n"
    ),
    "definitions/fabrikate-kured/component.json": '{"name": "kured", "description": "Reboots"}',
    "definitions/fabrikate-prometheus/component.yaml": "name: prometheus\n",
}


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_find_lists_matching_definitions_with_descriptions(tmp_path: Path) -> None:
    source = tmp_path / "source"
    make_repo(source, DEFINITIONS)
    bare = tmp_path / "definitions.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(source), str(bare))
    url = f"file://{bare}"

    code, out, _ = fab("find", "ELASTIC", "--repo", url)
    assert code == 0
    assert out == ("definitions/fabrikate-elasticsearch  Elasticsearch and Kibana for logging.\n")
    code, out, _ = fab("find", "fabrikate-", "--repo", url)
    assert out.splitlines() == [
        "definitions/fabrikate-elasticsearch  Elasticsearch and Kibana for logging.",
        "definitions/fabrikate-kured          Reboots",
        "definitions/fabrikate-prometheus",
    ]

    # A new definition is seen on the next search; offline searches the cached copy.
    (source / "definitions/fabrikate-jaeger").mkdir()
    (source / "definitions/fabrikate-jaeger/component.yaml").write_text("name: jaeger\n")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "jaeger")
    git(source, "push", "--quiet", str(bare), "HEAD:main")
    code, out, _ = fab("find", "jaeger", "--repo", url)
    assert out == "definitions/fabrikate-jaeger\n"
    bare.rename(tmp_path / "gone.git")
    code, out, _ = fab("find", "jaeger", "--repo", url, "--offline")
    assert (code, out) == (0, "definitions/fabrikate-jaeger\n")
    code, out, err = fab("find", "jaeger", "--repo", url)
    assert (code, out) == (0, "definitions/fabrikate-jaeger\n")
    assert "searching the cached copy" in err


def test_find_unreachable_repository_is_one_error_line(tmp_path: Path) -> None:
    code, _, err = fab("find", "x", "--repo", f"file://{tmp_path}/missing.git")
    assert code == 1
    assert err.startswith("fab: error: git clone failed") and len(err.splitlines()) == 1
    code, _, err = fab("find", "x", "--repo", "https://example.com/never.git", "--offline")
    assert code == 1 and "is not cached and --offline is set" in err
