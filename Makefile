# Parley: `make run` brings the platform up; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test test-embedded install lint chromium clean

$(VENV)/.installed: pyproject.toml client/pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet -e client/
	touch $@

install: $(VENV)/.installed

run: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup
	$(PY) manage.py run_platform --port $(PORT)

# Debian's Chromium for the browser tests (Playwright's own download cannot work offline).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
	      || echo "could not install chromium: browser tests will skip"; \
	  else echo "no /usr/bin/chromium: browser tests will skip (apt-get install chromium)"; fi; \
	fi

test: install chromium
	@mkdir -p var
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n 2 --dist loadgroup

# The end-to-end tests once more on the embedded default (SQLite + django-q2's ORM broker), for CI,
# whose `make test` runs on PostgreSQL + Redis.
test-embedded: install
	@mkdir -p var
	env -u DATABASE_URL -u REDIS_URL REQUIRE_SERVICES= $(PY) -m pytest -n 2 tests/e2e/test_local_still.py tests/e2e/test_seed_models.py tests/jobs/test_transitions.py

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) var/test-*
