"""Arriving files are matched in batches: every content hashed but not yet matched goes into
one `media_match_batch` with the file just hashed, and the result is exactly what matching
each file on its own (`media_match_blob`) gives — with either layout of the PDQ index.

The stored files, lists and expected verdicts are those of `test_rematch_batch`.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from himaya.media import services
from himaya.media.models import FileStatus, HashState, MediaMatch, MediaState
from himaya.media.services import media_hash_blob, media_match_arrivals, media_match_blob
from tests.media.test_rematch_batch import EXPECTED_STATUS, mixed, outcome, run  # noqa: F401 (mixed is a fixture)

pytestmark = pytest.mark.django_db

ARRIVING = "rotated-90"  # the file whose hashing task runs last


def unmatched(addresses) -> None:
    """As a worker killed before matching leaves them: hashed, never matched."""
    MediaMatch.objects.filter(blob_id__in=addresses).delete()
    MediaState.objects.filter(blob_id__in=addresses).update(status=FileStatus.PENDING, matched_at=None)


def unhashed(address: str) -> None:
    """As a file just stored leaves it, its hashing task not yet run."""
    MediaMatch.objects.filter(blob_id=address).delete()
    MediaState.objects.filter(blob_id=address).update(state=HashState.PENDING, kind="other", pdq="", pdq_quality=None, pdq_dihedral=[],
                                                      vpdq=[], status=FileStatus.PENDING, hashed_at=None, matched_at=None)


@pytest.fixture
def batches(monkeypatch) -> list[int]:
    """The size of every `media_match_batch` call."""
    sizes: list[int] = []
    real = services.media_match_batch

    def spy(**kwargs):
        done = real(**kwargs)
        sizes.append(len(done))
        return done
    monkeypatch.setattr(services, "media_match_batch", spy)
    return sizes


@pytest.mark.parametrize("layout", ["fast", "compact"])
def test_one_arrival_matches_every_waiting_file_exactly_as_one_at_a_time(mixed, django_capture_on_commit_callbacks, settings, monkeypatch, batches, layout):
    settings.HIMAYA_PDQ_INDEX_LAYOUT = layout
    waiting = [a for name, a in mixed.items() if name != ARRIVING]
    unmatched(waiting)
    unhashed(mixed[ARRIVING])

    def per_file() -> None:  # the path before batching: each file matched on its own
        with monkeypatch.context() as m:
            m.setattr(services, "media_match_arrivals", lambda *, address: media_match_blob(address=address))
            for address in sorted(waiting):
                media_match_blob(address=address)
            assert media_hash_blob(address=mixed[ARRIVING]).matched_at is not None

    savepoint = transaction.savepoint()
    reference = run(per_file, mixed, django_capture_on_commit_callbacks)
    transaction.savepoint_rollback(savepoint)
    assert MediaState.objects.filter(matched_at__isnull=True).count() == len(mixed)

    returned: list[MediaState] = []
    result = run(lambda: returned.append(media_hash_blob(address=mixed[ARRIVING])), mixed, django_capture_on_commit_callbacks)
    assert batches == [len(mixed)]  # one batch: the arrival and every waiting file
    assert result == reference
    statuses, _, signals, events = result
    assert statuses == EXPECTED_STATUS
    assert sorted(a for a, *_ in signals) == sorted(mixed.values())  # each changed from pending once
    assert len(events) == len(mixed)
    (state,) = returned  # the caller still gets the file's own state, matched
    assert (state.blob_id, state.status, state.state) == (mixed[ARRIVING], "viral", HashState.HASHED) and state.matched_at is not None


def test_rows_a_killed_worker_left_unmatched_are_matched_by_the_next_arrival(mixed, django_capture_on_commit_callbacks, monkeypatch, batches):
    for address in mixed.values():
        unhashed(address)
    names = sorted(mixed)
    first, last = names[:-1], names[-1]

    def killed(**kwargs):
        raise RuntimeError("worker killed while matching")
    with monkeypatch.context() as m:
        m.setattr(services, "media_match_batch", killed)
        for name in first:
            with pytest.raises(RuntimeError):
                media_hash_blob(address=mixed[name])
    left = MediaState.objects.filter(matched_at__isnull=True).exclude(state=HashState.PENDING)
    assert sorted(left.values_list("blob_id", flat=True)) == sorted(mixed[n] for n in first)  # hashed, matching rolled back
    assert set(left.values_list("status", flat=True)) == {FileStatus.PENDING}

    statuses, _, signals, _ = run(lambda: media_hash_blob(address=mixed[last]), mixed, django_capture_on_commit_callbacks)
    assert statuses == EXPECTED_STATUS and batches == [len(mixed)]
    assert sorted(a for a, *_ in signals) == sorted(mixed.values())
    assert not MediaState.objects.filter(matched_at__isnull=True).exists()

    # The re-queued task of a killed worker finds nothing left but its own file, and changes nothing.
    again = run(lambda: media_hash_blob(address=mixed[first[0]]), mixed, django_capture_on_commit_callbacks)
    assert again[:2] == (statuses, outcome(mixed)[1]) and again[2:] == ([], []) and batches[-1] == 1


def test_a_batch_takes_the_oldest_waiting_files_up_to_the_limit_and_always_the_arrival(mixed, django_capture_on_commit_callbacks, batches):
    by_age = sorted(mixed.values(), reverse=True)  # hashed in this order, so not the order of the addresses
    arriving = by_age[-1]
    unmatched(by_age)
    start = timezone.now()
    for i, address in enumerate(by_age):
        MediaState.objects.filter(blob_id=address).update(hashed_at=start + timedelta(seconds=i))
    with django_capture_on_commit_callbacks(execute=True):
        state = media_match_arrivals(address=arriving, limit=4)
    assert state.matched_at is not None and batches == [4]
    matched = set(MediaState.objects.filter(matched_at__isnull=False).values_list("blob_id", flat=True))
    assert matched == {*by_age[:3], arriving}
    with django_capture_on_commit_callbacks(execute=True):
        media_match_arrivals(address=arriving, limit=100)
    assert outcome(mixed)[0] == EXPECTED_STATUS and batches == [4, len(mixed) - 3]


@pytest.mark.skipif(not connection.features.has_select_for_update_skip_locked, reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("holder_commits", [True, False])
def test_rows_another_worker_holds_are_skipped_and_the_arrival_waits_for_its_own(mixed, holder_commits):
    arriving, held = mixed[ARRIVING], mixed["md5-known"]
    unmatched(list(mixed.values()))
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:  # holds the arrival and one waiting file, matches them, commits or dies
        try:
            with transaction.atomic():
                list(MediaState.objects.select_for_update().filter(blob_id__in=[arriving, held]))
                locked.set()
                release.wait(10)
                services.media_match_batch(addresses=[arriving, held])
                if not holder_commits:
                    raise RuntimeError("worker killed")
        except RuntimeError:
            pass
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert locked.wait(10)
    result: list[MediaState] = []
    arrival = threading.Thread(target=lambda: (result.append(media_match_arrivals(address=arriving)), connection.close()))
    arrival.start()
    waiting = MediaState.objects.filter(matched_at__isnull=True)
    for _ in range(300):  # it matches every free waiting file, then waits for the held arrival
        if set(waiting.values_list("blob_id", flat=True)) == {arriving, held}:
            break
        time.sleep(0.1)
    assert set(waiting.values_list("blob_id", flat=True)) == {arriving, held} and arrival.is_alive()
    release.set()
    worker.join(10)
    arrival.join(10)
    (state,) = result
    assert state.matched_at is not None and state.status == EXPECTED_STATUS[ARRIVING]
    held_state = MediaState.objects.get(blob_id=held)
    if holder_commits:
        assert held_state.status == EXPECTED_STATUS["md5-known"]
    else:  # the arrival was matched here; the holder's other file waits for the next arrival
        assert held_state.matched_at is None
