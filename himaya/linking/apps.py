from django.apps import AppConfig


class LinkingConfig(AppConfig):
    name = "himaya.linking"
    label = "linking"
