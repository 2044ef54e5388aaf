"""The admin site, answering malformed requests with 400 instead of a server error.

Django's admin passes list-filter values and the ids of records selected for an action straight
into queries: PostgreSQL refuses text holding a NUL character, and an integer key refuses "abc",
both as ValueError, which became 500s. Only staff reach these views, but a 500 pages whoever is on
call and hides real faults.
"""

from __future__ import annotations

import functools

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import BadRequest


class SiteAdmin(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        return super().admin_view(_refusing_malformed_input(view), cacheable)


def _refusing_malformed_input(view):
    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if any("\x00" in text for key, values in request.GET.lists() for text in (key, *values)):
            raise BadRequest("The address holds a NUL character.")
        # Every model here has an integer key (a test holds that), so a selected id is digits.
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME) if request.method == "POST" else []
        if not all(value.isdecimal() for value in selected):
            raise BadRequest("The selected records are not record ids.")
        return view(request, *args, **kwargs)

    return guarded
