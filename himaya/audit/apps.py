from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "himaya.audit"
    label = "audit"
