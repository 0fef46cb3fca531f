# Firstline: `make run` for the demo, `make test` for the suite. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PORT   ?= 5000
CATALOGS := i18n/translations

.PHONY: run test lint i18n i18n-compile migrate bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

i18n-compile: install
	$(BIN)/pybabel -q compile -d $(CATALOGS)

migrate: install
	$(FLASK) db upgrade

run: i18n-compile migrate
	$(FLASK) demo load
	$(FLASK) serve --port $(PORT)

test: i18n-compile
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Extract every string, merge into de/en/fr/it, compile. Translators fill the msgstr.
i18n: install
	$(BIN)/pybabel extract -F i18n/babel.cfg -k _l -k lazy_gettext -k _n:1,2 --no-location --sort-output \
		--project Firstline -o i18n/messages.pot .
	for lang in de en fr it; do \
		if [ -f $(CATALOGS)/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --no-fuzzy-matching -i i18n/messages.pot -d $(CATALOGS) -l $$lang; \
		else \
			$(BIN)/pybabel init -i i18n/messages.pot -d $(CATALOGS) -l $$lang; \
		fi; \
	done
	$(BIN)/python i18n/fill_english.py $(CATALOGS)/en/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile -d $(CATALOGS)

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache
