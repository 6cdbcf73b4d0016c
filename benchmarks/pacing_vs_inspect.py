"""Pacing under a provider's rate limit: benchwarden's runner against inspect_ai, on the
same token-bucket server, at concurrency 10, 50 and each tool's default.

Run from the repository root::

    .venv/bin/python benchmarks/pacing_vs_inspect.py             # about 3 min, at most 10
    .venv/bin/python benchmarks/pacing_vs_inspect.py --samples 400 --rpm 600   # the issue's

inspect_ai is never installed into the project's environment, nor by this script: it
must already sit in a throwaway venv (``--inspect-venv``, default ``$INSPECT_VENV`` or
``/tmp/inspect-venv``; see ../shared/peers/README.md)::

    python3.11 -m venv /tmp/inspect-venv
    /tmp/inspect-venv/bin/pip install inspect-ai openai

(``--ours-only`` measures ours alone.) The server is
``benchwarden.testing.bucket_upstream`` in its own process, a fresh one for every trial:
a token bucket of ``--capacity`` requests (10) refilled at ``--rpm`` per minute, 50 ms
per answer, one-token completions. ``--headers full`` (the default) sends
``x-ratelimit-*`` on every answer and ``retry-after``/``retry-after-ms`` on a 429, as
OpenAI does; ``retry-after`` sends only a 429's ``Retry-After``; ``bare`` only 429s.

- **ours**: the real CLI, ``benchwarden run -s SUITE.yaml -m bucket --config ...
  --no-cache [--max-concurrency N]`` on a no-code suite of ``--samples`` items.
- **inspect_ai**: ``inspect eval task.py --model openai-api/bucket/m
  [--max-connections N] --max-tokens 1`` on the same items.

Figures, all from the server's own log of arrivals: samples answered (accepted
requests), requests sent, the share of them refused (429), and the achieved rate as a
fraction of the limit (accepted per second after the first second, over the limit per
second). Every process started here is stopped on every exit; each trial has a timeout.
Exit status: 0 when measured, 1 when a side failed, 2 when inspect_ai is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYCACHE = Path(tempfile.gettempdir()) / "benchwarden-bench-pycache"

_TASK = """
import json
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

@task
def paced() -> Task:
    with open({items!r}, encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    samples = [Sample(id=r["id"], input=r["input"], target=r["target"]) for r in records]
    return Task(dataset=MemoryDataset(samples), solver=generate(), scorer=includes())
"""


@dataclass
class Trial:
    side: str
    concurrency: str
    answered: int = 0
    requests: int = 0
    refused: int = 0
    fraction: float = 0.0
    seconds: float = 0.0
    problem: str = ""

    @property
    def share(self) -> float:
        return self.refused / self.requests if self.requests else 0.0


def child_env(**extra: str) -> dict[str, str]:
    """The parent's environment without what could redirect or configure a side."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY")
        and not k.startswith(("OPENAI_", "ANTHROPIC_", "INSPECT_", "BENCHWARDEN_", "XDG_"))
        and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "VIRTUAL_ENV")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


class Server:
    """The bucket server in its own process (a fresh bucket for each trial)."""

    def __init__(self, args: argparse.Namespace) -> None:
        argv = [
            sys.executable,
            "-m",
            "benchwarden.testing.bucket_upstream",
            *("--rpm", str(args.rpm), "--capacity", str(args.capacity)),
            *("--latency", str(args.latency), "--headers", args.headers),
        ]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, text=True, env=child_env(), start_new_session=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            _stop(self.proc)
            raise RuntimeError(f"the bucket server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/stats", timeout=10) as answer:
            data: dict[str, float] = json.loads(answer.read())
        return data

    def close(self) -> None:
        _stop(self.proc)


def _timed(
    argv: list[str], env: dict[str, str], log: Path, timeout_s: float, cwd: Path | None = None
) -> tuple[int, float]:
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=cwd
        )
        try:
            code = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            code = -9
        finally:
            _stop(proc)
    return code, time.monotonic() - started


def write_items(folder: Path, samples: int) -> tuple[Path, Path]:
    items = folder / "items.jsonl"
    with items.open("w") as out:
        for i in range(samples):
            out.write(json.dumps({"id": f"q{i}", "input": f"Say A. ({i})", "target": "A"}) + "\n")
    suite = folder / "paced.yaml"
    suite.write_text("name: paced\nitems: items.jsonl\nscorer: includes\nmax_tokens: 1\n")
    return items, suite


