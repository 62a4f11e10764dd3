# Two commands do all the set-up on a fresh machine that has Python 3.11:
#   make demo   — environment, install, SQLite demo with sample roster and accounts, serve on :8000
#                 (another port: make demo PORT=8080; the printed URLs and the links in
#                 e-mails follow it)
#   make test   — environment, install, run the tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin
PORT ?= 8000
DEMO_SITE_URL ?= http://127.0.0.1:$(PORT)
DEMO_ENV = DJANGO_DEBUG=true EDUCONNECT_SITE_URL=$(DEMO_SITE_URL)

.PHONY: install peers demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEMO_ENV) $(BIN)/python manage.py import_roster demo/roster.csv
	$(DEMO_ENV) $(BIN)/python manage.py demo_accounts
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The real peers of the SSO tests (tests/peers/*/, npm projects with a lock file), when npm
# is installed; without it those tests are skipped with their reason (a failure under CI=true).
peers:
	@if command -v npm >/dev/null 2>&1; then for peer in tests/peers/*/; do \
	  if [ -f "$$peer/package-lock.json" ] && [ ! "$$peer/node_modules/.package-lock.json" -nt "$$peer/package-lock.json" ]; then \
	    (cd "$$peer" && npm ci --no-audit --no-fund --loglevel=error) || exit 1; fi; done; fi

# The suite runs in PYTEST_WORKERS processes (pytest-xdist; tests/parallel.py gives each its
# own Redis databases, pytest-django its own test database); PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2

test: install peers
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var staticfiles
