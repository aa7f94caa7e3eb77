"""The plan's other pages: rubrics and the mix, queue slots, media library, import/export, and the client's review page."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
