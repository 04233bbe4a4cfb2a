from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrichmentConfig(AppConfig):
    """The one enrichment flow per report: media (hash, match) → link → triage.

    It is the only app that knows the order of the stages. The stages announce
    their changes with their own typed signals; the receivers here turn them into
    requests to run a report's flow again from the stage concerned."""

    name = "himaya.enrichment"
    label = "enrichment"
    verbose_name = _("Enrichment")

    def ready(self) -> None:
        from himaya.enrichment import receivers
        from himaya.intake.signals import report_received
        from himaya.linking.signals import clusters_changed
        from himaya.media.signals import media_status_changed

        report_received.connect(receivers.on_report_received, dispatch_uid="enrichment.report_received")
        from himaya.intake.signals import reports_stored

        reports_stored.connect(receivers.on_reports_stored, dispatch_uid="enrichment.reports_stored")
        from himaya.intake.signals import reports_arriving

        reports_arriving.connect(receivers.on_reports_arriving, dispatch_uid="enrichment.reports_arriving")
        media_status_changed.connect(receivers.on_media_status_changed, dispatch_uid="enrichment.media_status_changed")
        clusters_changed.connect(receivers.on_clusters_changed, dispatch_uid="enrichment.clusters_changed")
