# One command each, on a fresh machine:
#   make timeline   set up .venv and run the 2024-2026 timeline -> results/timeline-2024-2026/
#   make test       set up .venv and run the test suite (what CI runs)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: timeline test bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	py=$$(scripts/find-python) && "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

timeline: $(STAMP)
	$(BIN)/chipsim run scenarios/timeline-2024-2026.yaml --force

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results/*/
