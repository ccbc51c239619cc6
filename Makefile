# crmsim developer tasks. `make demo`, `make test` and `make lab` are the
# entry points documented in the README; each one creates .venv on first use.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.crmsim-installed
CONSTRAINTS := requirements/constraints.txt
EXTRAS := lab,test,dev,dask
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# True when .venv holds a working interpreter that is Python >= 3.12.
VENV_OK := $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1

.PHONY: venv demo test lab bench lint notebooks lock clean docs

# A broken .venv (moved, or its interpreter gone) invalidates the stamp so
# the rule below rebuilds it; otherwise reinstall only when the inputs change.
venv:
	@$(VENV_OK) || rm -f $(VENV_STAMP)
	@$(MAKE) --no-print-directory --silent $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml $(CONSTRAINTS)
	@if ! $(VENV_OK); then \
		echo "creating $(VENV) with $$($(PY) --version 2>&1)"; \
		rm -rf $(VENV) && $(PY) -m venv $(VENV); \
	fi
	@echo "installing crmsim[$(EXTRAS)] into $(VENV) (pinned by $(CONSTRAINTS))"
	@$(PIP) install --upgrade pip
	@$(PIP) install -c $(CONSTRAINTS) -e '.[$(EXTRAS)]'
	@touch $@

demo: venv
	$(BIN)/crmsim compare crmsim/scenarios/baseline.yaml crmsim/scenarios/loyalty_program.yaml \
		crmsim/scenarios/fire_marginal_customers.yaml --replications 10 --seed 2026 --out out/demo

test: venv
	$(BIN)/python -m pytest --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider tests notebooks

lab: venv
	$(BIN)/jupyter lab notebooks/

bench: venv
	$(BIN)/crmsim bench

# ruff, then the layers contract of pyproject.toml ([tool.importlinter]).
lint: venv
	$(BIN)/ruff check crmsim tests benchmarks
	$(BIN)/lint-imports

# Re-execute every notebook top to bottom in a fresh kernel and save the outputs.
notebooks: venv
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.kernel_name=python3 notebooks/*.ipynb

# Resolve the newest versions allowed by pyproject.toml in a throwaway venv
# and pin them all in $(CONSTRAINTS).
lock:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "resolving dependencies in a throwaway venv ($$($(PY) --version 2>&1))"; \
	$(PY) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip --quiet --disable-pip-version-check install --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip --quiet --disable-pip-version-check install -e '.[$(EXTRAS)]'; \
	{ \
		echo "# Pinned versions of every package installed by \`pip install -e '.[$(EXTRAS)]'\`"; \
		echo "# on Python 3.12. \`make venv\` installs with \`-c $(CONSTRAINTS)\`"; \
		echo "# so that simulation results and notebook outputs are reproducible."; \
		echo "#"; \
		echo "# Regenerate (after changing dependencies in pyproject.toml) with:"; \
		echo "#     make lock"; \
		"$$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -v -E '^-e |file://'; \
	} > "$$tmp/constraints.txt"; \
	mv "$$tmp/constraints.txt" $(CONSTRAINTS); \
	echo "wrote $(CONSTRAINTS)"

clean:
	rm -rf $(VENV) out build *.egg-info

# Regenerate the settings reference in crmsim/scenarios/README.md from crmsim/config (make docs).
docs: venv
	$(BIN)/python -c "from crmsim.config.docs import update_scenario_readme as u; u('crmsim/scenarios/README.md')"
