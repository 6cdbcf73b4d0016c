"""Coding problems from HumanEval, HumanEval+ and MBPP+, as plain data.

The files come from :func:`benchwarden.bench.data.fetch` (pinned, verified, never
copied into the repo). MBPP+ inputs are stored as JSON lists; evalplus turns some of
them back into tuples, sets and complex numbers before calling the function
(``evalplus/data/mbpp.py``, ``mbpp_deserialize_inputs``, Apache-2.0); this module
applies the same rules, so reference and candidate outputs are computed on the very
inputs evalplus uses.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchwarden.bench.data import fetch, read_jsonl

DATASET_FILES: dict[str, str] = {
    "humaneval": "HumanEval.jsonl.gz",
    "humaneval-plus": "HumanEvalPlus.jsonl.gz",
    "mbpp-plus": "MbppPlus.jsonl.gz",
}
"""Dataset name -> data file name (in ``benchwarden.bench.data.DATA_FILES``)."""


@dataclass(frozen=True, slots=True)
class CodingProblem:
    """One problem. ``canonical_solution`` is full runnable code defining ``entry_point``.

    ``test`` is the dataset's own test code (HumanEval's ``check(candidate)``, MBPP+'s
    assertions). ``base_inputs``/``plus_inputs`` (HumanEval+, MBPP+) are argument lists,
    ready to call with. ``metadata["inputs_sha256"]`` fingerprints the raw inputs.
    """

    dataset: str
    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str
    base_inputs: list[Any] | None = None
    plus_inputs: list[Any] | None = None
    atol: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class ProblemError(ValueError):
    """A dataset file or name that cannot give problems."""


def load_problems(dataset: str) -> list[CodingProblem]:
    """Every problem of ``dataset`` (``humaneval``, ``humaneval-plus``, ``mbpp-plus``)."""
    if dataset not in DATASET_FILES:
        known = ", ".join(DATASET_FILES)
        raise ProblemError(f"unknown coding dataset {dataset!r}; known: {known}")
    path = fetch(DATASET_FILES[dataset])
    stat = path.stat()
    return list(_load(dataset, str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _load(dataset: str, path: str, size: int, mtime_ns: int) -> tuple[CodingProblem, ...]:
    problems = []
    for lineno, row in enumerate(read_jsonl(Path(path)), start=1):
        try:
            problems.append(_problem(dataset, row))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProblemError(f"{path}, record {lineno}: unusable problem ({exc!r})") from exc
    return tuple(problems)


def _problem(dataset: str, row: dict[str, Any]) -> CodingProblem:
    task_id = str(row["task_id"])
    entry = str(row["entry_point"])
    metadata: dict[str, Any] = {"source": DATASET_FILES[dataset]}
    if dataset == "humaneval":
        return CodingProblem(
            dataset=dataset,
            task_id=task_id,
            prompt=row["prompt"],
            entry_point=entry,
            canonical_solution=row["prompt"] + row["canonical_solution"],
            test=row["test"],
            metadata=metadata,
        )
    raw_base, raw_plus = row["base_input"], row["plus_input"]
    metadata["inputs_sha256"] = hashlib.sha256(
        json.dumps([raw_base, raw_plus], sort_keys=True).encode()
    ).hexdigest()
    metadata["contract"] = row.get("contract", "")
    if dataset == "humaneval-plus":
        return CodingProblem(
            dataset=dataset,
            task_id=task_id,
            prompt=row["prompt"],
            entry_point=entry,
            canonical_solution=row["prompt"] + row["canonical_solution"],
            test=row["test"],
            base_inputs=list(raw_base),
            plus_inputs=list(raw_plus),
            atol=float(row.get("atol") or 0.0),
            metadata=metadata,
        )
    return CodingProblem(
        dataset=dataset,
        task_id=task_id,
        prompt=row["prompt"],
        entry_point=entry,
        canonical_solution=row["canonical_solution"],
        test=row.get("assertion", ""),
        base_inputs=mbpp_deserialize_inputs(task_id, raw_base),
        plus_inputs=mbpp_deserialize_inputs(task_id, raw_plus),
        atol=float(row.get("atol") or 0.0),
        metadata=metadata,
    )


# -- MBPP+ input types, as evalplus restores them ------------------------------------


def _tuples(inp: list[Any]) -> list[Any]:
    return [tuple(x) for x in inp]


def _nested_tuples(inp: list[Any]) -> list[Any]:
    return [[tuple(x) for x in lst] for lst in inp]


def _first_tuples_then_rest(inp: list[Any]) -> list[Any]:
    return [[tuple(x) for x in inp[0]], inp[1]]


def _first_tuple_then_rest(inp: list[Any]) -> list[Any]:
    return [tuple(inp[0]), *inp[1:]]


def _all_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_all_tuples(v) for v in value)
    return value


def _numbers(text: str) -> frozenset[int]:
    return frozenset(int(n) for n in text.split())


_RULES: list[tuple[frozenset[int], Callable[[list[Any]], Any]]] = [
    (
        _numbers(
            "2 116 132 143 222 261 273 394 399 421 424 429 470 560 579 596 616 630 726 740 744 809"
        ),
        _tuples,
    ),
    (
        frozenset((63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780)),
        _nested_tuples,
    ),
    (frozenset((75, 413, 444, 753)), _first_tuples_then_rest),
    (frozenset((106, 750)), lambda inp: [inp[0], tuple(inp[1])]),
    (
        frozenset((115,)),
        # An empty list becomes {} (a dict), exactly as evalplus does.
        lambda inp: [[set(x) if isinstance(x, list) and len(x) else {} for x in inp[0]]],
    ),
    (frozenset((124,)), lambda inp: (float(inp[0]), complex(inp[1]))),
    (frozenset((250, 405, 446, 617, 720, 763, 808)), lambda inp: [tuple(inp[0]), inp[1]]),
    (frozenset((259, 401, 445)), lambda inp: [tuple(x) for x in _nested_tuples(inp)]),
    (
        frozenset((278,)),
        lambda inp: [tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])],
    ),
    (frozenset((307,)), lambda inp: [tuple(inp[0]), inp[1], inp[2]]),
    (frozenset((722,)), lambda inp: [{k: tuple(v) for k, v in inp[0].items()}, *inp[1:]]),
    (frozenset((252,)), lambda inp: [complex(inp[0])]),
    (frozenset((580, 615, 791)), _all_tuples),
]


def mbpp_deserialize_inputs(task_id: str, inputs: list[Any]) -> list[Any]:
    """MBPP+ inputs with evalplus's types restored (tuples, sets, complex numbers)."""
    number = int(task_id.rsplit("/", 1)[-1])
    for tasks, convert in _RULES:
        if number in tasks:
            return [convert(inp) for inp in inputs]
    return list(inputs)


