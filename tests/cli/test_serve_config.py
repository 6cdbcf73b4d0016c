"""``serve --config FILE``: the file's [serve] table, checked key by key, and the
command line winning over it (through the real CLI, refusing before serving)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchwarden.cli.serve_config import ServeConfigError, merge, read


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "warden.toml"
    path.write_text(text)
    return path


def test_read_names_keys_as_parameters_and_paths_from_the_file(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        """[serve]
limits = "redis://127.0.0.1:6379/0"
limits-lease = 5
limits_fail_open = [3, "acme/openai/gpt-4o"]
workers = 2
db = "postgresql://warden@db/warden"
backends = "backends.toml"
monitor = false
""",
    )
    assert read(path) == {
        "limits": "redis://127.0.0.1:6379/0",
        "limits_lease": 5,
        "limits_fail_open": ["3", "acme/openai/gpt-4o"],
        "workers": 2,
        "db": "postgresql://warden@db/warden",
        "backends": tmp_path / "backends.toml",
        "monitor": False,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[serve]\nworkers = 0\n", "serve.workers must be at least 1"),
        ("[serve]\nworkers = 1.5\n", "serve.workers must be a whole number"),
        ('[serve]\nlimits-lease = "5"\n', "serve.limits-lease must be a number"),
        ("[serve]\nlimits = 6379\n", "serve.limits must be a non-empty string"),
        ("[serve]\nmonitor = 1\n", "serve.monitor must be true or false"),
        ("[serve]\nlimits-fail-open = 3\n", "serve.limits-fail-open must be a list"),
        ('[serve]\nlimit = "redis://x"\n', "unknown key serve.limit "),
        ('limits = "redis://x"\n', "unknown table or key 'limits'"),
        ("[serve\n", "not valid TOML"),
    ],
)
def test_a_broken_file_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ServeConfigError) as caught:
        read(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_command_line_wins_over_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, '[serve]\nworkers = 3\nlimits = "redis://file/0"\n')

    class Source:
        def __init__(self, name: str) -> None:
            self.name = name

    sources = {"workers": Source("COMMANDLINE"), "limits": Source("DEFAULT")}
    given = {"workers": 1, "limits": None, "port": 8787}
    merged = merge(lambda name: sources.get(name), given, path)
    assert merged == {"workers": 1, "limits": "redis://file/0", "port": 8787}
    assert merge(lambda _name: None, given, None) == given


def _serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchwarden.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env={"COLUMNS": "300", "PATH": "/usr/bin:/bin", "BENCHWARDEN_HOME": str(cwd)},
    )


def test_serve_reads_the_file_and_the_flags_override_it(tmp_path: Path) -> None:
    _file(tmp_path, "[serve]\nworkers = 3\n")
    # From the file: 3 workers without shared limits is refused, as on the command line.
    done = _serve("--config", "warden.toml", cwd=tmp_path)
    assert done.returncode != 0 and "--workers 3 needs --limits redis://" in done.stderr
    # The flag wins: 1 worker; then --limits-fail-open from the flag still needs --limits.
    done = _serve("--config", "warden.toml", "--workers", "1", "--limits-fail-open", "3",
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0 and "--limits-fail-open needs --limits" in done.stderr
    _file(tmp_path, '[serve]\nmax-body-mb = "big"\n')
    done = _serve("--config", "warden.toml", cwd=tmp_path)
    assert done.returncode != 0
    assert "config file warden.toml: serve.max-body-mb must be a number" in done.stderr
