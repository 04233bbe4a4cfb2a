from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "himaya.media"
    label = "media"

    def ready(self) -> None:
        from himaya.intake.signals import report_received
        from himaya.media.services import on_report_received

        # Hashing and matching start when a report is finished or imported.
        report_received.connect(on_report_received, dispatch_uid="media.hash_on_arrival")
