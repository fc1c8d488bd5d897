# The two commands of the README: `make lab` opens JupyterLab on the example notebooks, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test bench notebooks clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,examples]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 $(ALLOW_ROOT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/branin.py

# Re-run the example notebooks at their full budgets and save them with their outputs and widget state,
# printing how long each took; a study file left from earlier runs would change what the notebooks print.
notebooks: $(STAMP)
	rm -rf notebooks/.hptune
	cd notebooks && for notebook in *.ipynb; do \
		start=$$(date +%s); \
		env -u HPTUNE_QUICK OMP_NUM_THREADS=1 ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.store_widget_state=True --ExecutePreprocessor.timeout=600 "$$notebook" || exit 1; \
		echo "$$notebook: $$(( $$(date +%s) - start )) s"; \
	done
	rm -rf notebooks/.hptune

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
