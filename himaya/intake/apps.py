from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "himaya.intake"
    label = "intake"
