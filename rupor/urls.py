from django.urls import include, path

from rupor.api.app import api
from rupor.links.redirect import follow
from rupor.planning import ical
from rupor.planning.media import serve_media

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("rupor.inbox.urls")),
    path("ical/<str:token>.ics", ical.feed_view, name="ical-feed"),
    path("media/<path:path>", serve_media, name="media"),
    path("l/<str:code>", follow, name="short-link"),
    path("", include("rupor.web.urls")),
]
