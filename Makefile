# The two commands of the README: `make lab` opens JupyterLab on the example notebooks, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_PATH_ENV := PATH=$(abspath $(BIN)):$$PATH
EXTENSION := jupyter_hptune/labextension/package.json
EXTENSION_SOURCES := $(wildcard labextension/src/*.ts labextension/style/*) labextension/package.json
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test bench notebooks clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,examples,dask]"
	# Link the built JupyterLab extension into the venv, so a rebuild ($(EXTENSION) below) shows at once.
	$(NODE_PATH_ENV) $(BIN)/jupyter-builder develop . --overwrite
	touch $(STAMP)

# The JupyterLab extension, rebuilt when its sources change (pip install builds it the first time).
$(EXTENSION): $(STAMP) $(EXTENSION_SOURCES)
	cd labextension && $(NODE_PATH_ENV) jlpm build:prod
	touch $(EXTENSION)

lab: $(EXTENSION)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 $(ALLOW_ROOT)

test: $(EXTENSION)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd labextension && $(NODE_PATH_ENV) jlpm lint:check
	cd labextension && $(NODE_PATH_ENV) jlpm test
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
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results labextension/node_modules labextension/lib jupyter_hptune/labextension
