from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "himaya.core"
    label = "core"
    verbose_name = "Himaya core"

    def ready(self) -> None:
        from django.urls import register_converter

        from himaya.core.converters import IdConverter

        register_converter(IdConverter, "id")
