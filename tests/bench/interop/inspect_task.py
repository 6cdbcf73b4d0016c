"""A tiny inspect_ai task, run by inspect_ai itself in a child process against the
loopback mock (``openai-api/mocksvc/<model>``; MOCKSVC_BASE_URL set by the test).

Usage: python -m tests.bench.interop.inspect_task LOG_DIR FORMAT (eval or json)
"""

from __future__ import annotations

import sys

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import Score, Scorer, Target, includes, mean, scorer
from inspect_ai.solver import TaskState, generate

QUESTIONS = [
    ("france", "What is the capital of France?", "Paris"),
    ("peru", "What is the capital of Peru?", "Lima"),
    ("japan", "What is the capital of Japan?", "Tokyo"),
]
MODELS = ["openai-api/mocksvc/alpha", "openai-api/mocksvc/beta"]


@scorer(metrics=[mean()])
def brevity() -> Scorer:
    """A float score: 1 for an answer of one word, less for longer ones."""

    async def score(state: TaskState, target: Target) -> Score:
        words = len(state.output.completion.split())
        return Score(value=1.0 / max(words, 1), answer=state.output.completion)

    return score


def main() -> None:
    log_dir, log_format = sys.argv[1], sys.argv[2]
    task = Task(
        dataset=[Sample(id=i, input=q, target=t) for i, q, t in QUESTIONS],
        solver=generate(),
        scorer=[includes(), brevity()],
        name="capitals",
    )
    logs = eval(
        task,
        model=MODELS,
        epochs=2,
        log_dir=log_dir,
        log_format=log_format,
        display="none",
        max_retries=0,
    )
    for log in logs:
        print(log.status, log.location)


if __name__ == "__main__":
    main()
