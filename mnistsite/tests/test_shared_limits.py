"""Rate limits counted in Redis: one count for every worker, and open when Redis is down."""

from __future__ import annotations

import concurrent.futures
import logging
import re
import sys

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from mnistsite.tests.contract import post_to_api
from predictor.tests import liveserver, renders

DIGITS, _ = renders.mnist_samples()
PNG = renders.encode(Image.fromarray(DIGITS[0]))


def png() -> SimpleUploadedFile:
    return SimpleUploadedFile("d.png", PNG)


def test_without_redis_url_each_process_counts_in_memory():
    import subprocess

    from django.conf import settings

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.CACHES['default']['BACKEND'])"],
        cwd=settings.BASE_DIR, env=liveserver.throwaway_env(settings.MEDIA_ROOT, REDIS_URL=""),
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert result.stdout.split()[-1] == "django.core.cache.backends.locmem.LocMemCache"


def test_with_redis_url_the_limits_count_in_redis(client, settings, redis_cache):
    settings.RATELIMIT_PREDICT = "2/m"
    statuses = [client.post("/api/predict/", {"image": png()}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = redis.Redis.from_url(redis_cache).keys(f"{prefix}:*")
    assert len(keys) == 1, "one counter for this client, in Redis"


def test_limits_fail_open_and_say_so_when_redis_cannot_be_reached(client, settings, caplog):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{liveserver.free_port()}/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}}}
    settings.RATELIMIT_PREDICT = "1/m"
    with caplog.at_level(logging.WARNING, logger="mnistsite.ratelimits"):
        statuses = [client.post("/api/predict/", {"image": png()}).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert "rate limits are off: the cache cannot be reached" in caplog.text


def _predict(base: str) -> int:
    body, content_type = liveserver.multipart(PNG)
    return post_to_api(base, "/api/predict/", body=body, content_type=content_type)[0]


def _burst(base: str, count: int) -> list[int]:
    """`count` predictions, eight at a time on their own connections, so both workers take some."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: _predict(base), range(count)))


@pytest.mark.slow
def test_two_workers_share_one_limit_and_predictions_go_on_when_redis_stops(private_redis, tmp_path):
    env = liveserver.throwaway_env(tmp_path, REDIS_URL=private_redis.url, RATELIMIT_PREDICT="5/m",
                                   GUNICORN_ACCESS_LOG="1")
    liveserver.migrate(env)
    log = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "mnistsite.wsgi:application", "--config", liveserver.GUNICORN_CONFIG,
               "--access-logformat", "pid=%(p)s %(r)s %(s)s"]
    server, base, _ = liveserver.start_gunicorn(env, command=command, log=log)
    try:
        statuses = _burst(base, 16)
        assert sorted(statuses) == [200] * 5 + [429] * 11, "five in all, not five a worker"
        served_by = set(re.findall(r"pid=<(\d+)> POST /api/predict/", log.read_text()))
        assert len(served_by) == 2, f"both workers answered: {served_by}"

        private_redis.stop()
        assert _burst(base, 8) == [200] * 8, "with Redis down the limit fails open"
        assert "rate limits are off: the cache cannot be reached" in log.read_text()

        private_redis.start()
        assert sorted(_burst(base, 8)) == [200] * 5 + [429] * 3, "counting again once Redis is back"
    finally:
        liveserver.stop(server)
