from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "himaya.reports"
    label = "reports"
