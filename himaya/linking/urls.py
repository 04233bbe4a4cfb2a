app_name = "linking"
urlpatterns: list = []
