"""Which folders a sparse git checkout holds: the component's path and what it reaches."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabrikate.sources.git import _literal, _reached, _sparse_paths
from tests.fixtures.trees import write_tree


@pytest.mark.parametrize(
    ("path", "folders"),
    [
        ("", ()),
        (".", ()),
        ("./charts/web/", ("charts/web",)),
        ("charts//web", ("charts/web",)),
        ("../elsewhere", ()),  # outside the repository: the layout checks report it
    ],
)
def test_a_checkout_starts_with_the_components_folder(path: str, folders: tuple[str, ...]) -> None:
    assert _sparse_paths(path) == folders


def test_a_folder_name_is_a_literal_pattern() -> None:
    assert _literal("apps/a*b[1]/!x #y") == "apps/a\\*b\\[1\\]/\\!x \\#y"


def test_definitions_and_file_dependencies_reach_sibling_folders(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "apps/site/component.yaml": """
                name: site
                subcomponents:
                  - {name: shared, path: ../shared}
                  - {name: inside, path: ./inside}
                  - {name: remote, method: git, source: https://x/y.git, path: ../not-ours}
                  - {name: out, path: ../../../outside}
            """,
            "charts/web/Chart.yaml": """
                apiVersion: v2
                name: web
                dependencies:
                  - {name: common, repository: "file://../common"}
                  - {name: redis, repository: "https://charts.example.com"}
            """,
        },
    )
    assert _reached(tmp_path, {"apps/site"}) == {"apps/shared"}
    assert _reached(tmp_path, {"charts/web"}) == {"charts/common"}
    assert _reached(tmp_path, {"apps/site", "apps/shared"}) == set()  # nothing new
