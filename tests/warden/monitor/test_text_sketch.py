"""Masking, probing flags, and MinHash signatures (equal to datasketch's own)."""

from __future__ import annotations

import zlib

import numpy as np
from datasketch import MinHash

from benchwarden.models.types import GenerateRequest, Message
from benchwarden.warden.monitor.sketch import (
    NUM_PERM,
    SCHEME,
    SEED,
    NearIndex,
    from_bytes,
    signature,
    similarity,
    to_bytes,
)
from benchwarden.warden.monitor.text import mask, probe_flags, prompt_text, shingles


def test_mask_replaces_variable_slots() -> None:
    masked = mask(
        'Email bob@example.com, visit https://x.org/a, call Alice Smith about "Q3 plan" 42.5'
    )
    assert masked == "email <url> , visit <url> call <name> about <str> <num>"
    assert "<num>" in mask("It costs 1,200 dollars") and mask("Hello") == "hello"


def test_shingles_are_bigrams() -> None:
    assert sorted(shingles("a b c")) == ["a b", "b c"]
    assert shingles("word") == ["word"] and shingles("") == []


def test_probe_flags_from_body_and_text() -> None:
    body = {"logprobs": True, "top_logprobs": 5, "logit_bias": {"1": 5}, "n": 4, "echo": True}
    assert probe_flags(body) == ["echo", "logit_bias", "logprobs", "n", "top_logprobs"]
    assert probe_flags({"reasoning_effort": "high"}) == ["reasoning_param"]
    assert probe_flags({"thinking": {"type": "disabled"}, "n": 1, "logprobs": False}) == []
    assert probe_flags(None, "Please think step by step.") == ["reasoning_text"]
    assert probe_flags(None, "A plain request.") == []


def test_prompt_text_reads_every_part() -> None:
    request = GenerateRequest(messages=(Message("user", "hi"),), system="be brief", prompt="p")
    assert prompt_text(request) == "be brief\nhi\np"


def test_signature_is_datasketch_minhash() -> None:
    text = "Write a function that returns the sum of the first 10 primes, with tests."
    grams = shingles(mask(text))
    expected = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=zlib.crc32, scheme=SCHEME)
    expected.update_batch([g.encode() for g in grams])
    sig = signature(text)
    assert sig is not None and np.array_equal(sig, expected.hashvalues)
    assert np.array_equal(from_bytes(to_bytes(sig)), sig) and len(to_bytes(sig)) == 4 * NUM_PERM
    assert signature("   ") is None


def test_template_fills_look_alike_and_other_prompts_do_not() -> None:
    a = signature('Write a story about Alice, aged 31, who moves to "Lisbon" to open a bakery.')
    b = signature('Write a story about Bob, aged 58, who moves to "Oslo" to open a bakery.')
    c = signature("Summarize the causes of the French Revolution in three bullet points.")
    assert a is not None and b is not None and c is not None
    assert similarity(a, b) == 1.0
    assert similarity(a, c) < 0.2
    index = NearIndex.of([(1, a), (2, c)], threshold=0.6)
    assert [k for k, _ in index.near(b)] == [1]
