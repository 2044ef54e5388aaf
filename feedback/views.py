"""Receiving corrections: the JSON API for scripts and the result page's form for people."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from feedback.services import (
    FeedbackOutcome,
    FeedbackRejected,
    FeedbackUnavailable,
    NumberOutcome,
    client_fingerprint,
    record_feedback,
)
from mnistsite.http import BadRequest, api_methods, declared_length
from mnistsite.clients import client_address
from mnistsite.ratelimits import rate_limit
from predictor.tokens import max_token_length


def max_body_bytes() -> int:
    """Room for the longest feedback token and the label around it."""
    return max_token_length() + 24 * 1024  # ≈ 64 KiB with the default 8 KiB inline originals


def _fields(request: HttpRequest) -> dict:
    """`feedback_token` and `label` from a JSON body or form fields."""
    if declared_length(request) > max_body_bytes():
        raise BadRequest("The request body is too large.", 413)
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"null")
        except RequestDataTooBig as error:
            raise BadRequest("The request body is too large.", 413) from error
        except (ValueError, UnicodeDecodeError, RecursionError) as error:  # RecursionError: nested too deep
            raise BadRequest("The body is not valid JSON.") from error
        if not isinstance(body, dict):
            raise BadRequest('Send a JSON object: {"feedback_token": "…", "label": 7}.')
        return body
    try:
        return request.POST.dict()
    except RequestDataTooBig as error:
        raise BadRequest("The request body is too large.", 413) from error
    except (MultiPartParserError, SuspiciousOperation, ValueError) as error:  # e.g. multipart without a boundary
        raise BadRequest(f"The form could not be read: {error}") from error


def _fingerprint(request: HttpRequest) -> str:
    return client_fingerprint(address=client_address(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))


@csrf_exempt
@api_methods("POST")
@rate_limit("RATELIMIT_FEEDBACK")
def api_feedback(request: HttpRequest) -> JsonResponse:
    try:
        fields = _fields(request)
        outcome = record_feedback(
            token=fields.get("feedback_token"), label=fields.get("label"), fingerprint=_fingerprint(request)
        )
    except BadRequest as problem:
        return JsonResponse({"error": str(problem)}, status=problem.status)
    except FeedbackRejected as problem:
        return JsonResponse({"error": str(problem)}, status=400)
    except (DatabaseError, FeedbackUnavailable):
        return JsonResponse({"error": "Feedback cannot be stored right now; please try again later."}, status=503)
    body = _outcome_body(outcome)
    if outcome.created:
        return JsonResponse(body, status=201)
    body.update(duplicate=True, detail="This prediction's feedback was already recorded; nothing was added.")
    return JsonResponse(body, status=200)


def _outcome_body(outcome: FeedbackOutcome | NumberOutcome) -> dict:
    if isinstance(outcome, FeedbackOutcome):
        return {"id": outcome.feedback.pk, "status": outcome.feedback.status}
    return {
        "id": outcome.number.pk,
        "status": outcome.number.status,
        "number": outcome.number.label,
        "digit_ids": [record.pk for record in sorted(outcome.digits, key=lambda record: record.position or 0)],
        "segmentation": outcome.number.is_segmentation_error,
    }


@require_POST
@rate_limit("RATELIMIT_FEEDBACK", page=True)
def feedback_page(request: HttpRequest) -> HttpResponse:
    """The result page's "Is this right?" form: a yes button or a digit, then a thank-you."""
    fields = request.POST.dict()
    if fields.get("correct") == "yes":
        fields["label"] = fields.get("predicted_digit")  # the number read, for a whole reading
    try:
        outcome = record_feedback(token=fields.get("feedback_token"), label=fields.get("label"), fingerprint=_fingerprint(request))
    except FeedbackRejected as problem:
        return render(request, "feedback/thanks.html", {"error": str(problem)}, status=400)
    except (DatabaseError, FeedbackUnavailable):
        message = "Feedback cannot be stored right now; please try again in a minute."
        return render(request, "feedback/thanks.html", {"error": message}, status=503)
    if isinstance(outcome, NumberOutcome):
        context = {"number": outcome.number, "duplicate": not outcome.created}
    else:
        context = {"feedback": outcome.feedback, "duplicate": not outcome.created}
    return render(request, "feedback/thanks.html", context)
