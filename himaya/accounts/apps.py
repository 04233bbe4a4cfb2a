from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "himaya.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from himaya.accounts.backends import login_failed

        user_login_failed.connect(login_failed, dispatch_uid="himaya.accounts.login_failed")
