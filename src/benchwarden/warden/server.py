"""Running the app with uvicorn: in the foreground (``serve``) or on a background
thread (tests, the demo), on a socket bound before the server starts so that port 0
gives a free port that is known at once."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette


def _config(app: Starlette, host: str, port: int, log_level: str) -> uvicorn.Config:
    # No access log: every decision is already in the audit chain, and writing a log
    # line per request cost ~5% of the request. uvloop and httptools when installed
    # (uvicorn[standard]); h11 spent ~10% of a request parsing.
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        # Nothing in warden reads the client's address or scheme: no X-Forwarded-*
        # rewriting layer on every request.
        proxy_headers=False,
        loop="auto",
        http="auto",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def run(app: Starlette, host: str = "127.0.0.1", port: int = 8787, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM shut down gracefully)."""
    settle_heap()
    uvicorn.Server(_config(app, host, port, log_level)).run()


def settle_heap() -> None:
    """Move everything alive after start-up (modules, the app) out of the collector's
    view. A full collection otherwise walks the whole import heap: measured at 800
    requests a second, 60-280 ms pauses of the event loop every few seconds, the
    largest part of the p99; with the heap frozen, about 6 ms. For a serving process
    only (a test runner making many apps would keep garbage of old ones alive)."""
    gc.collect()
    gc.freeze()


class BackgroundServer:
    """``with BackgroundServer(app) as server: ... server.url ...`` on its own thread and
    event loop. Signal handlers are left alone (uvicorn installs none off the main
    thread), so it can run inside test runners and other programs."""

    def __init__(
        self, app: Starlette, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        self.app = app
        self.host = host
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on connections whose
        # listening socket says so; without it Nagle + delayed ACKs add ~40 ms a response.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = int(self._socket.getsockname()[1])
        self._server = uvicorn.Server(_config(app, host, self.port, log_level))
        self._thread = threading.Thread(target=self._serve, name="warden-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _serve(self) -> None:
        try:
            loop_factory = self._server.config.get_loop_factory()
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    def start(self, timeout_s: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"warden did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"warden did not start within {timeout_s:g}s")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
