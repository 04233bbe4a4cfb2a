"""Hashing on arrival, hash lists and matching, end to end through the provider API and `himaya hashlist`."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from PIL import Image
from rest_framework.test import APIClient

from himaya.accounts.permissions import OPERATOR
from himaya.accounts.services import token_create, user_create
from himaya.audit.models import AuditEvent
from himaya.media.models import FileStatus, HashEntry, HashList, HashState, MediaMatch, MediaState, RematchJob
from himaya.media.services import hashlist_import, media_hash_blob, rematch_job_run
from himaya.media.signals import media_status_changed
from himaya.reports.models import ReportFile
from tests.conftest import DOC_REPORT
from tests.media.fixtures import BRIDGE, BRIDGE_MODS, benign, drawn_image, drawn_video, pdq, vics_13, vics_20, vics_item, vpdq_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(provider, django_capture_on_commit_callbacks):
    """Send files in one report through /ispws/ and run the background tasks it starts."""
    def _deliver(*files: bytes) -> list[str]:
        with django_capture_on_commit_callbacks(execute=True):
            rid = provider.submit(DOC_REPORT).report_id
            ids = [provider.upload(rid, data).file_id for data in files]
            assert provider.finish(rid).code == 0
        return ids
    return _deliver


@pytest.fixture
def api(db) -> APIClient:
    user_create(username="amal", password="a-long-password-1", roles=["intake_analyst"], unit_code="intake")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(username='amal')}")
    return client


def api_file(api: APIClient, file_id: str) -> dict:
    rf = ReportFile.objects.get(file_id=file_id)
    body = api.get(f"/api/v1/reports/{rf.report_id}/").json()
    return next(f for f in body["files"] if f["file_id"] == file_id)


def import_file(tmp_path, data: bytes, **opts) -> None:
    path = tmp_path / "list.dat"
    path.write_bytes(data)
    call_command("hashlist", "import", str(path), *[f"--{k}={v}" for k, v in opts.items()])


def test_a_file_is_hashed_on_arrival_and_new_when_no_list_knows_it(deliver, api):
    (fid,) = deliver(benign(BRIDGE))
    state = MediaState.objects.get(blob__report_files__file_id=fid)
    assert (state.state, state.kind, state.pdq, state.pdq_quality) == (HashState.HASHED, "image", pdq(BRIDGE), 100)
    f = api_file(api, fid)
    assert (f["pdq"], f["pdq_quality"], f["status"], f["matches"]) == (pdq(BRIDGE), 100, "new", [])


def test_undecodable_file_is_marked_with_its_reason_and_the_rest_goes_on(deliver, api):
    bad, good = deliver(b"%PDF-1.4 not media", benign("shapes"))
    state = MediaState.objects.get(blob__report_files__file_id=bad)
    assert state.state == HashState.UNDECODABLE and "not an image" in state.reason
    assert api_file(api, bad)["status"] == "new" and api_file(api, bad)["pdq"] is None
    assert api_file(api, good)["pdq"] == pdq("shapes")


def test_hashing_is_idempotent_and_per_content(deliver):
    first = deliver(benign("wee"))[0]
    second = deliver(benign("wee"))[0]
    blob = ReportFile.objects.get(file_id=first).blob
    assert ReportFile.objects.get(file_id=second).blob == blob and MediaState.objects.filter(blob=blob).count() == 1
    before = AuditEvent.objects.filter(action="media.hashed").count()
    media_hash_blob(address=blob.address)
    assert AuditEvent.objects.filter(action="media.hashed").count() == before


def test_vics_import_then_upload_is_known_in_the_api(tmp_path, deliver, api, django_capture_on_commit_callbacks):
    data = drawn_image(1)
    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, vics_13([vics_item(data, media_id="m1", category="1")]), name="ICSE-example", kind="known")
    (fid,) = deliver(data)
    f = api_file(api, fid)
    assert f["status"] == "known"
    assert sorted(m["algorithm"] for m in f["matches"]) == ["md5", "sha1"]
    assert {(m["list"], m["kind"], m["category"], m["distance"]) for m in f["matches"]} == {("ICSE-example", "known", "1", 0)}
    entry = HashEntry.objects.filter(algorithm="photodna").get()
    assert (entry.victim_identified, entry.is_distributed, entry.series) == (True, False, "Blue Kite (invented)")
    assert MediaMatch.objects.filter(algorithm="photodna").count() == 0  # kept, never matched


def test_a_list_added_later_rematches_stored_files_and_signals_the_change(tmp_path, deliver, api, django_capture_on_commit_callbacks):
    fid = deliver(benign(BRIDGE))[0]
    assert api_file(api, fid)["status"] == "new"
    changes = []
    receiver = lambda **kw: changes.append((kw["old_status"], kw["new_status"], kw["report_ids"]))  # noqa: E731
    media_status_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_file(tmp_path, f"pdq\n{pdq('bridge-contrast')}\n".encode(), name="memes", kind="viral", format="csv")
    finally:
        media_status_changed.disconnect(receiver)
    f = api_file(api, fid)
    assert f["status"] == "viral" and f["matches"][0]["algorithm"] == "pdq" and 0 < f["matches"][0]["distance"] <= 31
    assert changes == [("new", "viral", [ReportFile.objects.get(file_id=fid).report_id])]
    job = RematchJob.objects.get()
    assert (job.status, job.done, job.total) == ("done", 1, 1)


@pytest.mark.parametrize("layout", ["fast", "compact"])
def test_every_bridge_mod_and_rotated_or_mirrored_copy_matches_and_unrelated_images_do_not(deliver, api, django_capture_on_commit_callbacks, settings, layout):
    settings.HIMAYA_PDQ_INDEX_LAYOUT = layout  # the index a worker builds; the answers must not depend on it
    original = Image.open(io.BytesIO(benign(BRIDGE))).convert("RGB")
    turned = []
    for op in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM):
        out = io.BytesIO()
        original.transpose(op).save(out, format="JPEG", quality=90)
        turned.append(out.getvalue())
    with django_capture_on_commit_callbacks(execute=True):
        hashlist_import(data=f"pdq:{pdq(BRIDGE)}\n".encode(), name="seized-2026", kind="seizure", fmt="lines", actor=OPERATOR)
    ids = deliver(*[benign(n) for n in BRIDGE_MODS], *turned, benign("shapes"), benign("wee"), drawn_image(7))
    statuses = [api_file(api, fid)["status"] for fid in ids]
    assert statuses == ["known"] * (len(BRIDGE_MODS) + len(turned)) + ["new", "new", "new"]
    from himaya.media.services import pdq_index

    assert pdq_index().index.layout == layout


def test_low_quality_images_are_not_matched_perceptually(deliver, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hashlist_import(data=f"pdq:{pdq('small')}\n".encode(), name="flat", kind="known", fmt="lines", actor=OPERATOR)
    (fid,) = deliver(benign("small"))
    assert api_file(api, fid)["pdq_quality"] == 0 and api_file(api, fid)["status"] == "new"


def test_vics_2_with_media_files_and_the_most_serious_list_wins(tmp_path, deliver, api, django_capture_on_commit_callbacks):
    data = drawn_image(2)
    item = {"MediaID": "7", "Category": 2, "MediaFiles": [{"MD5": hashlib.md5(data).hexdigest().upper()}], "IsDistributed": "True"}
    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, f"sha256\n{hashlib.sha256(data).hexdigest()}\n".encode(), name="benign", kind="benign", format="csv")
        import_file(tmp_path, vics_20([item]), name="projectvic", kind="known")
    (fid,) = deliver(data)
    f = api_file(api, fid)
    assert f["status"] == "known" and {m["list"] for m in f["matches"]} == {"benign", "projectvic"}
    assert HashList.objects.get(name="projectvic").source_format == "vics-2.0"


def test_summaries_of_many_files_at_once_are_each_files_own(tmp_path, deliver, django_capture_on_commit_callbacks):
    """A batch of arrivals asks its files' verdicts in two statements (`files_media_summaries`):
    linking and triage must read there what each file's own summary says (status, matches in order)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from himaya.media.selectors import file_media_summary, files_media_summaries

    known, other = drawn_image(2), drawn_image(3)
    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, f"sha256\n{hashlib.sha256(known).hexdigest()}\n".encode(), name="benign", kind="benign", format="csv")
        import_file(tmp_path, vics_13([vics_item(known, media_id="m1", category="1")]), name="projectvic", kind="known")
    ids = [*deliver(known, other), *deliver(known)]
    one = [file_media_summary(rf) for rf in (ReportFile.objects.get(file_id=i) for i in ids)]
    files = [ReportFile.objects.get(file_id=i) for i in ids] + [ReportFile(blob=None)]
    with CaptureQueriesContext(connection) as ctx:
        files_media_summaries(files)
    assert len(ctx.captured_queries) == 2
    assert [f._media_summary for f in files[:-1]] == one
    assert one[0]["status"] == "known" and {m["list"] for m in one[0]["matches"]} == {"benign", "projectvic"}
    assert one[1]["status"] == "new" and one[1]["matches"] == []
    assert files[-1]._media_summary["status"] == "pending"


