"""Triage quality on a labelled synthetic caseload (issue 19).

    .venv/bin/python bench/triage_quality.py                  # SQLite in a throwaway folder
    .venv/bin/python bench/triage_quality.py --database-url postgres://postgres@127.0.0.1:5432/himaya_bench_quality

1. the caseload of himaya.demo.triage_caseload (≈1,150 reports, invented words in
   every dialect, hard negatives, foreign urgent cases, recurring suspects with
   identifiers written several ways, placeholder contacts shared by strangers);
2. each report stored through the real intake services (XSD-valid XML → tree →
   projection) into a fresh database, then linked and triaged by the pipeline the
   `report_received` signal runs (`report_process`), the clusters re-triaged;
3. printed: urgent reports in P1 (all, words only, abroad with a referral action),
   the share of P1 that is serious (urgent or serious), the score's ROC AUC for
   "urgent" against a flag-only baseline (the count of the provider's flags: escalation,
   report and file annotations) computed on the same reports, cluster pairwise
   precision and recall against the invented people;
4. the cost of the rules per report on these reports' facts: the rule set and
   phrase lists of version 1 without the dialect patterns (before) and now (after).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import drop_pg, fresh_pg, setup_django  # noqa: E402

PLACEHOLDER_EMAILS = ["noreply@example.com", "no-email@example.com"]
PLACEHOLDER_PHONE = ("0000000000", "+970")


def auc(scores: list[float], positive: list[bool]) -> float:
    """ROC AUC by ranks (ties count half)."""
    pairs = sorted(zip(scores, positive))
    ranks: list[float] = [0.0] * len(pairs)
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        for k in range(i, j):
            ranks[k] = (i + j + 1) / 2
        i = j
    pos = sum(1 for _, p in pairs if p)
    neg = len(pairs) - pos
    if not pos or not neg:
        return float("nan")
    return (sum(r for r, (_, p) in zip(ranks, pairs) if p) - pos * (pos + 1) / 2) / (pos * neg)


def pairwise(predicted: dict[int, int], truth: dict[int, int]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering (report → cluster) against the truth (report → person)."""
    def pairs(assign: dict[int, int]) -> set[tuple[int, int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for r, c in assign.items():
            groups[c].append(r)
        return {(a, b) for g in groups.values() for i, a in enumerate(sorted(g)) for b in sorted(g)[i + 1:]}
    p, t = pairs(predicted), pairs(truth)
    tp = len(p & t)
    return (tp / len(p) if p else 1.0), (tp / len(t) if t else 1.0)


CALLING = {"PS": ("+970",), "JO": ("+962",), "EG": ("+20",), "SA": ("+966",), "IQ": ("+964",), "MA": ("+212",)}


def identity(rng: random.Random, person: int, visit: int, country: str, placeholders: bool = True):  # type: ignore[no-untyped-def]
    """The suspect's identifiers on this report: the person's own (written another
    way on a later report), now and then a provider's placeholder contact."""
    from tests.linking.factory import Person

    code, phone = CALLING.get(country, ("+970", f"5990{person:05d}"))[0], f"5990{person:05d}" if country == "PS" else f"10{person:07d}"
    email = f"person{person}@example.com"
    if visit == 0:
        p = Person(esp_id=f"acct-{person}", emails=[email], phones=[(phone, code)])
    else:  # another platform account; the phone with its country code, the email in capitals
        p = Person(esp_id=f"acct-{person}-v{visit}", emails=[email.upper()], phones=[(f"{code}{phone}", "")])
    if rng.random() < 0.10 and placeholders:
        p.emails.append(rng.choice(PLACEHOLDER_EMAILS))
    if rng.random() < 0.05 and placeholders:
        p.phones.append(PLACEHOLDER_PHONE)
    return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default="")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--no-placeholders", action="store_true", help="leave out the providers' placeholder contacts (to see the clustering without them)")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="himaya-bench-quality-"))
    url = args.database_url or f"sqlite:///{home / 'quality.sqlite3'}"
    if url.startswith("postgres"):
        fresh_pg(url)
    setup_django(url, home)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    try:
        run(args.seed, placeholders=not args.no_placeholders)
    finally:
        connection.close()
        if url.startswith("postgres"):
            drop_pg(url)


def run(seed: int, *, placeholders: bool = True) -> None:
    from django.db import connection

    from himaya.accounts.services import unit_get_or_create
    from himaya.demo.triage_caseload import caseload
    from himaya.linking.models import ReportLinkage
    from himaya.triage.defaults import DEFAULT_RULESET, RULES_V1_CHANGED
    from himaya.triage.models import ReportTriage
    from himaya.triage.rebuild import rebuild_all
    from himaya.triage.services import report_facts
    from tests.linking.factory import FileSpec, report_xml, store

    rng = random.Random(seed)
    unit = unit_get_or_create(code="quality")
    cases = caseload(seed=seed)
    seen: Counter[int] = Counter()
    by_report = {}
    t = time.perf_counter()
    for c in cases:
        suspect = identity(rng, c.person, seen[c.person], c.country, placeholders)
        seen[c.person] += 1
        suspect.country = c.country
        xml = report_xml(suspect=suspect, incident_type=c.incident_type, escalation=c.escalation, annotations=c.annotations,
                         chat=c.chat, recipient_age=c.recipient_age, batched=c.batched)
        r = store(xml, unit=unit, files=[FileSpec(**f) for f in c.files])
        by_report[r.id] = c
    load_s = time.perf_counter() - t
    # The clusters grew as reports arrived; the rebuild gives every report its final cluster facts.
    rebuild_all()
    print(f"database: {connection.vendor}; placeholders {'in' if placeholders else 'left out'}; {len(cases)} reports stored, linked and triaged in {load_s:.1f} s", flush=True)

    triage = {t.report_id: t for t in ReportTriage.objects.all()}
    clusters = dict(ReportLinkage.objects.values_list("report_id", "cluster_id"))
    ids = sorted(by_report)
    label = {r: by_report[r].label for r in ids}
    urgent = [r for r in ids if label[r] == "urgent"]
    in_p1 = [r for r in urgent if triage[r].priority == "P1"]
    words = [r for r in urgent if by_report[r].words_only]
    abroad = [r for r in urgent if by_report[r].country != "PS"]
    abroad_ok = [r for r in abroad if triage[r].priority == "P1" and (triage[r].classification.get("action") or {}).get("code") == "refer_now"
                 and triage[r].reasons[0]["rule"] == "referral_now"]
    p1 = [r for r in ids if triage[r].priority == "P1"]
    serious = [r for r in p1 if label[r] in ("urgent", "serious")]
    tiers = Counter(triage[r].priority for r in ids)

    def flags(c) -> int:  # type: ignore[no-untyped-def]
        return bool(c.escalation) + len(c.annotations) + sum(len(f.get("annotations", ())) for f in c.files)

    positive = [label[r] == "urgent" for r in ids]
    score_auc = auc([triage[r].score for r in ids], positive)
    flag_auc = auc([flags(by_report[r]) for r in ids], positive)
    precision, recall = pairwise({r: clusters[r] for r in ids}, {r: by_report[r].person for r in ids})
    banded = all({"P1": 70, "P2": 45, "P3": 20, "P4": 0}[triage[r].priority] <= triage[r].score for r in ids)

    print(f"tiers: {dict(sorted(tiers.items()))} (P1 {100 * tiers['P1'] / len(ids):.1f} % of the caseload)")
    print(f"urgent in P1: {len(in_p1)}/{len(urgent)} = {100 * len(in_p1) / len(urgent):.1f} %")
    words_p1 = sum(1 for r in words if triage[r].priority == "P1")
    print(f"  words only: {words_p1}/{len(words)} = {100 * words_p1 / len(words):.1f} %")
    print(f"  abroad, P1 with 'refer now' first among the reasons: {len(abroad_ok)}/{len(abroad)}")
    not_urgent = [r for r in ids if label[r] != "urgent"]
    print(f"P1 among the reports not labelled urgent: {sum(1 for r in not_urgent if triage[r].priority == 'P1')}/{len(not_urgent)}")
    print(f"share of P1 that is serious (urgent or serious): {len(serious)}/{len(p1)} = {100 * len(serious) / max(1, len(p1)):.1f} %")
    print(f"AUC of the score for 'urgent': {score_auc:.3f}; flag-only baseline: {flag_auc:.3f}")
    print(f"score within its tier's band for every report: {banded}")
    print(f"cluster pairwise precision {precision:.3f}, recall {recall:.3f}")
    for r in [r for r in abroad if r not in abroad_ok][:3]:
        print(f"  abroad, not as expected: report {r} {by_report[r].kind} {by_report[r].country}: {triage[r].priority} "
              f"{ReportLinkage.objects.filter(report_id=r).values_list('decision', 'country').first()} {triage[r].reasons[:2]}")
    missed = Counter(by_report[r].kind for r in urgent if triage[r].priority != "P1")
    if missed:
        print(f"urgent not in P1, by kind: {dict(missed)}")
    false_p1 = Counter(by_report[r].kind for r in p1 if label[r] not in ("urgent", "serious"))
    if false_p1:
        print(f"P1 that is not serious, by kind: {dict(false_p1)}")
        for r in [r for r in p1 if label[r] not in ("urgent", "serious")][:3]:
            print(f"  report {r} ({by_report[r].kind}): {[(x['rule'], x['weight']) for x in triage[r].reasons[:4]]}")

    # The rules' cost per report, on these reports' facts (no database in the loop).
    import himaya.triage.rules as rules_mod

    saved_find = rules_mod.find_indicators
    from dataclasses import replace

    from himaya.reports.models import Report
    from himaya.triage.arabic import COMPILED, _in_text, _in_text_with
    from himaya.triage.rules import evaluate

    facts = [report_facts(r) for r in Report.objects.filter(id__in=ids).order_by("id")]
    v1 = {**DEFAULT_RULESET, "rules": [RULES_V1_CHANGED.get(s["rule"], s) for s in DEFAULT_RULESET["rules"] if not s["rule"].startswith(
        ("text_payment", "text_image", "text_secrecy", "text_age", "text_child", "text_context"))]}
    v1["phrases"] = {k: v for k, v in DEFAULT_PHRASES_V1().items()}

    def uncached(texts):  # type: ignore[no-untyped-def]
        return [replace(x, field=f) for f, t in texts if t for x in _in_text_with(t, COMPILED)]

    def timed(ruleset, find) -> float:  # type: ignore[no-untyped-def]
        saved = rules_mod.find_indicators
        rules_mod.find_indicators = find
        try:
            for f in facts[:50]:
                evaluate(f, ruleset)
            best = []
            for _ in range(5):
                _in_text.cache_clear()  # each pass from cold: only repeats within the caseload hit
                t0 = time.process_time()
                for f in facts:
                    evaluate(f, ruleset)
                best.append(time.process_time() - t0)
            return min(best) / len(facts) * 1e6
        finally:
            rules_mod.find_indicators = saved

    before = timed(v1, lambda texts: [])
    after_uncached = timed(DEFAULT_RULESET, uncached)
    after = timed(DEFAULT_RULESET, saved_find)
    with_text = sum(1 for f in facts if any(t for _, t in f.texts))
    print(f"rules per report, CPU time (min of 5 passes over {len(facts)} reports, {with_text} with text, {len({t for f in facts for _, t in f.texts})} distinct texts):")
    print(f"  before (version 1's rules and phrases, no patterns) {before:.1f} µs; after, every text read {after_uncached:.1f} µs "
          f"(+{after_uncached - before:.1f}); after, with the per-text cache {after:.1f} µs (+{after - before:.1f})")


def DEFAULT_PHRASES_V1() -> dict:  # noqa: N802
    """Version 1's phrase lists (the current ones with the moved phrases back where they were)."""
    from himaya.triage.defaults import DEFAULT_PHRASES, PHRASE_MOVES

    out = {k: list(v) for k, v in DEFAULT_PHRASES.items() if k not in ("payment", "image_request", "secrecy")}
    for phrase, (src, _dst) in PHRASE_MOVES.items():
        out[src].append(phrase)
    return out


if __name__ == "__main__":
    main()
