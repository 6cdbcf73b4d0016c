"""Benchmark fingerprints: MinHash signatures of public benchmark prompts, no text.

The file is built outside warden (``benchwarden monitor fingerprints build`` reads
bench's datasets; warden never imports bench) and holds, per item, its signature, its
dataset's name and its item id. warden loads it at start and tells, for each prompt
it serves, whether it is (a light edit of) a known benchmark item.
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
    signature,
)

FORMAT = "benchwarden-fingerprints-v1"
MATCH_THRESHOLD = 0.5


def default_path() -> Path:
    return home_dir() / "monitor" / "fingerprints.npz"


class FingerprintError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Match:
    dataset: str
    item: str
    similarity: float


class Fingerprints:
    def __init__(
        self,
        signatures: Signature | np.ndarray,
        datasets: list[str],
        items: list[str],
        threshold: float = MATCH_THRESHOLD,
    ) -> None:
        if len(signatures) != len(datasets) or len(datasets) != len(items):
            raise FingerprintError("signatures, datasets and items differ in length")
        self.datasets = datasets
        self.items = items
        self.signatures = np.asarray(signatures, dtype=np.uint32).reshape(-1, NUM_PERM)
        self._index = NearIndex.of(enumerate(self.signatures), threshold)

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name in self.datasets:
            out[name] = out.get(name, 0) + 1
        return out

    def match(self, sig: Signature | None) -> Match | None:
        """The closest known item at least ``threshold`` alike, or None."""
        if sig is None or not self.items:
            return None
        found = self._index.near(sig)
        if not found:
            return None
        key, score = found[0]
        return Match(self.datasets[key], self.items[key], score)

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
            meta=np.array(json.dumps(meta, sort_keys=True), dtype=np.str_),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, threshold: float = MATCH_THRESHOLD) -> Fingerprints:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                names = [str(n) for n in data["dataset_names"]]
                datasets = [names[int(i)] for i in data["dataset_index"]]
                items = [str(i) for i in data["items"]]
                signatures = np.asarray(data["signatures"], dtype=np.uint32)
        except (OSError, KeyError, ValueError) as exc:
            raise FingerprintError(f"{path}: not a fingerprint file ({exc})") from exc
        if meta.get("format") != FORMAT or meta.get("sketch") != SKETCH_VERSION:
            raise FingerprintError(
                f"{path}: made by another version ({meta.get('format')}, {meta.get('sketch')}); "
                "rebuild it with: benchwarden monitor fingerprints build"
            )
        return cls(signatures, datasets, items, threshold)

    @classmethod
    def from_texts(cls, entries: Iterable[tuple[str, str, str]]) -> Fingerprints:
        """From (dataset, item, text); an item's identical forms are kept once."""
        sigs: list[Signature] = []
        datasets: list[str] = []
        items: list[str] = []
        seen: set[tuple[str, str, bytes]] = set()
        for dataset, item, text in entries:
            sig = signature(text)
            if sig is None or (dataset, item, sig.tobytes()) in seen:
                continue
            seen.add((dataset, item, sig.tobytes()))
            sigs.append(sig)
            datasets.append(dataset)
            items.append(item)
        if not sigs:
            return cls.empty()
        return cls(np.stack(sigs), datasets, items)

    @classmethod
    def empty(cls) -> Fingerprints:
        return cls(np.zeros((0, NUM_PERM), dtype=np.uint32), [], [])
