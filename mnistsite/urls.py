from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

urlpatterns = [
    path("favicon.ico", lambda request: redirect(static("predictor/favicon.svg"))),  # for pages with no icon link
    path(settings.ADMIN_URL, admin.site.urls),
    path("", include("predictor.urls")),
    path("", include("feedback.urls")),
]
