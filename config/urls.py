from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView

from himaya.core.views import health

urlpatterns = [
    path("ispws/", include("himaya.intake.urls")),
    path("api/v1/", include("himaya.reports.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("health", health, name="health"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("himaya.accounts.urls")),
    path("media/", include("himaya.media.urls")),
    path("linking/", include("himaya.linking.urls")),
    path("triage/", include("himaya.triage.urls")),
    path("", include("himaya.reports.urls")),
]
