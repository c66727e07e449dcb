# MedSettle: `make demo` runs the demo, `make test` runs the whole test suite.
# Both create the virtual environment from the lock file on first use.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export MEDSETTLE_PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: demo test bench bench-policy bench-federation bench-transport bench-clearing bench-ledger bench-supervision postgres browser clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/medsettle demo

postgres:
	scripts/ensure-postgres

# The browser tests drive Debian's chromium (never a browser downloaded by Playwright) and need a
# CJK font for the console's screenshots; installed here when missing, loudly failing otherwise.
browser:
	@test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "installing Debian's chromium and a CJK font for the browser tests" >&2; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-zenhei; }
	@test -x /usr/bin/chromium || { echo "FATAL: /usr/bin/chromium is missing and could not be installed" >&2; exit 1; }

# Byte-compiled once before the run: where PYTHONDONTWRITEBYTECODE is set (as on CI machines),
# every node process the tests start would otherwise compile the whole package again (≈ 0.5 s).
# Three pytest workers, one test file each at a time (module fixtures stay whole): most tests wait
# on node processes, PostgreSQL or the browser, so three overlap well on two cores.
test: $(STAMP) postgres browser
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m compileall -q src tests
	$(BIN)/mypy
	$(BIN)/pytest -q -n 3 --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/bench_settle.py

bench-policy: $(STAMP)
	$(BIN)/python bench/bench_policy_load.py

bench-federation: $(STAMP) postgres
	$(BIN)/python bench/bench_federation.py --seconds 20

bench-transport: $(STAMP)
	$(BIN)/python bench/bench_transport.py --seconds 10

bench-clearing: $(STAMP) postgres
	$(BIN)/python bench/bench_clearing.py --pg-url $(MEDSETTLE_PG_URL)

bench-ledger: $(STAMP) postgres
	$(BIN)/python bench/bench_ledger.py --pg-url $(MEDSETTLE_PG_URL)

bench-supervision: $(STAMP)
	$(BIN)/python bench/bench_supervision.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis
