"""Bodies sent with Transfer-Encoding: chunked (no Content-Length), as a WSGI server hands them over."""

from __future__ import annotations

import io
import json

import pytest

from mnistsite.http import FORM_OVERHEAD, BufferChunkedBodies


class Recorder:
    """A WSGI app that keeps the environ it was called with and the body it could read."""

    def __call__(self, environ, start_response):
        self.environ = environ
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.body = environ["wsgi.input"].read(length)
        start_response("200 OK", [])
        return [b"ok"]


def call(app, *, body: bytes, headers: dict[str, str], terminated: bool = True) -> tuple[str, bytes]:
    environ = {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(body), **headers}
    if terminated:
        environ["wsgi.input_terminated"] = True
    statuses = []
    answer = b"".join(app(environ, lambda status, response_headers: statuses.append(status)))
    return statuses[0], answer


CHUNKED = {"HTTP_TRANSFER_ENCODING": "chunked"}


def test_chunked_body_reaches_the_app_with_its_length():
    recorder = Recorder()
    status, _ = call(BufferChunkedBodies(recorder, max_upload_bytes=1000), body=b"x" * 700, headers=CHUNKED)
    assert status == "200 OK"
    assert recorder.environ["CONTENT_LENGTH"] == "700" and recorder.body == b"x" * 700


def test_chunked_body_over_the_limit_is_refused_without_calling_the_app():
    recorder = Recorder()
    app = BufferChunkedBodies(recorder, max_upload_bytes=200 * 1024)
    status, answer = call(app, body=b"x" * (200 * 1024 + FORM_OVERHEAD + 1), headers=CHUNKED)
    assert status.startswith("413") and "too large" in json.loads(answer)["error"]
    assert not hasattr(recorder, "environ")


def test_chunked_body_from_a_server_that_does_not_end_the_stream_asks_for_a_length():
    status, answer = call(BufferChunkedBodies(Recorder(), max_upload_bytes=1000), body=b"x", headers=CHUNKED,
                          terminated=False)
    assert status.startswith("411") and "Content-Length" in json.loads(answer)["error"]


@pytest.mark.parametrize("headers", [{"CONTENT_LENGTH": "3"}, {}], ids=["with a length", "no body"])
def test_other_requests_pass_through_untouched(headers):
    recorder = Recorder()
    stream = io.BytesIO(b"abc")
    environ = {"REQUEST_METHOD": "POST", "wsgi.input": stream, **headers}
    BufferChunkedBodies(recorder, max_upload_bytes=1000)(environ, lambda *args: None)
    assert recorder.environ is environ