@pytest.mark.parametrize("payload, fmt, message", [
    (b"{not json", "vics", "not VICS JSON"),
    (vics_13([{"MediaID": "1", "MD5": "XYZ"}]), "vics", "is not a MD5 hash"),
    (vics_13([{"MediaID": "1", "MD5": "0" * 32, "Category": "9"}]), "vics", "category '9'"),
    (vics_13([{"MediaID": "1", "MD5": "0" * 32, "VictimIdentified": "maybe"}]), "vics", "is not a boolean"),
    (b"name\nfoo\n", "csv", "header"),
    (b"0123\n", "lines", "cannot tell"),
])
def test_a_bad_file_gives_a_clear_error_and_imports_nothing(tmp_path, payload, fmt, message):
    good = vics_13([vics_item(b"x", media_id="1")])
    import_file(tmp_path, good, name="L", kind="known")
    with pytest.raises(CommandError, match=message):
        import_file(tmp_path, payload, name="L", kind="known", format=fmt)
    hash_list = HashList.objects.get(name="L")
    assert (hash_list.version, hash_list.entries.count()) == (1, 3)


def test_reimport_replaces_and_versions_and_export_round_trips(tmp_path, capsys):
    a, b = drawn_image(3), drawn_image(4)
    import_file(tmp_path, vics_13([vics_item(a, media_id="1")]), name="L", kind="known", provenance="INTERPOL ICSE, example agreement")
    import_file(tmp_path, vics_13([vics_item(a, media_id="1"), vics_item(b, media_id="2", category="3", series="Green Hill (invented)")]), name="L", kind="known")
    hash_list = HashList.objects.get(name="L")
    assert (hash_list.version, hash_list.entry_count, hash_list.provenance) == (2, 6, "INTERPOL ICSE, example agreement")
    capsys.readouterr()
    call_command("hashlist", "export", "L", "--format", "vics")
    exported = capsys.readouterr().out
    doc = json.loads(exported)
    assert doc["@odata.context"].endswith("$metadata#Cases")
    media = doc["value"][0]["Media"]
    assert {m["MD5"] for m in media} == {hashlib.md5(a).hexdigest().upper(), hashlib.md5(b).hexdigest().upper()}
    assert {(m["Category"], m["Series"], m["VictimIdentified"]) for m in media} == {(1, "Blue Kite (invented)", True), (3, "Green Hill (invented)", True)}
    import_file(tmp_path, exported.encode(), name="copy", kind="known")
    assert sorted(HashList.objects.get(name="copy").entries.values_list("algorithm", "value")) == sorted(hash_list.entries.values_list("algorithm", "value"))
    assert AuditEvent.objects.filter(action="hashlist.imported").count() == 3
    assert AuditEvent.objects.filter(action="hashlist.exported").count() == 1


