"""Supervisors manage their unit's users; `himaya create_user` refuses bad input (SPEC §1, §3.10, §4.2)."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import translation

from himaya.accounts import throttle
from himaya.accounts.models import AuthenticatorDevice, AuthFailure, Unit, User
from himaya.accounts.selectors import user_is_locked
from himaya.accounts.services import AccountError, user_create, user_set_active, user_set_roles
from himaya.audit.models import AuditEvent
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"
NEW_PASSWORD = "another-long-password-7"


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    return {
        "sup": user_create(username="sup-a", full_name="سلمى المشرفة", password=PASSWORD, roles=["supervisor"], unit_code="unit-a"),
        "inv": user_create(username="inv-a", password=PASSWORD, roles=["investigator"], unit_code="unit-a"),
        "aud": user_create(username="aud-a", password=PASSWORD, roles=["auditor"], unit_code="unit-a"),
        "sup_b": user_create(username="sup-b", password=PASSWORD, roles=["supervisor"], unit_code="unit-b"),
        "inv_b": user_create(username="inv-b", password=PASSWORD, roles=["investigator"], unit_code="unit-b"),
    }


def signed_in(user: User) -> Client:
    """A session as after password and second factor (the login is tested with the authentication)."""
    return login_verified(Client(), user)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# ------------------------------------------------------------------ services

def test_a_supervisor_creates_a_user_of_their_own_unit_with_an_audit_event(people):  # type: ignore[no-untyped-def]
    new = user_create(username="nour", full_name="نور الهدى", password=NEW_PASSWORD, roles=["prosecutor"], actor=people["sup"])
    assert new.unit == people["sup"].unit and new.roles == ["prosecutor"] and new.is_active
    assert new.get_full_name() == "نور الهدى"
    assert not AuthenticatorDevice.objects.filter(user=new).exists()  # enrolled by the user at the first login
    assert Client().login(username="nour", password=NEW_PASSWORD)
    [event] = [e for e in events("user.created") if e.target_id == str(new.pk)]
    assert event.actor == "user:sup-a" and event.unit_id == new.unit_id and event.data["roles"] == ["prosecutor"]


@pytest.mark.parametrize("username, password, roles, message", [
    ("", NEW_PASSWORD, ["investigator"], "empty"),
    ("   ", NEW_PASSWORD, ["investigator"], "empty"),
    ("two words", NEW_PASSWORD, ["investigator"], "valid username"),
    ("nour", "short-1", ["investigator"], "too short"),
    ("nour", "password123", ["investigator"], "too common"),
    ("nour", NEW_PASSWORD, [], "at least one role"),
    ("nour", NEW_PASSWORD, ["wizard"], "unknown role"),
    ("INV-A", NEW_PASSWORD, ["investigator"], "already exists"),  # no take-over of an existing account, of any unit
    ("inv-b", NEW_PASSWORD, ["investigator"], "already exists"),
])
def test_user_create_refuses_bad_input_and_writes_nothing(people, username, password, roles, message):  # type: ignore[no-untyped-def]
    before = (User.objects.count(), AuditEvent.objects.count())
    with translation.override("en"), pytest.raises(AccountError, match=message):
        user_create(username=username, password=password, roles=roles, actor=people["sup"])
    assert (User.objects.count(), AuditEvent.objects.count()) == before
    assert User.objects.get(username="inv-b").unit.code == "unit-b"


def test_a_supervisor_cannot_create_a_user_in_another_unit(people):  # type: ignore[no-untyped-def]
    with translation.override("en"), pytest.raises(AccountError, match="own unit"):
        user_create(username="nour", password=NEW_PASSWORD, roles=["investigator"], unit_code="unit-b", actor=people["sup"])
    assert not User.objects.filter(username="nour").exists()


def test_only_supervisors_create_users(people):  # type: ignore[no-untyped-def]
    for who in ("inv", "aud"):
        with pytest.raises(PermissionDenied):
            user_create(username=f"by-{who}", password=NEW_PASSWORD, roles=["supervisor"], actor=people[who])
    assert not User.objects.filter(username__startswith="by-").exists()


def test_set_roles_deactivate_and_reactivate_each_with_its_audit_event(people):  # type: ignore[no-untyped-def]
    sup, inv = people["sup"], people["inv"]
    user_set_roles(actor=sup, user=inv, roles=["investigator", "prosecutor"])
    inv.refresh_from_db()
    assert inv.roles == ["investigator", "prosecutor"]
    [changed] = events("user.roles_changed")
    assert changed.actor == "user:sup-a" and changed.data["old"] == ["investigator"] and changed.data["new"] == ["investigator", "prosecutor"]
    # The same roles again change nothing and record nothing.
    user_set_roles(actor=sup, user=inv, roles=["prosecutor", "investigator"])
    assert len(events("user.roles_changed")) == 1

    user_set_active(actor=sup, user=inv, active=False)
    inv.refresh_from_db()
    assert not inv.is_active and not Client().login(username="inv-a", password=PASSWORD)
    assert [e.actor for e in events("user.deactivated")] == ["user:sup-a"]
    user_set_active(actor=sup, user=inv, active=True)
    inv.refresh_from_db()
    assert inv.is_active and Client().login(username="inv-a", password=PASSWORD)
    assert [e.target_id for e in events("user.reactivated")] == [str(inv.pk)]


def test_a_deactivated_users_session_ends(people):  # type: ignore[no-untyped-def]
    client = signed_in(people["inv"])
    assert client.get(reverse("reports:list")).status_code == 200
    user_set_active(actor=people["sup"], user=people["inv"], active=False)
    assert client.get(reverse("reports:list")).status_code == 302


def test_a_deactivated_users_api_token_stops_working(people):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import token_create

    token = token_create(username="inv-a", actor="cli")
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/reports/").status_code == 200
    user_set_active(actor=people["sup"], user=people["inv"], active=False)
    assert api.get("/api/v1/reports/").status_code in (401, 403)


def test_a_supervisor_keeps_their_own_account_and_supervisor_role(people):  # type: ignore[no-untyped-def]
    sup = people["sup"]
    translation.activate("en")
    with pytest.raises(AccountError, match="your own account"):
        user_set_active(actor=sup, user=sup, active=False)
    with pytest.raises(AccountError, match="your own supervisor role"):
        user_set_roles(actor=sup, user=sup, roles=["investigator"])
    user_set_roles(actor=sup, user=sup, roles=["supervisor", "auditor"])  # adding is fine
    sup.refresh_from_db()
    assert sup.is_active and sup.roles == ["auditor", "supervisor"]


def test_another_units_user_does_not_exist_for_the_service_and_a_role_that_may_not_is_refused(people):  # type: ignore[no-untyped-def]
    with pytest.raises(Http404):
        user_set_roles(actor=people["sup"], user=people["inv_b"], roles=["supervisor"])
    with pytest.raises(Http404):
        user_set_active(actor=people["sup"], user=people["inv_b"], active=False)
    for who in ("inv", "aud"):
        with pytest.raises(PermissionDenied):
            user_set_roles(actor=people[who], user=people["inv"], roles=["supervisor"])
        with pytest.raises(PermissionDenied):
            user_set_active(actor=people[who], user=people["inv"], active=False)
    people["inv_b"].refresh_from_db()
    assert people["inv_b"].is_active and people["inv_b"].roles == ["investigator"]
    assert not AuditEvent.objects.filter(action__in=["user.roles_changed", "user.deactivated"]).exists()


# ------------------------------------------------------------------ pages

def test_the_supervisor_sees_their_units_users_only(people):  # type: ignore[no-untyped-def]
    throttle_lock("inv-a")
    AuthenticatorDevice.objects.create(user=people["aud"], name="default", confirmed=True)
    response = signed_in(people["sup"]).get(reverse("accounts:users"))
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("sup-a", "inv-a", "aud-a", "سلمى المشرفة"):
        assert name in html
    assert "sup-b" not in html and "inv-b" not in html
    assert 'id="user-create"' in html
    assert f'href="{reverse("accounts:users")}"' in html  # the nav link
    row = html[html.index('data-username="inv-a"'):]
    row = row[:row.index("</tr>")]
    assert 'data-state="locked"' in row


def test_a_supervisor_creates_a_user_through_the_page(people):  # type: ignore[no-untyped-def]
    client = signed_in(people["sup"])
    response = client.post(reverse("accounts:users"), {
        "username": "nour", "full_name": "نور الهدى", "roles": ["intake_analyst", "prosecutor"],
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
    })
    assert response.status_code == 302
    nour = User.objects.get(username="nour")
    assert nour.unit == people["sup"].unit and nour.roles == ["intake_analyst", "prosecutor"]
    assert "nour" in client.get(reverse("accounts:users")).content.decode()


@pytest.mark.parametrize("changes, field_error", [
    ({"password": "short", "password_again": "short"}, "password"),
    ({"password_again": "not-the-same-password"}, "password_again"),
    ({"roles": []}, "roles"),
    ({"username": ""}, "username"),
    ({"username": "inv-b"}, None),
])
def test_the_create_form_refuses_bad_input_with_a_message(people, changes, field_error):  # type: ignore[no-untyped-def]
    data = {"username": "nour", "full_name": "نور", "roles": ["investigator"], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD} | changes
    count = User.objects.count()
    response = signed_in(people["sup"]).post(reverse("accounts:users"), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors[field_error or "__all__"]
    assert User.objects.count() == count


def test_the_supervisor_changes_roles_deactivates_reactivates_and_unlocks_through_the_pages(people):  # type: ignore[no-untyped-def]
    client, inv = signed_in(people["sup"]), people["inv"]
    page = client.get(reverse("accounts:user", args=[inv.pk])).content.decode()
    assert 'id="user-roles"' in page and 'id="user-deactivate"' in page
    assert 'id="user-unlock"' not in page and 'id="user-second-factor-reset"' not in page  # nothing to unlock or reset

    assert client.post(reverse("accounts:user_roles", args=[inv.pk]), {"roles": ["investigator", "child_protection"]}).status_code == 302
    assert client.post(reverse("accounts:user_active", args=[inv.pk]), {"active": "0"}).status_code == 302
    inv.refresh_from_db()
    assert inv.roles == ["child_protection", "investigator"] and not inv.is_active
    assert 'id="user-reactivate"' in client.get(reverse("accounts:user", args=[inv.pk])).content.decode()
    client.post(reverse("accounts:user_active", args=[inv.pk]), {"active": "1"})
    inv.refresh_from_db()
    assert inv.is_active

    throttle_lock("inv-a")
    AuthenticatorDevice.objects.create(user=inv, name="default", confirmed=True)
    page = client.get(reverse("accounts:user", args=[inv.pk])).content.decode()
    assert 'id="user-unlock"' in page and 'id="user-second-factor-reset"' in page
    client.post(reverse("accounts:user_unlock", args=[inv.pk]))
    client.post(reverse("accounts:user_second_factor_reset", args=[inv.pk]))
    assert not user_is_locked(inv) and not AuthenticatorDevice.objects.filter(user=inv).exists()


def test_the_supervisors_own_page_offers_no_deactivation(people):  # type: ignore[no-untyped-def]
    client, sup = signed_in(people["sup"]), people["sup"]
    page = client.get(reverse("accounts:user", args=[sup.pk])).content.decode()
    assert 'id="user-deactivate"' not in page
    client.post(reverse("accounts:user_active", args=[sup.pk]), {"active": "0"})
    client.post(reverse("accounts:user_roles", args=[sup.pk]), {"roles": ["auditor"]})
    sup.refresh_from_db()
    assert sup.is_active and sup.roles == ["supervisor"]


def test_another_units_user_is_404_on_every_page(people):  # type: ignore[no-untyped-def]
    other = people["inv_b"]
    for who in ("sup", "inv", "aud"):
        client = signed_in(people[who])
        assert client.get(reverse("accounts:user", args=[other.pk])).status_code == 404, who
        for name, data in (("user_roles", {"roles": ["supervisor"]}), ("user_active", {"active": "0"}),
                           ("user_unlock", {}), ("user_second_factor_reset", {})):
            assert client.post(reverse(f"accounts:{name}", args=[other.pk]), data).status_code == 404, (who, name)
    other.refresh_from_db()
    assert other.is_active and other.roles == ["investigator"]


def test_an_investigator_may_not_see_or_manage_users(people):  # type: ignore[no-untyped-def]
    client, target = signed_in(people["inv"]), people["aud"]
    assert client.get(reverse("accounts:users")).status_code == 403
    assert client.get(reverse("accounts:user", args=[target.pk])).status_code == 403
    assert client.post(reverse("accounts:users"), {"username": "x-user", "full_name": "x", "roles": ["supervisor"],
                                                   "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}).status_code == 403
    assert client.post(reverse("accounts:user_active", args=[target.pk]), {"active": "0"}).status_code == 403
    assert f'href="{reverse("accounts:users")}"' not in client.get(reverse("reports:list")).content.decode()
    assert not User.objects.filter(username="x-user").exists()


def test_the_auditor_reads_the_list_and_pages_but_sees_no_form_and_cannot_submit(people):  # type: ignore[no-untyped-def]
    client, target = signed_in(people["aud"]), people["inv"]
    throttle_lock("inv-a")
    AuthenticatorDevice.objects.create(user=target, name="default", confirmed=True)
    listing = client.get(reverse("accounts:users"))
    assert listing.status_code == 200 and "inv-a" in listing.content.decode()
    assert "<form" not in listing.content.decode().split('<main', 1)[1]
    detail = client.get(reverse("accounts:user", args=[target.pk]))
    assert detail.status_code == 200 and "<form" not in detail.content.decode().split('<main', 1)[1]
    assert client.post(reverse("accounts:users"), {"username": "x-user", "full_name": "x", "roles": ["supervisor"],
                                                   "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}).status_code == 403
    for name, data in (("user_roles", {"roles": ["supervisor"]}), ("user_active", {"active": "0"}),
                       ("user_unlock", {}), ("user_second_factor_reset", {})):
        assert client.post(reverse(f"accounts:{name}", args=[target.pk]), data).status_code == 403, name
    target.refresh_from_db()
    assert target.is_active and user_is_locked(target) and AuthenticatorDevice.objects.filter(user=target).exists()


def throttle_lock(username: str) -> None:
    for _ in range(20):
        throttle.failure_record(scope=AuthFailure.Scope.USER, key=username)


# ------------------------------------------------------------------ himaya create_user

@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):  # type: ignore[no-untyped-def]
    # A command run from argv closes every connection when done: not the test's own (PostgreSQL).
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """As `himaya create_user ...` runs from a shell: exit status, stdout, stderr."""
    code = 0
    try:
        ManagementUtility(["himaya", "create_user", *argv]).execute()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_user_refuses_an_unknown_unit_unless_told_to_create_it(db, capsys):  # type: ignore[no-untyped-def]
    user_create(username="first", password=PASSWORD, roles=["supervisor"], unit_code="unit-a")
    code, out, err = run_cli(capsys, "nour", "--role", "investigator", "--unit", "demo-unit", "--password", NEW_PASSWORD)
    assert code == 1 and "there is no unit demo-unit" in err and "unit-a" in err and "--create-unit" in err
    assert "Traceback" not in err
    assert not Unit.objects.filter(code="demo-unit").exists() and not User.objects.filter(username="nour").exists()

    code, out, err = run_cli(capsys, "nour", "--role", "investigator", "--unit", "demo-unit", "--create-unit", "--password", NEW_PASSWORD)
    assert code == 0 and "nour (investigator) → unit demo-unit" in out
    assert User.objects.get(username="nour").unit.code == "demo-unit"
    assert AuditEvent.objects.filter(action="unit.created", data__code="demo-unit").exists()
    assert AuditEvent.objects.get(action="user.created", target_id=str(User.objects.get(username="nour").pk)).actor == "cli"


def test_create_user_into_an_existing_unit_and_by_default_the_intake_unit(db, capsys):  # type: ignore[no-untyped-def]
    user_create(username="first", password=PASSWORD, roles=["supervisor"], unit_code="unit-a")
    assert run_cli(capsys, "nour", "--role", "prosecutor", "--role", "investigator", "--unit", "unit-a", "--password", NEW_PASSWORD)[0] == 0
    assert User.objects.get(username="nour").roles == ["investigator", "prosecutor"]
    assert run_cli(capsys, "amal", "--role", "auditor", "--password", NEW_PASSWORD)[0] == 0
    assert User.objects.get(username="amal").unit.is_intake


@pytest.mark.parametrize("name, password, message", [
    ("", NEW_PASSWORD, "the user name must not be empty"),
    ("a b", NEW_PASSWORD, "Enter a valid username"),
    ("nour", "x", "This password is too short. It must contain at least 10 characters."),
    ("nour", "password1234", "This password is too common."),
])
def test_create_user_refuses_an_empty_name_and_a_weak_password(db, capsys, name, password, message):  # type: ignore[no-untyped-def]
    code, out, err = run_cli(capsys, name, "--role", "investigator", "--password", password)
    assert code == 1 and message in err and "Traceback" not in err
    assert not User.objects.exists()
    with pytest.raises(CommandError, match=message.split(".")[0]):
        call_command("create_user", name, "--role", "investigator", "--password", password)


# ------------------------------------------------------------------ the demo's people

def test_the_demo_has_one_login_per_role_with_a_valid_password_and_the_readme_lists_them() -> None:
    from pathlib import Path

    from django.contrib.auth.password_validation import validate_password

    from himaya.accounts.models import Role
    from himaya.demo.services import DEMO_USERS

    assert sorted(r for _, _, roles in DEMO_USERS for r in roles) == sorted(Role.values)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "code `intake`" in readme
    for username, password, roles in DEMO_USERS:
        validate_password(password, User(username=username))
        assert f"| `{username}` | " in readme and f"(`{roles[0]}`)" in readme
