"""The calendar: month and week views of every post, drag-and-drop rescheduling."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
