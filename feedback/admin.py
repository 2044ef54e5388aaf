"""Reviewing feedback in the Django admin: see what users sent, correct labels, approve or reject."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from feedback.models import Feedback, NumberFeedback
from feedback.reports import confusion_by_version
from feedback.services import review
from feedback.surprises import KINDS, kinds_of, surprise_counts, surprising, with_surprises
from feedback.thumbnails import THUMBNAIL_SIDE, thumbnail
from predictor.featuremaps import model_input_uri
from predictor.preprocessing import ImageRejected
from predictor.services import STORED_TYPES

#: Stored originals are only ever sent back as an image type, never as what the client claimed.
SAFE_IMAGE_TYPES = dict(STORED_TYPES.values())


class ModelWasWrongFilter(admin.SimpleListFilter):
    title = "model was wrong"
    parameter_name = "wrong"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        from django.db.models import F

        if self.value() == "yes":
            return queryset.exclude(label=F("predicted_digit"))
        if self.value() == "no":
            return queryset.filter(label=F("predicted_digit"))
        return queryset


class SurpriseFilter(admin.SimpleListFilter):
    """Records that may be mistakes or floods (feedback.surprises), for a reviewer to look at first."""

    title = "surprising"
    parameter_name = "surprise"

    def lookups(self, request, model_admin):
        return [("any", "any of these"), *KINDS.items()]

    def queryset(self, request, queryset):
        if self.value() in ("any", *KINDS):
            return surprising(queryset, kind=self.value())
        return queryset


class _PictureAdmin(admin.ModelAdmin):
    """Serving a record's stored picture to staff, whole or as a small thumbnail, and the review
    actions (permission `feedback.review_feedback`)."""

    actions = ("approve", "reject")

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("feedback.review_feedback")

    def surprises_in(self, queryset) -> str:
        """What a reviewer should know of a batch before it is trained on; "" when nothing."""
        return ""

    @admin.action(description="Approve selected feedback", permissions=["review"])
    def approve(self, request, queryset):
        warning = self.surprises_in(queryset.exclude(status=Feedback.Status.APPROVED))
        changed = review(records=queryset, status=Feedback.Status.APPROVED, reviewer=request.user)
        self.message_user(request, f"Approved {changed} record(s).", messages.SUCCESS)
        if warning:
            self.message_user(request, warning, messages.WARNING)

    @admin.action(description="Reject selected feedback", permissions=["review"])
    def reject(self, request, queryset):
        changed = review(records=queryset, status=Feedback.Status.REJECTED, reviewer=request.user)
        self.message_user(request, f"Rejected {changed} record(s).", messages.SUCCESS)

    thumbnail_side = THUMBNAIL_SIDE

    def boxes_on_picture(self, pk: int) -> list[list[int]] | None:
        """Boxes to draw on the thumbnail; none by default."""
        return None

    def picture_urls(self, view_prefix: str) -> list:
        return [
            path("<int:pk>/original/", self.admin_site.admin_view(self.original_view), name=f"{view_prefix}_original"),
            path("<int:pk>/original/thumbnail/", self.admin_site.admin_view(self.thumbnail_view),
                 name=f"{view_prefix}_thumbnail"),
        ]

    def _stored_original(self, request, pk: int):
        """The record's original, opened, and the image type it is served as (staff only)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = get_object_or_404(self.model, pk=pk)
        extension = record.original.name.rsplit(".", 1)[-1].lower()
        if extension not in SAFE_IMAGE_TYPES:
            raise Http404("not an image")
        try:
            return record.original.open("rb"), SAFE_IMAGE_TYPES[extension]
        except (FileNotFoundError, OSError) as error:
            raise Http404("the original is no longer stored") from error

    @staticmethod
    def _as_picture(response: HttpResponse) -> HttpResponse:
        """Headers that keep a served upload a picture whatever its bytes hold: nosniff, a sandbox."""
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response

    def original_view(self, request, pk: int):
        """The uploaded picture, as uploaded."""
        handle, content_type = self._stored_original(request, pk)
        return self._as_picture(FileResponse(handle, content_type=content_type))

    def thumbnail_view(self, request, pk: int):
        """The uploaded picture for the list, a few kilobytes instead of up to megabytes."""
        handle, _ = self._stored_original(request, pk)
        with handle:
            data = handle.read(settings.MAX_UPLOAD_BYTES + 1)
        try:
            picture, content_type = thumbnail(data=data, side=self.thumbnail_side, boxes=self.boxes_on_picture(pk))
        except ImageRejected as error:
            raise Http404("the original cannot be shown") from error
        return self._as_picture(HttpResponse(picture, content_type=content_type))


