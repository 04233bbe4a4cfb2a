from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "himaya.triage"
    label = "triage"
