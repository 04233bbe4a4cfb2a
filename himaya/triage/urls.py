from django.urls import path

from himaya.triage import views

app_name = "triage"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("reports/<id:pk>/override/", views.override, name="override"),
    path("rules/", views.rules, name="rules"),
]
