"""Turning a (prompt, response) pair into a sparse feature vector, with the stdlib only.

Training (``scripts/train_refusal_classifier.py``) and inference use this one module, so
the features a model was fitted on are exactly the features it sees when it classifies.

Words and word n-grams of the *response* are hashed (CRC-32) into ``2**bits`` buckets
with a sign bit, as in a hashing vectorizer: no vocabulary is kept, so the parameters
hold only numbers. The response is read in regions, each its own namespace: the whole
text, its head (opening sentences), its tail (closing sentence) and its first few words,
because a refusal usually shows in how a response opens, and a partial refusal in a
refusal that is followed (or preceded) by help. The dense signals of :mod:`.signals`
follow the hashed block. The prompt's own words are never features (see docs/REFUSAL.md).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchwarden.bench.refusal.signals import (
    DENSE_NAMES,
    dense_signals,
    sentence_kinds,
    sentences,
    tokenize,
)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How text becomes features; stored with the parameters it was trained with."""

    bits: int = 16
    word_ngrams: int = 1
    head_ngrams: int = 3
    head_sentences: int = 2
    head_tokens: int = 48
    tail_ngrams: int = 2
    prefix_tokens: int = 4
    dense_scale: float = 3.0
    kind_ngrams: int = 0
    kind_sentences: int = 12

    @property
    def n_hashed(self) -> int:
        return 1 << self.bits

    @property
    def n_features(self) -> int:
        return self.n_hashed + len(DENSE_NAMES)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ngrams(tokens: Sequence[str], n: int) -> list[str]:
    grams: list[str] = []
    for k in range(1, n + 1):
        grams.extend(" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1))
    return grams


def _hash_block(namespace: str, grams: Sequence[str], mask: int, out: dict[int, float]) -> None:
    """Add a namespace's sub-linear, L2-normalized, signed hashed counts into ``out``."""
    counts: dict[int, float] = {}
    for gram in grams:
        h = zlib.crc32(f"{namespace}\x1f{gram}".encode())
        index = h & mask
        counts[index] = counts.get(index, 0.0) + (1.0 if h >> 31 else -1.0)
    values = {i: math.copysign(1.0 + math.log(abs(v)), v) for i, v in counts.items() if v}
    norm = math.sqrt(sum(v * v for v in values.values()))
    if norm == 0.0:
        return
    for i, v in values.items():
        out[i] = out.get(i, 0.0) + v / norm


def featurize(prompt: str, response: str, spec: FeatureSpec) -> dict[int, float]:
    """One pair's non-zero features as ``{column: value}``."""
    mask = spec.n_hashed - 1
    out: dict[int, float] = {}
    tokens = tokenize(response)
    sents = sentences(response)
    head = [t for s in sents[: spec.head_sentences] for t in tokenize(s)][: spec.head_tokens]
    tail = tokenize(sents[-1]) if sents else []
    _hash_block("w", _ngrams(tokens, spec.word_ngrams), mask, out)
    _hash_block("h", _ngrams(head, spec.head_ngrams), mask, out)
    _hash_block("t", _ngrams(tail, spec.tail_ngrams), mask, out)
    prefix = [
        "^ " + " ".join(tokens[:k]) for k in range(1, min(spec.prefix_tokens, len(tokens)) + 1)
    ]
    _hash_block("p", prefix, mask, out)
    if spec.kind_ngrams:
        kinds = ["^", *sentence_kinds(response)[: spec.kind_sentences], "$"]
        _hash_block("k", _ngrams(kinds, spec.kind_ngrams), mask, out)
    for k, value in enumerate(dense_signals(prompt, response)):
        if value:
            out[spec.n_hashed + k] = spec.dense_scale * value
    return out


def featurize_many(
    pairs: Sequence[tuple[str, str]], spec: FeatureSpec
) -> tuple[list[int], list[int], list[float]]:
    """CSR parts (indptr, indices, data) for many pairs, rows in order, columns sorted."""
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for prompt, response in pairs:
        row = featurize(prompt, response, spec)
        for i in sorted(row):
            indices.append(i)
            data.append(row[i])
        indptr.append(len(indices))
    return indptr, indices, data
