# jishijiu — two commands: `make run` (set up + run the product) and `make test` (set up + run the tests).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export JISHIJIU_DATABASE_URL ?= sqlite:///var/jishijiu.db

.PHONY: run test setup setup-test browser-deps web-assets translations clean
ASSETS = web/static/vendor/bpmn-js/bpmn-viewer.production.min.js

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed web-assets translations

setup-test: $(VENV)/.installed-test web-assets translations

## page translations: compile web/translations/*/LC_MESSAGES/messages.po (the app also does it on start)
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d web/translations

## bpmn-js from the npm registry (optional: without npm the pages draw diagrams server-side)
web-assets: $(ASSETS)

$(ASSETS): web/assets/package.json web/assets/package-lock.json
	bash scripts/web-assets.sh

## make run: venv, install, migrate the SQLite database, load the demo data, start web + scheduler
run: setup
	$(BIN)/jishijiu db upgrade
	$(BIN)/jishijiu demo
	$(BIN)/jishijiu run --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

## make test: venv, install with test extras, browser dependencies, then the whole suite
test: setup-test browser-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

browser-deps:
	@bash scripts/browser-deps.sh

clean:
	rm -rf $(VENV) var build *.egg-info web/assets/node_modules web/static/vendor
