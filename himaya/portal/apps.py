from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "himaya.portal"
    label = "portal"
    verbose_name = _("Public portal")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from himaya.intake.signals import report_received
        from himaya.portal.services import on_rematch_queued, on_report_received

        report_received.connect(on_report_received, dispatch_uid="portal.device_hashes")
        post_save.connect(on_rematch_queued, sender="media.RematchJob", dispatch_uid="portal.device_hashes_rematch")
