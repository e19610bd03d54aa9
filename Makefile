# Set-up, run and test the CMS. `make help` lists the targets.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 5000
FLASK   = $(BIN)/flask --app run

.DEFAULT_GOAL := help
.PHONY: help run serve test test-postgres lint format check-migrations translations \
        translations-extract translations-update clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-22s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the pinned dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

translations: $(VENV)/.installed ## Compile the message catalogs (translations/*.po -> .mo)
	$(BIN)/pybabel compile --use-fuzzy -d translations -D messages

run: $(VENV)/.installed translations ## Install, migrate, create roles/demo/admin, serve on PORT
	$(FLASK) db upgrade
	$(FLASK) cms bootstrap
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl+C stops it)"
	$(BIN)/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - run:app

test: $(VENV)/.installed translations ## Install and run the whole test suite (SQLite; TEST_DATABASE_URL for another)
	$(BIN)/pytest -q

test-postgres: ## Run the suite against the local PostgreSQL server
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(MAKE) test

lint: $(VENV)/.installed ## Check style and common bugs (ruff)
	$(BIN)/ruff check cms tests settings.py run.py
	$(BIN)/ruff format --check cms tests settings.py run.py

format: $(VENV)/.installed ## Format the code (ruff)
	$(BIN)/ruff check --fix cms tests settings.py run.py
	$(BIN)/ruff format cms tests settings.py run.py

check-migrations: $(VENV)/.installed ## Fail if the models and migrations differ
	@tmp=$$(mktemp -d); \
	DATABASE_URL=$${DATABASE_URL:-sqlite:///$$tmp/check.db} INSTANCE_PATH=$$tmp \
		sh -c '$(FLASK) db upgrade >/dev/null && $(FLASK) db check'; \
	status=$$?; rm -rf $$tmp; exit $$status

translations-extract: $(VENV)/.installed ## Collect translatable strings into translations/messages.pot
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file \
		--project=cms -o translations/messages.pot .

translations-update: translations-extract ## Merge new strings into every catalog
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages --no-fuzzy-matching

clean: ## Remove the virtualenv, caches and compiled catalogs (keeps the database)
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
	find translations -name '*.mo' -delete
