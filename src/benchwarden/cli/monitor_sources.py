"""Benchmark prompts for the monitor's fingerprints, read through bench's loaders.

Here, at the CLI level, because warden never imports bench: this module reads the
datasets bench knows and hands plain text to warden's sketching, which keeps only
signatures. Each item gives every form bench (or another harness) sends it in: the
raw dataset prompt, bench's chat instruction and its completion prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from benchwarden.bench.data import DataError, fetch, read_jsonl

# Datasets that hold no harmful request: what the traffic simulator may send.
HARMLESS = ("humaneval", "mbpp-plus", "arena-hard", "mt-bench")


@dataclass(frozen=True, slots=True)
class BenchmarkPrompt:
    dataset: str
    item: str
    variants: tuple[str, ...]
    category: str = ""


def _coding(dataset: str) -> Iterator[BenchmarkPrompt]:
    from benchwarden.bench.coding.problems import load_problems
    from benchwarden.bench.suites.coding import problem_item

    for problem in load_problems(dataset):
        item = problem_item(problem)
        forms = (problem.prompt, item.messages[0].content, item.prompt or "")
        yield BenchmarkPrompt(dataset, problem.task_id, tuple(f for f in forms if f), "coding")


def _safety() -> Iterator[BenchmarkPrompt]:
    from benchwarden.bench.suites.safety import over_refusal_items, safety_items

    for item in [*safety_items(), *over_refusal_items()]:
        source = str(item.metadata.get("source", "safety"))
        yield BenchmarkPrompt(source, item.id, (item.messages[0].content,), "safety")


def _arena_hard() -> Iterator[BenchmarkPrompt]:
    for row in read_jsonl(fetch("arena_hard_v2_question.jsonl")):
        category = str(row.get("subcategory") or row.get("category") or "")
        yield BenchmarkPrompt("arena-hard", str(row["uid"]), (str(row["prompt"]),), category)


def _mt_bench() -> Iterator[BenchmarkPrompt]:
    for row in read_jsonl(fetch("mt_bench_question.jsonl")):
        for turn, text in enumerate(row.get("turns") or [], start=1):
            item = f"{row['question_id']}/{turn}"
            yield BenchmarkPrompt("mt-bench", item, (str(text),), str(row.get("category", "")))


SOURCES: dict[str, Callable[[], Iterator[BenchmarkPrompt]]] = {
    "humaneval": lambda: _coding("humaneval"),
    "mbpp-plus": lambda: _coding("mbpp-plus"),
    "arena-hard": _arena_hard,
    "mt-bench": _mt_bench,
    "safety": _safety,  # AILuminate, SimpleSafetyTests, XSTest
}


def benchmark_prompts(
    names: tuple[str, ...] = tuple(SOURCES),
) -> tuple[list[BenchmarkPrompt], dict[str, str]]:
    """Prompts of the named sources, and the sources that could not be read (why)."""
    prompts: list[BenchmarkPrompt] = []
    missing: dict[str, str] = {}
    for name in names:
        try:
            prompts.extend(SOURCES[name]())
        except (DataError, OSError, ValueError) as exc:
            missing[name] = str(exc)
    return prompts, missing


WRITING_CATEGORIES = frozenset({"writing", "roleplay", "creative_writing"})


def simulator_items() -> list[tuple[str, str, str]]:
    """(dataset, item, text) the traffic simulator may send as benchmark traffic: only
    coding problems (in bench's chat form) and writing prompts, never safety prompts."""
    prompts, _ = benchmark_prompts(HARMLESS)
    out = []
    for p in prompts:
        if p.category == "coding":
            out.append((p.dataset, p.item, p.variants[1] if len(p.variants) > 1 else p.variants[0]))
        elif p.category in WRITING_CATEGORIES:
            out.append((p.dataset, p.item, p.variants[0]))
    return out
