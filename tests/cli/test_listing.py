"""Every list command pipes cleanly: in a pipe, plain tab-separated rows (the same at
any width); on a terminal (a real pseudo-terminal), tables or records in which no
name or id is broken across lines at 60 or 200 columns; --json everywhere.

The commands run in the real CLI (one process per mode, see listing_driver.py, plus
a real ``benchwarden models | grep`` pipeline and a real process on a pty)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchwarden.bench.suites.smoke import smoke_items
from tests.cli.listing_driver import MARK

DRIVER = Path(__file__).with_name("listing_driver.py")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ORG = "research-lab-with-a-rather-long-name"
MODEL = "lab-vllm-llama-3.1-70b-instruct-long"
RUN = "run-listing-with-a-long-identifier"
# `suites` reads every suite's data (seconds): run at 60 columns only (its --json is
# unchanged and tested with the agentic suites).
SLOW = {"suites"}
GRANT = ("grant", "add", "--org", ORG, "-m", "local/smollm2-135m", "--rpm", "60")


@dataclass
class World:
    env: dict[str, str]
    commands: dict[str, list[str]]
    key_id: str
    # The names and ids each command must show whole, and its columns in a pipe.
    ids: dict[str, list[str]]
    fields: dict[str, int]


def _driver(argvs: list[list[str]], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DRIVER), json.dumps(argvs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("listing")
    env = {**os.environ, "BENCHWARDEN_HOME": str(tmp / "home"), "NO_COLOR": ""}
    env.pop("NO_COLOR")
    config = tmp / "models.toml"
    config.write_text(
        f'[models."{MODEL}"]\nprovider = "openai"\nbase_url = "http://10.0.0.5:8000/v1"\n'
        'api_key_env = "LAB_KEY_NOT_SET"\npurposes = ["benchmarking", "safety-evaluation"]\n'
    )
    answers = tmp / "answers.csv"
    answers.write_text("id,answer\n" + "".join(f"{i.id},x\n" for i in smoke_items()))
    warden, results = str(tmp / "w.db"), str(tmp / "r.db")
    setup = _driver(
        [
            ["org", "create", ORG, "--db", warden],
            [*GRANT, "-p", "benchmarking", "-p", "safety-evaluation", "--db", warden],
            ["key", "create", "--org", ORG, "-p", "benchmarking", "--db", warden],
            ["run", "-s", "smoke", "-m", f"replay:{answers}", "--db", results, "--run-id", RUN],
        ],
        env,
    )
    assert setup.returncode == 0, setup.stderr + setup.stdout
    key_id = re.findall(r"bw_([0-9a-f]{8})_", setup.stdout)[0]
    commands = {
        "models": ["models", "--config", str(config)],
        "suites": ["suites"],
        "runs": ["runs", "--db", results],
        "key list": ["key", "list", "--db", warden],
        "grant list": ["grant", "list", "--db", warden],
        "org list": ["org", "list", "--db", warden],
        "audit tail": ["audit", "tail", "-n", "4", "--db", warden],
        "monitor report": ["monitor", "report", "--db", warden],
    }
    ids = {
        "models": ["local/smollm2-135m", "local/gemma3-270m", MODEL, "LAB_KEY_NOT_SET"],
        "suites": ["smoke", "humaneval-plus", "over-refusal", "refusal-classifier"],
        "runs": [RUN, "benchmarking"],
        "key list": [key_id, ORG],
        "grant list": [ORG, "local/smollm2-135m", "safety-evaluation"],
        "org list": [ORG],
        "audit tail": [ORG, "local/smollm2-135m", "key.create"],
        "monitor report": [],
    }
    fields = {
        "models": 6,
        "suites": 4,
        "runs": 8,
        "key list": 7,
        "grant list": 8,
        "org list": 2,
        "audit tail": 10,
        "monitor report": 6,
    }
    return World(env, commands, key_id, ids, fields)


def _split(output: str) -> dict[str, str]:
    """The driver's output per command (keyed by its argv joined)."""
    parts: dict[str, str] = {}
    for chunk in output.split(MARK)[1:]:
        head, _, body = chunk.partition("\n")
        parts[head] = body
    return parts


def _argvs(world: World, columns: int) -> list[list[str]]:
    return [a for n, a in world.commands.items() if columns == 60 or n not in SLOW]


def _per_command(world: World, output: str) -> Iterator[tuple[str, str]]:
    parts = _split(output)
    for name, argv in world.commands.items():
        if " ".join(argv) in parts:
            yield name, parts[" ".join(argv)]


