from .base import *  # noqa: F401,F403
from .base import os

DEBUG = False


def _env_flag(name: str, default: str = "") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


# HTTPS (SPEC §3.10): HIMAYA_HTTPS=1 when the site is served over TLS, by the server
# itself or a reverse proxy in front of it.
HIMAYA_HTTPS = _env_flag("HIMAYA_HTTPS")
SESSION_COOKIE_SECURE = os.environ.get("HIMAYA_INSECURE_COOKIES", "") != "1" and HIMAYA_HTTPS
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if HIMAYA_HTTPS:
    # Browsers keep to HTTPS for this long (a year by default; 0 turns HSTS off).
    SECURE_HSTS_SECONDS = int(os.environ.get("HIMAYA_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("HIMAYA_HSTS_INCLUDE_SUBDOMAINS", "1")
    SECURE_HSTS_PRELOAD = _env_flag("HIMAYA_HSTS_PRELOAD")  # only for a public name submitted to the preload list
    # Plain HTTP is redirected to HTTPS; /health stays reachable for local probes.
    SECURE_SSL_REDIRECT = _env_flag("HIMAYA_SSL_REDIRECT", "1")
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a reverse proxy that terminates TLS: trust its X-Forwarded-Proto only when
# told (HIMAYA_PROXY_SSL_HEADER=1), and only if the proxy always sets (or strips) it.
if _env_flag("HIMAYA_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
