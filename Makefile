# gamification: a PostgreSQL extension for badges, points and unlockables.
#
#   make demo     run the scripted demo on an embedded PostgreSQL 18 (no root, no system server)
#   make test     install what the tests need (Debian, npm), check generated SQL, run the whole suite
#   make install  install into the server of PG_CONFIG (PGXS; DESTDIR works)
#   make build    render sql/ into extension/ (needs the virtualenv)
#   make reference  build, then regenerate docs/reference.md from the extension's COMMENTs
#   make serve    a throwaway PostgreSQL 18 with the extension, until Ctrl-C
#   make bench    measure what trigger badges cost: bench/ (BENCH_ARGS="--quick" for a smoke run)
#   make dist     from the committed tree (HEAD): dist/gamification-<version>.zip for PGXN, and the
#                 Python wheel and sdist (pip install dist/gamification-<version>-py3-none-any.whl)

EXTENSION = gamification
DATA = $(wildcard extension/$(EXTENSION)--*.sql)
PG_CONFIG ?= pg_config

PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

# Debian packages the test suite needs: PostgreSQL 15, pgTAP, pg_prove and plpgsql_check.
TEST_PACKAGES = postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl postgresql-15-plpgsql-check

.DEFAULT_GOAL := all
.PHONY: all venv build reference demo serve bench dist test test-deps node-deps

all:
	@echo "Nothing to compile: the extension is pure SQL. Try 'make demo', 'make test' or 'make install'."

$(BIN)/gamification: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[embedded,django,test]'
	@touch $@

venv: $(BIN)/gamification

build: venv
	$(BIN)/gamification build

reference: build
	$(BIN)/gamification reference

demo: venv
	$(BIN)/gamification build
	$(BIN)/gamification demo

serve: venv
	$(BIN)/gamification serve

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

test-deps:
	@missing=""; \
	for p in $(TEST_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "make test needs these Debian packages:$$missing"; \
			echo "install them with:  sudo apt-get install$$missing"; \
			exit 1; \
		fi; \
	fi

# The Node consumer example's npm packages (pg), for tests/test_event_clients.py, which runs
# it with node: `npm ci` from the committed lock when node_modules is missing or older than
# the lock. No node or npm: installed from Debian as root; otherwise that test is skipped.
NODE_EXAMPLE = examples/node

node-deps:
	@missing=""; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
		else \
			echo "note: the Node consumer test needs node and npm (sudo apt-get install$$missing); without node it is skipped"; \
			exit 0; \
		fi; \
	fi; \
	stamp=$(NODE_EXAMPLE)/node_modules/.package-lock.json; \
	if [ ! -e $$stamp ] || [ $(NODE_EXAMPLE)/package-lock.json -nt $$stamp ]; then \
		echo "npm ci --prefix $(NODE_EXAMPLE)"; \
		npm ci --prefix $(NODE_EXAMPLE) --no-audit --no-fund --ignore-scripts --loglevel=error; \
	fi

test: test-deps node-deps venv
	$(BIN)/gamification check
	$(BIN)/pytest

# The distribution: `git archive` of HEAD, so only committed files (never .venv, dist/
# or uncommitted work). The version is the control file's default_version. The wheel and
# sdist are built from that same archive (python -m build, the sdist first, the wheel from
# it), with BUILD_PYTHON (default: the virtualenv's, made if missing).
DIST_VERSION := $(shell sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)
DIST_ZIP = dist/$(EXTENSION)-$(DIST_VERSION).zip
BUILD_PYTHON ?= $(BIN)/python

dist:
	@test -n "$(DIST_VERSION)" || { echo "no default_version in $(EXTENSION).control"; exit 1; }
	@git diff --quiet HEAD 2>/dev/null || echo "note: uncommitted changes are not in the archive (it is HEAD)"
	@mkdir -p dist
	git archive --format=zip --prefix=$(EXTENSION)-$(DIST_VERSION)/ --output=$(DIST_ZIP) HEAD
	@echo "wrote $(DIST_ZIP)"
	@test -x "$(BUILD_PYTHON)" || $(MAKE) venv
	@tree=$$(mktemp -d) && git archive --format=tar HEAD | tar -x -C "$$tree" && \
		"$(BUILD_PYTHON)" -m build --no-isolation --outdir "$(CURDIR)/dist" "$$tree"; \
		status=$$?; rm -rf "$$tree"; exit $$status

# PGXS provides install/uninstall. It is only there when the server's development
# files are (Debian: postgresql-server-dev-NN); the wheel's pg_config has them too.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
install uninstall:
	@echo "PGXS not found for PG_CONFIG=$(PG_CONFIG)."
	@echo "Install your server's development package (Debian: postgresql-server-dev-NN),"
	@echo "pass PG_CONFIG=/path/to/pg_config, or run: $(BIN)/gamification install --pg-config PATH"
	@exit 1
endif
