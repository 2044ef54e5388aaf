"""Faults, on a real server: the database goes away and comes back, a worker is killed.

The database test starts its own PostgreSQL in a temporary directory on a spare port, so it never
touches the shared server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from mnistsite.tests.contract import post_to_api
from predictor.tests import liveserver
from predictor.tests.test_server import predict

pytestmark = pytest.mark.slow
PG_BIN = Path("/usr/lib/postgresql")


def pg_tool(name: str) -> str:
    found = shutil.which(name) or next((str(p) for p in sorted(PG_BIN.glob(f"*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.skip(f"PostgreSQL's {name} is not installed")
    return found


def as_postgres(command: list[str]) -> list[str]:
    """initdb refuses to run as root; CI runs as root, so drop to the postgres user there."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    def __init__(self, directory: Path, port: int):
        self.directory, self.port = directory, port
        self.pg_ctl = pg_tool("pg_ctl")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        subprocess.run(as_postgres([self.pg_ctl, "-D", str(self.directory / "data"), "-o", options, "-w",
                                    "-l", str(self.directory / "server.log"), "start"]),
                       check=True, timeout=60, capture_output=True)

    def stop(self) -> None:
        subprocess.run(as_postgres([self.pg_ctl, "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop"]),
                       check=True, timeout=60, capture_output=True)


@pytest.fixture
def private_postgres():
    initdb = pg_tool("initdb")
    directory = Path(tempfile.mkdtemp(prefix="mnistsite-pg-"))  # pytest's tmp dirs are private to root
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    subprocess.run(as_postgres([initdb, "-D", str(directory / "data"), "-A", "trust", "-U", "postgres"]),
                   check=True, timeout=120, capture_output=True)
    server = PrivatePostgres(directory, liveserver.free_port())
    server.start()
    yield server
    try:
        server.stop()
    except subprocess.CalledProcessError:
        pass
    shutil.rmtree(directory, ignore_errors=True)


def start_gunicorn(env: dict) -> tuple[subprocess.Popen, str]:
    try:
        process, base, _ = liveserver.start_gunicorn(env)
    except RuntimeError as error:
        pytest.fail(str(error))
    return process, base


def post_feedback(base: str, token: str, label: int) -> tuple[int, dict]:
    status, body = post_to_api(base, "/api/feedback/", body=json.dumps({"feedback_token": token, "label": label}).encode(),
                               content_type="application/json", timeout=15)
    return status, json.loads(body)


def test_database_outage_keeps_predictions_and_recovers_without_restart(private_postgres, tmp_path):
    env = liveserver.throwaway_env(
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{private_postgres.port}/postgres",
        MODEL_REFRESH_SECONDS="0.5",
        DATABASE_CONNECT_TIMEOUT="3",
    )
    liveserver.migrate(env)
    server, base = start_gunicorn(env)
    try:
        assert post_feedback(base, predict(base, 0)["feedback_token"], 7)[0] == 201
        private_postgres.stop()

        tokens = []
        for index in range(6):  # across the refresh interval: the model check fails, serving goes on
            answer = predict(base, index)
            tokens.append(answer["feedback_token"])
            time.sleep(0.2)
        status, body = post_feedback(base, tokens[0], 3)
        assert status == 503 and "cannot be stored right now" in body["error"]
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            assert json.load(response)["status"] == "ok"

        private_postgres.start()
        deadline = time.monotonic() + 20
        while (status := post_feedback(base, tokens[1], 4)[0]) == 503 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status == 201, "feedback works again once the database is back, without a restart"
        assert post_feedback(base, tokens[0], 3)[0] == 201, "the refused one can be sent again"
    finally:
        liveserver.stop(server)
    count = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from feedback.models import Feedback; "
         "print(Feedback.objects.count())"],
        cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert count.stdout.strip().splitlines()[-1] == "3", "three stored, nothing half-written or lost"


def test_killed_worker_is_replaced_and_requests_keep_succeeding(tmp_path):
    env = liveserver.throwaway_env(tmp_path)
    liveserver.migrate(env)
    server, base = start_gunicorn(env)
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        workers = liveserver.worker_pids(server)
        assert len(workers) == 2
        os.kill(int(workers[0]), signal.SIGKILL)
        answers = [predict(base, index % 8) for index in range(12)]
        assert all("digit" in answer for answer in answers)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            current = children.read_text().split()
            if len(current) == 2 and workers[0] not in current:
                break
            time.sleep(0.2)
        assert len(current) == 2 and workers[0] not in current, "gunicorn started a replacement worker"
    finally:
        liveserver.stop(server)
