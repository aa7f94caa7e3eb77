from django.urls import include, path

from rupor.api.app import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("rupor.inbox.urls")),
    path("", include("rupor.web.urls")),
]
