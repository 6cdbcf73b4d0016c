"""Runs several ``benchwarden`` commands in one process (the real Typer app, writing to
the process's real stdout: a pipe or a pseudo-terminal), each output after a marker
line, so a test can read every list command in every mode without paying the CLI's
start-up for each. Usage: ``python listing_driver.py JSON_LIST_OF_ARGV``."""

from __future__ import annotations

import json
import sys

MARK = "\x1d"  # group separator: never in a command's output


def main() -> int:
    from benchwarden.cli.app import app

    for argv in json.loads(sys.argv[1]):
        sys.stdout.write(f"{MARK}{' '.join(argv)}\n")
        sys.stdout.flush()
        try:
            app(argv, standalone_mode=False)
        except SystemExit as exc:  # typer.Exit
            if exc.code:
                return int(exc.code)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
