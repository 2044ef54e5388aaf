"""The WSGI apps bench/ceiling.py compares with the app as deployed. Used only by that benchmark,
never deployed: each leaves out something the real app needs, to measure what it costs.

- `django_application`: the app itself (mnistsite.wsgi, so the same process set-up).
- `bare_application`: POST /api/predict/ read without Django's request handling (no middleware,
  URL resolving, request and response objects, rate limiting): the upload parsed with the same
  `multipart` library, the same `read_digit`, the same JSON; any other request goes to Django.

With CEILING_SKIP_FORWARD_PASS=1 in the environment, the LiteRT interpreter's `invoke` does
nothing (the answer is whatever its output tensors held), which is the cost of a network that
costs nothing, its effect on the caches included.
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

from predictor.services import read_digit  # noqa: E402

if os.environ.get("CEILING_SKIP_FORWARD_PASS") == "1":
    Interpreter.invoke = lambda self: None


def bare_application(environ, start_response):
    if environ["PATH_INFO"] != "/api/predict/" or environ["REQUEST_METHOD"] != "POST":
        return django_application(environ, start_response)
    _, options = multipart.parse_options_header(environ.get("CONTENT_TYPE", ""))
    parser = multipart.MultipartParser(environ["wsgi.input"], options["boundary"],
                                       content_length=int(environ["CONTENT_LENGTH"]))
    reading = read_digit(data=next(part.raw for part in parser if part.name == "image"))
    prediction = reading.prediction
    body = json.dumps({"digit": prediction.digit, "confidence": prediction.confidence,
                       "probabilities": prediction.probabilities, "model_version": prediction.model_version,
                       "feedback_token": reading.feedback_token, "uncertain": reading.uncertain}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
