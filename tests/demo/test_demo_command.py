import pytest
from django.core.management import call_command
from django.test import Client

from himaya.reports.models import Report, ReportFile, ReportStatus
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db


def test_demo_loads_reports_through_intake_and_the_analyst_can_read_them(capsys):
    call_command("demo", "--reports", "12")
    assert "loaded 12 synthetic reports" in capsys.readouterr().out
    assert Report.objects.filter(status=ReportStatus.FINISHED).count() == 12
    assert ReportFile.objects.exclude(details_document=None).exists()
    from himaya.accounts.models import User

    client = login_verified(Client(), User.objects.get(username="analyst"), "himaya-demo-2026")
    page = client.get("/")
    assert page.status_code == 200
    newest = Report.objects.order_by("-id").first()
    assert f"/reports/{newest.id}/" in page.content.decode()
    # Running it again adds nothing.
    call_command("demo", "--reports", "12")
    assert Report.objects.count() == 12


def test_demo_rejects_a_silly_count():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("demo", "--reports", "0")
