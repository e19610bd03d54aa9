# Set-up, run and test the CMS. `make help` lists the targets.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 5000
FLASK   = $(BIN)/flask --app run
# apt-get needs root; use sudo when make is not run as root.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help run serve test browser bench bench-dashboard bench-instructions profile screenshots test-postgres lint format check-migrations audit translations assets \
        assets-check translations-extract translations-update clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-22s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Two markers, reinstalled whenever the pinned dependencies change: .installed-run (what
# running needs: `make run` answers sooner without playwright, moto, pip-audit...) and
# .installed-test (the test extras on top). Installing the extras installs the runtime
# dependencies too, so it touches both; a later `make run` then installs nothing.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(VENV)/.installed-run $@

translations: $(VENV)/.installed-run ## Compile the message catalogs (translations/*.po -> .mo)
	$(BIN)/pybabel compile --use-fuzzy -d translations -D messages

# No gunicorn control socket: every instance would share one path (~/.gunicorn), and a
# second `make run` (another PORT or checkout) would take it over from the first.
run: $(VENV)/.installed-run translations ## Install, migrate, create roles/demo/admin, serve on PORT
	$(FLASK) db upgrade
	$(FLASK) cms bootstrap
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl+C stops it)"
	$(BIN)/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - --no-control-socket run:app

# The editor bundle is committed, so `make run` needs no Node; rebuild it after changing
# cms/assets (exact versions from package-lock.json; npm ci needs the npm registry).
assets: ## Rebuild the post editor bundle (cms/static/admin/editor.*) from cms/assets with Node
	cd cms/assets && npm ci --no-audit --no-fund && npm run build

assets-check: ## Fail if the committed editor bundle differs from a fresh build
	cd cms/assets && npm ci --no-audit --no-fund && npm run check

browser: ## Install Debian's chromium for the browser tests when it is missing
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium package for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The suite runs on TEST_WORKERS processes (one database each); the tests that measure time
# or contention (marked `serial`) run afterwards, alone.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test translations browser ## Install and run the whole suite, browser tests included
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "not serial"
	$(BIN)/pytest -q -m serial

test-postgres: ## Run the suite against the local PostgreSQL server
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(MAKE) test

bench: $(VENV)/.installed-test translations ## gunicorn + wrk beside a minimal Flask page, 2,000 and 100,000 posts (BENCH_SIZES, BENCH_SECONDS, BENCH_DATABASE_URL)
	@command -v wrk >/dev/null || { \
		echo "Installing Debian's wrk package for the benchmark"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m tests.benchmarks.http_pages

bench-dashboard: $(VENV)/.installed-test translations ## Server time of the dashboard's lists, history and home at 2,000 and 100,000 posts (BENCH_SIZES, BENCH_REQUESTS, BENCH_DATABASES, BENCH_DATABASE_URL)
	$(BIN)/python -m tests.benchmarks.dashboard_pages

bench-instructions: $(VENV)/.installed-test translations ## Instructions per request of each page (valgrind), 2,000 vs 100,000 posts: a measure that does not vary
	@command -v valgrind >/dev/null || { \
		echo "Installing Debian's valgrind package for the benchmark"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq valgrind >/dev/null; }
	$(BIN)/python -m tests.benchmarks.instructions

profile: $(VENV)/.installed-test translations ## Profile uncached public pages in process (PROFILE_PAGES, PROFILE_POSTS)
	$(BIN)/python -m tests.benchmarks.profile_pages

screenshots: $(VENV)/.installed-test translations browser ## Retake the README's screenshots (tests/browser/screenshots/)
	$(BIN)/python -m tests.browser.readme_screenshots

lint: $(VENV)/.installed-test ## Check style and common bugs (ruff)
	$(BIN)/ruff check cms tests settings.py run.py
	$(BIN)/ruff format --check cms tests settings.py run.py

format: $(VENV)/.installed-test ## Format the code (ruff)
	$(BIN)/ruff check --fix cms tests settings.py run.py
	$(BIN)/ruff format cms tests settings.py run.py

check-migrations: $(VENV)/.installed-run ## Fail if the models and migrations differ
	@tmp=$$(mktemp -d); \
	DATABASE_URL=$${DATABASE_URL:-sqlite:///$$tmp/check.db} INSTANCE_PATH=$$tmp \
		sh -c '$(FLASK) db upgrade >/dev/null && $(FLASK) db check'; \
	status=$$?; rm -rf $$tmp; exit $$status

# Needs the internet (PyPI's vulnerability data), so it is not part of CI.
audit: $(VENV)/.installed-test ## Check the installed, pinned dependencies for known vulnerabilities
	$(BIN)/pip-audit --vulnerability-service pypi --strict --skip-editable --progress-spinner off

translations-extract: $(VENV)/.installed-run ## Collect translatable strings into translations/messages.pot
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file \
		--project=cms -o translations/messages.pot .

translations-update: translations-extract ## Merge new strings into every catalog
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages --no-fuzzy-matching --ignore-obsolete

clean: ## Remove the virtualenv, caches and compiled catalogs (keeps the database)
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
	find translations -name '*.mo' -delete
