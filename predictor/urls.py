from django.urls import path

from predictor import views

app_name = "predictor"

urlpatterns = [
    path("", views.home, name="home"),
    path("predict/", views.predict_page, name="predict"),
    path("api/predict/", views.api_predict, name="api-predict"),
    path("healthz", views.healthz, name="healthz"),
]
