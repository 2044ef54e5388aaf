from django.contrib.admin.apps import AdminConfig


class SiteAdminConfig(AdminConfig):
    """django.contrib.admin with the project's own site (mnistsite.admin.SiteAdmin) as `admin.site`."""

    default_site = "mnistsite.admin.SiteAdmin"
