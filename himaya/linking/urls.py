from django.urls import path

from himaya.linking import views

app_name = "linking"
urlpatterns = [
    path("reports/<int:pk>/separate/<int:other>/", views.separate, name="separate"),
    path("separations/<int:pk>/undo/", views.separation_undo, name="separation_undo"),
]
