"""Model versions: every trained model, where its files are, how it scored and which one serves."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def model_file_path(instance: "ModelVersion", filename: str) -> str:
    return f"models/{instance.name}/{filename}"


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        CANDIDATE = "candidate", "candidate"
        REJECTED = "rejected", "rejected"
        RETIRED = "retired", "retired"

    name = models.CharField(max_length=64, unique=True, help_text="What the API reports as model_version.")
    keras_file = models.FileField(upload_to=model_file_path, max_length=255)
    tflite_file = models.FileField(upload_to=model_file_path, max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.CANDIDATE)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Accuracy figures measured when it was made.")
    trained_on = models.ManyToManyField("feedback.Feedback", blank=True, related_name="model_versions")
    trained_on_count = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True, help_text="The finetune report, or why it was rejected.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_model_version"),
        ]
        permissions = [("activate_modelversion", "Can activate a model version")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
