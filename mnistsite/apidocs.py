"""The API's published contract: its OpenAPI document and a page that renders it."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from mnistsite.http import api_methods

#: Written by hand beside the code it describes; the tests hold every API answer to it.
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")


@functools.cache
def openapi_document() -> dict:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


@csrf_exempt
@api_methods("GET", "HEAD")
def schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"ensure_ascii": False})


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api_docs.html")