def run_ours(folder: Path, suite: Path, url: str, concurrency: int | None, timeout: float) -> int:
    config = folder / "models.toml"
    config.write_text(
        f'[models."bucket"]\nprovider = "openai"\nbase_url = "{url}/v1"\nmodel = "m"\n'
        'api_key_env = "BUCKET_KEY"\npurposes = ["benchmarking"]\n'
    )
    argv = [sys.executable, "-m", "benchwarden.cli", "run", "-s", str(suite), "-m", "bucket"]
    argv += ["--config", str(config), "--db", str(folder / "results.db"), "--no-cache"]
    if concurrency is not None:
        argv += ["--max-concurrency", str(concurrency)]
    env = child_env(BUCKET_KEY="not-a-key", BENCHWARDEN_HOME=str(folder / "home"), COLUMNS="120")
    code, _ = _timed(argv, env, folder / "ours.log", timeout)
    return code


def run_inspect(
    venv: Path, folder: Path, items: Path, url: str, concurrency: int | None, timeout: float
) -> int:
    task = folder / "task.py"
    task.write_text(_TASK.format(items=str(items)))
    home = folder / "inspect-home"
    home.mkdir(exist_ok=True)
    env = child_env(
        BUCKET_BASE_URL=f"{url}/v1",
        BUCKET_API_KEY="not-a-key",
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
    )
    # inspect_ai takes the task file relative to where it runs.
    argv = [str(venv / "bin" / "inspect"), "eval", task.name, "--model", "openai-api/bucket/m"]
    argv += ["--max-tokens", "1", "--log-dir", str(folder / "logs"), "--display", "none"]
    argv += ["--no-fail-on-error"]
    if concurrency is not None:
        argv += ["--max-connections", str(concurrency)]
    code, _ = _timed(argv, env, folder / "inspect.log", timeout, cwd=folder)
    return code


def trial(
    side: str, concurrency: int | None, args: argparse.Namespace, work: Path, venv: Path
) -> Trial:
    label = "default" if concurrency is None else str(concurrency)
    folder = work / f"{side}-{label}"
    folder.mkdir()
    items, suite = write_items(folder, args.samples)
    server = Server(args)
    result = Trial(side, label)
    started = time.monotonic()
    try:
        if side == "benchwarden":
            code = run_ours(folder, suite, server.url, concurrency, args.trial_timeout)
        else:
            code = run_inspect(venv, folder, items, server.url, concurrency, args.trial_timeout)
        result.seconds = time.monotonic() - started
        stats = server.stats()
    finally:
        server.close()
    result.answered = int(stats["accepted"])
    result.requests = int(stats["requests"])
    result.refused = int(stats["refused"])
    result.fraction = float(stats["fraction_of_limit"])
    if code != 0:
        log = folder / ("ours.log" if side == "benchwarden" else "inspect.log")
        tail = log.read_text(errors="replace").strip().splitlines()[-8:]
        result.problem = f"exit {code}"
        print(f"  {side} exited {code}; its output ends with:", *tail, sep="\n    ")
    if result.answered < args.samples:
        result.problem = (result.problem + f"; {args.samples - result.answered} unanswered").strip(
            "; "
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--rpm", type=float, default=1200.0)
    parser.add_argument("--capacity", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--headers", choices=["full", "retry-after", "bare"], default="full")
    parser.add_argument("--concurrency", default="10,50,default")
    parser.add_argument("--trial-timeout", type=float, default=180.0)
    parser.add_argument(
        "--inspect-venv",
        type=Path,
        default=Path(os.environ.get("INSPECT_VENV", "/tmp/inspect-venv")),
    )
    parser.add_argument("--ours-only", action="store_true")
    args = parser.parse_args()
    venv: Path = args.inspect_venv
    sides = ["benchwarden"]
    if not args.ours_only:
        if not (venv / "bin" / "inspect").exists():
            print(f"inspect_ai is not installed in {venv} (see this script's docstring)")
            return 2
        sides.append("inspect_ai")
    settings = [None if c == "default" else int(c) for c in args.concurrency.split(",")]
    print(
        f"token bucket: {args.capacity:g} requests, {args.rpm:g}/min, {args.latency * 1000:g} ms "
        f"an answer, headers {args.headers}; {args.samples} one-token samples per trial"
    )
    results: list[Trial] = []
    with tempfile.TemporaryDirectory(prefix="pacing-bench-") as tmp:
        for concurrency in settings:
            for side in sides:
                done = trial(side, concurrency, args, Path(tmp), venv)
                results.append(done)
                print(
                    f"  {side:11} concurrency {done.concurrency:>7}: answered {done.answered:4}, "
                    f"requests {done.requests:5}, 429s {done.share:6.1%}, "
                    f"{done.fraction:.3f} of the limit, {done.seconds:5.1f} s"
                    + (f"  [{done.problem}]" if done.problem else ""),
                    flush=True,
                )
    print("\nside         concurrency  answered  429 share  fraction of limit")
    for r in results:
        print(
            f"{r.side:12} {r.concurrency:>11}  {r.answered:4}/{args.samples:<4} "
            f"{r.share:9.1%}  {r.fraction:17.3f}"
        )
    return 1 if any(r.problem for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
