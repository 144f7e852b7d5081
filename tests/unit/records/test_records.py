"""Pure parts of the records layer: masking, CI detection, images, digests, views."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabrikate.errors import InputError
from fabrikate.records import Stage, open_store
from fabrikate.records.build import output_digest
from fabrikate.records.ci import detect, pull_request
from fabrikate.records.gitinfo import pr_from_message, repo_name
from fabrikate.records.images import extract_images, parse_documents, parse_image
from fabrikate.records.mask import mask_text, strip_credentials
from fabrikate.records.view import parse_since


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://user:tok@host/r.git", "https://***@host/r.git"),
        ("clone git+ssh://git@github.com/o/r failed", "clone git+ssh://***@github.com/o/r failed"),
        ("https://h/c?token=abc&x=1", "https://h/c?token=***&x=1"),
        ("https://h/b?sv=1&sig=AbC%3D", "https://h/b?sv=1&sig=***"),
        ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer ***"),
        ("AccountName=a;AccountKey=c2VjcmV0==;", "AccountName=a;AccountKey=***;"),
        ("https://host/plain", "https://host/plain"),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@given(
    st.text(
        alphabet=st.sampled_from(list("ab:/@=?&; \t\nBearer token AccountKey sig 0123456789")),
        max_size=60,
    )
)
def test_mask_text_skips_only_strings_no_pattern_can_match(text: str) -> None:
    from fabrikate.support import redact as mask

    full = text
    for pattern, repl in (
        (mask._USERINFO, r"\g<scheme>***@"),
        (mask._SECRET_QUERY, r"\g<key>***"),
        (mask._BEARER, r"\g<key>***"),
        (mask._KEY_VALUE, r"\g<key>***"),
    ):
        full = pattern.sub(repl, full)
    assert mask_text(text) == full


def test_strip_credentials_removes_userinfo_entirely() -> None:
    assert (
        strip_credentials("https://u:p@dev.azure.com/o/p/_git/r")
        == "https://dev.azure.com/o/p/_git/r"
    )


def test_ci_detection_per_provider() -> None:
    azdo = detect(
        {
            "TF_BUILD": "True",
            "BUILD_BUILDID": "7",
            "BUILD_REASON": "PullRequest",
            "SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/",
            "SYSTEM_TEAMPROJECT": "p",
        }
    )
    assert azdo["runUrl"] == "https://dev.azure.com/org/p/_build/results?buildId=7"
    assert azdo["validationOnly"] is True
    gitlab = detect(
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_ID": "9",
            "CI_PIPELINE_URL": "u",
            "CI_PIPELINE_SOURCE": "push",
        }
    )
    assert (gitlab["provider"], gitlab["runId"], gitlab["validationOnly"]) == ("gitlab", "9", False)
    local = detect({}, "job-3")
    assert (local["provider"], local["runId"]) == ("local", "job-3")
    assert pull_request({"GITHUB_REF": "refs/pull/12/merge"}) == "12"
    assert pull_request({"CI_MERGE_REQUEST_IID": "4"}) == "4"


@pytest.mark.parametrize(
    ("message", "pr"),
    [
        ("Merged PR 57: deploy app", "57"),
        ("Merge pull request #8 from o/b\n\nbody", "8"),
        ("Bump chart (#31)", "31"),
        ("Merge branch 'x' into 'main'\n\nSee merge request group/hld!5", "5"),
        ("plain commit", None),
    ],
)
def test_pr_from_merge_messages(message: str, pr: str | None) -> None:
    assert pr_from_message(message) == pr


def test_repo_name_from_urls(tmp_path) -> None:
    assert repo_name("git@github.com:o/HLD.git", tmp_path) == "HLD"
    assert repo_name("https://dev.azure.com/o/p/_git/hld", tmp_path) == "hld"
    assert repo_name(None, tmp_path / "mine") == "mine"


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nginx", ("nginx", None, None)),
        ("reg:5000/a/b:1.2", ("reg:5000/a/b", "1.2", None)),
        ("reg:5000/a/b", ("reg:5000/a/b", None, None)),
        ("a/b:1@sha256:ff", ("a/b", "1", "sha256:ff")),
    ],
)
def test_parse_image(image: str, parts: tuple) -> None:
    assert tuple(parse_image(image).values()) == parts


def test_images_ignore_unparsable_and_non_workload_documents() -> None:
    docs = [
        "kind: [unclosed\n",
        "kind: ConfigMap\ndata: {image: x}\n",
        "kind: PodTemplate\nmetadata: {name: t}\ntemplate: {spec: {containers: [{image: a:1}]}}\n",
    ]
    [image] = extract_images("c", parse_documents(docs))
    assert (image["kind"], image["workload"], image["image"]) == ("PodTemplate", "t", "a:1")


def test_documents_are_read_as_go_reads_them_and_an_unmakeable_value_is_not_parsed() -> None:
    docs = ["kind: ConfigMap\ndata: {when: 2020-02-30}\n", "n: !!int x\n", "kind: Pod\n"]
    when = {"kind": "ConfigMap", "data": {"when": "2020-02-30"}}  # no timestamps in Go's YAML
    assert parse_documents(docs) == [when, None, {"kind": "Pod"}]


def test_a_document_that_is_a_string_is_never_read_as_a_workload() -> None:
    quoted = ['"kind: Pod\\nspec: {containers: [{name: a, image: x:1}]}"\n']
    assert parse_documents(quoted) == ["kind: Pod\nspec: {containers: [{name: a, image: x:1}]}"]
    assert extract_images("c", parse_documents(quoted)) == []


def test_output_digest_is_order_independent_and_content_sensitive() -> None:
    a = output_digest({"x.yaml": b"1", "y/z.yaml": b"2"})
    assert a == output_digest({"y/z.yaml": b"2", "x.yaml": b"1"})
    assert a != output_digest({"x.yaml": b"1", "y/z.yaml": b"3"})
    assert a != output_digest({"x.yaml": b"12", "y/z.yaml": b""})


def test_stage_normalisation() -> None:
    stage = Stage(
        hld_commit_id="ABCDEF0123456",
        image_tag="App:Master-1",
        env=" Dev ",
        repository="https://u:p@Host/R",
    ).normalised()
    assert (stage.hld_commit_id, stage.image_tag, stage.env) == ("abcdef0", "app:master-1", "dev")
    assert stage.repository == "https://host/r"


def test_parse_since() -> None:
    now = datetime(2025, 1, 10, tzinfo=UTC)
    assert parse_since("2d", now) == "2025-01-08T00:00:00+00:00"
    assert parse_since("90m", now) == "2025-01-09T22:30:00+00:00"
    assert parse_since("2025-01-02") == "2025-01-02T00:00:00+00:00"
    with pytest.raises(InputError, match="--since"):
        parse_since("last week")


def test_store_urls(tmp_path) -> None:
    assert open_store("none") is None
    with pytest.raises(InputError, match="unknown records store 'mysql://\\*\\*\\*@h/db'"):
        open_store("mysql://u:secret@h/db")
    with pytest.raises(InputError, match="absolute"):
        open_store("sqlite://relative.db")
    with pytest.raises(InputError, match="azuretable://TABLE"):
        open_store("azuretable://no-dashes")


def test_a_component_is_described_anew_only_when_its_documents_changed(tmp_path) -> None:
    from fabrikate.hld.rings import read_rings
    from fabrikate.records.build import build_record, describe
    from fabrikate.records.run import Run
    from fabrikate.records.summary import Described, Rendered, RunSummary
    from fabrikate.settings import Settings

    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{image: a:1}]}\n"
    moved = pod.replace("{name: p}", "{name: p, namespace: team}")
    rendered = Rendered(
        tmp_path / "generated",
        documents=(("kept", (pod,)), ("changed", (moved,))),
        component_files={"kept": "kept.yaml", "changed": "changed.yaml"},
        described={  # as the run described them: "changed" got its namespace since
            "kept": describe("kept", "kept.yaml", [pod]),
            "changed": describe("changed", "changed.yaml", [pod]),
        },
    )
    run = Run(tmp_path, ("prod",), Settings(records="none"), datetime.now(UTC))
    run.summary = RunSummary(rendered=rendered)
    early = {"hld": {}, "rings": read_rings(tmp_path)}
    record = build_record(run, {}, early)
    assert [(o["component"], o["namespace"]) for o in record["objects"]] == [
        ("kept", None),
        ("changed", "team"),
    ]
    # what the run worked out stands for the documents: it is not worked out again
    stale = Described((pod,), images=({"component": "kept", "image": "stale:0"},))
    kept = Rendered(tmp_path, documents=(("kept", (pod,)),), described={"kept": stale})
    run.summary = RunSummary(rendered=kept)
    assert [i["image"] for i in build_record(run, {}, early)["images"]] == ["stale:0"]
