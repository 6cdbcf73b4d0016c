"""The polyglot exercises: plain data read from the verified tree (Exercism layout).

Each exercise folder holds ``.docs/`` (instructions), ``.meta/config.json`` (which
files are the solution stub, the tests, the reference solution), the stub, the tests
and whatever the build needs (``CMakeLists.txt``, ``go.mod``, ``Cargo.toml``,
``package.json``, ``build.gradle``, a bundled Catch). An :class:`Exercise` carries all
of it as text so that an attempt is a plain, serializable unit of work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from benchwarden.bench.data_pins import POLYGLOT
from benchwarden.bench.data_tree import fetch_tree

LANGUAGES = ("python", "go", "rust", "cpp", "javascript", "java")
"""Every language of the benchmark, in the order reports list them."""

_NOT_COPIED = (".meta", ".docs", ".approaches", ".articles")
_MAX_SUPPORT_BYTES = 2_000_000


class ExerciseError(ValueError):
    """An exercise folder that does not have the expected layout."""


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise. Paths are relative to the exercise folder, POSIX style."""

    language: str
    name: str
    instructions: str
    solution: dict[str, str]  # the stub files the model must complete
    tests: dict[str, str]  # test files (and "editor" files the tests need): read-only
    reference: dict[str, str]  # the reference solution, at the paths it goes to
    support: dict[str, str] = field(default_factory=dict)  # build files, bundled libs

    @property
    def id(self) -> str:
        return f"{self.language}/{self.name}"

    def stub_files(self) -> dict[str, str]:
        """Every file of the untouched exercise, as a model first sees it."""
        return {**self.support, **self.tests, **self.solution}

    def reference_files(self) -> dict[str, str]:
        """The exercise with the reference solution in place of the stub."""
        return {**self.stub_files(), **self.reference}

    def to_dict(self) -> dict[str, object]:
        return {
            "language": self.language,
            "name": self.name,
            "instructions": self.instructions,
            "solution": self.solution,
            "tests": self.tests,
            "reference": self.reference,
            "support": self.support,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Exercise:
        def files(key: str) -> dict[str, str]:
            value = data.get(key) or {}
            assert isinstance(value, dict)
            return {str(k): str(v) for k, v in value.items()}

        return cls(
            language=str(data["language"]),
            name=str(data["name"]),
            instructions=str(data["instructions"]),
            solution=files("solution"),
            tests=files("tests"),
            reference=files("reference"),
            support=files("support"),
        )


def reference_targets(examples: list[str], solution: list[str]) -> dict[str, str]:
    """Pure: where each reference file goes (example path -> workspace path).

    A reference file goes over the stub of the same name; ``example.EXT`` and
    ``proof.ci.EXT`` go over the stub with that extension; any other (a helper class
    of a Java reference) goes beside the first stub with its extension.
    """
    targets: dict[str, str] = {}
    by_name = {PurePosixPath(s).name: s for s in solution}
    for example in examples:
        path = PurePosixPath(example)
        if path.name in by_name:
            targets[example] = by_name[path.name]
            continue
        same_ext = [s for s in solution if PurePosixPath(s).suffix == path.suffix]
        if not same_ext:
            raise ExerciseError(f"no stub file with the extension of {example!r}")
        if path.stem in ("example", "proof.ci"):
            taken = set(targets.values())
            free = [s for s in same_ext if s not in taken]
            targets[example] = (free or same_ext)[0]
        else:
            targets[example] = str(PurePosixPath(same_ext[0]).parent / path.name)
    return targets


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # binary (a Gradle wrapper jar): never needed without Gradle


def read_exercise(folder: Path, language: str) -> Exercise:
    """One exercise folder as an :class:`Exercise`."""
    config_path = folder / ".meta" / "config.json"
    try:
        files = json.loads(config_path.read_text(encoding="utf-8"))["files"]
        solution_paths = [str(p) for p in files["solution"]]
        test_paths = [str(p) for p in files["test"]] + [str(p) for p in files.get("editor", [])]
        example_paths = [str(p) for p in files["example"]]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ExerciseError(f"{folder}: unreadable .meta/config.json ({exc})") from exc

    def load(paths: list[str]) -> dict[str, str]:
        out = {}
        for relative in paths:
            text = _read_text(folder / relative)
            if text is None:
                raise ExerciseError(f"{folder / relative} is not UTF-8 text")
            out[relative] = text
        return out

    docs = folder / ".docs"
    parts = [
        (docs / name).read_text(encoding="utf-8")
        for name in ("introduction.md", "instructions.md", "instructions.append.md")
        if (docs / name).is_file()
    ]
    targets = reference_targets(example_paths, solution_paths)
    reference = {targets[p]: text for p, text in load(example_paths).items()}
    # Exercism's Rust track: a reference that needs crates the stub does not declare
    # comes with its own manifest, used in place of Cargo.toml when it is tested.
    manifest = folder / ".meta" / "Cargo-example.toml"
    if manifest.is_file() and (folder / "Cargo.toml").is_file():
        reference["Cargo.toml"] = manifest.read_text(encoding="utf-8")
    named = set(solution_paths) | set(test_paths)
    support: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or relative in named or relative.split("/")[0] in _NOT_COPIED:
            continue
        if path.stat().st_size > _MAX_SUPPORT_BYTES:
            continue
        text = _read_text(path)
        if text is not None:
            support[relative] = text
    return Exercise(
        language=language,
        name=folder.name,
        instructions="\n\n".join(p.strip() for p in parts),
        solution=load(solution_paths),
        tests=load(test_paths),
        reference=reference,
        support=support,
    )


def load_exercises(languages: tuple[str, ...] = LANGUAGES) -> list[Exercise]:
    """Every exercise of ``languages`` from the verified polyglot tree, sorted by id."""
    root = fetch_tree(POLYGLOT)
    exercises: list[Exercise] = []
    for language in languages:
        practice = root / language / "exercises" / "practice"
        if not practice.is_dir():
            raise ExerciseError(f"the polyglot tree has no {language} exercises at {practice}")
        for folder in sorted(p for p in practice.iterdir() if p.is_dir()):
            exercises.append(read_exercise(folder, language))
    return exercises
