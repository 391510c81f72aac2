# Recoup: `make run` starts the platform locally; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: install run test bench token import-book clean browser infra package

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

browser:
	@bash scripts/ensure-chromium.sh

run: install
	$(PY) -m local.run

test: install browser
	$(PY) -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

bench: install
	$(PY) -m bench $(BENCH_ARGS)

# build/infra-$(STAGE).json + .chalice/policy-$(STAGE)*.json from the models and infra/definitions.py
STAGE ?= prod
infra: install
	$(PY) -m infra.build --stage $(STAGE)

# chalice package --stage $(STAGE) --merge-template build/infra-$(STAGE).json build/package,
# then prints the zip size. Deploy the result with the commands in the README.
package: install
	$(PY) -m infra.package --stage $(STAGE)

# make token ROLE=admin|specialist|client_viewer (reads the running demo's tokens)
token:
	@$(PY) -c "import json;print(json.load(open('.local/demo.json'))['tokens']['$(or $(ROLE),admin)'])"

clean:
	rm -rf $(VENV) .local .pytest_cache
