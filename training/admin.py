"""Model versions in the admin: what each scored, which one serves, and rollback to an earlier one."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

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
                       "per_class_table", "metrics", "trained_on_count", "notes")
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

    @admin.display(description="each digit, before → after")
    def per_class_table(self, obj: ModelVersion):
        """The finetune gate's figures digit by digit: parent and this version on MNIST test and on
        the held-back feedback (right of all)."""
        per_class = obj.metrics.get("per_class")
        if not per_class:
            return "–"
        cells = []
        for digit in map(str, range(10)):
            row = [digit]
            for name in ("mnist_test", "feedback_holdout"):
                for moment in ("before", "after"):
                    right, count = per_class[moment][name][digit]
                    row.append(f"{right / count:.1%} of {count}" if count else "–")
            cells.append(row)
        return format_html(
            '<table class="per-class"><thead><tr><th>digit</th><th>MNIST test before</th><th>MNIST test after</th>'
            "<th>held-back before</th><th>held-back after</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr>" + "<td>{}</td>" * 5 + "</tr>", cells),
        )

    @admin.action(description="Activate the selected version (serve it now; rollback)", permissions=["activate"])
    def activate_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = activate(queryset.get())
        self.message_user(request, f"{version.name} is now active; every server switches to it within seconds.",
                          messages.SUCCESS)
