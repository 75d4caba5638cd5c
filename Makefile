# One command each, on a fresh machine:
#   make timeline   set up .venv and run the 2024-2026 timeline -> results/timeline-2024-2026/
#   make test       set up .venv and run the test suite (what CI runs)
#   make app        the classroom dashboard;  make notebooks  JupyterLab on notebooks/
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: timeline test bench app notebooks setup clean chromium

setup: $(STAMP)

$(STAMP): pyproject.toml
	py=$$(scripts/find-python) && "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

timeline: $(STAMP)
	$(BIN)/chipsim run scenarios/timeline-2024-2026.yaml --force

test: $(STAMP) chromium
	$(BIN)/python -m pytest

# The dashboard test drives Debian's chromium (Playwright's own browser download fails offline).
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

app: $(STAMP)
	$(BIN)/chipsim app

notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet "jupyterlab>=4"
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results/*/
