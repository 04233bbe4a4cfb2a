from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    # A report is triaged by the enrichment flow (`himaya.enrichment`), which also
    # re-runs it when its files' verdicts or its cluster change: triage listens to no
    # other stage itself.
    name = "himaya.triage"
    label = "triage"
    verbose_name = _("Triage")
