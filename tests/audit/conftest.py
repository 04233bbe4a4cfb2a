"""Staff of two units, and reports with files in each."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from himaya.accounts.models import User
from himaya.accounts.services import reporter_create, user_create
from tests.conftest import DOC_REPORT, Provider
from tests.ui.conftest import file_details
from tests.media.fixtures import drawn_image

PASSWORD = "audit-test-password-1"


def member(username: str, role: str, unit: str, *, perms: tuple[str, ...] = ()) -> User:
    user = user_create(username=username, password=PASSWORD, roles=[role], unit_code=unit)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="media", codename=codename))
    return user


def logged_in(user: User, lang: str = "ar") -> Client:
    """A session as the login gives it (the second factor verified, when the login asks one)."""
    from tests.auth_helpers import login_verified

    return login_verified(Client(HTTP_ACCEPT_LANGUAGE=lang), user)


@pytest.fixture
def files_of(db, django_capture_on_commit_callbacks) -> Callable[[str], tuple[int, str]]:
    """A finished report with one file the provider viewed, for a unit: (report id, file id)."""
    made: dict[str, int] = {}

    def make(unit: str) -> tuple[int, str]:
        made[unit] = made.get(unit, 0) + 1
        name = f"provider-{unit}-{made[unit]}"
        reporter_create(username=name, password="provider-pass-1", unit_code=unit)
        provider = Provider(name, "provider-pass-1")
        with django_capture_on_commit_callbacks(execute=True):
            rid = provider.submit(DOC_REPORT).report_id
            fid = provider.upload(rid, drawn_image(40 + made[unit])).file_id
            assert provider.fileinfo(file_details(rid, fid)).code == 0
            assert provider.finish(rid).code == 0
        return rid, fid

    return make
