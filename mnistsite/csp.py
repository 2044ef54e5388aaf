"""django-csp's middleware, with this site's header built once instead of on every response.

django-csp rebuilds the policy string from settings for every response, enforced and report-only
(≈ 60 µs, more than the prediction API spends parsing its upload). Here the policy never varies by
request, so a response that neither uses a nonce nor carries a per-view change (django-csp's
decorators) gets the header built once from the current settings; anything else goes through
django-csp unchanged.
"""

from __future__ import annotations

import http.client

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings

#: Attributes django-csp's view decorators set on a response to change or drop its policy.
PER_VIEW_CHANGES = frozenset(
    f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace", "exempt") for suffix in ("", "_ro")
)


class CSPMiddleware(DjangoCSPMiddleware):
    _built_from: object = None
    _built: str = ""

    def process_response(self, request, response):
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        varies = (
            getattr(request, "_csp_nonce", None) is not None
            or not PER_VIEW_CHANGES.isdisjoint(vars(response))  # eight failing hasattr calls cost ≈ 5 µs
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or (policy or {}).get("EXCLUDE_URL_PREFIXES")
        )
        if varies:
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND):
            return response
        if policy is not self._built_from:  # settings changed (tests): build again
            self._built, self._built_from = build_policy(), policy
        if self._built and HEADER not in response:
            response[HEADER] = self._built
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
