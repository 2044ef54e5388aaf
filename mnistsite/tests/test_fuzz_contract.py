"""Schemathesis against the live server, as the container runs it: fuzzed requests to every
operation of the published OpenAPI document never get a 5xx, and every answer conforms to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from predictor.tests import liveserver

pytestmark = pytest.mark.slow

#: What every fuzzed answer is held to (schemathesis's names).
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])


def schemathesis_command(schema_url: str, *, max_examples: int, seed: int, report_dir: Path) -> list[str]:
    """Also what the README gives for a run by hand (bounded in examples per operation)."""
    return [str(Path(sys.executable).with_name("schemathesis")), "run", schema_url, "--checks", CHECKS,
            "--max-examples", str(max_examples), "--seed", str(seed), "--request-timeout", "20",
            "--generation-database", ":memory:", "--no-color", "--report", "junit", "--report-dir", str(report_dir)]


def test_fuzzed_requests_never_get_a_server_error_and_every_answer_conforms(tmp_path):
    env = liveserver.throwaway_env(tmp_path, RATELIMIT_PREDICT="", RATELIMIT_FEEDBACK="")
    liveserver.migrate(env)
    server, base, _ = liveserver.start_gunicorn(env, log=tmp_path / "gunicorn.log")
    try:
        result = subprocess.run(
            schemathesis_command(base + "/api/schema/", max_examples=40, seed=20261128, report_dir=tmp_path / "report"),
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )
    finally:
        liveserver.stop(server)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    summary = result.stdout.split("Test cases:", 1)[1].split("\n")[1]
    generated = int(summary.split()[0])
    assert generated >= 100 and "failed" not in summary, summary
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
