# CareAlign: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_SERVE ?= 1
DEMO_ADDR ?= 127.0.0.1:8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/carealign
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test lint services clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU wheel first: an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0 || $(PIP) install -q "torch>=2.4"
	$(PIP) install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# PostgreSQL and Redis for the test suite: start them if stopped, install them if missing;
# Debian's Chromium for the portal's browser tests (Playwright drives it; never `playwright install`).
services:
	@if ! command -v pg_ctlcluster >/dev/null || ! command -v redis-server >/dev/null \
	    || ! command -v pdftotext >/dev/null || ! ldconfig -p | grep -q libharfbuzz-subset \
	    || ! test -x /usr/bin/chromium \
	    || ! command -v qpdf >/dev/null || ! test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc; then \
	  echo "Installing PostgreSQL, Redis, poppler-utils, HarfBuzz subsetting, Chromium, qpdf and Noto CJK with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    postgresql redis-server poppler-utils libharfbuzz-subset0 chromium qpdf fonts-noto-cjk >/dev/null; \
	fi
	@if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "Starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	@if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	  echo "Starting Redis"; mkdir -p /var/lib/redis /var/log/redis; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir /var/lib/redis --logfile /var/log/redis/carealign.log; \
	  for i in $$(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; \
	fi
	@if ! psql -h 127.0.0.1 -U postgres -Atc "SELECT 1" >/dev/null 2>&1; then \
	  echo "Allowing local trust authentication for the postgres role (development machine)"; \
	  hba=$$(su postgres -c "psql -Atc 'SHOW hba_file'"); \
	  sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$$hba"; \
	  su postgres -c "psql -c 'SELECT pg_reload_conf()'" >/dev/null; \
	fi
	@psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'carealign'" \
	  | grep -q 1 || createdb -h 127.0.0.1 -U postgres carealign
	@pg_isready -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

# The embedded default: a real Celery worker (gpu and default queues, with beat inside for the
# sweeper and schedules) beside the web server, on a broker and result backend in local files
# (var/celery, the SQLite database); its log is var/worker.log. Stopped when make ends.
demo: install
	$(PY) manage.py migrate --noinput
	@$(VENV)/bin/celery -A governance worker --beat -Q gpu,default --concurrency 2 -n demo@%h \
	    --loglevel INFO > var/worker.log 2>&1 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  echo "Celery worker started (pid $$worker, log var/worker.log)"; \
	  $(PY) manage.py demo || exit 1; \
	  if [ "$(DEMO_SERVE)" = 1 ]; then \
	    echo "Serving on http://$(DEMO_ADDR)/  (portal: /, admin: /admin/, API docs: /api/docs/)"; \
	    $(PY) manage.py runserver --noreload $(DEMO_ADDR); \
	  fi

test: install services lint
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) CAREALIGN_TEST_BROKER_URL=$(TEST_BROKER_URL) \
	  $(VENV)/bin/pytest -q --create-db

clean:
	rm -rf $(VENV) var
