from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "himaya.stats"
    label = "stats"
    verbose_name = _("Statistics")

    def ready(self) -> None:
        # The statistics learn of every change through signals (a later app never
        # drives an earlier one, and no earlier app imports this one).
        from himaya.stats import receivers

        receivers.connect()
