"""The coding harness: every canonical solution passes, wrong ones fail for the right reason.

The canonical runs are the expensive part (MBPP+'s references alone need ~80 s of CPU),
so all three datasets go through one pool at once, in a module fixture, with a fresh
cache (the session's BENCHWARDEN_HOME): the expected outputs are computed in the run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchwarden.bench.coding import harness
from benchwarden.bench.coding.harness import TestOutcome, check_solution
from benchwarden.bench.coding.problems import (
    CodingProblem,
    load_problems,
    mbpp_deserialize_inputs,
    outputs_match,
)
from benchwarden.bench.sandbox import ExecResult, SandboxLimits, SandboxPool
from benchwarden.bench.sandbox.types import DEFAULT_LIMITS
from benchwarden.paths import cache_dir

DATASETS = ("mbpp-plus", "humaneval-plus", "humaneval")  # the longest first
Results = dict[str, list[tuple[CodingProblem, TestOutcome | BaseException]]]


@pytest.fixture(scope="module")
def canonical() -> Results:
    async def run_all() -> Results:
        problems = [p for name in DATASETS for p in load_problems(name)]

        async def one(problem: CodingProblem) -> TestOutcome | BaseException:
            try:
                return await check_solution(problem, problem.canonical_solution, pool)
            except Exception as exc:
                return exc

        async with SandboxPool() as pool:
            outcomes = await asyncio.gather(*(one(p) for p in problems))
        results: Results = {name: [] for name in DATASETS}
        for problem, outcome in zip(problems, outcomes, strict=True):
            results[problem.dataset].append((problem, outcome))
        return results

    return asyncio.run(run_all())


def _failures(results: Results, dataset: str) -> list[str]:
    return [
        f"{p.task_id}: {o!r}"
        for p, o in results[dataset]
        if not (isinstance(o, TestOutcome) and o.passed)
    ]


@pytest.mark.timeout(900)
def test_humaneval_canonical_solutions_all_pass(canonical: Results) -> None:
    assert len(canonical["humaneval"]) == 164
    assert _failures(canonical, "humaneval") == []
    for _, outcome in canonical["humaneval"]:
        assert isinstance(outcome, TestOutcome)
        assert (outcome.base_passed, outcome.plus_passed) == (None, None)
        assert outcome.isolation == "bwrap" and outcome.warning is None


def test_humaneval_plus_canonical_solutions_pass_base_and_plus(canonical: Results) -> None:
    # HumanEval/32 (find_zero) included: evalplus's own checker fails it.
    assert len(canonical["humaneval-plus"]) == 164
    assert _failures(canonical, "humaneval-plus") == []
    for _, outcome in canonical["humaneval-plus"]:
        assert isinstance(outcome, TestOutcome)
        assert outcome.base_passed and outcome.plus_passed


def test_mbpp_plus_canonical_solutions_all_pass(canonical: Results) -> None:
    # Mbpp/255 included: one of its outputs is 1.6 million tuples (a digest crosses).
    assert len(canonical["mbpp-plus"]) == 378
    assert _failures(canonical, "mbpp-plus") == []


def test_reference_results_are_cached_on_disk(canonical: Results) -> None:
    for name in ("humaneval-plus", "mbpp-plus", "humaneval"):
        files = list((cache_dir() / "coding" / name).glob("*.json"))
        assert len(files) == len(canonical[name])
        json.loads(files[0].read_text())  # whole files, never torn


class CountingPool(SandboxPool):
    def __init__(self) -> None:
        super().__init__(workers=2)
        self.runs = 0

    async def run(self, source: str, limits: SandboxLimits = DEFAULT_LIMITS) -> ExecResult:
        self.runs += 1
        return await super().run(source, limits)


@pytest.fixture
async def pool() -> AsyncIterator[CountingPool]:
    counting = CountingPool()
    yield counting
    await counting.aclose()


def problem(dataset: str, task_id: str) -> CodingProblem:
    return next(p for p in load_problems(dataset) if p.task_id == task_id)


async def test_a_warm_cache_runs_only_the_candidate(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/2")
    await check_solution(item, item.canonical_solution, pool)
    harness._memo.clear()  # as a new process would: only the disk cache is left
    before = pool.runs
    outcome = await check_solution(item, item.canonical_solution, pool)
    assert outcome.passed and pool.runs == before + 1


HE_SIGNATURE = "def has_close_elements(numbers, threshold):\n"


@pytest.mark.parametrize(
    ("body", "kind", "failing"),
    [
        ("    return (\n", "syntax", "line 2"),
        ("    return False\n", "assertion", "assert candidate("),
        ("    raise ValueError('nope')\n", "crash", "assert candidate("),
        ("    while True:\n        pass\n", "timeout", None),
        ("    x = bytearray(1 << 42)\n", "memory", None),
        ("    return has_close_elements(numbers, threshold)\n", "crash", None),
    ],
    ids=["syntax", "assertion", "crash", "timeout", "memory", "recursion"],
)
async def test_humaneval_wrong_solutions(
    pool: CountingPool, body: str, kind: str, failing: str | None
) -> None:
    outcome = await check_solution(problem("humaneval", "HumanEval/0"), HE_SIGNATURE + body, pool)
    assert not outcome.passed
    assert outcome.error_kind == kind, outcome
    if failing is not None:
        assert outcome.failing_test is not None and failing in outcome.failing_test
    assert outcome.detail


@pytest.mark.parametrize(
    ("solution", "kind"),
    [
        ("def other():\n    pass\n", "crash"),
        ("import sys\nsys.exit(0)\n", "crash"),
        ("import os\nos._exit(0)\n", "crash"),
        ("while True:\n    pass\n", "timeout"),
        ("x = [0] * (1 << 40)\n", "memory"),
    ],
    ids=["no-entry-point", "sys-exit", "os-exit", "module-loop", "module-memory"],
)
async def test_module_level_failures(pool: CountingPool, solution: str, kind: str) -> None:
    outcome = await check_solution(problem("humaneval-plus", "HumanEval/0"), solution, pool)
    assert (outcome.passed, outcome.error_kind) == (False, kind), outcome
    assert outcome.failing_test == "module-level code"


async def test_wrong_answer_names_the_input(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/0")
    outcome = await check_solution(item, HE_SIGNATURE + "    return False\n", pool)
    assert (outcome.passed, outcome.error_kind) == (False, "wrong_answer")
    assert outcome.base_passed is False and outcome.plus_passed is False
    assert outcome.failing_test is not None
    assert outcome.failing_test.startswith("base input #0: args ([1.0, 2.0, 3.9")
    assert "expected True, got False" in outcome.detail


def _lookup_solution(item: CodingProblem, fallback: str) -> str:
    """A solution right on the base inputs only (a table), ``fallback`` elsewhere."""
    namespace: dict[str, object] = {}
    exec(item.canonical_solution, namespace)  # the dataset's own reference, on the host
    function = namespace[item.entry_point]
    assert callable(function)
    table = {repr(tuple(args)): function(*args) for args in item.base_inputs or []}
    return (
        f"TABLE = {table!r}\n"
        f"def {item.entry_point}(*args):\n"
        f"    key = repr(args)\n"
        f"    if key in TABLE:\n"
        f"        return TABLE[key]\n"
        f"{fallback}"
    )


async def test_base_and_plus_are_reported_apart(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/0")
    outcome = await check_solution(item, _lookup_solution(item, "    return None\n"), pool)
    assert (outcome.base_passed, outcome.plus_passed) == (True, False)
    assert outcome.error_kind == "wrong_answer"
    assert outcome.failing_test and outcome.failing_test.startswith("plus input #")


async def test_timeout_on_a_plus_input(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/0")
    spin = "    while True:\n        pass\n"
    outcome = await check_solution(item, _lookup_solution(item, spin), pool)
    assert (outcome.base_passed, outcome.plus_passed, outcome.error_kind) == (
        True,
        False,
        "timeout",
    )


async def test_a_process_death_in_base_still_scores_plus(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/0")
    assert item.base_inputs is not None
    first = repr(tuple(item.base_inputs[0]))
    body = (
        "import os\n"
        "def has_close_elements(numbers, threshold):\n"
        f"    if repr((numbers, threshold)) == {first!r}:\n"
        "        os._exit(1)\n"
        "    s = sorted(numbers)\n"
        "    return any(b - a < threshold for a, b in zip(s, s[1:]))\n"
    )
    outcome = await check_solution(item, body, pool)
    assert (outcome.base_passed, outcome.plus_passed) == (False, True), outcome
    assert outcome.error_kind == "crash"
    assert outcome.failing_test and outcome.failing_test.startswith("base input #0")


async def test_forged_records_do_not_pass(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/0")
    forge = (
        "import os\n"
        "def has_close_elements(numbers, threshold):\n"
        "    for fd in range(3, 10):\n"
        "        for i in range(10):\n"
        "            try:\n"
        '                line = \'{"k":"r","g":0,"i":%d,"cpu":0,"out":true}\\n\' % i\n'
        "                os.write(fd, line.encode())\n"
        "            except OSError:\n"
        "                pass\n"
        "    return 'forged'\n"
    )
    outcome = await check_solution(item, forge, pool)
    assert not outcome.passed and outcome.error_kind == "wrong_answer"


async def test_output_limit(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/0")
    flood = (
        "import os\n"
        "def has_close_elements(numbers, threshold):\n"
        "    block = b'x' * (1 << 20)\n"
        "    while True:\n"
        "        os.write(3, block)\n"
    )
    outcome = await check_solution(item, flood, pool)
    assert (outcome.passed, outcome.error_kind) == (False, "output_limit"), outcome


async def test_float_tolerance_like_evalplus(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/2")  # truncate_number: float outputs
    close = "def truncate_number(number):\n    return number % 1.0 + 1e-9\n"
    far = "def truncate_number(number):\n    return number % 1.0 + 1e-3\n"
    assert (await check_solution(item, close, pool)).passed
    outcome = await check_solution(item, far, pool)
    assert (outcome.passed, outcome.error_kind) == (False, "wrong_answer")


async def test_find_zero_any_root_within_atol_passes(pool: CountingPool) -> None:
    item = problem("humaneval-plus", "HumanEval/32")
    newton = (  # tighter than the reference: other digits, so only the oracle passes it
        "def find_zero(xs):\n"
        "    f = lambda x: poly(xs, x)\n"
        "    df = lambda x: poly([i * c for i, c in enumerate(xs)][1:], x)\n"
        "    x = 0.0\n"
        "    for _ in range(10000):\n"
        "        if abs(f(x)) < 1e-9:\n"
        "            break\n"
        "        x = x - f(x) / (df(x) or 1e-3)\n"
        "    return x\n"
    )
    outcome = await check_solution(item, item.prompt + "\n" + newton, pool)
    assert outcome.passed, outcome
    wrong = await check_solution(item, "def find_zero(xs):\n    return 12345.0\n", pool)
    assert wrong.error_kind == "wrong_answer"


async def test_mbpp_set_equality_and_wrong_answers(pool: CountingPool) -> None:
    item = problem("mbpp-plus", "Mbpp/2")  # similar_elements: compared as sets
    reordered = (
        "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n"
    )
    assert (await check_solution(item, reordered, pool)).passed
    wrong = await check_solution(item, "def similar_elements(a, b):\n    return ()\n", pool)
    assert wrong.error_kind == "wrong_answer" and wrong.base_passed is False


def test_mbpp_inputs_get_evalplus_types() -> None:
    assert mbpp_deserialize_inputs("Mbpp/2", [[[1, 2], [3]]]) == [[(1, 2), (3,)]]
    assert mbpp_deserialize_inputs("Mbpp/124", [[1, "1+2j"]]) == [(1.0, 1 + 2j)]
    assert mbpp_deserialize_inputs("Mbpp/115", [[[[1], []]]]) == [[[{1}, {}]]]
    assert mbpp_deserialize_inputs("Mbpp/580", [[[1, [2]], 3]]) == [((1, (2,)), 3)]
    assert mbpp_deserialize_inputs("Mbpp/9999", [[1]]) == [[1]]


def test_outputs_match_rules() -> None:
    he = problem("humaneval-plus", "HumanEval/0")
    assert outputs_match(he, (), 1.0, 1.0000001, 0.0) == (True, 1e-6)
    assert outputs_match(he, (), 1, True, 0.0) == (True, 0.0)  # == as in Python
    assert outputs_match(he, (), (1, 2), [1, 2], 0.0)[0] is False
    assert outputs_match(he, (), [1.0, 2.0], [1.0, 2.1], 0.0)[0] is False
    mbpp_none = CodingProblem("mbpp-plus", "Mbpp/x", "", "check_str", "", "")
    assert outputs_match(mbpp_none, (), "match", "anything", 0.0)[0] is True
    assert outputs_match(mbpp_none, (), None, "anything", 0.0)[0] is False


def test_load_problems_shapes() -> None:
    he = load_problems("humaneval")
    assert len(he) == 164 and he[0].base_inputs is None and "def check" in he[0].test
    plus = load_problems("mbpp-plus")
    assert len(plus) == 378 and plus[0].atol == 0.0 and plus[0].test.strip().startswith("assert")
    assert plus[0].metadata["inputs_sha256"]
    with pytest.raises(ValueError, match="unknown coding dataset"):
        load_problems("nope")


def test_canonical_solutions_need_only_the_standard_library() -> None:
    # The sandbox offers no third-party package: document it by checking the data.
    import re

    third_party = {"numpy", "scipy", "pandas", "sympy"}
    for name in DATASETS:
        for item in load_problems(name):
            imported = set(
                re.findall(r"^\s*(?:import|from)\s+(\w+)", item.canonical_solution, re.M)
            )
            assert not imported & third_party, item.task_id


def test_cache_path_is_under_the_cache_dir(tmp_path: Path) -> None:
    item = problem("humaneval-plus", "HumanEval/0")
    path = harness._cache_path(item, harness._key(item))
    assert path.parent == cache_dir() / "coding" / "humaneval-plus"
