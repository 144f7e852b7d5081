"""fab add / remove / set: files keep every byte that was not asked to change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrikate.api.edit import add_subcomponent, parse_key, remove_subcomponent, set_config
from fabrikate.cli.main import main
from fabrikate.errors import InputError
from fabrikate.support.yamlio import parse_yaml

COMPONENT = """\
# The whole platform.
name: hld   # root
custom: kept            # a key fab does not know
subcomponents:
  # infrastructure first
  - name: infra
    source: ./infra   # local folder
    x-note: "unknown keys survive"

  - name: 'app'
    type: helm
    method: git
    source: "https://github.com/example/app"
"""

CONFIG = """\
---
# common values
namespace: web   # where it runs
config:
    image:
        tag: "1.0"    # pinned
    mode: 0777
    flag: yes
subcomponents:
    myapp:
        namespace: x
    other:
        config:
            k: v
"""


def fab(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_yaml(path: Path):
    return parse_yaml(path.read_text(), str(path))[0]


def test_add_then_remove_gives_back_the_same_bytes(tmp_path: Path) -> None:
    file = write(tmp_path / "component.yaml", COMPONENT)
    add_subcomponent(tmp_path, "efk", source="https://github.com/example/efk", version="1.10")
    assert file.read_text() == COMPONENT + (
        "  - name: efk\n"
        "    type: component\n"
        "    source: https://github.com/example/efk\n"
        "    method: git\n"
        '    version: "1.10"\n'
    )
    remove_subcomponent(tmp_path, "efk")
    assert file.read_text() == COMPONENT


def test_add_writes_no_branch_by_default_and_creates_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "my-hld"
    folder.mkdir()
    code, _ = fab("add", "efk", "--source", "https://example.com/efk.git", "-C", str(folder))
    assert code == 0
    assert (folder / "component.yaml").read_text() == (
        "name: my-hld\n"
        "subcomponents:\n"
        "- name: efk\n"
        "  type: component\n"
        "  source: https://example.com/efk.git\n"
        "  method: git\n"
    )


def test_add_updates_only_the_given_fields_in_place(tmp_path: Path) -> None:
    file = write(tmp_path / "component.yaml", COMPONENT)
    add_subcomponent(tmp_path, "app", version="yes", method="helm")
    expected = COMPONENT.replace("method: git", "method: helm") + '    version: "yes"\n'
    assert file.read_text() == expected
    app = read_yaml(file)["subcomponents"][1]
    assert app["version"] == "yes"  # quoted, so fab reads a string, not a boolean


def test_add_branch_with_other_method_is_an_error(tmp_path: Path) -> None:
    file = write(tmp_path / "component.yaml", COMPONENT)
    with pytest.raises(InputError, match="--branch only applies to method git"):
        add_subcomponent(tmp_path, "x", source="s", method="helm", branch="main")
    assert file.read_text() == COMPONENT


@pytest.mark.parametrize(
    ("name", "text"),
    [("component.yaml", "name: x\nsubcomponents: [\n"), ("component.json", '{"name": "x",')],
)
def test_add_never_overwrites_a_malformed_file(tmp_path: Path, name: str, text: str) -> None:
    file = write(tmp_path / name, text)
    code, output = fab("add", "efk", "--source", "s", "-C", str(tmp_path))
    assert code == 1
    assert f"{file}:" in output and "invalid" in output
    assert file.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_json_component_stays_json_with_its_indentation(tmp_path: Path) -> None:
    original = {"name": "hld", "extra": [1, 2], "subcomponents": [{"name": "a", "source": "./a"}]}
    text = json.dumps(original, indent=4) + "\n"
    file = write(tmp_path / "component.json", text)
    add_subcomponent(tmp_path, "b", source="./b", method="local")
    data = json.loads(file.read_text())
    assert data["subcomponents"][1] == {
        "name": "b",
        "type": "component",
        "source": "./b",
        "method": "local",
    }
    assert file.read_text() == json.dumps(data, indent=4) + "\n"
    assert not (tmp_path / "component.yaml").exists()
    remove_subcomponent(tmp_path, "b")
    assert file.read_text() == text


def test_remove_unknown_name_is_an_error(tmp_path: Path) -> None:
    file = write(tmp_path / "component.yaml", COMPONENT)
    code, output = fab("remove", "nope", "-C", str(tmp_path))
    assert code == 1
    assert "no subcomponent named 'nope' (known: 'infra', 'app')" in output
    assert file.read_text() == COMPONENT


def test_remove_prune_config_cleans_every_environment(tmp_path: Path) -> None:
    write(tmp_path / "component.yaml", COMPONENT)
    common = write(
        tmp_path / "config/common.yaml",
        "config:\n  a: 1  # keep\nsubcomponents:\n  app:\n    config:\n      r: 2\n  infra: {}\n",
    )
    prod = write(
        tmp_path / "config/prod.json",
        json.dumps({"subcomponents": {"app": {"namespace": "p"}}, "namespace": "n"}, indent=2),
    )
    untouched = write(tmp_path / "config/dev.yaml", "subcomponents:\n  infra:\n    x: 1\n")
    before = untouched.stat().st_mtime_ns
    code, _ = fab("remove", "app", "--prune-config", "-C", str(tmp_path))
    assert code == 0
    assert common.read_text() == "config:\n  a: 1  # keep\nsubcomponents:\n  infra: {}\n"
    assert prod.read_text() == '{\n  "namespace": "n"\n}'
    assert untouched.stat().st_mtime_ns == before
    assert "name: 'app'" not in (tmp_path / "component.yaml").read_text()


def test_set_types_values_and_keeps_every_other_byte(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", CONFIG)
    set_config(tmp_path, ["image.tag=2.0", "replicas=4", 'labels."k8s.io/name"=web', "on=true"])
    text = file.read_text()
    assert text == CONFIG.replace('tag: "1.0"    # pinned', 'tag: "2.0"    # pinned').replace(
        "    flag: yes\n",
        '    flag: yes\n    replicas: 4\n    labels:\n        k8s.io/name: web\n    "on": true\n',
    )
    config = read_yaml(file)["config"]
    assert config["replicas"] == 4 and config["image"]["tag"] == "2.0"
    assert config["labels"] == {"k8s.io/name": "web"} and config["on"] is True
    assert config["mode"] == 0o777 and config["flag"] is True


def test_set_types_values_as_helm_set_does(tmp_path: Path) -> None:
    """Only integers, true/false and null are typed; 1.10 is not 1.1, a different image."""
    file = write(tmp_path / "config/common.yaml", "config: {}\n")
    pairs = ["tag=1.10", "mode=0777", "n=1e3", "y=yes", "i=-42", "z=0", "t=TRUE", "f=false"]
    pairs += ["gone=null", "big=9223372036854775808", "zero=007", "ratio=0.5", "sign=+5"]
    set_config(tmp_path, pairs)
    assert read_yaml(file)["config"] == {
        "tag": "1.10",
        "mode": "0777",
        "n": "1e3",
        "y": "yes",
        "i": -42,
        "z": 0,
        "t": True,
        "f": False,
        "gone": None,
        "big": "9223372036854775808",
        "zero": "007",
        "ratio": "0.5",
        "sign": 5,
    }
    assert 'tag: "1.10"' in file.read_text() and 'mode: "0777"' in file.read_text()


def test_set_json_gives_explicit_types(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", "config: {}\n")
    code, err = fab("set", "--json", "r=0.5", 'tags=["a", 1]', 's="x"', "-C", str(tmp_path))
    assert code == 0, err
    assert read_yaml(file)["config"] == {"r": 0.5, "tags": ["a", 1], "s": "x"}
    code, err = fab("set", "--json", "bad=nope", "-C", str(tmp_path))
    assert code == 1 and "'bad=nope': the value is not JSON" in err


def test_set_a_mistyped_subcomponent_path_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    write(tmp_path / "component.yaml", "name: app\nsubcomponents:\n- {name: parent, source: ./p}\n")
    write(
        tmp_path / "p/component.yaml", "name: parent\nsubcomponents:\n- {name: child, type: helm}\n"
    )
    code, err = fab("set", "-s", "parent.chlid", "k=v", "-C", str(tmp_path))
    assert code == 1
    assert "-s parent.chlid: component 'parent' has no subcomponent 'chlid'; did you mean " in err
    assert "'parent.child'?" in err
    assert not (tmp_path / "config").exists()
    assert fab("set", "-s", "parent.child", "k=v", "-C", str(tmp_path))[0] == 0
    # A part of the tree that cannot be read yet (not installed) ends the check.
    write(tmp_path / "component.yaml", "name: app\nsubcomponents:\n- {name: r, method: git}\n")
    assert fab("set", "-s", "r.anything", "k=v", "-C", str(tmp_path))[0] == 0


def test_set_namespace_inject_namespace_and_disabled(tmp_path: Path) -> None:
    write(tmp_path / "component.yaml", "name: app\nsubcomponents:\n- {name: web, type: static}\n")
    code, err = fab(
        "set", "-e", "prod", "--namespace", "web", "--inject-namespace", "-C", str(tmp_path)
    )
    assert code == 0, err
    code, err = fab(
        "set", "-e", "prod", "-s", "web", "--disable", "--namespace", "w", "-C", str(tmp_path)
    )
    assert code == 0, err
    assert read_yaml(tmp_path / "config/prod.yaml") == {
        "namespace": "web",
        "injectNamespace": True,
        "subcomponents": {"web": {"disabled": True, "namespace": "w"}},
    }
    assert fab("set", "-e", "prod", "-s", "web", "--enable", "-C", str(tmp_path))[0] == 0
    assert read_yaml(tmp_path / "config/prod.yaml")["subcomponents"]["web"]["disabled"] is False
    code, err = fab("set", "--disable", "-C", str(tmp_path))
    assert code == 1 and "apply to a subcomponent: give -s NAME" in err


def test_set_string_keeps_strings(tmp_path: Path) -> None:
    file = write(tmp_path / "config/prod.yaml", "config: {}\n")
    code, _ = fab("set", "-e", "prod", "--string", "a=4", "b=true", "c=", "-C", str(tmp_path))
    assert code == 0
    assert read_yaml(file)["config"] == {"a": "4", "b": "true", "c": ""}


def test_set_nested_subcomponent_when_the_parent_exists(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", CONFIG)
    set_config(tmp_path, ["a=1"], subcomponent="myapp.inner")
    set_config(tmp_path, ["b=2"], subcomponent="myapp")  # entry without config:
    subs = read_yaml(file)["subcomponents"]
    assert subs["myapp"]["subcomponents"]["inner"]["config"] == {"a": 1}
    assert subs["myapp"]["config"] == {"b": 2}
    assert subs["myapp"]["namespace"] == "x"


def test_set_through_a_scalar_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", CONFIG)
    code, output = fab("set", "ok=1", "flag.x=1", "-C", str(tmp_path))
    assert code == 1
    assert output == (
        f"fab: error: {tmp_path}/config/common.yaml:8:5: cannot set a key below config.flag: "
        "it is a boolean (true), not a map\n"
    )
    assert file.read_text() == CONFIG


def test_set_config_that_is_not_a_map_is_an_error(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", "config: hello\n")
    with pytest.raises(InputError, match=r"common.yaml:1:1: cannot set a key below config: it is"):
        set_config(tmp_path, ["a=1"])
    assert file.read_text() == "config: hello\n"


def test_set_from_file_merges_and_pairs_win(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", CONFIG)
    values = write(tmp_path / "values.yaml", "image:\n  tag: '3'\n  pull: Always\nlist: [1, 2]\n")
    code, _ = fab("set", "-f", str(values), "image.pull=Never", "-C", str(tmp_path))
    assert code == 0
    config = read_yaml(file)["config"]
    assert config["image"] == {"tag": "3", "pull": "Never"}
    assert config["list"] == [1, 2] and config["mode"] == 0o777


def test_set_no_new_config_keys(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", CONFIG)
    set_config(tmp_path, ["image.tag=3"], no_new_keys=True)
    with pytest.raises(InputError, match=r"config\.image\.nope does not exist"):
        set_config(tmp_path, ["image.nope=3"], no_new_keys=True)
    with pytest.raises(InputError, match=r"subcomponents\.ghost does not exist"):
        set_config(tmp_path, ["k=3"], subcomponent="ghost", no_new_keys=True)
    assert read_yaml(file)["config"]["image"] == {"tag": 3}


def test_set_malformed_config_is_an_error_never_truncated(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.yaml", "config:\n  a: [\n")
    code, output = fab("set", "a=1", "-C", str(tmp_path))
    assert code == 1 and "invalid YAML" in output
    assert file.read_text() == "config:\n  a: [\n"


def test_set_json_config_stays_json(tmp_path: Path) -> None:
    file = write(tmp_path / "config/common.json", '{\n  "config": {\n    "a": 1\n  }\n}')
    set_config(tmp_path, ["b=true", "c=x"])
    assert file.read_text() == '{\n  "config": {\n    "a": 1,\n    "b": true,\n    "c": "x"\n  }\n}'


def test_write_failure_leaves_the_file_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write(tmp_path / "config/common.yaml", CONFIG)
    file.chmod(0o600)

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        set_config(tmp_path, ["a=1"])
    monkeypatch.undo()
    assert file.read_text() == CONFIG
    assert os.listdir(file.parent) == ["common.yaml"]
    set_config(tmp_path, ["a=1"])
    assert file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("a.b", ("a", "b")),
        ('a."k8s.io/name"', ("a", "k8s.io/name")),
        ('"x.y".z', ("x.y", "z")),
        ("a b.c", ("a b", "c")),
    ],
)
def test_parse_key(key: str, parts: tuple[str, ...]) -> None:
    assert parse_key(key) == parts


@pytest.mark.parametrize("key", ["", "a..b", '"a', '"a"b'])
def test_parse_key_rejects(key: str) -> None:
    with pytest.raises(InputError):
        parse_key(key)
