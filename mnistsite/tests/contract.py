"""Holding the API's answers to its published OpenAPI document (mnistsite/openapi.yaml): the test
client's in every test (conftest.py), and the live servers' where tests talk to one over HTTP."""

from __future__ import annotations

import functools
import gzip

import pytest


@functools.cache
def published_contract():
    from openapi_core import OpenAPI

    from mnistsite.apidocs import openapi_document

    return OpenAPI.from_dict(openapi_document())


def check_answer(contract, *, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
    """Fail unless the answer is one the OpenAPI document allows for `method path`: its status
    declared, its body and headers as described. Requests the document does not describe (another
    method, a page) are not checked."""
    from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
    from openapi_core.testing import MockRequest, MockResponse

    headers = {name.title(): value for name, value in headers.items()}
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    try:
        contract.validate_response(
            MockRequest("http://testserver", method.lower(), path),
            MockResponse(body, status_code=status, headers=headers,
                         content_type=headers.get("Content-Type", "").split(";")[0]),
        )
    except (PathNotFound, OperationNotFound):
        return
    except Exception as error:  # noqa: BLE001 - openapi-core raises a family of validation errors
        details = "; ".join(str(cause) for cause in getattr(error, "schema_errors", []) or [error.__cause__ or ""])
        pytest.fail(f"{method} {path} answered {status} outside the OpenAPI document: {error} {details}\n{body[:500]!r}")


def check_against_contract(contract, *, method: str, path: str, response) -> None:
    """check_answer for a Django test client's response."""
    body = response.content if not getattr(response, "streaming", False) else b"".join(response.streaming_content)
    check_answer(contract, method=method, path=path, status=response.status_code, headers=dict(response.items()),
                 body=body)


def post_to_api(base: str, path: str, *, body: bytes, content_type: str, timeout: float = 30) -> tuple[int, bytes]:
    """POST to a live server's API; its status and body, once the answer is checked against the
    published document (an error status is an answer too, not an exception)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(base + path, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # a hang fails here
            status, headers, answer = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, answer = error.code, error.headers, error.read()
    check_answer(published_contract(), method="POST", path=path, status=status, headers=dict(headers.items()),
                 body=answer)
    return status, answer
