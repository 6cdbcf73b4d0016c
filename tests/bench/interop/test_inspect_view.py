"""A bench run opens in `inspect view`: inspect_ai's own viewer serves the exported
logs and a headless Chromium shows the samples, scores and bench's figures."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log

from benchwarden.store import open_store
from tests.bench.interop.cli import bw
from tests.bench.report.browser import chromium, watch
from tests.bench.report.runs import CLI_RUN, Runs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def viewer(results_db: Runs, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    logs = tmp_path / "logs"
    done = bw("export", CLI_RUN, "--format", "inspect", "-o", str(logs), "--db", str(results_db.db))
    assert done.code == 0, done.err
    port = _free_port()
    # inspect_ai's own command, from the same environment as the tests.
    command = [str(Path(sys.executable).parent / "inspect"), "view", "start"]
    command += ["--log-dir", str(logs), "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "inspect-view.log"
    with log.open("w") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=sink, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "inspect view did not start"
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", logs
    finally:
        server.terminate()
        server.wait(10)


def test_inspect_view_shows_an_exported_run(results_db: Runs, viewer: tuple[str, Path]) -> None:
    url, logs = viewer
    smoke = next(p for p in sorted(logs.glob("*.eval")) if "_smoke_" in p.name)
    with open_store(str(results_db.db)) as store:
        stored = store.samples(CLI_RUN, suite="smoke")
    items = sorted({s.item_id for s in stored})
    model = read_eval_log(str(smoke), header_only=True).eval.model
    answers = {s.item_id: " ".join((s.answer or "").split()) for s in stored if s.model == model}
    with chromium() as browser:
        watched = watch(browser, width=1400)
        watched.page.goto(f"{url}/#/logs/{smoke.name}")
        try:
            watched.page.get_by_text(items[0]).first.wait_for(timeout=60_000)
        finally:
            watched.shot("inspect-view-smoke")
        text = watched.page.inner_text("body")
        # A sample: its transcript shows the model call with the prompt and the answer.
        watched.page.get_by_text(items[0]).first.click()
        call = watched.page.get_by_text("MODEL CALL", exact=False).first
        call.wait_for(timeout=60_000)
        sample_text = " ".join(watched.page.inner_text("body").split())
        watched.shot("inspect-view-sample")
        outside = [u for u in watched.requests if not u.startswith((url, "data:", "blob:"))]
    # The task, the scorer, bench's figures as the log's metrics, and the samples.
    for expected in ("smoke", "includes", "MEAN", "CI95_LOW", "SAMPLES"):
        assert expected in text, expected
    assert "local/smollm2-135m" in text or "local/gemma3-270m" in text
    assert all(item in text for item in items)
    assert answers[items[0]] in sample_text and "TRANSCRIPT" in sample_text
    assert outside == []  # the viewer fetched nothing from outside the machine
