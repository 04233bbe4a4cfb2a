from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "himaya.core"
    label = "core"
    verbose_name = "Himaya core"
