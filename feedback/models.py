"""What users tell us about predictions, kept so the model can be retrained on it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

#: The most digits a number's reading holds (predictor.segmentation.MAX_DIGITS, checked by a test).
MAX_NUMBER_DIGITS = 12


class Feedback(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"

    #: The feedback token's id: one record per prediction, however often the token is sent.
    token_id = models.CharField(max_length=32, unique=True, editable=False)
    original = models.FileField(max_length=255, help_text="The picture as uploaded, in Django's storage.")
    model_input = models.BinaryField(max_length=784, help_text="The 28×28 uint8 picture the model read.")
    predicted_digit = models.PositiveSmallIntegerField()
    probabilities = models.JSONField(help_text="The ten probabilities the model answered.")
    #: Kept beside the probabilities so the admin can filter and sort by them (feedback.surprises).
    confidence = models.FloatField(default=0.0, editable=False, help_text="The probability of the predicted digit.")
    label_probability = models.FloatField(default=0.0, editable=False,
                                          help_text="The probability the model gave the label.")
    model_version = models.CharField(max_length=64, db_index=True)
    label = models.PositiveSmallIntegerField(help_text="The digit it really is (a reviewer may correct it).")
    user_label = models.PositiveSmallIntegerField(editable=False, help_text="The digit the user said it is.")
    user_said_correct = models.BooleanField(help_text="The user confirmed the prediction.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: A keyed hash of the client's address and browser: spots floods without storing who sent it.
    client_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    #: For a digit read in a number: that reading (NumberFeedback.reading_id, when feedback on the
    #: whole number came too), the digit's place in it from 0 on the left, and its box
    #: [x, y, width, height] in the uploaded picture; `original` is then the digit's own crop.
    reading_id = models.CharField(max_length=32, blank=True, db_index=True)
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    box = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="feedback_status_created"),
            models.Index(fields=["model_version", "status"], name="feedback_version_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(label__gte=0) & Q(label__lte=9), name="feedback_label_is_a_digit"),
            models.CheckConstraint(
                condition=Q(user_label__gte=0) & Q(user_label__lte=9), name="feedback_user_label_is_a_digit"
            ),
            models.CheckConstraint(
                condition=Q(predicted_digit__gte=0) & Q(predicted_digit__lte=9), name="feedback_prediction_is_a_digit"
            ),
            models.CheckConstraint(condition=Q(status__in=["pending", "approved", "rejected"]), name="feedback_status_valid"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(reviewed_at__isnull=False), name="feedback_reviewed_has_time"
            ),
        ]
        permissions = [("review_feedback", "Can approve or reject feedback")]

    def __str__(self) -> str:
        return f"#{self.pk}: predicted {self.predicted_digit}, labelled {self.label} ({self.status})"

    def save(self, *args, **kwargs):
        """The confidence and the label's probability follow the probabilities and the label (a
        reviewer may correct the label)."""
        probabilities = self.probabilities or []
        self.confidence = float(max(probabilities)) if probabilities else 0.0
        in_range = self.label is not None and 0 <= self.label < len(probabilities)
        self.label_probability = float(probabilities[self.label]) if in_range else 0.0
        if kwargs.get("update_fields") is not None and "label" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "confidence", "label_probability"}
        super().save(*args, **kwargs)


class NumberFeedback(models.Model):
    """What a user said of a whole number's reading. When the number they typed has as many digits
    as were read, each digit also became a Feedback record (trained on once approved). When it has
    not, the digits were cut wrong: this is a segmentation record, the whole picture with the
    boxes and the true number, for staff to see; `finetune` never reads this table."""

    Status = Feedback.Status

    reading_id = models.CharField(max_length=32, unique=True, editable=False)
    original = models.FileField(max_length=255, blank=True, help_text="The whole picture as uploaded.")
    boxes = models.JSONField(help_text="Each digit's box [x, y, width, height] in the picture, left to right.")
    number_read = models.CharField(max_length=MAX_NUMBER_DIGITS)
    label = models.CharField(max_length=MAX_NUMBER_DIGITS, help_text="The number it really is.")
    model_version = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=8, choices=Feedback.Status.choices, default=Feedback.Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    client_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "number feedback"
        verbose_name_plural = "number feedback"
        constraints = [
            models.CheckConstraint(condition=Q(label__regex=r"^[0-9]{1,12}$"), name="number_feedback_label_is_a_number"),
            models.CheckConstraint(
                condition=Q(number_read__regex=r"^[0-9]{1,12}$"), name="number_feedback_read_is_a_number"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected"]), name="number_feedback_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}: read {self.number_read}, labelled {self.label} ({self.status})"

    @property
    def is_segmentation_error(self) -> bool:
        """The digits were cut wrong: the true number has another count of digits."""
        return len(self.label) != len(self.number_read)
