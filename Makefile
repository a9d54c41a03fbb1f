# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test lint bench train-classifier reliability clean

install: $(VENV)/.installed

# Re-installs only when pyproject.toml changes, so repeated `make test` is quick.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check routerapp dashboard tests
	$(BIN)/ruff format --check routerapp dashboard tests
	$(BIN)/mypy

bench: install
	bench/run.sh

# Rebuilds routerapp/optimizer/detector.npz from the training data and prints the dev-set report.
train-classifier: install
	$(BIN)/python -m routerapp.optimizer.training.train --dev tests/data/detect_dev.jsonl

# Fault matrix, a SOAK_S-second soak with 5 % upstream faults, SIGTERM under load: prints a table.
SOAK_S ?= 300
reliability: install
	$(BIN)/python bench/reliability.py --soak-s $(SOAK_S)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* test-artifacts
