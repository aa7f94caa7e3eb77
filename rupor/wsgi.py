import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
_django = get_wsgi_application()

from rupor.inbox.hooks import wsgi_route  # noqa: E402 - needs the apps loaded (get_wsgi_application)
from rupor.web import probe  # noqa: E402 - needs the apps loaded (get_wsgi_application)

#: Django, with webhook deliveries (``inbox/hooks.py``) and the health probe ``/healthz``
#: (``web/probe.py``) answered before its middleware.
application = probe.wsgi_route(wsgi_route(_django))

# Everything loaded so far (Django, the apps, their modules: some 300,000 objects) lives as long as
# the process. Out of the collector's reach, a full collection no longer walks them all: without
# this, one request in twenty or so paid about 120 ms for it (bench/analytics.py's p95).
gc.freeze()
