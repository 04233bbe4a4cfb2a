from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "himaya.portal"
    label = "portal"
    verbose_name = _("Public portal")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from himaya.portal.services import on_rematch_queued

        # A portal report's pictures hashed on the phone are matched in its enrichment's
        # media stage (`device_hashes_match`), asked for by the report's source: the other
        # reports pay no query for it.
        post_save.connect(on_rematch_queued, sender="media.RematchJob", dispatch_uid="portal.device_hashes_rematch")
