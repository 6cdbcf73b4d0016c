"""The polyglot exercises: the loader on the real archive, and the verified tree under it.

The real archive comes from the data mirror (``BENCHWARDEN_DATA_MIRROR``, set by
tests/conftest.py). The tree extraction is also attacked with crafted archives, from a
mirror and from a real HTTP server on loopback playing GitHub: links, ``..`` and
absolute members are refused, a tree whose digest differs from its pin is refused, and
in every refusal nothing is left where a reader would look.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from benchwarden.bench.agentic.exercises import (
    LANGUAGES,
    Exercise,
    ExerciseError,
    load_exercises,
    reference_targets,
)
from benchwarden.bench.data import MIRROR_ENV, DataError, data_dir
from benchwarden.bench.data_pins import POLYGLOT, DataFile, DataTree
from benchwarden.bench.data_tree import MARKER, fetch_tree

EXPECTED = {"cpp": 26, "go": 39, "java": 47, "javascript": 49, "python": 34, "rust": 30}


@pytest.fixture(scope="module")
def exercises() -> list[Exercise]:
    return load_exercises()


# --- the real archive ----------------------------------------------------------------


def _sha256sum_digest(root: Path) -> tuple[str, int]:
    """The MANIFEST's tree digest, computed here independently of the loader."""
    rows = sorted(
        (p.relative_to(root).as_posix().encode(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in root.rglob("*")
        if p.is_file() and p.name != MARKER
    )
    text = b"".join(digest.encode() + b"  " + rel + b"\n" for rel, digest in rows)
    return hashlib.sha256(text).hexdigest(), len(rows)


def test_the_extracted_tree_is_the_pinned_one() -> None:
    root = fetch_tree(POLYGLOT)
    assert (root / MARKER).read_text().strip() == POLYGLOT.tree_sha256
    assert _sha256sum_digest(root) == (POLYGLOT.tree_sha256, POLYGLOT.files)
    assert not [p for p in root.rglob("*") if p.is_symlink()]
    assert fetch_tree(POLYGLOT.archive.name) == root  # by name, from the cache


def test_counts_per_language(exercises: list[Exercise]) -> None:
    counts = Counter(e.language for e in exercises)
    assert dict(counts) == EXPECTED
    assert sum(counts.values()) == 225
    assert set(LANGUAGES) == set(EXPECTED)
    ids = [e.id for e in exercises]
    assert len(set(ids)) == 225
    # Sorted by name within each language, languages in the order asked for.
    assert [e.language for e in exercises] == sorted(
        (e.language for e in exercises), key=LANGUAGES.index
    )
    assert load_exercises(("rust", "python"))[0].language == "rust"
    assert [e.id for e in load_exercises(("python",))] == sorted(
        e.id for e in exercises if e.language == "python"
    )


def test_unknown_language_is_an_error() -> None:
    with pytest.raises(ExerciseError, match="no cobol exercises"):
        load_exercises(("cobol",))


def test_every_exercise_is_complete(exercises: list[Exercise]) -> None:
    for e in exercises:
        assert len(e.instructions) > 50, e.id
        assert e.solution and e.tests and e.reference, e.id
        assert any(text.strip() for text in e.tests.values()), e.id
        # The reference replaces something: at least one file differs from the stub.
        assert any(e.solution.get(p) != text for p, text in e.reference.items()), e.id
        # Nothing of the exercise's answers or metadata is in what a model is given.
        given = e.stub_files()
        assert not any(p.startswith((".meta/", ".docs/")) for p in given), e.id
        assert all(p not in e.solution for p in e.tests), e.id
        assert e.reference_files() == {**given, **e.reference}


def test_python_exercises_have_the_unittest_layout(exercises: list[Exercise]) -> None:
    for e in (e for e in exercises if e.language == "python"):
        stem = e.name.replace("-", "_")
        assert list(e.solution) == [f"{stem}.py"], e.id
        assert f"{stem}_test.py" in e.tests, e.id
        assert list(e.reference) == [f"{stem}.py"], e.id
        assert "import unittest" in e.tests[f"{stem}_test.py"], e.id


def test_references_of_other_languages_land_on_their_stubs(exercises: list[Exercise]) -> None:
    by_id = {e.id: e for e in exercises}
    assert set(by_id["rust/gigasecond"].reference) == {"src/lib.rs"}
    assert "time" in by_id["rust/gigasecond"].solution["Cargo.toml"]
    assert set(by_id["cpp/clock"].reference) == {"clock.cpp", "clock.h"}
    assert set(by_id["cpp/meetup"].reference) == {"meetup.h"}
    assert set(by_id["go/bowling"].reference) == {"bowling.go"}
    poker = by_id["java/poker"].reference
    assert set(poker) == {f"src/main/java/{n}.java" for n in ("Card", "Hand", "Poker")}
    assert set(by_id["javascript/bowling"].reference) == {"bowling.js"}


def test_round_trip_through_json(exercises: list[Exercise]) -> None:
    for e in exercises:
        again = Exercise.from_dict(json.loads(json.dumps(e.to_dict())))
        assert again == e
        assert again.id == e.id


# --- reference_targets (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("examples", "solution", "expected"),
    [
        ([".meta/example.py"], ["bowling.py"], {".meta/example.py": "bowling.py"}),
        ([".meta/proof.ci.js"], ["bowling.js"], {".meta/proof.ci.js": "bowling.js"}),
        (
            [".meta/example.rs"],
            ["src/lib.rs", "Cargo.toml"],
            {".meta/example.rs": "src/lib.rs"},
        ),
        (
            [".meta/example.cpp", ".meta/example.h"],
            ["clock.cpp", "clock.h"],
            {".meta/example.cpp": "clock.cpp", ".meta/example.h": "clock.h"},
        ),
        ([".meta/example.h"], ["meetup.cpp", "meetup.h"], {".meta/example.h": "meetup.h"}),
        (  # same name wins over the extension; a helper class goes beside the stub
            [".meta/src/reference/java/Poker.java", ".meta/src/reference/java/Card.java"],
            ["src/main/java/Poker.java"],
            {
                ".meta/src/reference/java/Poker.java": "src/main/java/Poker.java",
                ".meta/src/reference/java/Card.java": "src/main/java/Card.java",
            },
        ),
        (  # two examples of one extension take the two stubs in turn
            [".meta/example.go", ".meta/proof.ci.go"],
            ["a.go", "b.go"],
            {".meta/example.go": "a.go", ".meta/proof.ci.go": "b.go"},
        ),
        ([], ["x.py"], {}),
    ],
)
def test_reference_targets(
    examples: list[str], solution: list[str], expected: dict[str, str]
) -> None:
    assert reference_targets(examples, solution) == expected


def test_reference_targets_without_a_stub_of_that_extension() -> None:
    with pytest.raises(ExerciseError, match=r"example\.rs"):
        reference_targets([".meta/example.rs"], ["src/main.py"])


# --- the tree extraction, attacked ----------------------------------------------------

Member = tuple[str, str, bytes]  # (name, kind: file|dir|symlink|hardlink|fifo|abs, data)


def _archive(members: list[Member], *, pax_global: bool = False) -> bytes:
    buffer = io.BytesIO()
    headers = {"comment": "7e0611e77b54e2dea774cdc0aa00cf9f7ed6144f"} if pax_global else {}
    with tarfile.open(
        fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers=headers
    ) as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, data.decode()
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ABSOLUTE = "/tmp/benchwarden-absolute-escape-7e0611e.txt"
GOOD: list[Member] = [
    ("./", "dir", b""),
    ("./python/", "dir", b""),
    ("./python/a.py", "file", b"print('a')\n"),
    ("./python/sub/b.txt", "file", b"bee\n"),
    ("./README.md", "file", b"# tree\n"),
]
GOOD_FILES = {
    "python/a.py": b"print('a')\n",
    "python/sub/b.txt": b"bee\n",
    "README.md": b"# tree\n",
}


def _digest(tree: dict[str, bytes]) -> str:
    rows = sorted((p.encode(), hashlib.sha256(d).hexdigest()) for p, d in tree.items())
    return hashlib.sha256(b"".join(h.encode() + b"  " + p + b"\n" for p, h in rows)).hexdigest()


def _spec(name: str, data: bytes, *, upstream: str = "") -> DataTree:
    return DataTree(
        archive=DataFile(
            name=f"{name}.tar.gz",
            url=upstream or "http://127.0.0.1:9/none.tar.gz",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            license="test",
            description="a crafted tree",
        ),
        upstream_url=upstream or "http://127.0.0.1:9/none.tar.gz",
        tree_sha256=_digest(GOOD_FILES),
        files=len(GOOD_FILES),
    )


def _left_in_cache(name: str) -> list[str]:
    return sorted(
        p.name for p in data_dir().iterdir() if name in p.name and not p.name.endswith(".lock")
    )


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    monkeypatch.setenv(MIRROR_ENV, str(folder))
    return folder


def _from_mirror(mirror: Path, members: list[Member]) -> tuple[str, DataTree]:
    name = f"crafted-{uuid.uuid4().hex[:8]}"
    data = _archive(members)
    (mirror / f"{name}.tar.gz").write_bytes(data)
    return name, _spec(name, data)


def test_a_good_crafted_tree_is_extracted_and_cached(mirror: Path) -> None:
    name, spec = _from_mirror(mirror, GOOD)
    root = fetch_tree(spec)
    got = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert got.pop(MARKER) == (spec.tree_sha256 + "\n").encode()
    assert got == GOOD_FILES
    (mirror / f"{name}.tar.gz").unlink()  # now from the cache, without the mirror
    assert fetch_tree(spec) == root


@pytest.mark.parametrize(
    "evil",
    [
        ("./python/link", "symlink", b"/etc/passwd"),
        ("./python/up", "symlink", b"../../../../etc"),
        ("./python/hard", "hardlink", b"./python/a.py"),
        ("./python/fifo", "fifo", b""),
        ("./../escaped.txt", "file", b"out\n"),
        ("./python/../../escaped.txt", "file", b"out\n"),
        (ABSOLUTE, "file", b"out\n"),
    ],
    ids=["symlink-abs", "symlink-up", "hardlink", "fifo", "dotdot", "dotdot-deep", "absolute"],
)
def test_crafted_members_are_refused(mirror: Path, evil: Member) -> None:
    name, spec = _from_mirror(mirror, [*GOOD, evil])
    with pytest.raises(DataError, match="refusing the archive member"):
        fetch_tree(spec)
    assert _left_in_cache(name) == []
    assert not Path(ABSOLUTE).exists()
    assert not (data_dir() / "escaped.txt").exists()
    assert not (data_dir().parent / "escaped.txt").exists()


def test_a_tree_that_differs_from_its_pin_is_refused(mirror: Path) -> None:
    # One file changed: the archive's own sha256 is right (the spec is made from it),
    # the tree digest is not.
    changed = [(n, k, b"print('evil')\n" if n.endswith("a.py") else d) for n, k, d in GOOD]
    name, spec = _from_mirror(mirror, changed)
    with pytest.raises(DataError, match="does not match its pin"):
        fetch_tree(spec)
    assert _left_in_cache(name) == []
    # One extra file is as wrong as a changed one.
    name, spec = _from_mirror(mirror, [*GOOD, ("./extra.txt", "file", b"x")])
    with pytest.raises(DataError, match="does not match its pin"):
        fetch_tree(spec)
    assert _left_in_cache(name) == []


def test_a_mirror_archive_with_other_bytes_is_refused(mirror: Path) -> None:
    name, spec = _from_mirror(mirror, GOOD)
    (mirror / f"{name}.tar.gz").write_bytes(_archive([*GOOD, ("./x", "file", b"x")]))
    with pytest.raises(DataError, match="sha256"):
        fetch_tree(spec)
    assert _left_in_cache(name) == []


# --- the upstream download (GitHub's archive: one top folder), from loopback ---------


class _Archives(http.server.BaseHTTPRequestHandler):
    served: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        data = self.served.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "empty-mirror"))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Archives)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _github(members: list[Member]) -> bytes:
    top = "polyglot-benchmark-7e0611e77b54e2dea774cdc0aa00cf9f7ed6144f"
    moved = [(f"{top}/{n.removeprefix('./')}", k, d) for n, k, d in members]
    return _archive(moved, pax_global=True)


