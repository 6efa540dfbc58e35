# discogs-pipeline — the commands a user runs. Every target installs what it needs first.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export DISCOGS_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(DISCOGS_DATA_DIR)/dagster_home
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: install run test dev lint bench clean-data

install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
	  || python3 -m pip install --quiet uv
	$(UV) sync --frozen

run: install  ## sample mirror + the whole chain for its two months + a summary
	$(UV) run discogs-pipeline demo

test: install  ## the whole test suite
	$(UV) run pytest $(PYTEST_ARGS)

dev: install  ## the Dagster UI and daemon on the same data as `make run`
	$(UV) run discogs-pipeline init-home >/dev/null
	$(UV) run dagster dev -w workspace.yaml

lint: install
	$(UV) run ruff check .

bench: install  ## download, parse, load and month-through-the-executor benchmarks (medians, peak RSS)
	$(UV) run python benchmarks/bench_download.py $(BENCH_DOWNLOAD_ARGS)
	$(UV) run python benchmarks/bench_parse.py $(BENCH_PARSE_ARGS)
	$(UV) run python benchmarks/bench_load.py $(BENCH_LOAD_ARGS)
	$(UV) run python benchmarks/bench_month_executor.py $(BENCH_EXECUTOR_ARGS)

clean-data:
	rm -rf "$(DISCOGS_DATA_DIR)"
