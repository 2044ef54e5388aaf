"""The published contract: the OpenAPI document is valid, served, rendered, and held to."""

from __future__ import annotations

import pytest
from django.http import JsonResponse
from openapi_spec_validator import validate

from mnistsite.apidocs import openapi_document
from mnistsite.tests.contract import check_against_contract


def test_the_document_is_valid_openapi_3_1():
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_document_is_served_as_json(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == openapi_document()


def test_the_document_describes_every_api_endpoint():
    from django.urls import get_resolver

    described = set(openapi_document()["paths"])
    routes = {"/" + str(pattern.pattern) for resolver in get_resolver().url_patterns
              for pattern in getattr(resolver, "url_patterns", [resolver])}
    api_routes = {route for route in routes if route.startswith("/api/") and route != "/api/docs/"} | {"/healthz"}
    assert api_routes == described


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"number": "7"}),  # the rest of a reading missing
        (500, {"error": "boom"}),  # a status the document does not allow
        (422, {"message": "no digit"}),  # an error without "error"
    ],
)
def test_an_answer_outside_the_document_fails_the_test_that_got_it(openapi_contract, status, body):
    with pytest.raises(pytest.fail.Exception, match="outside the OpenAPI document"):
        check_against_contract(openapi_contract, method="POST", path="/api/predict/",
                               response=JsonResponse(body, status=status))


def test_a_429_must_say_when_to_come_back(openapi_contract):
    response = JsonResponse({"error": "Too many requests"}, status=429)
    with pytest.raises(pytest.fail.Exception):
        check_against_contract(openapi_contract, method="POST", path="/api/predict/", response=response)
    response["Retry-After"] = "60"
    check_against_contract(openapi_contract, method="POST", path="/api/predict/", response=response)
