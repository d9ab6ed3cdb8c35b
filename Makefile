# Gatehouse: `make run` to try it, `make test` to check it. Needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint fmt migrate demo bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# pip prints each package as it goes: a first install takes minutes and must not look hung.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing Gatehouse and its libraries into $(VENV) (a few minutes the first time)..."
	$(BIN)/python -m pip install --progress-bar on -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing Gatehouse with its test tools into $(VENV) (a few minutes the first time)..."
	$(BIN)/python -m pip install --progress-bar on -e ".[dev]"
	touch $@ $(STAMP)

migrate: $(STAMP)
	$(BIN)/gatehouse init

demo: migrate
	$(BIN)/gatehouse demo

run: demo
	$(BIN)/gatehouse serve

# Debian packages the tests drive: Chromium for browser tests, poppler-utils for PDF checks; and
# what WeasyPrint needs to write the audit PDF: Pango, and fonts for Latin, Arabic and Chinese text.
REPORT_DEBS := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-wqy-microhei
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	for deb in $(REPORT_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$deb 2>/dev/null | grep -q "ok installed" || missing="$$missing $$deb"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "The tests need the Debian packages:$$missing. Install them (sudo apt-get install$$missing) and run make test again." >&2; \
	    exit 1; \
	  fi; \
	fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check --output-format concise .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core
	$(BIN)/lint-imports

fmt: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# PostgreSQL tests run when GATEHOUSE_TEST_POSTGRES_URL is set, or when a local server answers.
# Tests run in one worker per core (TEST_WORKERS=0 runs them in this process); every browser
# test runs on one worker, against one demo server.
TEST_WORKERS ?= auto
test: $(DEV_STAMP) system-deps lint
	@if [ -z "$$GATEHOUSE_TEST_POSTGRES_URL" ] && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
	  export GATEHOUSE_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test; fi; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=30

bench: $(DEV_STAMP)
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
