# rds-bluegreen: the two commands a newcomer needs are `make demo` and `make test`.
# Everything else they need (Python venvs, the emulator, asl-validator) is installed here.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
VENV      := .venv
PY        := $(VENV)/bin/python
INFRA_VENV := .venv-infra
NODE      ?= node
ASL_VALIDATOR := tests/sfn/node_modules/.install-stamp
CARGO     ?= cargo
# pytest-xdist workers for the end-to-end suite, one emulator + Lambda service each (measured
# fastest on the 2-core machine; see README "Local runs").
E2E_WORKERS ?= 3

.PHONY: help test test-fast demo demo-bins fmt clippy execute emulator lint lint-rust unit asl asl-check e2e bins build bench deploy deploy-guided destroy tools clean db-packages db-test

help:
	@echo "make demo                    upgrade a PostgreSQL 13 instance to 16 on the embedded emulator, end to end"
	@echo "make test                    every test: fmt, clippy, unit, ASL validation, emulator and end-to-end, infra lint"
	@echo "make test-fast               the developer's loop: make test without clippy, the infra lint and the slow e2e tests"
	@echo "make execute INPUT=file.json one execution of the real state machine (AWS_ENDPOINT_URL or its own emulator)"
	@echo "make emulator                the extended AWS emulator on http://127.0.0.1:5055, in the foreground"
	@echo "make asl                     write statemachine/*.asl.json from statemachine/source.py, and validate them"
	@echo "make build                   deployable arm64 bootstrap files (cargo lambda) in target/lambda/<name>/"
	@echo "make bench                   release builds, cold start, memory, latency, sizes, cost per upgrade -> bench/results.md"
	@echo "make db-test                 the sql worker's tests against throwaway PostgreSQL 15 and MariaDB servers"
	@echo "make deploy | destroy        deploy with the SAM CLI (see infra/README.md)"

# ---------------------------------------------------------------- tools
$(VENV)/.installed: tests/emulator/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/emulator/requirements.txt
	touch $@

$(ASL_VALIDATOR): tests/sfn/package.json tests/sfn/package-lock.json
	bash tests/sfn/install.sh

tools: $(VENV)/.installed $(ASL_VALIDATOR)

# The sql worker's tests run against real servers (tests/db/servers.py starts throwaway ones in a
# temp directory, on loopback ports, and stops them): PostgreSQL 15, MariaDB, and the extensions
# that matter to logical replication. Installed from Debian's packages when missing (as root, as
# CI runs; no service is started); a no-op when they are there.
DB_SERVERS := BLUEGREEN_REQUIRE_DB_SERVERS=1 python3 tests/db/servers.py run --
DB_PACKAGES_REQUIRED := postgresql-15:/usr/lib/postgresql/15/bin/initdb mariadb-server:/usr/sbin/mariadbd
DB_PACKAGES_OPTIONAL := postgresql-15-cron:/usr/share/postgresql/15/extension/pg_cron.control \
	postgresql-15-partman:/usr/share/postgresql/15/extension/pg_partman.control \
	postgresql-15-pglogical:/usr/share/postgresql/15/extension/pglogical.control

