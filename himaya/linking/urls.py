from django.urls import path

from himaya.linking import views

app_name = "linking"
urlpatterns = [
    path("reports/<id:pk>/separate/<id:other>/", views.separate, name="separate"),
    path("separations/<id:pk>/undo/", views.separation_undo, name="separation_undo"),
]
