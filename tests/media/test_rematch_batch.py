"""Batched re-matching gives exactly what matching one stored file at a time gives.

A mixed set of stored files — exact hits, PDQ near hits, rotated and mirrored copies,
videos, an undecodable file, a low-quality image, files on several lists of different
kinds, a file whose list was retired — is re-matched both ways from the same state:
the verdicts, match records, audit events and `media_status_changed` signals agree.
"""
from __future__ import annotations

import hashlib
import io

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from PIL import Image

from himaya.accounts.permissions import OPERATOR
from himaya.audit.models import AuditEvent
from himaya.media.models import MediaMatch, MediaState, RematchJob
from himaya.media.services import hashlist_delete, hashlist_import, media_match_batch, media_match_blob, rematch_job_run
from himaya.media.signals import media_status_changed
from himaya.reports.models import ReportFile
from tests.conftest import DOC_REPORT
from tests.media.fixtures import BRIDGE, benign, drawn_image, drawn_video, pdq, vics_20, vics_item, vpdq_rows

pytestmark = pytest.mark.django_db


def turned(op: Image.Transpose) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(benign(BRIDGE))).convert("RGB").transpose(op).save(out, format="JPEG", quality=90)
    return out.getvalue()


FILES = {
    "md5-known": lambda: drawn_image(70),
    "sha256-benign": lambda: drawn_image(71),
    "known-and-benign": lambda: drawn_image(72),
    "blur-a-lot": lambda: benign("bridge-blur"),
    "shrink-a-lot": lambda: benign("shrink-a-lot"),
    "high-contrast": lambda: benign("bridge-contrast"),
    "rotated-90": lambda: turned(Image.Transpose.ROTATE_90),
    "mirrored": lambda: turned(Image.Transpose.FLIP_LEFT_RIGHT),
    "shapes-benign-pdq": lambda: benign("shapes"),
    "listed-video": lambda: drawn_video(1, bit_rate=60_000),
    "other-video": lambda: drawn_video(2),
    "undecodable": lambda: b"%PDF-1.4 not media at all",
    "low-quality": lambda: benign("small"),
    "retired-list": lambda: drawn_image(74),
    "unchanged-match": lambda: drawn_image(75),
    "unlisted": lambda: drawn_image(73),
}
EXPECTED_STATUS = {
    "md5-known": "known", "sha256-benign": "benign", "known-and-benign": "known", "blur-a-lot": "viral", "shrink-a-lot": "viral",
    "high-contrast": "viral", "rotated-90": "viral", "mirrored": "viral", "shapes-benign-pdq": "benign", "listed-video": "known",
    "other-video": "new", "undecodable": "new", "low-quality": "new", "retired-list": "new", "unchanged-match": "known", "unlisted": "new",
}


@pytest.fixture
def mixed(provider, django_capture_on_commit_callbacks) -> dict[str, str]:
    """Stored files and lists imported after them, before any re-matching ran: name -> blob address."""
    data = {name: make() for name, make in FILES.items()}
    with django_capture_on_commit_callbacks(execute=True):
        hashlist_import(data=f"sha1:{hashlib.sha1(data['retired-list']).hexdigest()}\n".encode(), name="old", kind="seizure", fmt="lines", actor=OPERATOR)
        hashlist_import(data=f"md5:{hashlib.md5(data['unchanged-match']).hexdigest()}\n".encode(), name="stable", kind="known", fmt="lines", actor=OPERATOR)
        rid = provider.submit(DOC_REPORT).report_id
        ids = {name: provider.upload(rid, content).file_id for name, content in data.items()}
        assert provider.finish(rid).code == 0
    # From here on, nothing re-matches until the test says so.
    hashlist_delete(name="old", reason="retired before the comparison", actor=OPERATOR)
    frames = vpdq_rows(drawn_video(1))
    hashlist_import(data=vics_20([vics_item(data["md5-known"], media_id="a"), vics_item(data["known-and-benign"], media_id="b")]), name="icse", kind="known", actor=OPERATOR)
    hashlist_import(data=("media_id,vpdq\n" + "".join(f"clip-1,{frame}\n" for frame in frames) + f"small,{pdq('small')}\n").encode(),
                    name="videos", kind="known", fmt="csv", actor=OPERATOR)
    hashlist_import(data=(f"sha256:{hashlib.sha256(data['sha256-benign']).hexdigest()}\nsha1:{hashlib.sha1(data['known-and-benign']).hexdigest()}\n"
                          f"pdq:{pdq('shapes')}\n").encode(), name="benign", kind="benign", fmt="lines", actor=OPERATOR)
    hashlist_import(data=f"pdq:{pdq(BRIDGE)}\npdq:{pdq('small')}\n".encode(), name="memes", kind="viral", fmt="lines", actor=OPERATOR)
    return {name: ReportFile.objects.get(file_id=fid).blob_id for name, fid in ids.items()}


def outcome(mixed: dict[str, str]) -> tuple[dict[str, str], list[tuple]]:
    names = {address: name for name, address in mixed.items()}
    statuses = {names[s.blob_id]: s.status for s in MediaState.objects.all()}
    matches = sorted((names[m.blob_id], m.entry_id, m.hash_list.name, m.algorithm, m.distance) for m in MediaMatch.objects.select_related("hash_list"))
    return statuses, matches


