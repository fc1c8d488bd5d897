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

# Re-run the example notebooks and save them with their outputs.
notebooks: $(STAMP)
	cd notebooks && OMP_NUM_THREADS=1 ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace *.ipynb
	rm -rf notebooks/.hptune

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
