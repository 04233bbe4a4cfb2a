from .base import *  # noqa: F401,F403
from .base import os

DEBUG = False
SESSION_COOKIE_SECURE = os.environ.get("HIMAYA_INSECURE_COOKIES", "") != "1" and os.environ.get("HIMAYA_HTTPS", "") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
