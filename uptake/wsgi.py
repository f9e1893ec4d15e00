import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.settings")
django_application = get_wsgi_application()

# /xapi/ takes a shorter road (its own middleware list): ADR 0018.
from uptake.xapi.fastpath import with_xapi_fast_path  # noqa: E402

application = with_xapi_fast_path(django_application)
