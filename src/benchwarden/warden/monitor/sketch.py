"""MinHash signatures of masked prompts (``datasketch``), and near-duplicate lookups.

A signature is NUM_PERM 32-bit values (256 bytes): all that is kept of a prompt besides
its SHA-256. Shingles are hashed with CRC-32, which is stable across processes (the
fingerprint file is built by another process than the server that reads it) and
cheaper than datasketch's default SHA-1. The same seed gives the same permutations
everywhere, so signatures from the server and from the fingerprint file compare.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH
from numpy.typing import NDArray

from benchwarden.warden.monitor.text import mask, shingles

NUM_PERM = 64
SEED = 20260528
SCHEME = "affine32"  # datasketch 2.x: 32-bit values, a bijective permutation
SKETCH_VERSION = f"mask-v1/bigram/crc32/{SCHEME}/64"
Signature = NDArray[np.uint32]

_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


_A, _B = (np.asarray(p, dtype=np.uint32) for p in _TEMPLATE.permutations)


def _fmix32(hv: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """MurmurHash3's 32-bit finalizer, as datasketch's affine32 scheme pre-mixes."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def signature_of(grams: Sequence[str]) -> Signature | None:
    """What ``MinHash(NUM_PERM, SEED, hashfunc=crc32, scheme="affine32").update_batch``
    gives (a test holds them equal), without building a MinHash per prompt: about a
    third of the cost on warden's recorder thread."""
    if not grams:
        return None
    hv = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint32, count=len(grams))
    mixed = _fmix32(hv).reshape(-1, 1)
    signed: Signature = (mixed * _A + _B).min(axis=0)
    return signed


def signature(text: str) -> Signature | None:
    """The signature of ``text``'s masked bigrams; None for a text with no words."""
    return signature_of(shingles(mask(text)))


def sketch(text: str) -> tuple[Signature, int] | None:
    """The signature and the number of distinct shingles it summarises."""
    grams = shingles(mask(text))
    sig = signature_of(grams)
    return None if sig is None else (sig, len(grams))


def containment(jaccard: float, size: int, other_size: int) -> float:
    """Estimated share of a set (``size``) found in another (``other_size``), from
    their Jaccard similarity: |A & B| = J (|A| + |B|) / (1 + J)."""
    if size <= 0:
        return 0.0
    return min(1.0, jaccard * (size + other_size) / ((1 + jaccard) * size))


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def to_bytes(sig: Signature) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(raw: bytes) -> Signature:
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def _minhash(sig: Signature) -> MinHash:
    return MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        hashvalues=sig,
        permutations=_TEMPLATE.permutations,
        scheme=SCHEME,
    )


class NearIndex:
    """Signatures by key, answering "which ones look like this one" (LSH, then checked)."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._sigs: dict[int, Signature] = {}

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, key: int, sig: Signature) -> None:
        self._lsh.insert(key, _minhash(sig), check_duplication=False)
        self._sigs[key] = sig

    def near(self, sig: Signature) -> list[tuple[int, float]]:
        """(key, similarity) of the entries at least ``threshold`` alike, best first."""
        found = []
        for key in self._lsh.query(_minhash(sig)):
            score = similarity(sig, self._sigs[key])
            if score >= self.threshold:
                found.append((int(key), score))
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found

    @classmethod
    def of(cls, sigs: Iterable[tuple[int, Signature]], threshold: float = 0.5) -> NearIndex:
        index = cls(threshold)
        for key, sig in sigs:
            index.add(key, sig)
        return index
