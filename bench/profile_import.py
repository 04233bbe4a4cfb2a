"""CPU per report of each step of the bulk import's worker part (issue 18), no database:
parse (+ Node tree), XSD, rules, projection, rows (`bulkrows.build`, encryption included),
and the whole of `batch._build`. With --parent, the parent's part too, on a real database
(this process only, PostgreSQL's own CPU not counted): the folder scan (`bulk.scan`), the
reading and key lookup (`batch._read`), and the batch writing (`batch._write`: COPY, audit,
the `reports_stored` listeners, the queued task). Also a fingerprint of everything a worker hands the
writer, so that a change can be shown to build byte-identical rows.

    .venv/bin/python bench/profile_import.py --reports 3000            # per-step CPU s / 1,000
    .venv/bin/python bench/profile_import.py --reports 3000 --profile  # + cProfile of _build
    .venv/bin/python bench/profile_import.py --reports 3000 --fingerprint /tmp/rows.sha256
    .venv/bin/python bench/profile_import.py --reports 3000 --parent --database-url postgres://postgres@127.0.0.1:5432/h2_parent
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
        .venv/bin/python bench/profile_import.py --reports 2000 --parent --callgrind scan   # scan, read or write

--parent drops and creates the PostgreSQL database it is given (or uses a new SQLite file
when the URL is sqlite:), migrates it and writes the reports once (best of --repeat for the
scan, which writes nothing).

The reports come from `himaya.demo.generator` (cached in --cache, the generator is slow).
For the fingerprint the encryption's nonces are made deterministic (os.urandom replaced
in this process only), so two runs of the same code give the same rows.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pickle
import pstats
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import setup_django  # noqa: E402

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def reports(n: int, cache: Path, seed: int) -> list[bytes]:
    if cache.exists():
        xmls = pickle.loads(cache.read_bytes())
        if len(xmls) >= n:
            return xmls[:n]
    from himaya.demo.generator import generate_reports

    xmls = [r.xml for r in generate_reports(n, seed=seed, now=NOW)]
    cache.write_bytes(pickle.dumps(xmls))
    return xmls


def cpu(fn, items, repeat: int) -> float:
    """Best of `repeat` passes, CPU s per 1,000 items."""
    best = float("inf")
    for _ in range(repeat):
        c = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - c)
    return best / len(items) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "himaya-profile-import-{n}-{seed}.pickle"))
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/unused",
                        help="only the vendor matters (rows are COPY text on PostgreSQL); nothing connects")
    parser.add_argument("--parent", action="store_true",
                        help="measure the parent's steps (scan, read, write) on the --database-url, which is dropped and created")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--fingerprint", default="", help="write the SHA-256 of every built row to this file")
    parser.add_argument("--callgrind", default="", metavar="STEP",
                        help="under `valgrind --tool=callgrind --instr-atstart=no`: switch the instrumentation on "
                             "(callgrind_control) around one pass of STEP only, then exit")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="himaya-profile-import-"))
    if args.parent:
        if args.database_url.startswith("postgres"):
            from benchdb import fresh_pg

            fresh_pg(args.database_url)
        elif args.database_url.startswith("sqlite"):
            args.database_url = f"sqlite:///{home / 'parent.sqlite3'}"
    setup_django(args.database_url, home)
    os.environ.setdefault("HIMAYA_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    if args.parent:
        parent(args, home)
        return
    from himaya.intake import bulkrows
    from himaya.intake.batch import _build, _Job
    from himaya.intake.cybertip import check_report, parse_xml, validate_schema
    from himaya.reports.projection import project_report

    xmls = reports(args.reports, Path(args.cache.format(n=args.reports, seed=args.seed)), args.seed)
    job = _Job(unit_id=1, origin="import", now=NOW)
    parsed = [parse_xml(x) for x in xmls]
    trees = [t for _, t in parsed]
    projs = [project_report(t) for t in trees]
    keys = [hashlib.sha256(x).hexdigest() for x in xmls]
    print(f"{len(xmls)} reports, median {sorted(map(len, xmls))[len(xmls) // 2]} B; load {os.getloadavg()[0]:.2f}", flush=True)

    steps = {
        "parse (lxml + Node tree)": (parse_xml, xmls),
        "XSD": (lambda p: validate_schema(p[0], expect="report"), parsed),
        "rules": (lambda t: check_report(t, now=NOW, prior_report_exists=lambda _: True), trees),
        "projection": (project_report, trees),
        "to_json": (lambda t: t.to_json(), trees),
        "rows (bulkrows.build)": (lambda i: bulkrows.build(
            raw=xmls[i], tree=trees[i], proj=projs[i], key=keys[i], raw_sha256=keys[i], unit_id=1, origin="import",
            status="finished", now=NOW, label="x", external_id=None), range(len(xmls))),
        "whole (batch._build)": (lambda x: _build((x, "label", "0000001"), job), xmls),
    }
    if args.callgrind:
        fn, items = steps[args.callgrind]
        fn(next(iter(items)))  # warm
        os.system(f"callgrind_control --instr=on {os.getpid()} > /dev/null")
        for item in items:
            fn(item)
        os.system(f"callgrind_control --instr=off {os.getpid()} > /dev/null")
        return
    for name, (fn, items) in steps.items():
        print(f"  {name:28} {cpu(fn, items, args.repeat):6.3f} ms / report", flush=True)

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for x in xmls:
            _build((x, "label", "0000001"), job)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())

    if args.fingerprint:
        counter = [0]

        def urandom(n: int) -> bytes:
            counter[0] += 1
            return hashlib.sha256(counter[0].to_bytes(8, "big")).digest()[:n]

        os.urandom = urandom
        digest = hashlib.sha256()
        for x in xmls:
            built = _build((x, "label", "0000001"), job)
            if isinstance(built, Exception):
                digest.update(repr(built).encode())
                continue
            for part in (built.key, built.report, built.parties, built.identifiers, built.ips, built.devices, built.incidents):
                digest.update(repr(part).encode())
        Path(args.fingerprint).write_text(digest.hexdigest() + "\n")
        print(f"fingerprint {digest.hexdigest()}")


def parent(args: argparse.Namespace, home: Path) -> None:
    """The parent's steps, in this process, on a real database: CPU ms per report."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.utils import timezone as dj_timezone

    from himaya.accounts.permissions import OPERATOR
    from himaya.accounts.services import unit_get_or_create
    from himaya.intake.batch import BATCH, _build, _Job, _read, _write
    from himaya.intake.bulk import ImportProblem, scan

    xmls = reports(args.reports, Path(args.cache.format(n=args.reports, seed=args.seed)), args.seed)
    package = home / "package"
    for i, xml in enumerate(xmls):
        (package / f"{i:07d}").mkdir(parents=True)
        (package / f"{i:07d}" / "report.xml").write_bytes(xml)
    unit = unit_get_or_create(code="intake")
    now = dj_timezone.now()
    job = _Job(unit_id=unit.id, origin="import", now=now)
    n = len(xmls)
    print(f"{n} reports, database {args.database_url.split('@')[-1]}; load {os.getloadavg()[0]:.2f}", flush=True)

    def read_all():
        return list(_read(sources, batch=BATCH, on_result=lambda s, o: None))

    sources = [s for s in scan(package) if not isinstance(s, ImportProblem)]
    assert len(sources) == n, len(sources)
    if args.callgrind:
        fn = {"scan": lambda: list(scan(package)), "read": read_all}.get(args.callgrind)
        if fn is None:
            built = [(s, _build((raw, s.label, s.folder_name), job)) for s, raw in read_all()]
        fn = fn or (lambda: [_write(built[i:i + BATCH], unit=unit, actor=OPERATOR, now=now) for i in range(0, n, BATCH)])
        os.system(f"callgrind_control --instr=on {os.getpid()} > /dev/null")
        fn()
        os.system(f"callgrind_control --instr=off {os.getpid()} > /dev/null")
    else:
        parent_steps(args, package, n, read_all, job, unit, now)
    from django.db import connection

    connection.close()
    if args.database_url.startswith("postgres"):
        from benchdb import drop_pg

        drop_pg(args.database_url)


def parent_steps(args, package, n, read_all, job, unit, now) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.permissions import OPERATOR
    from himaya.intake.batch import BATCH, _build, _write
    from himaya.intake.bulk import scan

    best = float("inf")
    for _ in range(args.repeat):
        c = time.process_time()
        list(scan(package))
        best = min(best, time.process_time() - c)
    print(f"  {'scan (bulk.scan)':28} {best / n * 1000:6.3f} ms / report", flush=True)
    best = float("inf")
    for _ in range(args.repeat):
        c = time.process_time()
        read = read_all()
        best = min(best, time.process_time() - c)
    print(f"  {'read + keys (batch._read)':28} {best / n * 1000:6.3f} ms / report", flush=True)
    built = [(s, _build((raw, s.label, s.folder_name), job)) for s, raw in read]
    profile = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not the waits on PostgreSQL
    c = time.process_time()
    if profile:
        profile.enable()
    for i in range(0, n, BATCH):
        _write(built[i:i + BATCH], unit=unit, actor=OPERATOR, now=now)
    if profile:
        profile.disable()
    print(f"  {'write (batch._write)':28} {(time.process_time() - c) / n * 1000:6.3f} ms / report", flush=True)
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())


if __name__ == "__main__":
    main()
