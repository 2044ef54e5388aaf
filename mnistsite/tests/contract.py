"""Holding the API's answers to its published OpenAPI document (mnistsite/openapi.yaml)."""

from __future__ import annotations

import gzip

import pytest


def check_against_contract(contract, *, method: str, path: str, response) -> None:
    """Fail unless `response` (a Django test client's) is one the OpenAPI document allows for
    `method path`: its status declared, its body and headers as described. Requests the document
    does not describe (another method, a page) are not checked."""
    from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
    from openapi_core.testing import MockRequest, MockResponse

    body = response.content if not getattr(response, "streaming", False) else b"".join(response.streaming_content)
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    headers = {name: value for name, value in response.items()}
    try:
        contract.validate_response(
            MockRequest("http://testserver", method.lower(), path),
            MockResponse(body, status_code=response.status_code, headers=headers,
                         content_type=response.get("Content-Type", "").split(";")[0]),
        )
    except (PathNotFound, OperationNotFound):
        return
    except Exception as error:  # noqa: BLE001 - openapi-core raises a family of validation errors
        details = "; ".join(str(cause) for cause in getattr(error, "schema_errors", []) or [error.__cause__ or ""])
        pytest.fail(f"{method} {path} answered {response.status_code} outside the OpenAPI document: {error} {details}"
                    f"\n{body[:500]!r}")
