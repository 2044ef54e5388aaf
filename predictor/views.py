"""HTTP endpoints: the upload page, its result page, the JSON API and the health check."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods

from mnistsite.http import (
    BadRequest,
    api_methods,
    check_declared_upload_length,
    declared_length,
    read_multipart_upload,
    upload_too_large,
)
from mnistsite.ratelimits import rate_limit
from predictor import charts, featuremaps
from predictor.inference import serving_status
from predictor.preprocessing import ImageRejected, NoDigitFound
from predictor.reading import DigitReading, NumberReading, read_number
from predictor.segmentation import MAX_DIGITS

logger = logging.getLogger(__name__)
_GZIP = GZipMiddleware(lambda request: None)  # Django's gzip, applied to chosen responses only


NO_PICTURE = "No picture was sent: post it as multipart form field 'image'."
#: The upload page's script sends a camera JPEG with its longer side shrunk to this. The server reads
#: pictures at 250 px, but from 1600 px (decoded at 400) fine-pen digits read as from the camera's own
#: file, where 1280 or 1000 px lost a few in 400 (docs/benchmarks.md).
PHOTO_UPLOAD_SIDE = 1600


def _uploaded_bytes(request: HttpRequest) -> bytes:
    """The form page's `image` field, through Django's parser (its CSRF check has read the form
    already); size checked from the header before the body is parsed."""
    limit = settings.MAX_UPLOAD_BYTES
    check_declared_upload_length(declared_length(request), max_bytes=limit)
    try:
        upload = request.FILES.get("image")
    except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation, ValueError) as error:
        raise BadRequest(f"The upload could not be read: {error}") from error
    if upload is None:
        raise BadRequest(NO_PICTURE)
    if upload.size > limit:
        raise upload_too_large(limit)
    return upload.read()


def _is_yes(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _digit_index(value: str) -> int:
    """The `digit_index` field: which digit's feature maps to send (0, the first, by default)."""
    value = value.strip()
    if not value:
        return 0
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        raise BadRequest("digit_index must be a whole number from 0, the position of a digit in the number.")
    return int(value)


def number_body(reading: NumberReading) -> dict:
    """The JSON answer for a reading of one digit or several (the README's API contract)."""
    digits = [
        {
            "digit": digit.prediction.digit,
            "confidence": digit.confidence,
            "probabilities": digit.prediction.probabilities,
            "uncertain": digit.uncertain,
            "box": list(digit.box),
            "feedback_token": digit.feedback_token,
        }
        for digit in reading.digits
    ]
    one = digits[0] if len(digits) == 1 else None
    return {
        "number": reading.number,
        "digits": digits,
        "digit": one["digit"] if one else None,
        "confidence": reading.confidence,
        "probabilities": one["probabilities"] if one else None,
        "uncertain": reading.uncertain,
        "model_version": reading.model_version,
        "feedback_token": reading.feedback_token,
    }


@csrf_exempt
@api_methods("POST")
@rate_limit("RATELIMIT_PREDICT")
def api_predict(request: HttpRequest) -> JsonResponse:
    try:
        upload = read_multipart_upload(request, file_field="image", max_bytes=settings.MAX_UPLOAD_BYTES)
        if upload.file is None:
            raise BadRequest(NO_PICTURE)
        wants_maps = _is_yes(upload.fields.get("feature_maps", request.GET.get("feature_maps", "")))
        digit_index = _digit_index(upload.fields.get("digit_index", request.GET.get("digit_index", "")))
        reading = read_number(data=upload.file, feature_maps_for={digit_index} if wants_maps else ())
    except BadRequest as problem:
        return JsonResponse({"error": str(problem)}, status=problem.status)
    except NoDigitFound as problem:
        return JsonResponse({"error": str(problem)}, status=422)
    except ImageRejected as problem:
        return JsonResponse({"error": str(problem)}, status=400)
    body = number_body(reading)
    if wants_maps:
        if digit_index >= len(reading.digits):
            return JsonResponse(
                {"error": f"digit_index {digit_index} is past the last digit read ({len(reading.digits) - 1})."},
                status=400,
            )
        mapped = reading.digits[digit_index]
        body["feature_maps"] = featuremaps.quantise(mapped.prediction.feature_maps)
        body["feature_maps_digit"] = digit_index
        body["model_input_png"] = featuremaps.model_input_uri(mapped.pixels)
        for entry, digit in zip(body["digits"], reading.digits):
            entry["model_input_png"] = featuremaps.model_input_uri(digit.pixels)
        # ≈ 55 KB of JSON, ≈ 19 KB gzipped, on every stroke of the draw pad: worth 1.3 ms of CPU for
        # clients that accept gzip. A plain answer (1.2 KB) would shrink by a tenth and is sent as is.
        return _GZIP.process_response(request, JsonResponse(body))
    return JsonResponse(body)


@csrf_exempt  # a probe's or a stray POST gets 405, not the CSRF page
@api_methods("GET", "HEAD")
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while a model serves, telling which, and which active version could not be loaded."""
    try:
        status = serving_status()
    except Exception:  # noqa: BLE001 - a probe must answer, not crash (not even the bundled model loads)
        logger.exception("model could not be loaded")
        return JsonResponse({"status": "unavailable", "error": "The model could not be loaded."}, status=503)
    return JsonResponse({"status": "ok", **status})


def _home_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "error": error,
        "max_upload_mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024),
        "photo_upload_side": PHOTO_UPLOAD_SIDE,
    }
    return render(request, "predictor/home.html", context, status=status)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home_page(request)


def _digit_context(digit: DigitReading, *, position: int) -> dict:
    prediction = digit.prediction
    return {
        "reading": digit,
        "position": position,
        "prediction": prediction,
        "confidence_percent": round(digit.confidence * 100, 1),
        "probability_rows": [
            {"digit": value, "percent": round(p * 100, 1)} for value, p in enumerate(prediction.probabilities)
        ],
        "chart": charts.probability_chart(prediction.probabilities),
        "chart_id": f"probability-chart-{position}",
        "chart_data_id": f"probability-chart-{position}-data",
        "other_digits": [value for value in range(10) if value != prediction.digit],
        "model_input_uri": featuremaps.model_input_uri(digit.pixels),
        "crop_uri": featuremaps.png_data_uri(digit.crop) if digit.crop else "",
        "feature_map_layers": [
            {
                "name": name,
                "shape": "×".join(str(n) for n in activation.shape),
                "uri": featuremaps.png_data_uri(featuremaps.grid_png(activation)),
            }
            for name, activation in prediction.feature_maps.items()
        ],
    }


def _result_context(reading: NumberReading) -> dict:
    return {
        "reading": reading,
        "several": len(reading.digits) > 1,
        "confidence_percent": round(reading.confidence * 100, 1),
        "digits": [_digit_context(digit, position=index) for index, digit in enumerate(reading.digits)],
    }


@gzip_page
@require_http_methods(["POST"])
@rate_limit("RATELIMIT_PREDICT", page=True)
def predict_page(request: HttpRequest) -> HttpResponse:
    try:
        data = _uploaded_bytes(request)
        reading = read_number(data=data, feature_maps_for=range(MAX_DIGITS))
    except (BadRequest, ImageRejected) as problem:
        status = getattr(problem, "status", 422 if isinstance(problem, NoDigitFound) else 400)
        return _home_page(request, error=str(problem), status=status)
    return render(request, "predictor/result.html", _result_context(reading))
