"""Run the container's start sequence here and check it answers, without Docker.

Does what the `serve` image does, with the command taken from the Dockerfile itself:
collectstatic, migrate (into a fresh database on the server DATABASE_URL names, dropped
afterwards), then the Dockerfile's CMD on $PORT with the production settings Cloud Run uses
(HTTPS_ONLY, JSON logs, a real SECRET_KEY). Checks GET /healthz and one POST /api/predict/
sent the way Cloud Run's proxy forwards it. Exits non-zero on any failure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python deploy/smoke.py
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_serve_cmd() -> list[str]:
    """The CMD of the Dockerfile's `serve` stage, as a list."""
    stage, commands = None, {}
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if match := re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE):
            stage = match.group(1)
        elif line.startswith("CMD "):
            commands[stage] = json.loads(line[4:])
    return commands["serve"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(url: str) -> tuple[str, callable]:
    """A new empty database beside the one `url` names, and a function that drops it."""
    if url.startswith("sqlite"):
        path = Path(tempfile.mkdtemp(prefix="smoke-")) / "smoke.sqlite3"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    import psycopg2

    name = f"mnistsite_smoke_{uuid.uuid4().hex[:8]}"
    base, _, _ = url.rpartition("/")
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"{base}/{name}", drop


def main() -> int:
    database_url, drop_database = fresh_database(os.environ.get("DATABASE_URL", "sqlite:///smoke.sqlite3"))
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="smoke-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "HTTPS_ONLY": "1",
        "LOG_FORMAT": "json",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PORT": str(port),
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "MODEL_CACHE_DIR": str(workdir / "models"),
        "WEB_CONCURRENCY": "2",
    }
    python = sys.executable
    server = None
    try:
        for step in (["manage.py", "collectstatic", "--noinput", "-v", "0"], ["manage.py", "migrate", "--noinput", "-v", "0"]):
            subprocess.run([python, *step], cwd=ROOT, env=env, check=True, timeout=300)
        command = dockerfile_serve_cmd()
        if command[0] == "gunicorn":  # the same program, from this interpreter's environment
            command = [python, "-m", "gunicorn", *command[1:]]
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        health = None
        for _ in range(150):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    health = json.load(response)
                    break
            except OSError:
                time.sleep(0.2)
        assert health and health["status"] == "ok", f"/healthz did not answer ok: {health}"
        print("healthz:", health)

        sys.path.insert(0, str(ROOT))
        from predictor.tests import renders
        from PIL import Image

        digits, labels = renders.mnist_samples()
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
                "Content-Type: image/png\r\n\r\n").encode() + renders.encode(Image.fromarray(digits[0])) + \
            f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(base + "/api/predict/", data=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Forwarded-Proto": "https",  # as Cloud Run's front end forwards it
        })
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        assert answer["digit"] == int(labels[0]), answer
        print("prediction:", {key: answer[key] for key in ("digit", "confidence", "model_version")})
        return 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
