"""The CSP header built once is the header django-csp builds, and per-view changes still apply."""

from __future__ import annotations

from csp.constants import NONCE
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from mnistsite.csp import CSPMiddleware


def respond_with(view):
    def get_response(request):
        return view(request)

    return get_response


def plain(request):
    return HttpResponse("ok")


def headers(middleware_class, view, **request_extra):
    middleware = middleware_class(respond_with(view))
    request = RequestFactory().get("/", **request_extra)
    return middleware(request)


def test_same_header_as_django_csp():
    ours = headers(CSPMiddleware, plain)["Content-Security-Policy"]
    assert ours == headers(DjangoCSPMiddleware, plain)["Content-Security-Policy"]
    assert "default-src 'self'" in ours


def test_follows_changed_settings(settings):
    middleware = CSPMiddleware(respond_with(plain))
    middleware(RequestFactory().get("/"))
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert middleware(RequestFactory().get("/"))["Content-Security-Policy"] == "default-src 'none'"


def test_per_view_decorators_still_apply():
    updated = headers(CSPMiddleware, csp_update({"img-src": ["https://example.org"]})(plain))
    assert "https://example.org" in updated["Content-Security-Policy"]
    assert "Content-Security-Policy" not in headers(CSPMiddleware, csp_exempt()(plain))


def test_nonce_used_by_a_view_reaches_the_header(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": ["'self'", NONCE]}}

    def with_nonce(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")

    response = headers(CSPMiddleware, with_nonce)
    nonce = response.content.decode().split("nonce='")[1].split("'")[0]
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_a_header_set_by_the_view_is_kept():
    def own(request):
        response = HttpResponse("ok")
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    assert headers(CSPMiddleware, own)["Content-Security-Policy"] == "default-src 'none'; sandbox"
