"""Serves plotly.js from the installed `plotly` package, so no page depends on a CDN."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS_PATH = "plotly/plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Exposes exactly one file, `plotly/plotly.min.js`, from the package's own data."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.package_data = Path(plotly.__file__).parent / "package_data"
        self.storage = FileSystemStorage(location=str(self.package_data))
        self.storage.prefix = "plotly"

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_JS_PATH:
            return []  # Django's own finders answer a miss with [] whatever find_all says
        match = str(self.package_data / "plotly.min.js")
        return [match] if find_all else match

    def list(self, ignore_patterns):
        yield "plotly.min.js", self.storage
