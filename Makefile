# The two commands a newcomer needs:  make run  (install + start)  and  make test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test bench bench-serve bench-train clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements/serve.txt requirements/train.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

## Install everything, prepare the database and start the development server.
run: install
	$(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

## Start the app the way the container does (gunicorn, static files collected). Without SECRET_KEY
## it signs with a random key of this checkout's own, kept in .local-secret-key.
serve: install
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py migrate --noinput
	test -s .local-secret-key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > .local-secret-key
	SECRET_KEY=$${SECRET_KEY:-$$(cat .local-secret-key)} \
	  $(VENV)/bin/gunicorn mnistsite.wsgi:application --config mnistsite/gunicorn.conf.py --bind $(HOST):$(PORT)

## Run the whole test suite.
test: install
	$(PY) -m pytest

## Full-size measurements (minutes): model accuracy on the whole test sets.
bench: install
	$(PY) bench/evaluate_model.py

## Serving speed against the model.predict baseline, and each stage of one request (needs wrk).
bench-serve: install
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) bench/serve.py
	$(PY) bench/request_costs.py

## train_base over seeds 1-3 (about 25 minutes): accuracies, goals missed, the errors the recipe trades.
bench-train: install
	$(PY) bench/train_seeds.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
