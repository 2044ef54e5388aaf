"""Model versions in the admin: what each scored, which one serves, and rollback to an earlier one."""

from __future__ import annotations

from django.contrib import admin, messages

from training.models import ModelVersion
from training.registry import activate


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "parent", "created_at", "activated_at", "mnist_accuracy",
                    "feedback_accuracy", "trained_on_count")
    list_filter = ("status",)
    search_fields = ("name", "notes")
    actions = ("activate_version",)
    readonly_fields = ("name", "keras_file", "tflite_file", "parent", "status", "created_at", "activated_at",
                       "metrics", "trained_on_count", "notes")
    exclude = ("trained_on",)

    def has_add_permission(self, request):
        return False  # versions come from train_base/finetune, never typed in

    def has_activate_permission(self, request) -> bool:
        return request.user.has_perm("training.activate_modelversion")

    @admin.display(description="MNIST test")
    def mnist_accuracy(self, obj: ModelVersion) -> str:
        value = obj.metrics.get("mnist_test_accuracy", obj.metrics.get("mnist_test_direct"))
        return f"{value:.2%}" if isinstance(value, (int, float)) else "–"

    @admin.display(description="held-back feedback")
    def feedback_accuracy(self, obj: ModelVersion) -> str:
        value = obj.metrics.get("feedback_holdout_accuracy")
        return f"{value:.2%}" if isinstance(value, (int, float)) else "–"

    @admin.action(description="Activate the selected version (serve it now; rollback)", permissions=["activate"])
    def activate_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = activate(queryset.get())
        self.message_user(request, f"{version.name} is now active; every server switches to it within seconds.",
                          messages.SUCCESS)
