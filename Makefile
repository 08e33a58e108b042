# The README's two commands: `make run` and `make test`.
# Both create/refresh .venv (idempotent: a stamp file, redone when pyproject.toml or
# constraints.txt change); `make test` also installs the Debian packages and Kafka
# jars the test services need (tests/services/install_system_deps.sh).
PY          ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
DEMO        := .demo
PYTEST_ARGS ?=

.PHONY: run test install system-deps lint clean

$(STAMP): pyproject.toml constraints.txt
	@$(PY) -c 'import ensurepip, venv' 2>/dev/null || bash tests/services/install_system_deps.sh --python-only
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the test services need (PostgreSQL, ffmpeg, GStreamer RTSP server,
# Java + Maven, chromium) and the Kafka jars from Maven Central; quick when present.
system-deps:
	bash tests/services/install_system_deps.sh

# The main job: a demo run on a generated clip (workers/cli/demo.py).
run: install
	$(BIN)/python -m workers.cli.demo

test: install system-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check pipeline connectors workers tests
	$(BIN)/lint-imports
	$(BIN)/mypy pipeline

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
