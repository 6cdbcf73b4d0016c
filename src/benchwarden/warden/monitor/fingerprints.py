"""Benchmark fingerprints: MinHash signatures of public benchmark prompts, no text.

The file is built outside warden (``benchwarden monitor fingerprints build`` reads
bench's datasets; warden never imports bench) and holds, per item, its signature, its
dataset's name and its item id. warden loads it at start and tells, for each prompt
it serves, whether it is (a light edit of) a known benchmark item: an item matches
when most of its shingles are found in the prompt (containment, estimated from the
MinHash Jaccard and both shingle counts), so another harness's wrapper around the
item, or a few words changed, still match, while a prompt that merely shares some
words with an item does not. Items of fewer than MIN_SHINGLES shingles are too short
to tell apart from ordinary text and are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchwarden.paths import home_dir
from benchwarden.warden.monitor.sketch import (
    NUM_PERM,
    SKETCH_VERSION,
    NearIndex,
    Signature,
    containment,
    sketch,
)

FORMAT = "benchwarden-fingerprints-v2"
MATCH_THRESHOLD = 0.6  # containment of the item in the prompt
CANDIDATE_JACCARD = 0.25  # LSH recall threshold; candidates are then checked
MIN_SHINGLES = 5


def default_path() -> Path:
    return home_dir() / "monitor" / "fingerprints.npz"


class FingerprintError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Match:
    dataset: str
    item: str
    similarity: float  # estimated Jaccard
    containment: float  # estimated share of the item's shingles in the prompt


class Fingerprints:
    def __init__(
        self,
        signatures: Signature | np.ndarray,
        datasets: list[str],
        items: list[str],
        sizes: list[int] | np.ndarray,
        threshold: float = MATCH_THRESHOLD,
    ) -> None:
        if not len(signatures) == len(datasets) == len(items) == len(sizes):
            raise FingerprintError("signatures, datasets, items and sizes differ in length")
        self.datasets = datasets
        self.items = items
        self.sizes = np.asarray(sizes, dtype=np.int32)
        self.threshold = threshold
        self.signatures = np.asarray(signatures, dtype=np.uint32).reshape(-1, NUM_PERM)
        self._index = NearIndex.of(enumerate(self.signatures), CANDIDATE_JACCARD)

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name in self.datasets:
            out[name] = out.get(name, 0) + 1
        return out

    def match(self, sig: Signature | None, size: int = 0) -> Match | None:
        """The known item most contained in the prompt (signature, shingle count), if
        at least ``threshold`` of it is; None otherwise."""
        if sig is None or not self.items:
            return None
        best: Match | None = None
        for key, jaccard in self._index.near(sig):
            share = containment(jaccard, int(self.sizes[key]), size)
            if share >= self.threshold and (best is None or share > best.containment):
                best = Match(self.datasets[key], self.items[key], jaccard, share)
        return best

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        names = sorted(set(self.datasets))
        meta = {"format": FORMAT, "sketch": SKETCH_VERSION, "counts": self.counts()}
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp,
            signatures=self.signatures,
            dataset_index=np.array([names.index(d) for d in self.datasets], dtype=np.int32),
            dataset_names=np.array(names, dtype=np.str_),
            items=np.array(self.items, dtype=np.str_),
            sizes=self.sizes,
            meta=np.array(json.dumps(meta, sort_keys=True), dtype=np.str_),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, threshold: float = MATCH_THRESHOLD) -> Fingerprints:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT or meta.get("sketch") != SKETCH_VERSION:
                    raise FingerprintError(
                        f"{path}: made by another version ({meta.get('format')}, "
                        f"{meta.get('sketch')}); rebuild it with: "
                        "benchwarden monitor fingerprints build"
                    )
                names = [str(n) for n in data["dataset_names"]]
                datasets = [names[int(i)] for i in data["dataset_index"]]
                items = [str(i) for i in data["items"]]
                signatures = np.asarray(data["signatures"], dtype=np.uint32)
                sizes = np.asarray(data["sizes"], dtype=np.int32)
        except (OSError, KeyError, ValueError) as exc:
            raise FingerprintError(f"{path}: not a fingerprint file ({exc})") from exc
        return cls(signatures, datasets, items, sizes, threshold)

    @classmethod
    def from_texts(cls, entries: Iterable[tuple[str, str, str]]) -> Fingerprints:
        """From (dataset, item, text); an item's identical forms are kept once."""
        sigs: list[Signature] = []
        datasets: list[str] = []
        items: list[str] = []
        sizes: list[int] = []
        seen: set[tuple[str, str, bytes]] = set()
        for dataset, item, text in entries:
            made = sketch(text)
            if made is None or made[1] < MIN_SHINGLES:
                continue
            sig, size = made
            if (dataset, item, sig.tobytes()) in seen:
                continue
            seen.add((dataset, item, sig.tobytes()))
            sigs.append(sig)
            datasets.append(dataset)
            items.append(item)
            sizes.append(size)
        if not sigs:
            return cls.empty()
        return cls(np.stack(sigs), datasets, items, sizes)

    @classmethod
    def empty(cls) -> Fingerprints:
        return cls(np.zeros((0, NUM_PERM), dtype=np.uint32), [], [], [])
