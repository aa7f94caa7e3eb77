from django.urls import include, path

from rupor.api.app import api
from rupor.links.redirect import follow
from rupor.planning import ical, public_media
from rupor.planning.media import serve_media
from rupor.web.operations_views import metrics

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("rupor.inbox.urls")),
    path("ical/<str:token>.ics", ical.feed_view, name="ical-feed"),
    path("media/<path:path>", serve_media, name="media"),
    # Signed, expiring addresses for networks that fetch media themselves (planning/public_media.py).
    path("public-media/<str:token>.<str:ext>", public_media.serve, name="public-media"),
    path("l/<str:code>", follow, name="short-link"),
    # Prometheus's scrape, behind RUPOR_METRICS_TOKEN (docs/operations.md).
    path("metrics", metrics, name="metrics"),
    path("", include("rupor.web.urls")),
]
