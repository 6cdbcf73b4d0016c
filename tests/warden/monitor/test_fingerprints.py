"""Benchmark fingerprints from the real datasets: items are recognised through light
edits and other wrappers; novel prompts are not. The file keeps no text."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from benchwarden.cli.app import app
from benchwarden.cli.monitor_sources import benchmark_prompts
from benchwarden.testing.sim_traffic import distillation_org, product_org
from benchwarden.warden.monitor.fingerprints import FingerprintError, Fingerprints
from benchwarden.warden.monitor.sketch import sketch
from tests.warden.monitor.conftest import HARMLESS, build_fingerprints

_FILLER = ("really", "please", "kindly", "carefully", "now")


def _light_edit(text: str, rng: random.Random) -> str:
    """A few words changed, dropped or added; another wrapper; other spacing."""
    lines = [line.split() for line in text.splitlines()]
    words = sum(len(line) for line in lines)
    for _ in range(max(1, words // 25)):
        line = rng.choice([line for line in lines if line] or [[""]])
        i = rng.randrange(len(line))
        choice = rng.random()
        if choice < 0.4:
            line[i] = rng.choice(_FILLER)
        elif choice < 0.7 and len(line) > 3:
            del line[i]
        else:
            line.insert(i, rng.choice(_FILLER))
    body = "\n".join("  ".join(line) for line in lines)
    return f"Here is a task for you.\n\n{body}\nThanks!"


def _sketch(text: str) -> tuple[Any, int]:
    made = sketch(text)
    assert made is not None
    return made


@pytest.fixture(scope="module")
def prints() -> Fingerprints:
    return build_fingerprints()


def test_recognises_items_through_light_edits(prints: Fingerprints) -> None:
    rng = random.Random(5)
    prompts, _ = benchmark_prompts(HARMLESS)
    sample = rng.sample(prompts, 200)
    right = 0
    for prompt in sample:
        found = prints.match(*_sketch(_light_edit(prompt.variants[0], rng)))
        right += found is not None and (found.dataset, found.item) == (prompt.dataset, prompt.item)
    assert right / len(sample) >= 0.9, right
    exact = prints.match(*_sketch(sample[0].variants[0]))
    assert exact is not None and exact.similarity == 1.0 and exact.containment == 1.0


def test_ignores_novel_prompts(prints: Fingerprints) -> None:
    novel = [
        r.prompt
        for plan in (product_org("p", random.Random(1)), distillation_org("d", random.Random(2)))
        for r in plan.requests
    ]
    assert len(novel) > 200
    assert sum(prints.match(*_sketch(t)) is not None for t in novel) == 0


def test_file_roundtrip_and_version_check(prints: Fingerprints, tmp_path: Path) -> None:
    path = tmp_path / "fp.npz"
    prints.save(path)
    loaded = Fingerprints.load(path)
    assert loaded.counts() == prints.counts() and np.array_equal(
        loaded.signatures, prints.signatures
    )
    assert b"def " not in path.read_bytes()  # signatures, names and ids only (compressed)
    with np.load(path) as data:
        assert set(data.files) == {
            "signatures",
            "dataset_index",
            "dataset_names",
            "items",
            "sizes",
            "meta",
        }
    np.savez(tmp_path / "bad.npz", meta=np.array('{"format": "other"}'))
    with pytest.raises(FingerprintError, match="rebuild"):
        Fingerprints.load(tmp_path / "bad.npz")


def test_cli_builds_the_file(tmp_path: Path) -> None:
    target = tmp_path / "prints.npz"
    result = CliRunner().invoke(app, ["monitor", "fingerprints", "build", "-o", str(target)])
    assert result.exit_code == 0, result.output
    counts = Fingerprints.load(target).counts()
    assert counts["humaneval"] >= 164 and counts["mt-bench"] >= 150 and "xstest" in counts