def _on_pty(argv: list[str], env: dict[str, str], columns: int) -> str:
    """Run ``argv`` with its stdout and stderr on a pseudo-terminal ``columns`` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**env, "COLUMNS": str(columns), "TERM": "xterm-256color"},
    )
    os.close(follower)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 120)
            if not ready:
                raise AssertionError("the command on the pty went silent")
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
        proc.wait(timeout=60)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    # The terminal turns "\n" into "\r\n".
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.fixture(scope="module")
def piped(world: World) -> dict[int, str]:
    outputs = {}
    for columns in (60, 200):
        env = {**world.env, "COLUMNS": str(columns)}
        result = _driver(_argvs(world, columns), env)
        assert result.returncode == 0, result.stderr + result.stdout
        outputs[columns] = result.stdout
    return outputs


def test_piped_output_is_plain_rows_whatever_the_width(world: World, piped: dict[int, str]) -> None:
    wide = dict(_per_command(world, piped[200]))
    assert wide == {n: t for n, t in _per_command(world, piped[60]) if n not in SLOW}
    assert len(wide) == len(world.commands) - len(SLOW)  # the width changes nothing
    assert not ANSI.search(piped[60])
    for name, text in _per_command(world, piped[60]):
        lines = [line for line in text.splitlines() if line]
        if name != "monitor report":
            assert lines, name
        for line in lines:
            assert len(line.split("\t")) == world.fields[name] or (
                name in ("suites", "monitor report")  # their second section
            ), (name, line)
        # Each name is a whole field, or a whole word of one ("missing: VAR", "a,b").
        words = {w for line in lines for f in line.split("\t") for w in re.split(r"[ ,]", f)}
        for needle in world.ids[name]:
            assert needle in words, (name, needle)


@pytest.mark.parametrize("columns", [60, 200])
def test_on_a_terminal_no_name_or_id_is_broken(world: World, columns: int) -> None:
    argvs = _argvs(world, columns)
    raw = _on_pty([sys.executable, str(DRIVER), json.dumps(argvs)], world.env, columns)
    assert "\x1b[" in raw  # a terminal: styled
    text = ANSI.sub("", raw)
    for name, shown in _per_command(world, text):
        lines = shown.splitlines()
        # Within the width, but for a name longer than the room left for it: alone after
        # its label, whole (the terminal shows the rest). Titles never wrap either.
        for line in lines[1:]:
            _label, _, value = line.strip().partition(": ")
            assert len(line) <= columns or " " not in value, (name, line)
        for needle in world.ids[name]:
            assert any(needle in line for line in lines), (name, needle, shown)
        assert "\t" not in shown


def test_json_everywhere(world: World) -> None:
    argvs = [[*argv, "--json"] for argv in _argvs(world, 200)]
    result = _driver(argvs, world.env)
    assert result.returncode == 0, result.stderr
    parts = _split(result.stdout)
    data = {n: parts[" ".join([*a, "--json"])] for n, a in world.commands.items() if n not in SLOW}
    models = json.loads(data["models"])
    assert {m["name"] for m in models} >= {"local/smollm2-135m", MODEL}
    assert next(m for m in models if m["name"] == MODEL)["purposes"] == [
        "benchmarking",
        "safety-evaluation",
    ]
    (run,) = json.loads(data["runs"])
    assert run["run"] == RUN and run["samples"] == 8 and run["models"][0].startswith("replay:")
    (key,) = json.loads(data["key list"])
    assert key["key_id"] == world.key_id and key["revoked"] is None
    (grant,) = json.loads(data["grant list"])
    assert grant["rpm"] == 60 and grant["tpm"] is None
    assert json.loads(data["org list"])[0]["organization"] == ORG
    audit = [json.loads(line) for line in data["audit tail"].splitlines() if line]
    assert audit[-1]["action"] == "key.create"  # JSON lines, as before
    assert json.loads(data["monitor report"])["orgs"] == []


def test_a_real_pipeline_and_a_real_terminal(world: World, tmp_path: Path) -> None:
    config = world.commands["models"][2]
    piped = subprocess.run(
        f"{sys.executable} -m benchwarden.cli models --config {config} | grep {MODEL}",
        shell=True,
        capture_output=True,
        text=True,
        env={**world.env, "COLUMNS": "60"},
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.split("\t")[0] == MODEL
    shown = _on_pty(
        [sys.executable, "-m", "benchwarden.cli", "models", "--config", config], world.env, 60
    )
    assert any(MODEL in line for line in ANSI.sub("", shown).splitlines())