def _from_upstream(base: str, data: bytes) -> tuple[str, DataTree]:
    name = f"crafted-{uuid.uuid4().hex[:8]}"
    _Archives.served[f"/{name}.tar.gz"] = data
    # The spec pins the *mirror's* bytes: a download is verified by the tree digest only.
    spec = _spec(name, b"other bytes", upstream=f"{base}/{name}.tar.gz")
    return name, spec


def test_a_download_is_verified_by_its_tree(upstream: str) -> None:
    name, spec = _from_upstream(upstream, _github(GOOD))
    root = fetch_tree(spec)
    got = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert got == {*GOOD_FILES, MARKER}
    assert [p for p in data_dir().iterdir() if p.name.startswith(f".{name}")] == []


def test_a_download_whose_tree_differs_is_refused(upstream: str) -> None:
    name, spec = _from_upstream(upstream, _github([*GOOD, ("./extra", "file", b"x")]))
    with pytest.raises(DataError, match="Nothing was cached"):
        fetch_tree(spec)
    assert _left_in_cache(name) == []


def test_a_download_with_a_link_is_refused(upstream: str) -> None:
    name, spec = _from_upstream(upstream, _github([*GOOD, ("./python/l", "symlink", b"/etc")]))
    with pytest.raises(DataError, match="refusing the archive member"):
        fetch_tree(spec)
    assert _left_in_cache(name) == []


def test_a_failed_download_leaves_nothing(upstream: str) -> None:
    name, spec = _from_upstream(upstream, b"")
    _Archives.served.pop(f"/{name}.tar.gz")
    with pytest.raises(DataError, match="HTTP 404"):
        fetch_tree(spec)
    assert _left_in_cache(name) == []
