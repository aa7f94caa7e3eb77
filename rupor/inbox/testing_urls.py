"""The site's URLs plus the webhook route, for tests run before ``rupor/urls.py`` mounts it."""

from django.urls import include, path

from rupor.urls import urlpatterns as site

urlpatterns = [path("", include("rupor.inbox.urls")), *site]
