"""Per-client rate limits for the CSRF-exempt API, answered with 429 and Retry-After.

Counters live in the default cache (per serving process unless a shared cache is configured), so
a limit of N/minute allows about N per worker: it stops floods, not a determined distributed
attacker — that is Cloud Armor's job in front of Cloud Run.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import JsonResponse
from django_ratelimit.core import is_ratelimited

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def client_address(group: str, request) -> str:
    """The client's address: behind Cloud Run's proxy, the first X-Forwarded-For entry."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")


def retry_after(rate: str) -> int:
    """Seconds until a window of `rate` ("30/m", "100/5m") is surely over."""
    _, period = rate.split("/")
    count = int(period[:-1]) if period[:-1] else 1
    return count * PERIODS[period[-1]]


def api_rate_limit(setting: str):
    """Limit a view by the rate named in `settings.<setting>`; an empty rate turns it off."""

    def decorator(view):
        group = f"{view.__module__}.{view.__name__}"

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            rate = getattr(settings, setting)
            if rate and is_ratelimited(request, group=group, key=client_address,
                                       rate=rate, method="POST", increment=True):
                response = JsonResponse(
                    {"error": f"Too many requests; the limit is {rate.replace('/', ' per ')}. Try again later."},
                    status=429,
                )
                response["Retry-After"] = str(retry_after(rate))
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
