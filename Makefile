# The two commands a new user needs (see README): `make demo` and `make test`.
PYTHON ?= python3.11
UV := .uv/bin/uv
UV_VERSION := 0.13.8

# Never download a Python; build llama.cpp without -march=native (the native build
# segfaulted in decode on these machines). pyproject.toml sets the same for uv.
export UV_PYTHON_DOWNLOADS := never
# Compile bytecode at install: where PYTHONDONTWRITEBYTECODE is set, every command
# would otherwise recompile the whole stack on each start (2 to 4 s).
export UV_COMPILE_BYTECODE := 1
export CMAKE_ARGS := -DGGML_NATIVE=OFF
export BENCHWARDEN_DATA_MIRROR ?= $(abspath ../shared/data)

.PHONY: demo test install clients js-runner cpp-catch system-deps-demo system-deps-test lint typecheck pytest bench clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --extra ray --extra inspect --python $(PYTHON)

# Debian packages (bubblewrap; for the tests also postgresql and chromium), when missing.
system-deps-demo:
	bash scripts/system-deps.sh demo

system-deps-test:
	bash scripts/system-deps.sh test

demo: system-deps-demo install
	.venv/bin/benchwarden demo

lint: install
	.venv/bin/ruff check src tests benchmarks scripts
	.venv/bin/ruff format --check src tests benchmarks scripts

typecheck: install
	.venv/bin/mypy

# The real coding clients the agent tests drive (Claude Code, Codex CLI), pinned by
# tests/agents/clients/package-lock.json; reinstalled only when the lock changes.
CLIENTS := tests/agents/clients
$(CLIENTS)/node_modules/.installed: $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	npm ci --prefix $(CLIENTS) --no-audit --no-fund --loglevel=error
	touch $@

clients: $(CLIENTS)/node_modules/.installed

# The test runner of the polyglot JavaScript exercises (Jest + Babel), pinned by
# toolchains/javascript/package-lock.json and mounted read-only into the sandbox.
JS_RUNNER := toolchains/javascript
$(JS_RUNNER)/node_modules/.installed: $(JS_RUNNER)/package.json $(JS_RUNNER)/package-lock.json
	npm ci --prefix $(JS_RUNNER) --no-audit --no-fund --loglevel=error
	touch $@

js-runner: $(JS_RUNNER)/node_modules/.installed

# Catch's main for the polyglot C++ exercises, built once in the sandbox (80% of every
# C++ build otherwise); used read-only by each C++ attempt. Needs bubblewrap and g++.
CPP_CATCH := toolchains/cpp-catch
$(CPP_CATCH)/tests-main.o: | install
	.venv/bin/benchwarden suites prepare polyglot

cpp-catch: $(CPP_CATCH)/tests-main.o

pytest: install clients js-runner cpp-catch
	.venv/bin/pytest

test: system-deps-test lint typecheck pytest

bench: install
	.venv/bin/python benchmarks/client_overhead.py

clean:
	rm -rf .venv .uv .mypy_cache .ruff_cache .pytest_cache $(CLIENTS)/node_modules $(JS_RUNNER)/node_modules
