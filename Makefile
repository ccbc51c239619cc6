# crmsim developer tasks. `make demo`, `make test` and `make lab` are the
# entry points documented in the README; each one creates .venv on first use.

PY ?= python3
# The oldest Python crmsim runs on: requires-python in pyproject.toml
# (tests/test_makefile.py keeps the two the same).
PY_FLOOR := 3.12
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.crmsim-installed
CONSTRAINTS := requirements/constraints.txt
EXTRAS := lab,test,dev,dask,app
# Twice quiet: pip's progress and notices, and the build backend's notes about an
# editable install of a package with a mapped folder (crmsim.notebooks), stay out
# of a normal run; errors are still shown.
PIP := $(BIN)/python -m pip --quiet --quiet --disable-pip-version-check

comma := ,
# Exit status 0 when the interpreter $(1) is Python $(PY_FLOOR) or newer.
PY_AT_LEAST_FLOOR = $(1) -c 'import sys; sys.exit(sys.version_info < ($(subst .,$(comma),$(PY_FLOOR)),))'
# True when .venv holds a working interpreter that is new enough.
VENV_OK := $(call PY_AT_LEAST_FLOOR,$(BIN)/python) >/dev/null 2>&1
# "yes" when .venv must be (re)built: missing, moved, or made by an older Python.
VENV_BROKEN = $(shell $(VENV_OK) || echo yes)
# Empty when $(PY) can build .venv; otherwise what is wrong with it, and the fix.
# (A .venv that does not work is left as it is: the next run with a newer Python
# replaces it, and `make clean` removes it.)
PY_PROBLEM = $(shell $(call PY_AT_LEAST_FLOOR,$(PY)) >/dev/null 2>&1 || { \
	found=$$($(PY) --version 2>/dev/null) || found="not a command that runs here"; \
	left=""; test -e $(VENV) && left=". The $(VENV) here does not work: make clean removes it"; \
	echo "crmsim needs Python $(PY_FLOOR) or newer, but PY=$(PY) is $$found;" \
	"nothing was installed. Give make a newer Python:" \
	"make $(or $(MAKECMDGOALS),venv) PY=python$(PY_FLOOR)" \
	"(with pyenv: pyenv install $(PY_FLOOR), and .python-version selects it;" \
	"with conda: conda env create -f environment.yml, then conda activate crmsim)$$left"; })

.PHONY: venv demo test lab app bench lint notebooks lock clean docs FORCE

venv: $(VENV_STAMP)

# Rebuilt when the inputs change, or at once when .venv is broken. A $(PY) that
# is too old stops make before anything is created: pip would refuse the project
# only after a .venv had been built with it. A .venv whose creation failed is
# removed rather than left half made.
$(VENV_STAMP): pyproject.toml $(CONSTRAINTS) $(if $(VENV_BROKEN),FORCE)
	$(if $(VENV_BROKEN),$(if $(PY_PROBLEM),$(error $(PY_PROBLEM))))
	@if ! $(VENV_OK); then \
		echo "creating $(VENV) with $$($(PY) --version 2>&1)"; \
		rm -rf $(VENV) && $(PY) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	fi
	@echo "installing crmsim[$(EXTRAS)] into $(VENV) (pinned by $(CONSTRAINTS))"
	@$(PIP) install --upgrade pip
	@$(PIP) install -c $(CONSTRAINTS) -e '.[$(EXTRAS)]'
	@touch $@

FORCE:

demo: venv
	$(BIN)/crmsim compare crmsim/scenarios/baseline.yaml crmsim/scenarios/loyalty_program.yaml \
		crmsim/scenarios/fire_marginal_customers.yaml --replications 10 --seed 2026 --out out/demo

test: venv
	$(BIN)/python -m pytest --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider tests notebooks

lab: venv
	$(BIN)/jupyter lab notebooks/

# The strategy lab web page on http://127.0.0.1:8765 (PORT=... for another port).
PORT ?= 8765
app: venv
	$(BIN)/crmsim app --port $(PORT)

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
	$(if $(PY_PROBLEM),$(error $(PY_PROBLEM)))
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