# -- what counts as the right output (evalplus's rules) ------------------------------

# evalplus/eval/_special_oracle.py (Apache-2.0)
MBPP_OUTPUT_NOT_NONE_TASKS = frozenset(("check_str", "text_match_three", "text_starta_endb"))
"""Outputs not serializable (``re.Match``): only "is it None" is compared."""
MBPP_OUTPUT_SET_EQ_TASKS = frozenset(
    (
        "similar_elements",
        "find_char_long",
        "common_in_nested_lists",
        "extract_singly",
        "larg_nnum",
        "intersection_array",
        "find_dissimilar",
        "Diff",
    )
)
"""Outputs compared as sets."""


def _surface_area(base_edge: float, height: float) -> int:  # oracle for Mbpp/581
    slant_height = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant_height) / 2)


def _digit_distance_nums(num1: int, num2: int) -> int:  # oracle for Mbpp/558
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width), strict=True))


def _poly(xs: list[float], x: float) -> float:  # oracle for HumanEval/32
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def is_floats(value: Any) -> bool:
    """A float, or a non-empty list/tuple of floats (evalplus's ``is_floats``)."""
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(v, float) for v in value)
    return False


def outputs_match(
    problem: CodingProblem, args: Any, out: Any, expected: Any, atol: float
) -> tuple[bool, float]:
    """Whether ``out`` is right for ``args``, by evalplus's rules (``unsafe_execute``).

    Returns the verdict and the ``atol`` for the next input of the same group: evalplus
    switches a zero ``atol`` to 1e-6 at the first float output and keeps it.
    ``expected`` is the reference's raw output. The one deliberate difference:
    ``find_zero`` (HumanEval/32) passes when ``|poly(xs, out)| <= atol``, where evalplus
    never records the pass.
    """
    entry = problem.entry_point
    mbpp = problem.dataset == "mbpp-plus"
    if mbpp and entry in MBPP_OUTPUT_NOT_NONE_TASKS:
        expected = expected is not None
    try:
        exact = bool(out == expected)
        if mbpp:
            if entry == "are_equivalent":  # Mbpp/164
                exact = True
            elif entry == "sum_div":  # Mbpp/295
                exact = exact or bool(out == 0)
            elif entry == "surface_Area":  # Mbpp/581
                exact = exact or bool(abs(out - _surface_area(*args)) <= atol)
            elif entry == "digit_distance_nums":  # Mbpp/558
                exact = exact or bool(out == _digit_distance_nums(*args))
            elif entry in MBPP_OUTPUT_SET_EQ_TASKS:
                exact = set(out) == set(expected)
            elif entry in MBPP_OUTPUT_NOT_NONE_TASKS:
                exact = (
                    (out == expected) if isinstance(out, bool) else expected == (out is not None)
                )
        elif problem.dataset == "humaneval-plus" and entry == "find_zero":
            return bool(abs(_poly(args[0], out)) <= atol), atol
    except Exception:
        return False, atol
    if atol == 0 and is_floats(expected):
        atol = 1e-6
    if exact or atol == 0:
        return exact, atol
    try:
        import numpy as np

        if type(out) is not type(expected):
            return False, atol
        if isinstance(expected, (list, tuple)) and len(out) != len(expected):
            return False, atol
        return bool(np.allclose(out, expected, rtol=1e-07, atol=atol)), atol
    except Exception:
        return False, atol
