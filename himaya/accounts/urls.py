from django.contrib.auth import views as auth_views
from django.urls import path

from himaya.accounts import views, views_users

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("second-factor/enrol/", views.enrol, name="enrol"),
    path("second-factor/verify/", views.verify, name="verify"),
    path("second-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<id:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("users/", views_users.user_list, name="users"),
    path("users/<id:pk>/", views_users.user_detail, name="user"),
    path("users/<id:pk>/roles", views_users.user_roles, name="user_roles"),
    path("users/<id:pk>/active", views_users.user_active, name="user_active"),
    path("users/<id:pk>/second-factor-reset", views_users.user_second_factor_reset, name="user_second_factor_reset"),
    path("users/<id:pk>/unlock", views_users.user_unlock, name="user_unlock"),
]
