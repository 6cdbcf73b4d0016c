"""``report`` (one self-contained HTML file) and ``view`` (a local web app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from benchwarden.cli.common import console, fail
from benchwarden.cli.results_cmd import DbOption, open_db


def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="HTML file to write (it needs no network).")
    ] = Path("report.html"),
    db: DbOption = None,
) -> None:
    """One HTML file: scores with intervals, paired differences, charts, provenance."""
    from benchwarden.bench.report import build_report

    store = open_db(db)
    try:
        run = store.get_run(run_id)
        if run is None:
            fail(f"no run {run_id!r} in {store.url}; `benchwarden runs` lists the runs there")
        samples = store.samples(run_id)
        judgments = store.judgments(run_id)
    finally:
        store.close()
    page = build_report(run, samples, judgments)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    console.print(f"report written to {output} ({len(page) // 1024} KiB, {len(samples)} samples)")


def view(
    db: DbOption = None,
    host: Annotated[
        str, typer.Option(help="Address to bind (127.0.0.1: only this machine can connect).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8790,
) -> None:
    """Browse the results database in a browser: runs, items, answers side by side."""
    import socket

    import uvicorn

    from benchwarden.bench.viewer import create_viewer_app

    store = open_db(db)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        store.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port")
    bound = int(sock.getsockname()[1])
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[yellow]listening on {host}: anyone who can reach it can read every answer[/]"
        )
    # The URL goes out first and alone on its line: scripts (and tests) read it.
    print(f"viewer at http://{host}:{bound}/  (results: {store.url}; Ctrl-C stops)", flush=True)
    config = uvicorn.Config(
        create_viewer_app(store), host=host, port=bound, log_level="warning", access_log=False
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