def run(matcher, mixed, capture) -> tuple[dict[str, str], list[tuple], list[tuple], list[tuple]]:
    """Match with `matcher`, then return statuses, matches, the signals sent after commit and the audit events written."""
    signals: list[tuple] = []
    receiver = lambda **kw: signals.append((kw["blob_address"], kw["old_status"], kw["new_status"], tuple(kw["report_ids"])))  # noqa: E731
    first_event = (AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0)
    media_status_changed.connect(receiver, dispatch_uid="test-batch")
    try:
        with capture(execute=True):
            matcher()
    finally:
        media_status_changed.disconnect(dispatch_uid="test-batch")
    events = sorted((e.target_type, e.target_id, e.data["old_status"], e.data["status"], tuple(map(tuple, e.data["matches"])))
                    for e in AuditEvent.objects.filter(id__gt=first_event, action="media.matched"))
    return (*outcome(mixed), sorted(signals), events)


def one_at_a_time() -> None:
    for address in MediaState.objects.order_by("blob_id").values_list("blob_id", flat=True):
        media_match_blob(address=address)


def batched(batch: int):
    def _run() -> None:
        job = RematchJob.objects.create(total=MediaState.objects.count())
        rematch_job_run(job_id=job.id, batch=batch)
        assert RematchJob.objects.get(id=job.id).status == "done"
    return _run


@pytest.mark.parametrize("batch", [4, 500])
def test_batched_rematching_gives_exactly_the_one_at_a_time_result(mixed, django_capture_on_commit_callbacks, batch):
    before = outcome(mixed)[0]
    assert before["retired-list"] == "known" and before["md5-known"] == "new"  # stale until re-matched

    savepoint = transaction.savepoint()
    reference = run(one_at_a_time, mixed, django_capture_on_commit_callbacks)
    transaction.savepoint_rollback(savepoint)
    assert outcome(mixed)[0] == before

    result = run(batched(batch), mixed, django_capture_on_commit_callbacks)
    assert result == reference
    statuses, matches, signals, events = result
    assert statuses == EXPECTED_STATUS
    # What the user sees on each file: the lists, algorithms and distances.
    by_file = {}
    for name, _, list_name, algorithm, distance in matches:
        by_file.setdefault(name, []).append((list_name, algorithm, distance))
    assert sorted(by_file["known-and-benign"]) == [("benign", "sha1", 0), ("icse", "md5", 0), ("icse", "sha1", 0)]
    assert [a for _, a, _ in by_file["listed-video"]] == ["vpdq"] and "other-video" not in by_file
    assert all(lst == "memes" and alg == "pdq" and 0 <= d <= 31 for f in ("blur-a-lot", "rotated-90", "mirrored") for lst, alg, d in by_file[f])
    assert "low-quality" not in by_file and "undecodable" not in by_file and "retired-list" not in by_file
    # One signal per content whose verdict changed, none for the others.
    changed = {name for name in statuses if statuses[name] != before[name]}
    assert sorted(a for a, *_ in signals) == sorted(mixed[n] for n in changed) and "unchanged-match" not in changed
    assert ("core.blob", mixed["retired-list"], "known", "new", ()) in events


def test_a_second_run_changes_nothing_and_a_batch_costs_the_same_queries_whatever_its_size(mixed, django_capture_on_commit_callbacks):
    first = run(batched(5), mixed, django_capture_on_commit_callbacks)
    match_ids = sorted(MediaMatch.objects.values_list("id", flat=True))
    again = run(batched(5), mixed, django_capture_on_commit_callbacks)
    assert again[:2] == first[:2] and again[2:] == ([], [])  # no signal, no audit event
    assert sorted(MediaMatch.objects.values_list("id", flat=True)) == match_ids  # nothing rewritten

    costs = []
    for limit in (2, len(mixed)):
        with CaptureQueriesContext(connection) as queries:
            assert len(media_match_batch(after="", limit=limit)) == limit
        # Fixed: the index's signature, the locked rows, the exact hashes, the entries (skipped when
        # nothing matched: which contents come first depends on the install's address key), the
        # current matches; then one status update per verdict present in the batch.
        updates = sum(q["sql"].startswith('UPDATE "media_mediastate"') for q in queries.captured_queries)
        costs.append((len(queries) - updates, updates))
    assert costs[0][0] <= costs[1][0] <= 10 and costs[1][0] - costs[0][0] <= 1 and costs[1][1] <= 4


def test_an_interrupted_batch_leaves_the_cursor_before_it(mixed, django_capture_on_commit_callbacks):
    job = RematchJob.objects.create(total=MediaState.objects.count())
    assert rematch_job_run(job_id=job.id, batch=6, max_batches=1) == 6
    job.refresh_from_db()
    first_cursor = job.cursor
    with pytest.raises(RuntimeError), transaction.atomic():  # the worker dies while the second batch is uncommitted
        media_match_batch(after=job.cursor, limit=6)
        raise RuntimeError("killed")
    job.refresh_from_db()
    assert (job.cursor, job.done, job.status) == (first_cursor, 6, "running")
    with django_capture_on_commit_callbacks(execute=True):
        assert rematch_job_run(job_id=job.id, batch=6) == len(mixed)
    assert outcome(mixed)[0] == EXPECTED_STATUS
