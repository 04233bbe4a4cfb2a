"""Re-matching stored files after a list change (SPEC §3.2: "adding or changing a list
re-matches every stored file in the background"), the per-file path against the batched job.

    .venv/bin/python bench/bench_rematch.py                       # 50 000 stored contents on PostgreSQL
    .venv/bin/python bench/bench_rematch.py --files 20000 --database-url sqlite:///tmp/x.sqlite3

1. a fresh database (PostgreSQL `himaya_bench_rematch`, dropped and created, unless
   --database-url) migrated by Django;
2. N synthetic stored contents written straight into `core.Blob` and
   `media.MediaState` (no files: the hashes are drawn at random, as the hashing
   task would have left them): images with a PDQ hash, its quality and 8 dihedral
   hashes (a few of low quality), and a share of videos with vPDQ frame hashes;
3. a list imported through `hashlist_import` (the real path): random PDQ hashes,
   plus entries that match some stored contents — exact MD5s, PDQ hashes a few bits
   away from a stored image's, and the frames of some stored videos;
4. the PDQ index built once (timed, not counted below);
5. the old path, `media_match_blob` one content at a time, on an evenly spread
   sample; its results are kept, then undone;
6. the batched job, `rematch_job_run` over every stored content, timed; the
   sample's results are compared with the old path's.

Prints contents/s of both and the ratio, with a projection to 1 M stored contents.

Then the arrival path, for the `fast` and the `compact` layout of the PDQ index in turn:
--arrivals stored contents are put back to "hashed, never matched" (what a burst of
arriving files leaves once hashed); the old path matches --arrival-sample of them with
`media_match_blob`, one at a time; the new path, `media_match_arrivals` (what the
hashing task calls), is called for the newest until none is left waiting, each call
taking every waiting content up to its limit. Both paths' results are compared.
`--arrivals-only` skips the re-match comparison.

Nothing is left behind unless --keep.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import database_url, drop_pg, fresh_pg, setup_django  # noqa: E402
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/himaya_bench_rematch"


def near(rng: random.Random, hex_hash: str, bits: int) -> str:
    value = int(hex_hash, 16)
    for b in rng.sample(range(256), bits):
        value ^= 1 << b
    return f"{value:064x}"


def store_contents(n: int, *, rng: random.Random, video_share: float, frames: int) -> list[tuple[str, str, str, list]]:
    """N Blob + MediaState rows; returns (address, md5, pdq, vpdq) per content."""
    from himaya.core.models import Blob
    from himaya.media.models import FileStatus, HashState, MediaKind, MediaState

    out = []
    for start in range(0, n, 5000):
        blobs, states = [], []
        for i in range(start, min(n, start + 5000)):
            seed = f"bench-{i}".encode()
            sha256 = hashlib.sha256(seed).hexdigest()
            md5, sha1 = hashlib.md5(seed).hexdigest(), hashlib.sha1(seed).hexdigest()
            blobs.append(Blob(address=sha256, size=1000 + i, md5=md5, sha1=sha1, sha256=sha256))
            if rng.random() < video_share:
                vpdq = [[k, 100, f"{rng.getrandbits(256):064x}", k * 1.0] for k in range(frames)]
                states.append(MediaState(blob_id=sha256, kind=MediaKind.VIDEO, state=HashState.HASHED, vpdq=vpdq, status=FileStatus.NEW))
                out.append((sha256, md5, "", vpdq))
            else:
                dihedral = [f"{rng.getrandbits(256):064x}" for _ in range(8)]
                quality = 100 if rng.random() > 0.03 else 30  # a few too flat to match perceptually
                states.append(MediaState(blob_id=sha256, kind=MediaKind.IMAGE, state=HashState.HASHED, pdq=dihedral[0], pdq_quality=quality,
                                         pdq_dihedral=dihedral, status=FileStatus.NEW))
                out.append((sha256, md5, dihedral[0], []))
        Blob.objects.bulk_create(blobs, batch_size=5000)
        MediaState.objects.bulk_create(states, batch_size=5000)
    return out


def list_csv(contents: list[tuple[str, str, str, list]], *, rng: random.Random, random_pdq: int, match_share: float) -> tuple[bytes, int]:
    """A CSV list: random PDQ entries plus entries matching about `match_share` of the stored contents."""
    rows, matching = ["media_id,md5,pdq,vpdq"], 0
    for k in range(random_pdq):
        rows.append(f"r{k},,{rng.getrandbits(256):064x},")
    for address, md5, pdq, vpdq in contents:
        if rng.random() >= match_share:
            continue
        matching += 1
        if vpdq:
            rows.extend(f"v-{address[:12]},,,{near(rng, f[2], 4)}" for f in vpdq)
        elif rng.random() < 0.5:
            rows.append(f"m-{address[:12]},{md5},,")
        else:
            rows.append(f"p-{address[:12]},,{near(rng, pdq, rng.randrange(1, 25))},")
    return "\n".join(rows).encode() + b"\n", matching


def results(addresses: list[str]) -> dict[str, tuple]:
    from himaya.media.models import MediaMatch, MediaState

    out: dict[str, tuple] = {a: ("", ()) for a in addresses}
    matches: dict[str, list] = {}
    for blob_id, entry_id, algorithm, distance in MediaMatch.objects.filter(blob_id__in=addresses).values_list("blob_id", "entry_id", "algorithm", "distance"):
        matches.setdefault(blob_id, []).append((entry_id, algorithm, distance))
    for blob_id, status in MediaState.objects.filter(blob_id__in=addresses).values_list("blob_id", "status"):
        out[blob_id] = (status, tuple(sorted(matches.get(blob_id, []))))
    return out


def bench_arrivals(addresses: list[str], *, layout: str, sample: int) -> None:
    """The old per-file matching of arrivals against the batched one, on one index layout."""
    from django.conf import settings
    from django.db.models import Count
    from django.utils import timezone

    from himaya.media import services
    from himaya.media.models import FileStatus, MediaMatch, MediaState

    def waiting_again(members: list[str]) -> None:
        MediaMatch.objects.filter(blob_id__in=members).delete()
        MediaState.objects.filter(blob_id__in=members).update(status=FileStatus.PENDING, hashed_at=timezone.now(), matched_at=None)

    settings.HIMAYA_PDQ_INDEX_LAYOUT = layout
    t = time.perf_counter()
    loaded = services.pdq_index()
    print(f"[{layout}] PDQ index: {len(loaded.entry_ids)} hashes, {loaded.index.nbytes / 2**20:.1f} MiB, built in {time.perf_counter() - t:.2f} s", flush=True)
    waiting_again(addresses)
    step = max(1, len(addresses) // sample)
    chosen = addresses[::step][:sample]
    t = time.perf_counter()
    for address in chosen:
        services.media_match_blob(address=address)
    old_s = time.perf_counter() - t
    old = results(chosen)
    waiting_again(chosen)

    t = time.perf_counter()
    calls = 0
    while True:
        newest = MediaState.objects.filter(blob_id__in=addresses, matched_at__isnull=True).order_by("-blob_id").values_list("blob_id", flat=True).first()
        if newest is None:
            break
        services.media_match_arrivals(address=newest)
        calls += 1
    new_s = time.perf_counter() - t
    same = results(chosen) == old
    statuses = dict(MediaState.objects.filter(blob_id__in=addresses).values_list("status").annotate(n=Count("blob_id")).order_by())
    old_rate, new_rate = len(chosen) / old_s, len(addresses) / new_s
    print(f"[{layout}] arrivals, old path (media_match_blob, one at a time): {len(chosen)} contents in {old_s:.2f} s = {old_rate:.0f} contents/s", flush=True)
    print(f"[{layout}] arrivals, batched (media_match_arrivals, {calls} calls): {len(addresses)} contents in {new_s:.2f} s = {new_rate:.0f} contents/s; "
          f"verdicts {statuses}", flush=True)
    print(f"[{layout}] arrivals: sample identical to the old path: {'yes' if same else 'NO'}; ratio batched / old: {new_rate / old_rate:.1f}x", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=50_000, help="stored contents")
    ap.add_argument("--sample", type=int, default=1000, help="contents matched one at a time by the old path")
    ap.add_argument("--batch", type=int, default=1000, help="contents per batch of the job")
    ap.add_argument("--list-pdq", type=int, default=50_000, help="random PDQ entries in the list (besides the matching ones)")
    ap.add_argument("--match-share", type=float, default=0.02, help="share of stored contents the list matches")
    ap.add_argument("--video-share", type=float, default=0.01)
    ap.add_argument("--frames", type=int, default=30, help="vPDQ frame hashes per video")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--arrivals", type=int, default=4000, help="contents put back to waiting, matched by the arrival path")
    ap.add_argument("--arrival-sample", type=int, default=500, help="of those, matched one at a time by the old path")
    ap.add_argument("--arrivals-only", action="store_true", help="skip the re-match comparison")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="himaya-bench-rematch-"))
    url = database_url(args.database_url, DEFAULT_PG, home)
    if url.startswith("postgres"):
        fresh_pg(url)
    setup_django(url, home)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from himaya.accounts.permissions import Operator
    from himaya.media import services
    from himaya.media.models import HashEntry, MediaState

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    t = time.perf_counter()
    contents = store_contents(args.files, rng=rng, video_share=args.video_share, frames=args.frames)
    data, matching = list_csv(contents, rng=rng, random_pdq=args.list_pdq, match_share=args.match_share)
    store_s = time.perf_counter() - t
    t = time.perf_counter()
    services.hashlist_import(data=data, name="bench-known", kind="known", fmt="csv", provenance="bench_rematch.py (synthetic)", actor=Operator("bench"))
    import_s = time.perf_counter() - t
    videos = sum(1 for c in contents if c[3])
    print(f"database: {connection.vendor}; stored {args.files} contents ({videos} videos of {args.frames} frames) in {store_s:.1f} s; "
          f"list of {HashEntry.objects.count()} entries matching {matching} contents imported in {import_s:.1f} s", flush=True)

    t = time.perf_counter()
    loaded = services.pdq_index()
    print(f"PDQ index: {len(loaded.entry_ids)} hashes, {loaded.index.nbytes / 2**20:.1f} MiB, built in {time.perf_counter() - t:.2f} s", flush=True)

    addresses = sorted(c[0] for c in contents)
    if args.arrivals_only:
        MediaState.objects.update(matched_at=timezone.now())
    else:
        rematch(args, addresses)
    arriving = addresses[::max(1, len(addresses) // args.arrivals)][:args.arrivals]
    for layout in ("fast", "compact"):
        bench_arrivals(arriving, layout=layout, sample=args.arrival_sample)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)
    connection.close()
    if not args.keep:
        from django.conf import settings

        if url.startswith("postgres"):
            drop_pg(url)
        shutil.rmtree(home, ignore_errors=True)
        if settings.HIMAYA_HOME.name.startswith("himaya-test-"):  # the test settings' own data folder (the published index)
            shutil.rmtree(settings.HIMAYA_HOME, ignore_errors=True)


def rematch(args: argparse.Namespace, addresses: list[str]) -> None:
    """The old per-file path against the batched re-match job, on every stored content."""
    from django.db.models import Count

    from himaya.media import services
    from himaya.media.models import MediaMatch, MediaState, RematchJob

    step = max(1, len(addresses) // args.sample)
    sample = addresses[::step][:args.sample]
    t = time.perf_counter()
    for address in sample:
        services.media_match_blob(address=address)
    old_s = time.perf_counter() - t
    old = results(sample)
    MediaMatch.objects.filter(blob_id__in=sample).delete()
    MediaState.objects.filter(blob_id__in=sample).update(status="new", matched_at=None)
    old_rate = len(sample) / old_s
    print(f"old path (media_match_blob, one at a time): {len(sample)} contents in {old_s:.2f} s = {old_rate:.0f} contents/s", flush=True)

    job = RematchJob.objects.order_by("-id").first()
    t = time.perf_counter()
    done = services.rematch_job_run(job_id=job.id, batch=args.batch)
    new_s = time.perf_counter() - t
    new_rate = done / new_s
    job.refresh_from_db()
    same = results(sample) == old
    statuses = dict(MediaState.objects.values_list("status").annotate(n=Count("blob_id")).order_by())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"batched job (rematch_job_run, batch {args.batch}): {done} contents in {new_s:.1f} s = {new_rate:.0f} contents/s; "
          f"status {job.status}; verdicts {statuses}; matches {MediaMatch.objects.count()}", flush=True)
    print(f"sample identical to the old path: {'yes' if same else 'NO'}", flush=True)
    print(f"ratio batched / old: {new_rate / old_rate:.1f}x; projection to 1 M stored contents: old {1_000_000 / old_rate / 60:.0f} min, "
          f"batched {1_000_000 / new_rate / 60:.1f} min; peak RSS {rss_mb:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