db-packages:
	@missing=""; for p in $(DB_PACKAGES_REQUIRED) $(DB_PACKAGES_OPTIONAL); do \
	  [ -e "$${p#*:}" ] || missing="$$missing $${p%%:*}"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing$$missing (Debian packages, for the sql worker's test servers)"; \
	  rcd=/usr/sbin/policy-rc.d; [ -e $$rcd ] || { printf '#!/bin/sh\nexit 101\n' > $$rcd; chmod +x $$rcd; trap "rm -f $$rcd" EXIT; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	elif [ -n "$$missing" ]; then \
	  for p in $(DB_PACKAGES_REQUIRED); do [ -e "$${p#*:}" ] || { echo "make: the sql tests need $${p%%:*} (apt-get install$$missing)" >&2; exit 1; }; done; \
	  echo "make: without$$missing the pg_cron/pglogical/pg_partman checks are not seeded" >&2; \
	fi

db-test: db-packages
	$(DB_SERVERS) $(CARGO) test --locked -p bluegreen-sql

# The worker binaries the local Lambda service runs, and rbg (target/debug/rbg) that
# tests/e2e/test_cli.py drives.
bins:
	$(CARGO) build --locked --bins

# What the demo runs: the step workers and rbg (not the sql worker and its database clients).
demo-bins:
	$(CARGO) build --locked -p bluegreen-workers -p bluegreen-cli --bins

# ---------------------------------------------------------------- the two main commands
# The venv installs while cargo builds (pip waits on the network, cargo on the CPU).
demo:
	@$(MAKE) --no-print-directory -j2 $(VENV)/.installed demo-bins
	cd tests/e2e && ../../$(PY) demo.py

# Lanes beside the foreground suites (tests/suite_times.sh, which prints the seconds of each):
# from the start, what mostly waits on the network (the venv, asl-validator) and the infra lint;
# with the end-to-end suite, which leaves a quarter of the CPU idle while it polls, clippy.
# BINS_BUILT: the foreground built the binaries just before, so the e2e suite does not take the
# cargo lock clippy holds.
test:
	@BINS_BUILT=1 MAKE="$(MAKE)" tests/suite_times.sh --beside tools,asl-check,lint \
	  fmt unit bins --join --beside clippy e2e
	@echo "make test: all suites passed"

# ---------------------------------------------------------------- suites
lint-rust: fmt clippy

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --locked --all-targets -- -D warnings

unit: db-packages
	$(DB_SERVERS) $(CARGO) test --locked --workspace

# The definitions are generated from statemachine/source.py; `make asl` writes them, CI checks
# that the committed ones are what the source generates, then validates them.
asl: $(ASL_VALIDATOR)
	python3 statemachine/build.py
	$(NODE) tests/sfn/node_modules/.bin/asl-validator $(foreach f,$(wildcard statemachine/*.asl.json),--json-path $(f))

asl-check: $(ASL_VALIDATOR)
	python3 statemachine/build.py --check
	$(NODE) tests/sfn/node_modules/.bin/asl-validator $(foreach f,$(wildcard statemachine/*.asl.json),--json-path $(f))

# The state machines run on the emulator's Step Functions (moto's interpreter), not on Node.
# BLUEGREEN_REQUIRE_DB_SERVERS: the real-database tests fail, naming what is missing, instead of
# skipping (db-packages installs the servers).
E2E_PYTEST = BLUEGREEN_REQUIRE_DB_SERVERS=1 $(PY) -m pytest -q -p no:cacheprovider -n $(E2E_WORKERS) --dist worksteal
e2e: $(VENV)/.installed $(if $(BINS_BUILT),,bins) db-packages
	$(E2E_PYTEST) tests/emulator tests/e2e

# A developer's loop: everything but clippy, the infra lint and the end-to-end tests marked
# slow (the fleets of 21, 40 and 200 databases, throttling everywhere, …: `pytest.mark.slow` in
# tests/e2e). `make test` runs all of it, CI too.
test-fast: fmt unit asl-check $(VENV)/.installed bins db-packages
	$(E2E_PYTEST) -m "not slow" tests/emulator tests/e2e

lint:
	infra/lint.sh $(INFRA_VENV)

# ---------------------------------------------------------------- local runs
execute: $(VENV)/.installed bins
	@test -n "$(INPUT)" || { echo "usage: make execute INPUT=path/to/input.json" >&2; exit 2; }
	@cd tests/e2e && ../../$(PY) execute.py --input "$(abspath $(INPUT))"

emulator: $(VENV)/.installed
	$(PY) tests/emulator/launcher.py --port 5055

# ---------------------------------------------------------------- deployment
$(VENV)/.cargo-lambda: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check cargo-lambda==1.9.2 ziglang==0.13.0
	touch $@

build: $(VENV)/.cargo-lambda
	PATH="$(abspath $(VENV))/bin:$$PATH" $(CARGO) lambda build --release --arm64 --locked
	@# The sql function verifies databases against the RDS CA bundle shipped in its package
	@# (DatabaseCaBundlePath, default /var/task/global-bundle.pem): make build RDS_CA_BUNDLE=path/to/global-bundle.pem
	@if [ -n "$(RDS_CA_BUNDLE)" ]; then cp "$(RDS_CA_BUNDLE)" target/lambda/sql/global-bundle.pem; fi

# ---------------------------------------------------------------- benchmark
# Builds with cargo lambda (x86_64 to measure here, arm64 to deploy) into CARGO_TARGET_DIR
# (default target/), measures, writes bench/results.md. BENCH_ARGS="--skip-build" reuses the builds.
bench: tools $(VENV)/.cargo-lambda db-packages
	$(PY) bench/run.py $(BENCH_ARGS)

deploy-guided deploy destroy:
	$(MAKE) -C infra $@

clean:
	rm -rf $(VENV) $(INFRA_VENV) tests/sfn/node_modules target