def test_rematch_is_resumable_and_records_progress(deliver, django_capture_on_commit_callbacks):
    ids = deliver(drawn_image(10), drawn_image(11), drawn_image(12))
    target = drawn_image(12)
    # The job is queued but its worker "dies" after one batch; running it again continues from the cursor.
    hashlist_import(data=f"md5:{hashlib.md5(target).hexdigest()}\n".encode(), name="L", kind="known", fmt="lines", actor=OPERATOR)
    job = RematchJob.objects.get()
    assert rematch_job_run(job_id=job.id, batch=2, max_batches=1) == 2
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("running", 2, 3) and job.cursor
    assert rematch_job_run(job_id=job.id, batch=2) == 3
    job.refresh_from_db()
    assert job.status == "done"
    statuses = {fid: MediaState.objects.get(blob__report_files__file_id=fid).status for fid in ids}
    assert sorted(statuses.values()) == ["known", "new", "new"]


def test_the_summary_of_a_file_without_content_is_pending(deliver, api):
    (fid,) = deliver(drawn_image(20))
    rf = ReportFile.objects.get(file_id=fid)
    MediaState.objects.filter(blob=rf.blob).update(status=FileStatus.PENDING, state=HashState.PENDING)
    assert api_file(api, fid)["status"] == "pending"


