"""The webhook intake route (mounted at the site root by ``rupor/urls.py``)."""

from django.urls import path

from rupor.inbox import hooks

urlpatterns = [
    path("hooks/<str:network>/<int:channel_id>/<str:token>/", hooks.network_hook, name="network-hook"),
]
