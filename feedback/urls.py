from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("api/feedback/", views.api_feedback, name="api-feedback"),
    path("feedback/", views.feedback_page, name="feedback"),
]