@admin.register(Feedback)
class FeedbackAdmin(_PictureAdmin):
    list_display = (
        "id", "original_thumbnail", "input_thumbnail", "predicted_digit", "label", "confidence_percent",
        "label_belief", "surprises", "model_version", "status", "created_at",
    )
    list_display_links = ("id",)
    list_editable = ("label",)
    list_filter = ("status", SurpriseFilter, "label", "predicted_digit", ModelWasWrongFilter, "model_version",
                   "user_said_correct")
    search_fields = ("=id", "model_version", "token_id", "client_fingerprint")
    date_hierarchy = "created_at"
    list_per_page = 50
    readonly_fields = (
        "original_preview", "input_preview", "predicted_digit", "probabilities", "model_version", "user_label",
        "user_said_correct", "status", "reviewed_by", "reviewed_at", "created_at", "client_fingerprint", "token_id",
    )
    fields = ("original_preview", "input_preview", "label") + readonly_fields[2:]

    def has_add_permission(self, request):
        return False  # records come from users through the API, with a signed token

    # -- columns -------------------------------------------------------------------------------
    @staticmethod
    def _original_img(obj: Feedback, style: str, *, view: str = "original"):
        url = reverse(f"admin:feedback_feedback_{view}", args=[obj.pk])
        return format_html('<img src="{}" alt="uploaded picture" style="{}">', url, style)

    @staticmethod
    def _input_img(obj: Feedback, size: int):
        pixels = np.frombuffer(bytes(obj.model_input), np.uint8)
        return format_html('<img src="{}" alt="28×28 model input" width="{}" height="{}" '
                           'style="image-rendering:pixelated">', model_input_uri(pixels), size, size)

    @admin.display(description="original")
    def original_thumbnail(self, obj: Feedback):
        side = THUMBNAIL_SIDE // 2
        return self._original_img(obj, f"max-height:{side}px;max-width:{side}px", view="thumbnail")

    @admin.display(description="model input")
    def input_thumbnail(self, obj: Feedback):
        return self._input_img(obj, 56)

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, obj: Feedback) -> str:
        return f"{obj.confidence:.0%}"

    @admin.display(description="model's belief in the label", ordering="label_probability")
    def label_belief(self, obj: Feedback) -> str:
        """Sorted upwards, the most surprising labels come first."""
        return f"{obj.label_probability:.1%}"

    def get_queryset(self, request):
        return with_surprises(super().get_queryset(request))

    @admin.display(description="surprising")
    def surprises(self, obj: Feedback) -> str:
        """Why a reviewer should look twice, in words (feedback.surprises)."""
        return "; ".join(KINDS[kind] for kind in kinds_of(obj)) or "–"

    def surprises_in(self, queryset) -> str:
        counts = {kind: count for kind, count in surprise_counts(queryset).items() if count}
        if not counts:
            return ""
        found = "; ".join(f"{count} {KINDS[kind]}" for kind, count in counts.items())
        return (f"Of the records just approved: {found}. "
                'Filter the list by "surprising" to check them before finetuning.')

    @admin.display(description="original")
    def original_preview(self, obj: Feedback):
        return self._original_img(obj, "max-height:280px")

    @admin.display(description="model input (28×28)")
    def input_preview(self, obj: Feedback):
        return self._input_img(obj, 224)

    # -- extra pages ---------------------------------------------------------------------------
    def get_urls(self):
        extra = self.picture_urls("feedback_feedback") + [
            path("confusion/", self.admin_site.admin_view(self.confusion_view), name="feedback_feedback_confusion"),
        ]
        return extra + super().get_urls()

    def confusion_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Where the model fails: predicted vs confirmed digit (approved feedback)",
            "tables": confusion_by_version(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/feedback/confusion.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "confusion_url": reverse("admin:feedback_feedback_confusion")}
        return super().changelist_view(request, extra_context=extra_context)


class SegmentationErrorFilter(admin.SimpleListFilter):
    title = "digits cut wrong"
    parameter_name = "segmentation"

    def lookups(self, request, model_admin):
        return [("yes", "yes: another count of digits"), ("no", "no")]

    def queryset(self, request, queryset):
        from django.db.models import F
        from django.db.models.functions import Length

        counted = queryset.annotate(label_length=Length("label"), read_length=Length("number_read"))
        if self.value() == "yes":
            return counted.exclude(label_length=F("read_length"))
        if self.value() == "no":
            return counted.filter(label_length=F("read_length"))
        return queryset


@admin.register(NumberFeedback)
class NumberFeedbackAdmin(_PictureAdmin):
    """Whole numbers people gave feedback on; those whose digits were cut wrong (segmentation
    records) are kept here only, with the boxes drawn, and never trained on."""

    thumbnail_side = 3 * THUMBNAIL_SIDE
    list_display = ("id", "picture_with_boxes", "number_read", "label", "segmentation_error", "model_version",
                    "status", "created_at")
    list_display_links = ("id",)
    list_filter = ("status", SegmentationErrorFilter, "model_version")
    search_fields = ("=id", "reading_id", "number_read", "label", "client_fingerprint")
    date_hierarchy = "created_at"
    list_per_page = 50
    readonly_fields = ("picture_with_boxes", "number_read", "label", "segmentation_error", "digit_records", "boxes",
                       "model_version", "status", "reviewed_by", "reviewed_at", "created_at", "client_fingerprint",
                       "reading_id")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the true number is what the user typed; review is approve or reject

    def boxes_on_picture(self, pk: int) -> list[list[int]] | None:
        return NumberFeedback.objects.values_list("boxes", flat=True).get(pk=pk)

    @admin.display(description="picture, digits as read", )
    def picture_with_boxes(self, obj: NumberFeedback):
        url = reverse("admin:feedback_numberfeedback_thumbnail", args=[obj.pk])
        return format_html('<img src="{}" alt="uploaded picture with the boxes of the digits read" '
                           'style="max-height:{}px">', url, THUMBNAIL_SIDE)

    @admin.display(description="digits cut wrong", boolean=True)
    def segmentation_error(self, obj: NumberFeedback) -> bool:
        return obj.is_segmentation_error

    @admin.display(description="digit records")
    def digit_records(self, obj: NumberFeedback):
        records = Feedback.objects.filter(reading_id=obj.reading_id).order_by("position")
        if not records:
            if obj.is_segmentation_error:
                return "none: the count of digits differs, so nothing is trained on"
            return "none"
        return format_html_join(", ", '<a href="{}">#{} ({} → {})</a>', (
            (reverse("admin:feedback_feedback_change", args=[record.pk]), record.pk, record.predicted_digit,
             record.label)
            for record in records
        ))

    def get_urls(self):
        return self.picture_urls("feedback_numberfeedback") + super().get_urls()
