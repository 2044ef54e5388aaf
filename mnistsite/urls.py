from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from mnistsite import apidocs

urlpatterns = [
    path("favicon.ico", lambda request: redirect(static("predictor/favicon.svg"))),  # for pages with no icon link
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/schema/", apidocs.schema, name="api-schema"),
    path("api/docs/", apidocs.docs, name="api-docs"),
    path("", include("predictor.urls")),
    path("", include("feedback.urls")),
]
