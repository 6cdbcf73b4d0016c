"""Suite files: YAML/TOML definitions with JSONL/CSV items, written to tmp_path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchwarden.bench.scoring import SCORERS
from benchwarden.bench.suite import Item
from benchwarden.bench.suite_files import SuiteFileError, load_suite_file
from benchwarden.models.types import Message

CAPITALS_JSONL = "\n".join(
    [
        json.dumps(
            {
                "id": "fr",
                "input": "What is the capital of France?",
                "target": "Paris",
                "prompt": "Q: What is the capital of France?\nA:",
                "stop": ["\n"],
                "metadata": {"continent": "Europe"},
            }
        ),
        "",
        json.dumps(
            {
                "input": [
                    {"role": "system", "content": "Be terse."},
                    {"role": "user", "content": "Capital of Japan?"},
                    {"role": "assistant", "content": "Tokyo."},
                    {"role": "user", "content": "And of Italy?"},
                ],
                "target": ["Rome", "Roma"],
            }
        ),
        json.dumps({"id": 7, "input": "Capital of Peru?", "target": "Lima"}),
    ]
)


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_suite_with_jsonl_items(tmp_path: Path) -> None:
    _write(tmp_path, "items/capitals.jsonl", CAPITALS_JSONL + "\n")
    suite_path = _write(
        tmp_path,
        "capitals.yaml",
        "name: capitals\n"
        "description: Capital cities\n"
        "items: items/capitals.jsonl\n"
        "scorer: includes\n"
        "max_tokens: 32\n"
        'system: "Answer briefly."\n'
        'version: "2"\n',
    )
    suite = load_suite_file(suite_path)
    assert suite.name == "capitals"
    assert suite.description == "Capital cities"
    assert suite.scorer is SCORERS["includes"]
    assert suite.max_tokens == 32
    assert suite.version == "2"
    assert suite.source == str(suite_path)
    items = list(suite.load())
    assert items == [
        Item(
            id="fr",
            messages=(Message("user", "What is the capital of France?"),),
            system="Answer briefly.",
            prompt="Q: What is the capital of France?\nA:",
            target="Paris",
            stop=("\n",),
            metadata={"continent": "Europe"},
        ),
        Item(
            id="3",  # no id: the line number
            messages=(
                Message("system", "Be terse."),
                Message("user", "Capital of Japan?"),
                Message("assistant", "Tokyo."),
                Message("user", "And of Italy?"),
            ),
            system="Answer briefly.",
            target=["Rome", "Roma"],
        ),
        Item(
            id="7",
            messages=(Message("user", "Capital of Peru?"),),
            system="Answer briefly.",
            target="Lima",
        ),
    ]
    assert suite.scorer(items[1], "It is Rome.").passed is True


def test_yaml_defaults(tmp_path: Path) -> None:
    _write(tmp_path, "q.jsonl", '{"input": "hi"}\n')
    suite = load_suite_file(_write(tmp_path, "s.yml", "name: s1\nitems: q.jsonl\n"))
    assert suite.scorer is SCORERS["exact"]
    assert suite.max_tokens == 256
    assert suite.version == "1"
    assert suite.description == ""
    [item] = suite.load()
    assert item == Item(id="1", messages=(Message("user", "hi"),))


def test_toml_suite_with_csv_items(tmp_path: Path) -> None:
    csv_text = (
        "\ufeffid,input,target,prompt,stop,category\n"
        'fr,What is the capital of France?,Paris,"Q: France?\nA:",\\n|###,geo\n'
        ",What is 2 + 2?,4,,,math\n"
        "\n"
        "pe,Capital of Peru?,,,,geo\n"
    )
    (tmp_path / "items.csv").write_bytes(csv_text.encode("utf-8"))
    suite_path = _write(
        tmp_path,
        "mixed.toml",
        'name = "mixed.v1"\n'
        'description = "Mixed"\n'
        'items = "items.csv"\n'
        'scorer = "regex"\n'
        "max_tokens = 16\n"
        'version = "3"\n',
    )
    suite = load_suite_file(suite_path)
    assert (suite.name, suite.description, suite.max_tokens, suite.version) == (
        "mixed.v1",
        "Mixed",
        16,
        "3",
    )
    assert suite.scorer is SCORERS["regex"]
    assert list(suite.load()) == [
        Item(
            id="fr",
            messages=(Message("user", "What is the capital of France?"),),
            prompt="Q: France?\nA:",
            target="Paris",
            stop=("\\n", "###"),
            metadata={"category": "geo"},
        ),
        Item(
            id="4",  # no id: the row's line (the quoted prompt above spans two lines)
            messages=(Message("user", "What is 2 + 2?"),),
            target="4",
            metadata={"category": "math"},
        ),
        Item(
            id="pe",
            messages=(Message("user", "Capital of Peru?"),),
            metadata={"category": "geo"},
        ),
    ]


def test_toml_csv_ids(tmp_path: Path) -> None:
    _write(tmp_path, "q.csv", "input\nfirst\nsecond\n")
    suite = load_suite_file(_write(tmp_path, "s.toml", 'name = "s"\nitems = "q.csv"\n'))
    assert [item.id for item in suite.load()] == ["2", "3"]


# -- errors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    suite: str
    items: str | None  # text of the items file; None: don't create one
    file: str  # the file the message must name
    line: int
    field: str | None  # None where no field applies (syntax errors)
    also: tuple[str, ...] = ()
    suite_name: str = "suite.yaml"
    items_name: str = "items.jsonl"


GOOD_YAML = "name: ok\nitems: items.jsonl\n"
GOOD_ITEM = '{"id": "a", "input": "hi", "target": "x"}'

ERROR_CASES = {
    "yaml syntax": Case(
        "name: ok\nitems: [items.jsonl\nscorer: exact\n", GOOD_ITEM, "suite.yaml", 3, None
    ),
    "yaml indentation": Case("name: ok\n  items: items.jsonl\n", GOOD_ITEM, "suite.yaml", 2, None),
    "toml syntax": Case(
        'name = "ok"\nitems = \n', GOOD_ITEM, "suite.toml", 2, None, suite_name="suite.toml"
    ),
    "yaml not a mapping": Case("- a\n- b\n", GOOD_ITEM, "suite.yaml", 1, None, ("mapping",)),
    "empty suite file": Case("# nothing\n", GOOD_ITEM, "suite.yaml", 1, "name", ("empty",)),
    "missing name": Case(
        "description: d\nitems: items.jsonl\n", GOOD_ITEM, "suite.yaml", 1, "name"
    ),
    "missing name toml": Case(
        'items = "items.jsonl"\n', GOOD_ITEM, "suite.toml", 1, "name", suite_name="suite.toml"
    ),
    "invalid name": Case(
        "items: items.jsonl\nname: Bad Name\n", GOOD_ITEM, "suite.yaml", 2, "name"
    ),
    "name not a string": Case("name: 12\nitems: items.jsonl\n", GOOD_ITEM, "suite.yaml", 1, "name"),
    "missing items field": Case("name: ok\n", GOOD_ITEM, "suite.yaml", 1, "items"),
    "items file missing": Case(
        "name: ok\ndescription: d\nitems: nope.jsonl\n",
        None,
        "suite.yaml",
        3,
        "items",
        ("nope.jsonl",),
    ),
    "items file wrong type": Case("name: ok\nitems: items.txt\n", None, "suite.yaml", 2, "items"),
    "unknown scorer": Case(
        GOOD_YAML + "scorer: fuzzy\n",
        GOOD_ITEM,
        "suite.yaml",
        3,
        "scorer",
        ("fuzzy", "exact", "includes", "regex"),
    ),
    "unknown scorer toml": Case(
        'name = "ok"\n\n# the scorer\nscorer = "fuzzy"\nitems = "items.jsonl"\n',
        GOOD_ITEM,
        "suite.toml",
        4,
        "scorer",
        ("exact, includes, regex",),
        suite_name="suite.toml",
    ),
    "unknown field": Case(GOOD_YAML + "scorrer: exact\n", GOOD_ITEM, "suite.yaml", 3, "scorrer"),
    "duplicate key": Case(GOOD_YAML + "name: again\n", GOOD_ITEM, "suite.yaml", 3, "name"),
    "bad max_tokens": Case(GOOD_YAML + "max_tokens: 0\n", GOOD_ITEM, "suite.yaml", 3, "max_tokens"),
    "bad system": Case(GOOD_YAML + "system: [a]\n", GOOD_ITEM, "suite.yaml", 3, "system"),
    "bad json": Case(
        GOOD_YAML, GOOD_ITEM + '\n{"input": "x",\n', "items.jsonl", 2, None, ("JSON",)
    ),
    "not an object": Case(GOOD_YAML, '["hi"]\n', "items.jsonl", 1, None, ("object",)),
    "input missing": Case(
        GOOD_YAML, GOOD_ITEM + '\n\n{"target": "x"}\n', "items.jsonl", 3, "input"
    ),
    "input wrong type": Case(GOOD_YAML, '{"input": 42}\n', "items.jsonl", 1, "input"),
    "input empty list": Case(GOOD_YAML, '{"input": []}\n', "items.jsonl", 1, "input"),
    "message not an object": Case(GOOD_YAML, '{"input": ["hi"]}\n', "items.jsonl", 1, "input[0]"),
    "bad role": Case(
        GOOD_YAML,
        '{"input": [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]}\n',
        "items.jsonl",
        1,
        "input[1].role",
        ("robot", "user", "assistant", "system"),
    ),
    "bad content": Case(
        GOOD_YAML,
        '{"input": [{"role": "user", "content": 1}]}\n',
        "items.jsonl",
        1,
        "input[0].content",
    ),
    "target wrong type": Case(
        GOOD_YAML, '{"input": "q", "target": 4}\n', "items.jsonl", 1, "target"
    ),
    "target list of numbers": Case(
        GOOD_YAML, '{"input": "q", "target": [1, 2]}\n', "items.jsonl", 1, "target"
    ),
    "stop wrong type": Case(GOOD_YAML, '{"input": "q", "stop": "\\n"}\n', "items.jsonl", 1, "stop"),
    "prompt wrong type": Case(
        GOOD_YAML, '{"input": "q", "prompt": 3}\n', "items.jsonl", 1, "prompt"
    ),
    "metadata wrong type": Case(
        GOOD_YAML, '{"input": "q", "metadata": [1]}\n', "items.jsonl", 1, "metadata"
    ),
    "unknown item field": Case(
        GOOD_YAML, '{"input": "q", "targt": "x"}\n', "items.jsonl", 1, "targt"
    ),
    "duplicate ids": Case(
        GOOD_YAML,
        GOOD_ITEM + '\n{"input": "b"}\n{"id": "a", "input": "c"}\n',
        "items.jsonl",
        3,
        "id",
        ("'a'", "lines 1 and 3"),
    ),
    "duplicate default id": Case(
        GOOD_YAML,
        '{"input": "a"}\n{"id": "1", "input": "b"}\n',
        "items.jsonl",
        2,
        "id",
        ("lines 1 and 2",),
    ),
    "empty items file": Case(GOOD_YAML, "\n\n", "suite.yaml", 2, "items", ("no items",)),
    "csv without input column": Case(
        "name: ok\nitems: items.csv\n",
        "id,question\n1,hi\n",
        "items.csv",
        1,
        "input",
        items_name="items.csv",
    ),
    "csv empty input": Case(
        "name: ok\nitems: items.csv\n",
        "id,input\n1,hi\n2,\n",
        "items.csv",
        3,
        "input",
        items_name="items.csv",
    ),
    "csv too many values": Case(
        "name: ok\nitems: items.csv\n",
        "input,target\nhi,x\nhi,x,y\n",
        "items.csv",
        3,
        None,
        ("2 columns",),
        items_name="items.csv",
    ),
    "csv duplicate ids": Case(
        "name: ok\nitems: items.csv\n",
        "id,input\n1,a\n2,b\n1,c\n",
        "items.csv",
        4,
        "id",
        ("lines 2 and 4",),
        items_name="items.csv",
    ),
    "csv header only": Case(
        "name: ok\nitems: items.csv\n",
        "id,input\n",
        "suite.yaml",
        2,
        "items",
        ("no items",),
        items_name="items.csv",
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES.values(), ids=list(ERROR_CASES))
def test_errors_name_file_line_and_field(tmp_path: Path, case: Case) -> None:
    suite_path = _write(tmp_path, case.suite_name, case.suite)
    if case.items is not None:
        _write(tmp_path, case.items_name, case.items)
    with pytest.raises(SuiteFileError) as info:
        load_suite_file(suite_path)
    error = info.value
    message = str(error)
    assert case.file in message
    assert f"line {case.line}" in message, message
    assert error.line == case.line
    assert error.path is not None and error.path.name == case.file
    if case.field is not None:
        assert f"field '{case.field}'" in message, message
        assert error.field == case.field
    for text in case.also:
        assert text in message, message
    # Every message says what to do after the problem.
    assert "; " in message


def test_error_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such suite file"):
        load_suite_file(tmp_path / "missing.yaml")
    with pytest.raises(SuiteFileError, match="unsupported suite file type"):
        load_suite_file(_write(tmp_path, "suite.json", "{}"))


def test_invalid_utf8_items_name_the_line(tmp_path: Path) -> None:
    _write(tmp_path, "s.yaml", GOOD_YAML)
    (tmp_path / "items.jsonl").write_bytes(b'{"input": "a"}\n{"input": "\xff"}\n')
    with pytest.raises(SuiteFileError, match=r"items\.jsonl, line 2: not valid UTF-8"):
        load_suite_file(tmp_path / "s.yaml")


def test_items_are_read_eagerly(tmp_path: Path) -> None:
    items_path = _write(tmp_path, "items.jsonl", GOOD_ITEM + "\n")
    suite = load_suite_file(_write(tmp_path, "s.yaml", GOOD_YAML))
    items_path.unlink()
    assert [item.id for item in suite.load()] == ["a"]
