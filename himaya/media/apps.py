from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "himaya.media"
    label = "media"
