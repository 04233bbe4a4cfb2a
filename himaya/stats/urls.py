from django.urls import path

from himaya.stats import views

app_name = "stats"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.export_download, name="export"),
    path("report/", views.report_download, name="report"),
    path("report/<int:job_id>/", views.report_file, name="report_file"),
]