def test_a_listed_video_matches_its_copy_by_vpdq_and_not_another_video(deliver, api, django_capture_on_commit_callbacks):
    rows = "media_id,vpdq\n" + "".join(f"clip-1,{frame}\n" for frame in vpdq_rows(drawn_video(1)))
    with django_capture_on_commit_callbacks(execute=True):
        hashlist_import(data=rows.encode(), name="videos", kind="known", fmt="csv", actor=OPERATOR)
    chair, pattern = deliver(drawn_video(1, bit_rate=60_000), drawn_video(2))  # a re-encoded copy of the listed clip, another clip
    f = api_file(api, chair)
    assert f["status"] == "known" and [(m["list"], m["algorithm"]) for m in f["matches"]] == [("videos", "vpdq")]
    assert f["pdq"] is None and MediaState.objects.get(blob__report_files__file_id=chair).kind == "video"
    assert api_file(api, pattern)["status"] == "new"


def test_deleting_a_list_rematches_its_files_back_to_new(tmp_path, deliver, api, django_capture_on_commit_callbacks):
    data = drawn_image(40)
    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, f"sha1:{hashlib.sha1(data).hexdigest()}\n".encode(), name="gone", kind="known", format="lines")
    (fid,) = deliver(data)
    assert api_file(api, fid)["status"] == "known"
    with pytest.raises(CommandError, match="--reason"):
        call_command("hashlist", "delete", "gone")  # a list is never retired without saying why
    assert api_file(api, fid)["status"] == "known"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("hashlist", "delete", "gone", "--reason", "superseded by the 2027 list")
    assert api_file(api, fid)["status"] == "new" and not HashList.objects.exists()
    with pytest.raises(CommandError, match="no hash list named"):
        call_command("hashlist", "delete", "gone", "--reason", "superseded by the 2027 list")


def test_workers_share_the_published_index_and_a_replaced_list_is_never_served_stale(deliver, api, django_capture_on_commit_callbacks):
    import numpy as np

    from himaya.media import services

    with django_capture_on_commit_callbacks(execute=True):
        hashlist_import(data=f"pdq:{pdq('shapes')}\n".encode(), name="a", kind="viral", fmt="lines", actor=OPERATOR)
    first = services.pdq_index()
    services._loaded = None  # as a second worker process would start
    mapped = services.pdq_index()
    stored = mapped.index._cols if mapped.index.layout == "compact" else mapped.index._words  # the hashes, in either layout
    assert isinstance(stored, np.memmap) and mapped.signature == first.signature
    # Delete and import a list of the same size: on SQLite the new entry may even reuse the row id.
    with django_capture_on_commit_callbacks(execute=True):
        services.hashlist_delete(name="a", reason="replaced", actor=OPERATOR)
        hashlist_import(data=f"pdq:{pdq(BRIDGE)}\n".encode(), name="b", kind="benign", fmt="lines", actor=OPERATOR)
    bridge, c = deliver(benign(BRIDGE), benign("shapes"))
    assert (api_file(api, bridge)["status"], api_file(api, c)["status"]) == ("benign", "new")


def test_a_video_list_exported_as_vics_and_imported_again_still_matches_the_video(tmp_path, capsys, deliver, api, django_capture_on_commit_callbacks):
    frames = vpdq_rows(drawn_video(1))
    rows = "media_id,category,vpdq,pdq\n" + "".join(f"clip-1,2,{frame},\n" for frame in frames) + f"bridge,3,,{pdq(BRIDGE)}\n"
    hashlist_import(data=rows.encode(), name="partner", kind="known", fmt="csv", scheme="projectvic", actor=OPERATOR)
    capsys.readouterr()
    call_command("hashlist", "export", "partner", "--format", "vics")
    exported = capsys.readouterr().out
    import_file(tmp_path, exported.encode(), name="copy", kind="known")
    original = list(HashList.objects.get(name="partner").entries.order_by("id").values_list("algorithm", "value", "media_id", "category"))
    copied = list(HashList.objects.get(name="copy").entries.order_by("id").values_list("algorithm", "value", "media_id", "category"))
    assert copied == original and sum(1 for e in copied if e[0] == "vpdq") == len(frames)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("hashlist", "delete", "partner", "--reason", "only the exported copy should match")
    video, image = deliver(drawn_video(1, bit_rate=60_000), benign("bridge-sharpen"))
    assert [(m["list"], m["algorithm"], m["category"]) for m in api_file(api, video)["matches"]] == [("copy", "vpdq", "2")]
    assert [(m["list"], m["algorithm"], m["category"]) for m in api_file(api, image)["matches"]] == [("copy", "pdq", "3")]
    assert api_file(api, video)["status"] == api_file(api, image)["status"] == "known"
