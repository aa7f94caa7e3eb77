import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
_django = get_wsgi_application()

from rupor.inbox.hooks import wsgi_route  # noqa: E402 - needs the apps loaded (get_wsgi_application)

#: Django, with webhook deliveries answered before its middleware (``inbox/hooks.py``).
application = wsgi_route(_django)
