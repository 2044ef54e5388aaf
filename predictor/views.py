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
    check_declared_upload_length,
    declared_length,
    read_multipart_upload,
    upload_too_large,
)
from mnistsite.ratelimits import api_rate_limit
from predictor import charts, featuremaps
from predictor.inference import get_classifier
from predictor.preprocessing import ImageRejected, NoDigitFound
from predictor.services import DigitReading, read_digit

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


@csrf_exempt
@require_http_methods(["POST"])
@api_rate_limit("RATELIMIT_PREDICT")
def api_predict(request: HttpRequest) -> JsonResponse:
    try:
        upload = read_multipart_upload(request, file_field="image", max_bytes=settings.MAX_UPLOAD_BYTES)
        if upload.file is None:
            raise BadRequest(NO_PICTURE)
        wants_maps = _is_yes(upload.fields.get("feature_maps", request.GET.get("feature_maps", "")))
        reading = read_digit(data=upload.file, with_feature_maps=wants_maps)
    except BadRequest as problem:
        return JsonResponse({"error": str(problem)}, status=problem.status)
    except NoDigitFound as problem:
        return JsonResponse({"error": str(problem)}, status=422)
    except ImageRejected as problem:
        return JsonResponse({"error": str(problem)}, status=400)
    prediction = reading.prediction
    body = {
        "digit": prediction.digit,
        "confidence": prediction.confidence,
        "probabilities": prediction.probabilities,
        "model_version": prediction.model_version,
        "feedback_token": reading.feedback_token,
        "uncertain": reading.uncertain,
    }
    if prediction.feature_maps:
        body["feature_maps"] = featuremaps.quantise(prediction.feature_maps)
        body["model_input_png"] = featuremaps.model_input_uri(reading.pixels)
        # ≈ 55 KB of JSON, ≈ 19 KB gzipped, on every stroke of the draw pad: worth 1.3 ms of CPU for
        # clients that accept gzip. A plain answer (1.2 KB) would shrink by a tenth and is sent as is.
        return _GZIP.process_response(request, JsonResponse(body))
    return JsonResponse(body)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        classifier = get_classifier()
    except Exception:  # noqa: BLE001 - a probe must answer, not crash
        logger.exception("model could not be loaded")
        return JsonResponse({"status": "unavailable", "error": "The model could not be loaded."}, status=503)
    return JsonResponse({"status": "ok", "model_version": classifier.version})


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


def _result_context(reading: DigitReading) -> dict:
    prediction = reading.prediction
    return {
        "reading": reading,
        "prediction": prediction,
        "confidence_percent": round(prediction.confidence * 100, 1),
        "probability_rows": [
            {"digit": digit, "percent": round(p * 100, 1)} for digit, p in enumerate(prediction.probabilities)
        ],
        "chart": charts.probability_chart(prediction.probabilities),
        "digits": [digit for digit in range(10) if digit != prediction.digit],
        "model_input_uri": featuremaps.model_input_uri(reading.pixels),
        "feature_map_layers": [
            {
                "name": name,
                "shape": "×".join(str(n) for n in activation.shape),
                "uri": featuremaps.png_data_uri(featuremaps.grid_png(activation)),
            }
            for name, activation in prediction.feature_maps.items()
        ],
    }


@gzip_page
@require_http_methods(["POST"])
def predict_page(request: HttpRequest) -> HttpResponse:
    try:
        data = _uploaded_bytes(request)
        reading = read_digit(data=data, with_feature_maps=True)
    except (BadRequest, ImageRejected) as problem:
        status = getattr(problem, "status", 422 if isinstance(problem, NoDigitFound) else 400)
        return _home_page(request, error=str(problem), status=status)
    return render(request, "predictor/result.html", _result_context(reading))

