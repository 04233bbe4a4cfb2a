"""CPU per report of each step of the bulk import's worker part (issue 18), no database:
parse (+ Node tree), XSD, rules, projection, rows (`bulkrows.build`, encryption included),
and the whole of `batch._build`. Also a fingerprint of everything a worker hands the
writer, so that a change can be shown to build byte-identical rows.

    .venv/bin/python bench/profile_import.py --reports 3000            # per-step CPU s / 1,000
    .venv/bin/python bench/profile_import.py --reports 3000 --profile  # + cProfile of _build
    .venv/bin/python bench/profile_import.py --reports 3000 --fingerprint /tmp/rows.sha256

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
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--fingerprint", default="", help="write the SHA-256 of every built row to this file")
    parser.add_argument("--callgrind", default="", metavar="STEP",
                        help="under `valgrind --tool=callgrind --instr-atstart=no`: switch the instrumentation on "
                             "(callgrind_control) around one pass of STEP only, then exit")
    args = parser.parse_args()

    setup_django(args.database_url, Path(tempfile.mkdtemp(prefix="himaya-profile-import-")))
    os.environ.setdefault("HIMAYA_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
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


if __name__ == "__main__":
    main()
