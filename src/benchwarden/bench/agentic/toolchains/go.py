"""Go exercises: ``go test`` with Debian's ``golang-go`` (Go 1.19), offline.

Every exercise is one module (``go.mod``, ``go 1.18``) that imports the standard
library only, so nothing is ever downloaded: ``GOPROXY=off`` and ``GOFLAGS=-mod=mod``
turn any missing module into a build error at once instead of a network attempt, and
``GOTOOLCHAIN=local`` keeps a newer ``go`` from looking for another toolchain.

The build cache lives in ``/tmp`` (a fresh tmpfs per command), never in the workspace:
a cache the attempt could write would let it plant a cached "ok" for the final run.
Debian's Go ships its standard library precompiled, so a cold cache costs little.
Exercism's Go track skips no tests; its ``//go:build bonus`` files stay off, as in
Aider's benchmark (``go test ./...``, no tags).
"""

# ruff: noqa: S108 - /tmp is the sandbox's own tmpfs, fresh for every command
from __future__ import annotations

from benchwarden.bench.agentic.toolchains.base import Toolchain
from benchwarden.bench.sandbox.shell import ShellEnvironment

GO_ENV = {
    "GOCACHE": "/tmp/go-build",
    "GOPATH": "/tmp/go",
    "GOMODCACHE": "/tmp/go/pkg/mod",
    "GOFLAGS": "-mod=mod",
    "GOPROXY": "off",
    "GOSUMDB": "off",
    "GOTOOLCHAIN": "local",
    "GO111MODULE": "on",
    "GOTELEMETRY": "off",
    # No exercise needs cgo; without it nothing goes through a C compiler.
    "CGO_ENABLED": "0",
}

KNOWN_ISSUES: dict[str, str] = {
    "counter": "reference fails: a deprecated exercise whose answer is a test suite, in "
    "counter.go, which `go test` never runs as tests (no test ran: not a pass)",
    "dnd-character": "reference fails: it imports the standard package `slices` (Go 1.21); "
    "Debian bookworm's Go is 1.19",
}
"""Exercises that cannot meet the check (reference passes, stub fails) here, and why.
(ledger and markdown, refactoring exercises, have working stubs: the check exempts them.)"""

# `ok  <package>  0.01s` (or `(cached)`) for a package whose tests ran and passed; a
# package with no test, or none selected, ends its line with `[no tests to run]` or is
# reported as `?  <package>  [no test files]`: a run where no test ran is not a pass.
TESTS_RAN = r"^ok\s+\S+\s+(?:\(cached\)|[0-9.]+s)\s*$"


GO = Toolchain(
    language="go",
    test_script="go test ./... 2>&1",
    requires=("go",),
    packages=("golang-go",),
    environment=ShellEnvironment(env=GO_ENV),
    passed_pattern=TESTS_RAN,
    known_issues=KNOWN_ISSUES,
    # `FAIL <pkg> [build failed]` (a compile or vet error), `[setup failed]` (a broken
    # go.mod), and the package loader's own errors (an import that cannot be found,
    # printed before any package is built): no test ran.
    compile_markers=(
        "[build failed]",
        "[setup failed]",
        "is not in GOROOT",
        "no required module provides package",
        "module lookup disabled by GOPROXY=off",
        "go: errors parsing go.mod",
    ),
)
