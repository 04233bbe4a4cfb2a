from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinkingConfig(AppConfig):
    name = "himaya.linking"
    label = "linking"
    verbose_name = _("Linking")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, pre_delete

        from himaya.linking import receivers
        from himaya.reports.models import Report

        pre_delete.connect(receivers.on_report_deleting, sender=Report, dispatch_uid="linking.report_deleting")
        post_delete.connect(receivers.on_report_deleted, sender=Report, dispatch_uid="linking.report_deleted")
