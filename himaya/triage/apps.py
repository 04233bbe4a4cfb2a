from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "himaya.triage"
    label = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        from himaya.intake.signals import report_received
        from himaya.triage import handlers

        report_received.connect(handlers.on_report_received, dispatch_uid="triage.report_received")
        # The media capability announces file status changes (known/new/viral/benign);
        # connect when it exists so that a new match re-triages the report.
        try:
            from himaya.media import signals as media_signals
        except ImportError:
            return
        for name in ("file_status_changed", "media_status_changed"):
            signal = getattr(media_signals, name, None)
            if signal is not None:
                signal.connect(handlers.on_media_status_changed, dispatch_uid=f"triage.{name}")
