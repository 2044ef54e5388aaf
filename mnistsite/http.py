"""Request checks shared by the apps' views."""

from __future__ import annotations

from django.http import HttpRequest


class BadRequest(Exception):
    """What is wrong with the request itself, for the client, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def declared_length(request: HttpRequest) -> int:
    """The body size the client announced (0 when absent or garbled), known before reading it."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0
