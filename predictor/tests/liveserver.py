"""Starting the app in a subprocess the way the container does, for server tests and benchmarks.

Loopback only: every server listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = "mnistsite/gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def multipart(data: bytes, *, field: str = "image", filename: str = "upload.bin",
              fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    """A multipart body with one file (and any plain `fields` before it) and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (fields or {}).items()
    ) + (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def throwaway_env(directory: Path, **overrides: str) -> dict[str, str]:
    """Environment for a server with its own SQLite database, media and model cache in `directory`."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'server.sqlite3'}",
        "MEDIA_ROOT": str(directory / "media"),
        "MODEL_CACHE_DIR": str(directory / "models"),
        "STATIC_ROOT": str(directory / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "mnistsite.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or f"test-server-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        **overrides,
    }


def migrate(env: dict[str, str], *, root: Path = ROOT) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=root, env=env,
                   check=True, timeout=180)


def collect_static(env: dict[str, str], *, root: Path = ROOT) -> None:
    """As the container image is built: pages then link the hashed files the manifest names."""
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=root, env=env,
                   check=True, timeout=180)


def wait_until_healthy(base: str, *, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def start_gunicorn(
    env: dict[str, str],
    *,
    app: str = "mnistsite.wsgi:application",
    command: list[str] | None = None,
    workers: int = 2,
    log: Path | None = None,
    root: Path = ROOT,
) -> tuple[subprocess.Popen, str, float]:
    """gunicorn with the container's config (or `command`) on a free port; returns the process, its
    base URL and the seconds from start to the first healthy answer; `root`: the code tree it runs
    (another commit's checkout, for side-by-side benchmarks). Raises RuntimeError if it never
    becomes healthy (the log, when given, says why)."""
    port = free_port()
    env = {**env, "WEB_CONCURRENCY": str(workers), "PORT": str(port)}
    command = command or [sys.executable, "-m", "gunicorn", app, "--config", GUNICORN_CONFIG]
    output = open(log, "wb") if log else subprocess.DEVNULL
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT)
    if log:
        output.close()  # the child keeps its own descriptor
    base = f"http://127.0.0.1:{port}"
    if not wait_until_healthy(base):
        process.kill()
        process.wait()
        raise RuntimeError("gunicorn did not become healthy" + (": " + log.read_text()[-3000:] if log else ""))
    return process, base, time.monotonic() - began


def worker_pids(process: subprocess.Popen, *, count: int = 2, timeout: float = 10.0) -> list[str]:
    """The gunicorn master's worker processes, once `count` of them exist (the first worker may
    answer /healthz before the others have forked)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + timeout
    while len(workers := children.read_text().split()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return workers


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)
