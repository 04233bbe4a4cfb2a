"""The proof of work: solved once, never forged, never replayed, never skipped."""
from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from django.db.models import Sum
from django.test import Client

from himaya.portal import pow
from himaya.portal.models import PortalCounter, PowSpent
from himaya.reports.models import Report
from tests.portal.conftest import challenge_from, form_fields, receipt_of, submit


def test_a_solution_verifies_and_names_its_difficulty() -> None:
    challenge = pow.challenge_new(difficulty=10)
    solved = pow.verify(challenge, pow.solve(challenge))
    assert solved.difficulty == 10 and len(solved.nonce) == 32


def test_unsolved_forged_and_expired_are_refused() -> None:
    challenge = pow.challenge_new(difficulty=12)
    good = pow.solve(challenge)
    bad = next(str(n) for n in range(10_000) if pow.leading_zero_bits(__import__("hashlib").sha256(f"{challenge}:{n}".encode()).digest()) < 12)
    with pytest.raises(pow.PowRefused, match="unsolved"):
        pow.verify(challenge, bad)
    # A client that lowers the difficulty in the challenge breaks its signature.
    body, signature = challenge.split(":")
    nonce, _, issued = body.split(".")
    easy = f"{nonce}.0.{issued}:{signature}"
    with pytest.raises(pow.PowRefused, match="forged"):
        pow.verify(easy, "0")
    with pytest.raises(pow.PowRefused, match="expired"):
        pow.verify(challenge, good, now=time.time() + pow.MAX_AGE_SECONDS + 5)
    for junk in ("", "abc", "1" * 30):
        with pytest.raises(pow.PowRefused):
            pow.verify(challenge, junk)


@pytest.mark.django_db
def test_submit_without_a_solution_is_refused_before_anything_is_written() -> None:
    client = Client()
    challenge_from(client)
    counted = PortalCounter.objects.aggregate(n=Sum("count"))["n"]
    response = client.post("/portal/report/", form_fields())
    assert response.status_code == 403
    response = submit(client, solve=False)
    assert response.status_code == 403
    assert Report.objects.count() == 0
    assert PowSpent.objects.count() == 0
    assert PortalCounter.objects.aggregate(n=Sum("count"))["n"] == counted + 2  # only the second form page's challenge (per address and in all)


@pytest.mark.django_db
def test_a_solution_is_used_once(settings) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    challenge = challenge_from(client)
    nonce = pow.solve(challenge)
    first = client.post(f"/portal/report/?c={quote(challenge)}&n={nonce}", form_fields())
    assert first.status_code == 200 and receipt_of(first)
    again = client.post(f"/portal/report/?c={quote(challenge)}&n={nonce}", form_fields())
    assert again.status_code == 403
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_challenge_keeps_what_the_child_wrote(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    challenge = challenge_from(client)
    nonce = pow.solve(challenge)
    real = time.time
    monkeypatch.setattr(pow.time, "time", lambda: real() + pow.MAX_AGE_SECONDS + 60)
    response = client.post(f"/portal/report/?c={quote(challenge)}&n={nonce}", form_fields(story="my words stay here"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "my words stay here" in html and 'data-challenge="' in html
    assert Report.objects.count() == 0
