"""Per-address and global limits, in the database: a flood costs the flooder, and
never drops a solved submission."""
from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from django.test import Client

from himaya.portal import pow, throttle
from himaya.portal.models import PortalCounter, PowSpent
from himaya.reports.models import Report
from tests.portal.conftest import CHALLENGE, challenge_from, form_fields, receipt_of, submit


@pytest.mark.django_db
def test_solved_submissions_per_address_are_limited(settings, fixed_window) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_PORTAL_LIMITS = {"submissions": (3, 3600)}
    flooder = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [submit(flooder, form_fields(story=f"report {i}")).status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = submit(flooder, form_fields(story="my words are kept"))
    assert "my words are kept" in refused.content.decode()  # the form comes back filled in
    assert submit(Client(REMOTE_ADDR="198.51.100.20")).status_code == 200
    assert Report.objects.count() == 4


@pytest.mark.django_db
def test_challenges_per_address_are_limited(settings, fixed_window) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_PORTAL_LIMITS = {"challenges": (5, 600)}
    client = Client(REMOTE_ADDR="203.0.113.8")
    assert [client.get("/portal/report/").status_code for _ in range(7)] == [200] * 5 + [429] * 2
    assert Client(REMOTE_ADDR="198.51.100.21").get("/portal/report/").status_code == 200


@pytest.mark.django_db
def test_a_flood_of_unsolved_submissions_writes_nothing_and_drops_no_solved_one() -> None:
    child = Client(REMOTE_ADDR="198.51.100.30")
    challenge = challenge_from(child)
    nonce = pow.solve(challenge)
    flooder = Client(REMOTE_ADDR="203.0.113.9")
    forged = challenge_from(flooder)  # a real challenge, never solved
    difficulty = int(forged.split(":")[0].split(".")[1])
    wrong = [n for n in range(2000) if pow.leading_zero_bits(hashlib.sha256(f"{forged}:{n}".encode()).digest()) < difficulty][:300]
    counted = sum(PortalCounter.objects.values_list("count", flat=True))
    for n in wrong:
        response = flooder.post(f"/portal/report/?c={quote(forged)}&n={n}", form_fields(), REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 403
    assert sum(PortalCounter.objects.values_list("count", flat=True)) == counted
    assert PowSpent.objects.count() == 0 and Report.objects.count() == 0
    # The child's solved submission, made before the flood, is kept.
    response = child.post(f"/portal/report/?c={quote(challenge)}&n={nonce}", form_fields())
    assert response.status_code == 200 and receipt_of(response)


@pytest.mark.django_db
def test_a_busy_portal_asks_new_challenges_for_more_work_but_keeps_old_ones_valid(settings, fixed_window) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_PORTAL_LIMITS = {"challenges": (10_000, 600)}
    early = challenge_from(Client())
    base = int(early.split(":")[0].split(".")[1])
    for _ in range(throttle.GLOBAL_BUSY):
        throttle.challenge_issued()
    busy = CHALLENGE.search(Client().get("/portal/report/").content.decode()).group(1)
    assert int(busy.split(":")[0].split(".")[1]) == base + 2
    assert pow.verify(early, pow.solve(early)).difficulty == base
