import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_arabic_even_for_an_english_browser_until_the_user_switches():
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    page = client.get("/accounts/login/")
    assert page["Content-Language"] == "ar"
    assert 'dir="rtl"' in page.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    page = client.get("/accounts/login/")
    assert page["Content-Language"] == "en" and 'dir="ltr"' in page.content.decode()
