"""Structured logs for Cloud Logging: one JSON object per line with severity and the request's trace.

Cloud Run passes each request's trace in `X-Cloud-Trace-Context`; the middleware keeps it for the
duration of the request so every log line of that request carries it, and Cloud Logging groups
them under the request.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        trace = request.META.get("HTTP_X_CLOUD_TRACE_CONTEXT", "").split("/", 1)[0]
        request_id = trace if trace.isalnum() and len(trace) <= 64 else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class CloudJsonFormatter(logging.Formatter):
    """The fields Cloud Logging reads from a JSON line: severity, message, time, trace."""

    converter = time.gmtime  # the "Z" in the timestamp means UTC

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "logger": record.name,
        }
        request_id = _request_id.get()
        if request_id:
            entry["request_id"] = request_id
            project = os.environ.get("GOOGLE_CLOUD_PROJECT")
            if project:
                entry["logging.googleapis.com/trace"] = f"projects/{project}/traces/{request_id}"
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
