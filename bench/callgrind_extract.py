"""Instructions per report of the rebuild's extraction stage, for comparing two
commits on a machine whose speed cannot be trusted (neighbours, reclaim):
callgrind counts instructions, which they do not change.

One process reads a warm-up chunk of N reports through `_extract_chunk` (with
triage along, as `himaya linking rebuild` runs it); with --measure it then reads a
second chunk and pickles its result there and back, as it crosses to the
parent. The difference between the two runs' totals is that chunk's cost:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/callgrind_extract.py --root R --reports 1000
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/callgrind_extract.py --root R --reports 1000 --measure

R is a checkout of the commit to measure (`git worktree add /tmp/old COMMIT`);
the database is an earlier `bench_triage.py --keep` run's (its key directory is
needed to decrypt the documents).
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="the checkout whose code is measured")
ap.add_argument("--reports", type=int, default=1000)
ap.add_argument("--measure", action="store_true")
ap.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/himaya_bench_triage")
ap.add_argument("--key-dir", default="/tmp/himaya-bench-triage-kept/keys")
args = ap.parse_args()
sys.path[:0] = [args.root, os.path.join(args.root, "bench")]
os.environ["HIMAYA_KEY_DIR"] = args.key_dir

from benchdb import setup_django  # noqa: E402

setup_django(args.database_url, Path("/tmp/himaya-callgrind-home"))

from himaya.linking import rebuild as linking  # noqa: E402
from himaya.linking.services import home_country  # noqa: E402
from himaya.triage import rebuild as triage  # noqa: E402

along = triage.TriageAlong()
along.setting = triage._setting(media_status=True)
linking._CONTEXT.update(region=home_country(), entries_table=None, along=along)
# Two chunks from the middle of a 1 M database (ids from 300,001 and from 500,001).
if linking.Report.objects.filter(id__gt=500_000 + args.reports).count() == 0:
    sys.exit(f"{args.database_url} holds fewer than {500_000 + args.reports} reports: load one with bench_triage.py --keep")
linking._extract_chunk((300_001, 300_000 + args.reports))  # warm-up: imports, compiled patterns, caches
if args.measure:
    out = linking._extract_chunk((500_001, 500_000 + args.reports))
    pickle.loads(pickle.dumps(out))
