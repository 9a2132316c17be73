# The two commands: `make run` and `make test`. Each sets everything up on a fresh machine.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test setup browser failover-tools atproto axe lint typecheck unit integration e2e bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/payez: $(UV) pyproject.toml uv.lock $(wildcard src/payez/*/*.c)
	$(UV) sync --frozen --quiet
	@touch $@

setup: $(BIN)/payez

# Browser tests drive Debian's Chromium (never a downloaded one); install it only if missing.
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# The failover test runs pg_auto_failover from Debian, for the PostgreSQL version installed.
failover-tools:
	@test -x /usr/bin/pg_autoctl || (apt-get update -qq && \
		apt-get install -y -qq postgresql-$$(ls /etc/postgresql | sort -n | tail -n 1)-auto-failover)

# The Bluesky tests run against the AT Protocol reference network (npm @atproto/dev-env on the
# Node 22 of npm's `node` package), pinned by tests/atproto/package-lock.json. Its SQLite binding
# is rebuilt for that Node against the headers the package ships, so nothing else is downloaded.
ATPROTO := tests/atproto
$(ATPROTO)/node_modules/.installed: $(ATPROTO)/package.json $(ATPROTO)/package-lock.json
	cd $(ATPROTO) && npm ci --no-audit --no-fund --loglevel=error
	cd $(ATPROTO) && PATH="$$PWD/node_modules/.bin:$$PATH" \
		npm_config_nodedir="$$(echo $$PWD/node_modules/node/node_modules/node-linux-*)" \
		npm rebuild better-sqlite3 --loglevel=error
	@touch $@

atproto: $(ATPROTO)/node_modules/.installed

# The accessibility checks run axe-core (npm, pinned by tests/axe/package-lock.json) in Chromium.
AXE := tests/axe
$(AXE)/node_modules/.installed: $(AXE)/package.json $(AXE)/package-lock.json
	cd $(AXE) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

axe: $(AXE)/node_modules/.installed

# PAYEZ_CONFIRM defaults to psd2: `demo seed` prints each member's web login and TOTP secret.
run: setup
	$(BIN)/payez migrate
	$(BIN)/payez demo seed
	$(BIN)/payez serve

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: setup
	$(BIN)/mypy src/payez

# Every test on two processes (pytest-xdist; each test has its own databases, ports and
# PostgreSQL clusters). The end-to-end drills run after the rest: they time kills and restarts,
# so they never share the cores with the quick tests' bursts.
test: setup browser failover-tools atproto axe lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist worksteal tests/unit tests/integration
	$(BIN)/python -m pytest -q -n 2 --dist worksteal tests/e2e

bench: setup
	$(BIN)/payez bench ledger --db sqlite --json
	$(BIN)/payez bench ledger --db postgres --json
	$(BIN)/payez bench parse --json
	$(BIN)/payez bench pipeline --db sqlite --runs 3 --json
	$(BIN)/payez bench pipeline --db postgres --runs 3 --open-loop --workers 2 --json
	$(BIN)/payez bench memory --db postgres --json

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
