# Set-up and everyday commands. Everything installs into .venv from requirements.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test bench deps browser loadbalancer clean-db

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

deps: $(VENV)/.installed

# Debian's chromium for the browser tests (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

## make run: the shop on embedded defaults at http://127.0.0.1:$(PORT), demo data, admin login printed.
run: deps
	PORT=$(PORT) bin/run

## make test: the apps' import layers (.importlinter), then the whole suite on
## PostgreSQL (DATABASE_URL, else a private pgserver).
test: deps browser
	$(VENV)/bin/lint-imports .importlinter --no-cache
	$(PY) -m pytest

# Debian's HAProxy and Redis for the flash-sale benchmark (three web instances behind a balancer).
loadbalancer:
	@{ command -v haproxy || test -x /usr/sbin/haproxy; } >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 || { \
	  echo "Installing Debian's haproxy and redis-server for the flash-sale benchmark"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq haproxy redis-server >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq haproxy redis-server >/dev/null; fi; }

## make bench: the benchmarks under bench/, each printing its figures.
bench: deps loadbalancer
	$(PY) bench/hot_sku.py
	$(PY) bench/pages.py
	$(PY) bench/checkout_flow.py
	$(PY) bench/flash_sale.py

clean-db:
	$(PY) -c "from shop.devdb import stop_private_server; stop_private_server()"
	rm -rf .pgdata .run
