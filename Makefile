# Every target bootstraps .venv on first use; the stamp is keyed on pyproject.toml
# so a second run installs nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.sha256(open('pyproject.toml','rb').read()).hexdigest()[:16])")
ORDERS ?= 2000
# CLUSTER=1: the demo on a local Valkey Cluster + NATS cluster, with a node killed mid-run.
CLUSTER ?=
BENCH_N ?=
FUZZ_COUNT ?= 20000
FUZZ_SEED ?= 20260512

.PHONY: gen check test demo bench fuzz lint fmt clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

gen: $(STAMP)
	$(BIN)/codegen gen

check: $(STAMP)
	$(BIN)/codegen check
	$(BIN)/codegen gen --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy codegen runtime generated services bench

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m services.demo --orders $(ORDERS)$(if $(CLUSTER), --cluster,)

bench: $(STAMP)
	@$(BIN)/python -c "import faststream" 2>/dev/null || $(BIN)/python -m pip install --quiet 'faststream[redis,nats]==0.7.8' || echo "bench: FastStream not installed; its column is skipped"
	$(BIN)/python -m bench $(if $(BENCH_N),--n $(BENCH_N),)

# Long differential fuzz of the compatibility gate (FUZZ_COUNT strict pairs, a fifth as
# many runtime pairs); failures are minimized into tests/compat/fuzz/regressions.json.
# Then render/direct.py against datamodel-code-generator over FUZZ_COUNT/4 model inputs.
fuzz: $(STAMP)
	$(BIN)/python -m tests.compat.fuzz --count $(FUZZ_COUNT) --seed $(FUZZ_SEED)
	$(BIN)/python -m tests.codegen.direct_fuzz --count $$(( $(FUZZ_COUNT) / 4 )) --seed $(FUZZ_SEED)

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
