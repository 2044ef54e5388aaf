"""The WSGI apps bench/ceiling.py compares with the app as deployed. Used only by that benchmark,
never deployed: each leaves out something the real app needs, to measure what it costs.

- `django_application`: the app itself (mnistsite.wsgi, so the same process set-up).
- `bare_application`: POST /api/predict/ read without Django's request handling (no middleware,
  URL resolving, request and response objects, rate limiting): the upload parsed with the same
  `multipart` library, the same `read_number`, the same JSON; any other request goes to Django.

Switches in the environment, each leaving one stage out of every request (its effect on the
caches included):
- CEILING_SKIP_FORWARD_PASS=1: the LiteRT interpreter's `invoke` does nothing after its first call
  (the answer is whatever that call left in the output tensors): a network that costs nothing.
- CEILING_SKIP_PREPARATION=1: the decoded picture goes to the network as it is, without the
  checks and preparation of `prepare_digit` (only meaningful for a 28×28 grey upload).
- CEILING_SKIP_TOKEN=1: the feedback token is a fixed string of a real token's length.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

from mnistsite.wsgi import application as django_application  # noqa: E402

import multipart  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

import numpy as np  # noqa: E402

from predictor import reading as services  # noqa: E402 - where read_number finds what it calls
from predictor.reading import read_number  # noqa: E402
from predictor.views import number_body  # noqa: E402

if os.environ.get("CEILING_SKIP_FORWARD_PASS") == "1":
    _real_invoke = Interpreter.invoke

    def _invoke_only_once(self):
        """The first call (the worker's warm-up) runs, so the output tensors hold a real answer;
        the rest do nothing. Never run, they would hold uninitialised memory, NaN among it."""
        if not getattr(self, "_ceiling_invoked", False):
            _real_invoke(self)
            self._ceiling_invoked = True

    Interpreter.invoke = _invoke_only_once
if os.environ.get("CEILING_SKIP_PREPARATION") == "1":
    services.prepare_digit = lambda image: np.asarray(image).copy()
if os.environ.get("CEILING_SKIP_TOKEN") == "1":
    services.make_feedback_token = lambda **fields: "t" * 800  # a 28×28 PNG's token: ≈ 800 characters


def bare_application(environ, start_response):
    if environ["PATH_INFO"] != "/api/predict/" or environ["REQUEST_METHOD"] != "POST":
        return django_application(environ, start_response)
    _, options = multipart.parse_options_header(environ.get("CONTENT_TYPE", ""))
    parser = multipart.MultipartParser(environ["wsgi.input"], options["boundary"],
                                       content_length=int(environ["CONTENT_LENGTH"]))
    reading = read_number(data=next(part.raw for part in parser if part.name == "image"))
    body = json.dumps(number_body(reading)).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
