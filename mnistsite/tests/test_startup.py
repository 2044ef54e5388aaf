"""A server refuses the public development key, and collects static files it was started without."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest
from django.conf import settings

from predictor.tests import liveserver

pytestmark = pytest.mark.slow


def start_wsgi(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import mnistsite.wsgi"], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_server_without_secret_key_and_debug_off_refuses_to_start(tmp_path):
    env = liveserver.throwaway_env(tmp_path, DEBUG="0", SECRET_KEY="")
    result = start_wsgi(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_commands_and_a_debug_server_still_run_on_the_development_key(tmp_path):
    env = liveserver.throwaway_env(tmp_path, DEBUG="1", SECRET_KEY="")
    assert start_wsgi(env).returncode == 0
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR,
                           env={**env, "DEBUG": "0"}, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def test_gunicorn_started_without_collectstatic_serves_pages_and_their_files(tmp_path):
    """As a new user would: `migrate`, then `gunicorn mnistsite.wsgi:application`."""
    env = liveserver.throwaway_env(tmp_path, DEBUG="0")
    liveserver.migrate(env)
    log = tmp_path / "gunicorn.log"
    server, base, _ = liveserver.start_gunicorn(env, log=log)
    try:
        with urllib.request.urlopen(base + "/", timeout=10) as response:
            page = response.read().decode()
        assert response.status == 200
        stylesheet = page.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
        assert stylesheet.startswith("/static/") and len(stylesheet.rsplit(".", 2)[-2]) == 12, "a hashed name"
        with urllib.request.urlopen(base + stylesheet, timeout=10) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/css")
        assert "collecting them now" in log.read_text()
    finally:
        liveserver.stop(server)
