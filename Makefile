# The README's two commands: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO    := .demo

.PHONY: run test install system-deps lint clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the test services need (PostgreSQL, ffmpeg, GStreamer RTSP server, Maven jars).
system-deps:
	bash tests/services/install_system_deps.sh

run: install
	$(BIN)/python -m workers.demo

test: install system-deps
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check pipeline connectors workers tests
	$(BIN)/mypy pipeline

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
