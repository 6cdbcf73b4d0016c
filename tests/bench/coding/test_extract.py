"""Code extraction from the shapes models actually answer in."""

from __future__ import annotations

import pytest

from benchwarden.bench.coding.extract import build_program, extract_code

PROMPT = (
    "from typing import List\n\n\n"
    "def add(a: int, b: int) -> int:\n"
    '    """Return the sum of a and b."""\n'
)


def run(program: str) -> int:
    namespace: dict[str, object] = {}
    exec(compile(program, "<test>", "exec"), namespace)  # trusted test strings only
    add = namespace["add"]
    assert callable(add)
    return int(add(2, 3))  # type: ignore[operator]


@pytest.mark.parametrize(
    "answer",
    [
        # fenced block with prose around it
        "Sure! Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nHope it helps.",
        # several blocks: the one defining the entry point wins
        "```python\nprint(add(1, 2))\n```\n```python\ndef add(a, b):\n    return a + b\n```",
        # unclosed fence (cut off by max_tokens after the code)
        "```python\ndef add(a, b):\n    return a + b\n",
        # bare code after a sentence, prose after it
        "Here you go.\ndef add(a, b):\n    return a + b\nThis adds the numbers.",
        # a body only, indented (a base model's continuation)
        "    return a + b\n",
        # a body only, indentation stripped
        "return a + b",
        # a fenced body without the signature
        "```python\n    return a + b\n```",
    ],
)
def test_answer_shapes_become_runnable_programs(answer: str) -> None:
    assert run(build_program(PROMPT, "add", answer)) == 5


def test_prompt_imports_are_kept_for_full_functions() -> None:
    program = build_program(
        PROMPT,
        "add",
        "```python\ndef add(a, b) -> int:\n    x: List[int] = [a, b]\n    return sum(x)\n```",
    )
    assert program.startswith("from typing import List")
    assert run(program) == 5


def test_non_python_blocks_are_ignored() -> None:
    answer = "```bash\necho hi\n```\n```python\ndef add(a, b):\n    return a + b\n```"
    assert "echo" not in extract_code(answer, "add")
