from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView

from himaya.core.views import health, metrics, ready

urlpatterns = [
    path("ispws/", include("himaya.intake.urls")),
    path("api/v1/", include("himaya.reports.api.urls")),
    path("api/v1/", include("himaya.cases.api.urls")),
    path("api/v1/", include("himaya.exchange.matching_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("health", health, name="health"),
    path("ready", ready, name="ready"),
    path("metrics", metrics, name="metrics"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("himaya.accounts.urls")),
    path("media/", include("himaya.media.urls")),
    path("linking/", include("himaya.linking.urls")),
    path("triage/", include("himaya.triage.urls")),
    path("cases/", include("himaya.cases.urls")),
    path("audit/", include("himaya.audit.urls")),
    path("stats/", include("himaya.stats.urls")),
    path("portal/", include("himaya.portal.urls")),
    path("exchange/", include("himaya.exchange.urls")),
    path("", include("himaya.reports.urls")),
]
# Under /api/ the 404 and 500 answers are JSON {"detail": ...}; elsewhere Django's pages.
handler404 = "himaya.core.openapi.not_found"
handler500 = "himaya.core.openapi.server_error"
