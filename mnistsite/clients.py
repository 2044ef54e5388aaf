"""Who is asking: one answer for the rate limits, the admin's lockouts and feedback fingerprints."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address, as far as the trusted proxies in front of the app vouch for it.

    Each proxy appends the address it was reached from to X-Forwarded-For, after whatever the
    client wrote there itself. With TRUSTED_PROXIES = N (Cloud Run's front end counts as one, a load
    balancer before it as another), the client is the N-th entry from the right: anything to its
    left is the client's own say. With none, the connection's own address."""
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            return hops[-proxies] if len(hops) >= proxies else hops[0]
    return request.META.get("REMOTE_ADDR", "")
