"""Per-client rate limits for the API and the pages' forms, answered with 429 and Retry-After.

Counters live in the default cache: Redis (REDIS_URL; Memorystore on Cloud Run), shared by every
worker of every instance, so "120/m" means 120 a minute from one client whatever serves it. Without
REDIS_URL (local development) each process counts in its own memory. When the cache cannot be
reached the limits fail open: reading digits matters more than counting requests.
"""

from __future__ import annotations

import functools
import logging
import time

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited

from mnistsite.clients import client_address

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: While the cache is down, one warning per process this often, not one per request.
OUTAGE_LOG_SECONDS = 60.0
logger = logging.getLogger(__name__)
_last_outage_log = float("-inf")


def retry_after(rate: str) -> int:
    """Seconds until a window of `rate` ("30/m", "100/5m") is surely over."""
    _, period = rate.split("/")
    count = int(period[:-1]) if period[:-1] else 1
    return count * PERIODS[period[-1]]


def over_limit(request, *, group: str, rate: str) -> bool:
    """Count this request against `rate` for its client; False, logged, when the cache is down."""
    global _last_outage_log
    try:
        return is_ratelimited(request, group=group, key=lambda _group, request: client_address(request),
                              rate=rate, method="POST", increment=True)
    except Exception:  # noqa: BLE001 - redis-py raises ConnectionError, TimeoutError, …; fail open
        if time.monotonic() - _last_outage_log >= OUTAGE_LOG_SECONDS:
            _last_outage_log = time.monotonic()
            logger.warning("rate limits are off: the cache cannot be reached", exc_info=True)
        return False


def rate_limit(setting: str, *, page: bool = False):
    """Limit a view by the rate named in `settings.<setting>`; an empty rate turns it off. API views
    answer JSON; with `page`, a page a person reads. Views limited by one setting share its count
    (the upload page and the API read pictures from one allowance)."""

    def decorator(view):
        group = setting

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            rate = getattr(settings, setting)
            if not rate or not over_limit(request, group=group, rate=rate):
                return view(request, *args, **kwargs)
            message = f"Too many requests; the limit is {rate.replace('/', ' per ')}. Try again later."
            if page:
                response = render(request, "too_many_requests.html", {"message": message}, status=429)
            else:
                response = JsonResponse({"error": message}, status=429)
            response["Retry-After"] = str(retry_after(rate))
            return response

        return wrapped

    return decorator
