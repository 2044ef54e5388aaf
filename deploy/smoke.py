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
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from predictor.tests import liveserver, renders  # noqa: E402


def dockerfile_serve_cmd() -> list[str]:
    """The CMD of the Dockerfile's `serve` stage, as a list."""
    stage, commands = None, {}
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if match := re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE):
            stage = match.group(1)
        elif line.startswith("CMD "):
            commands[stage] = json.loads(line[4:])
    return commands["serve"]


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
    workdir = Path(tempfile.mkdtemp(prefix="smoke-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "HTTPS_ONLY": "1",
        "LOG_FORMAT": "json",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "MODEL_CACHE_DIR": str(workdir / "models"),
    }
    python = sys.executable
    server = None
    try:
        for step in (["manage.py", "collectstatic", "--noinput", "-v", "0"], ["manage.py", "migrate", "--noinput", "-v", "0"]):
            subprocess.run([python, *step], cwd=ROOT, env=env, check=True, timeout=300)
        command = dockerfile_serve_cmd()
        if command[0] == "gunicorn":  # the same program, from this interpreter's environment
            command = [python, "-m", "gunicorn", *command[1:]]
        server, base, _ = liveserver.start_gunicorn(env, command=command)
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            health = json.load(response)
        assert health["status"] == "ok", f"/healthz did not answer ok: {health}"
        print("healthz:", health)

        digits, labels = renders.mnist_samples()
        body, content_type = liveserver.multipart(renders.encode(Image.fromarray(digits[0])), filename="d.png")
        request = urllib.request.Request(base + "/api/predict/", data=body, headers={
            "Content-Type": content_type,
            "X-Forwarded-Proto": "https",  # as Cloud Run's front end forwards it
        })
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        assert answer["digit"] == int(labels[0]), answer
        print("prediction:", {key: answer[key] for key in ("digit", "confidence", "model_version")})
        return 0
    finally:
        if server is not None:
            liveserver.stop(server)
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
