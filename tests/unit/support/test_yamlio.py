"""YAML typing follows yaml.v2, so values reach helm with the types Fabrikate gave them."""

from __future__ import annotations

import pytest

from fabrikate.errors import InputError
from fabrikate.support.yamlio import locate, parse_json, parse_yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("y", True),
        ("On", True),
        ("no", False),
        ("off", False),
        ("0777", 0o777),
        ("0x10", 16),
        ("1_000", 1000),
        ("-12", -12),
        ("1e3", 1000.0),
        ("0.5", 0.5),
        ("08", 8.0),
        ("1:20", "1:20"),
        ("2001-12-14", "2001-12-14"),
        ('"yes"', "yes"),
        ("'0777'", "0777"),
        ("~", None),
        ("", None),
    ],
)
def test_scalars_are_typed_as_yaml_v2_types_them(text: str, expected: object) -> None:
    data, _ = parse_yaml(f"value: {text}\n", "f.yaml")
    assert data["value"] == expected
    assert type(data["value"]) is type(expected)


def test_duplicate_keys_are_reported_with_their_line() -> None:
    data, duplicates = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert data == {"a": 3, "b": 2}
    assert duplicates == [("a", 3)]


def test_a_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(InputError) as info:
        parse_yaml("name: x\nsub: a: b\n", "dir/component.yaml")
    assert str(info.value).startswith("dir/component.yaml:2:")
    assert "mapping values are not allowed" in str(info.value)


def test_json_keeps_integers_and_reports_position() -> None:
    assert parse_json('{"a": 1000000}', "c.json") == {"a": 1000000}
    with pytest.raises(InputError, match=r"^c\.json:2:1: invalid JSON"):
        parse_json('{"a": 1,\n}', "c.json")


def test_alias_bombs_are_refused() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(InputError, match="alias bomb"):
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")


def test_locate_finds_nested_keys_and_list_items() -> None:
    text = "name: x\nsubcomponents:\n  - name: a\n  - name: b\n    methd: git\n"
    where = locate(text, ["subcomponents", 1, "methd"], "c.yaml")
    assert (where.line, where.column) == (5, 5)


def test_parsed_yaml_is_remembered_by_its_text(tmp_path, monkeypatch) -> None:
    from fabrikate.support.cache import Cache

    monkeypatch.setenv("FAB_CACHE_DIR", str(tmp_path / "cache"))
    text = "a: yes\nb: 0777\nc: 1:20\nd: [1, 2.5, ~]\na: no\n"
    first = parse_yaml(text, "f.yaml")
    assert first == ({"a": False, "b": 511, "c": "1:20", "d": [1, 2.5, None]}, [("a", 5)])
    assert len(Cache.default().entries(["parsed"])) == 1
    assert parse_yaml(text, "f.yaml") == first  # from the cache
    strings = parse_yaml(text, "f.yaml", strings=True)
    assert strings[0] == {"a": "no", "b": "0777", "c": "1:20", "d": ["1", "2.5", None]}
    assert len(Cache.default().entries(["parsed"])) == 2
    for entry in Cache.default().entries(["parsed"]):
        entry.path.write_bytes(b"\x00garbage")  # a damaged entry is a miss
    assert parse_yaml(text, "f.yaml") == first


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("n: !!int x\n", "cannot decode 'x' as a !!int"),
        ("n: !!float x\n", "cannot decode 'x' as a !!float"),
        ("n: !!bool maybe\n", "cannot decode 'maybe' as a !!bool"),
        (f"n: !!int {'9' * 5000}\n", "as a !!int"),  # past Python's digit limit for int()
    ],
)
def test_a_value_its_tag_cannot_make_is_a_yaml_error_with_its_line(text: str, problem: str) -> None:
    import yaml

    from fabrikate.support.yamlv2 import load_untrusted
    from fabrikate.support.yamlv2 import problem as describe

    with pytest.raises(yaml.YAMLError) as info:
        load_untrusted("a: 1\n" + text)
    assert problem in describe(info.value)[0] and describe(info.value)[1] == 1
    with pytest.raises(InputError, match=r"^c\.yaml:2:4: invalid YAML: cannot decode"):
        parse_yaml("a: 1\n" + text, "c.yaml")


def test_untrusted_yaml_keeps_what_go_reads_as_strings_and_refuses_alias_bombs() -> None:
    import yaml

    from fabrikate.support.yamlv2 import AliasBomb, expands_beyond, load_untrusted

    data, _ = load_untrusted("date: 2020-02-30\nwhen: 2001-12-14T21:59:43Z\nset: !!timestamp x\n")
    assert data == {"date": "2020-02-30", "when": "2001-12-14T21:59:43Z", "set": "x"}
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    with pytest.raises(AliasBomb):
        load_untrusted(bomb)
    assert issubclass(AliasBomb, yaml.YAMLError)
    shared: list[object] = ["x"] * 3
    loop: list[object] = [shared, shared]
    loop.append(loop)  # a recursive alias counts once
    assert not expands_beyond(loop, 9) and expands_beyond(loop, 8)
