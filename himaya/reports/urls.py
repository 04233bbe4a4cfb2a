from django.urls import path

from himaya.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report_list, name="list"),
    path("reports/<id:pk>/", views.report_detail, name="detail"),
]
