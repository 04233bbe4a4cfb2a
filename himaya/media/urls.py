from django.urls import path

from himaya.media import views

app_name = "media"
urlpatterns = [
    path("files/<str:file_id>/", views.file_viewer, name="viewer"),
    path("files/<str:file_id>/reveal", views.file_reveal, name="reveal"),
    path("files/<str:file_id>/preview-<str:level>.png", views.file_preview, name="preview"),
    path("files/<str:file_id>/authorise", views.file_authorise, name="authorise"),
    path("lists/", views.hashlists, name="hashlists"),
    path("lists/<id:pk>/export.vics.json", views.hashlist_export, name="hashlist_export"),
    path("lists/<id:pk>/retire", views.hashlist_retire, name="hashlist_retire"),
]
