import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# The portal's gate answers floods of unsolved submissions before Django (himaya/portal/gate.py).
from himaya.portal.gate import gated  # noqa: E402 - after Django is set up

application = gated(get_wsgi_application())
