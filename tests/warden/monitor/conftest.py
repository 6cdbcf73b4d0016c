"""Fingerprints built once per session from the real datasets (through bench's loaders,
as `benchwarden monitor fingerprints build` does)."""

from __future__ import annotations

import functools

from benchwarden.cli.monitor_sources import benchmark_prompts
from benchwarden.warden.monitor.fingerprints import Fingerprints

HARMLESS = ("humaneval", "mbpp-plus", "arena-hard", "mt-bench")


@functools.cache
def build_fingerprints(names: tuple[str, ...] = HARMLESS) -> Fingerprints:
    prompts, missing = benchmark_prompts(names)
    assert not missing, missing
    return Fingerprints.from_texts((p.dataset, p.item, t) for p in prompts for t in p.variants)
