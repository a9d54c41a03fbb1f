# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test lint bench train-classifier reliability clean

# A .venv made by another (or a since-removed) Python is rebuilt rather than reused.
ifneq ($(wildcard $(VENV)/.installed),)
ifneq ($(shell $(BIN)/python -c 'import sys; print(sys.version_info >= (3, 11))' 2>/dev/null),True)
$(info $(VENV) was made by a Python that is missing or older than 3.11: rebuilding it)
$(shell rm -rf $(VENV))
endif
endif

install: $(VENV)/.installed

# Re-installs only when pyproject.toml changes, so repeated `make test` is quick.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Secrets for this checkout, made once, readable by their owner only (settings.py reads them).
.local/secret_key: | $(VENV)/.installed
	@mkdir -p -m 700 .local
	@umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

.local/encryption_key: | $(VENV)/.installed
	@mkdir -p -m 700 .local
	@umask 077 && $(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > $@

run: install .local/secret_key .local/encryption_key
	$(BIN)/python manage.py migrate --noinput -v 0
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py demo
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
# The prompt clusters are fitted in the detector's feature space: always refitted with it.
train-classifier: install
	$(BIN)/python -m routerapp.optimizer.training.train --dev tests/data/detect_dev.jsonl
	$(BIN)/python -m routerapp.optimizer.training.clusters

# Fault matrix, a SOAK_S-second soak with 5 % upstream faults, SIGTERM under load: prints a table.
SOAK_S ?= 300
reliability: install
	$(BIN)/python bench/reliability.py --soak-s $(SOAK_S)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* test-artifacts  # .local/ (secrets, demo credentials) is kept
