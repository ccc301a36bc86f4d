# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test lint format messages clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

## run: the local stack (Temporal dev server + Web UI, SMTP catcher, worker, portal) and the
## live demo (the example programme in demo time, simulated people) until Ctrl-C
run: $(STAMP)
	$(BIN)/grantflow dev --demo

## test: ruff and the whole test suite
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## messages: bring the text catalogues (grantflow/locale/*/LC_MESSAGES/grantflow.po) in line
## with the words in the code and templates; then translate what is new in both languages
messages: $(STAMP)
	$(BIN)/python -m grantflow.i18n

clean:
	rm -rf .grantflow test-artifacts
