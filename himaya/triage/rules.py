"""Triage rules: facts about one report + a rule set (data) → tier, score, reasons.

Pure: no Django, no database. Rule sets are versioned data (the RuleSet model
stores them; `defaults.DEFAULT_RULESET` is version 1). Each rule names a
predicate below; the data gives its weight and, for a few, a floor ("at least
P1") or a cap ("at most P4"). Score = sum of weights clamped to 0–100; the tier
comes from score thresholds, then caps, then floors — so a floor (a child in
danger now) always wins over a cap (viral material, another country).

The score then tells the same story as the tier: it is brought into the tier's
band (P1 ≥ the P1 threshold, P4 below the P3 one) by one more reason,
`tier_floor` (or `tier_cap`, listed last), whose weight is the difference and whose
evidence names the rules that set the tier; those rules are listed first. The reasons'
weights add up to the score (before the 0–100 clamp).

Jurisdiction decides the action, not the urgency: a report for another country
gets a `referral_now` (P1, P2) or `referral` reason, first in the list, and
`classification["action"]` = {"code": ..., "country": ...}.

Text: the rule set's phrase lists (textmatch) and the built-in dialect patterns
(arabic.py), both checked for context (negation, a harmless setting, a mention);
a discounted match is shown under `text_context` with weight 0. Combinations that
an analyst reads as a child in danger now (a threat to expose, payment with
images, a meeting with secrecy or with a child, ...) fire `text_child_in_danger`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from himaya.triage.arabic import Indicator, context_of, find_indicators
from himaya.triage.textmatch import PhraseMatch, compile_phrases, find_phrases

TIERS = ("P1", "P2", "P3", "P4")

ENTICEMENT = "Online Enticement of Children for Sexual Acts"
TRAFFICKING = "Child Sex Trafficking"
MOLESTATION = "Child Sexual Molestation"
UNSOLICITED = "Unsolicited Obscene Material Sent to a Child"
POSSESSION = "Child Pornography (possession, manufacture, and distribution)"
TOURISM = "Child Sex Tourism"

PRODUCTION_ANNOTATIONS = ("possibleSelfProduction", "liveStreaming", "infant", "physicalHarm")
VIRAL_ANNOTATIONS = ("viral", "potentialMeme")


@dataclass
class FileFacts:
    annotations: list[str] = field(default_factory=list)
    status: str = "pending"  # known / new / viral / benign / pending (media, SPEC §4.3)
    exif: bool = False  # the provider saw camera metadata: an original, not a re-share
    publicly_available: bool | None = None


@dataclass
class Facts:
    incident_type: str = ""
    escalation: str = ""
    annotations: list[str] = field(default_factory=list)
    batched_reason: str = ""
    files: list[FileFacts] = field(default_factory=list)
    victim_ages: list[int] = field(default_factory=list)
    recipient_ages: list[int] = field(default_factory=list)
    has_victim_or_recipient: bool = False
    texts: list[tuple[str, str]] = field(default_factory=list)  # (field label, text)
    cluster_size: int = 1
    previously_reported: int = 0
    age_days: float | None = None  # since the incident (or receipt when unknown)
    jurisdiction: str = "unknown"  # ours / foreign / unknown
    jurisdiction_country: str = ""
    actionable_identifiers: int = 0


@dataclass(frozen=True)
class Reason:
    rule: str
    weight: int
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "weight": self.weight, "evidence": self.evidence}


@dataclass
class Verdict:
    priority: str
    score: int
    reasons: list[Reason]
    classification: dict[str, Any]


# A predicate returns None (did not fire) or the evidence string; it may also
# return (evidence, weight) to scale its weight (e.g. per file).
Predicate = Callable[[Facts, Mapping[str, Any], "_Ctx"], "str | tuple[str, int] | None"]


@dataclass
class _Ctx:
    matches: dict[str, list[PhraseMatch]]  # the rule set's phrases that count, by category
    indicators: dict[str, list[Indicator]] = field(default_factory=dict)  # built-in patterns that count, by category
    discounted: list[Indicator] = field(default_factory=list)  # matches that do not count, and why

    def has(self, category: str) -> bool:
        return bool(self.matches.get(category) or self.indicators.get(category))


def text_context(facts: Facts, compiled: Any) -> _Ctx:
    """What the texts say: phrase matches and pattern matches that count, and those
    discounted by their context (`compiled` from `_compiled(ruleset)["re"]`)."""
    matches: dict[str, list[PhraseMatch]] = {}
    indicators: dict[str, list[Indicator]] = {}
    discounted: list[Indicator] = []
    if not facts.texts:
        return _Ctx(matches, indicators, discounted)
    by_field: dict[str, str] | None = None
    for m in find_phrases(facts.texts, compiled):
        if by_field is None:
            by_field = dict(facts.texts)
        why_not = context_of(m.category, by_field.get(m.field, ""), m.quote)
        if why_not:
            discounted.append(Indicator(m.category, "phrase", m.quote, m.field, "", why_not))
        else:
            matches.setdefault(m.category, []).append(m)
    for i in find_indicators(facts.texts):
        if i.discounted:
            discounted.append(i)
        else:
            indicators.setdefault(i.category, []).append(i)
    return _Ctx(matches, indicators, discounted)


def _ann(name: str) -> Predicate:
    def rule(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
        return f"reportAnnotations/{name}" if name in f.annotations else None
    return rule


def _file_ann(name: str) -> Predicate:
    def rule(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
        if not f.files:  # most reports: six of these rules, a million times
            return None
        n = sum(1 for x in f.files if name in x.annotations)
        return f"fileAnnotations/{name} on {n} of {len(f.files)} files" if n else None
    return rule


def _incident(*types: str) -> Predicate:
    def rule(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
        return f"incidentType: {f.incident_type}" if f.incident_type in types else None
    rule.incident_types = frozenset(types)  # type: ignore[attr-defined]  # (_local_rules)
    return rule


def _phrases(category: str) -> Predicate:
    def rule(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
        found = c.matches.get(category) or []
        built_in = c.indicators.get(category) or []
        if not found and not built_in:
            return None
        parts = [f"{m.field}: «{m.quote}»" for m in found[:3]]
        parts += [f"{i.field}: «{i.quote}» [{i.pid}]" for i in built_in[:3 - len(parts)]] if len(parts) < 3 else []
        return "; ".join(parts)
    return rule


def stated_ages(c: _Ctx) -> list[tuple[int, Indicator]]:
    return [(i.age, i) for i in c.indicators.get("age", ()) if i.age is not None]


def _age_statement(f: Facts, p: Mapping[str, Any], c: _Ctx) -> tuple[str, int] | None:
    adult, young = int(p.get("adult_age", 18)), int(p.get("young_age", 12))
    kids = [(a, i) for a, i in stated_ages(c) if a < adult]
    if not kids:
        return None
    age, i = min(kids, key=lambda ai: ai[0])
    weight = int(p.get("young_weight", p["_weight"])) if age <= young else int(p["_weight"])
    return f"stated age {age}: {i.field}: «{i.quote}» [{i.pid}]", weight


INTIMATE = frozenset({"image_request.intimate_ar", "image_request.en_body", "image_request.az_intimate", "image_request.ar_self"})


def _child_in_danger(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    """Combinations a seasoned analyst reads as a child at risk now."""
    if not (c.matches or c.indicators):
        return None
    adult, young = int(p.get("adult_age", 18)), int(p.get("young_age", 12))
    ages = [a for a, _ in stated_ages(c)] + f.victim_ages + f.recipient_ages
    child = any(a < adult for a in ages) or (f.incident_type in (ENTICEMENT, UNSOLICITED) and f.has_victim_or_recipient)
    is_young = any(a <= young for a in ages)
    intimate = any(i.pid in INTIMATE for i in c.indicators.get("image_request", ()))
    has = c.has
    why = []
    if has("sextortion"):
        why.append("sextortion")
    if has("payment") and has("image_request"):
        why.append("payment + image_request")
    if has("meeting") and has("secrecy"):
        why.append("meeting + secrecy")
    if has("meeting") and child:
        why.append("meeting + child")
    if has("image_request") and has("secrecy"):
        why.append("image_request + secrecy")
    if has("image_request") and (is_young or (intimate and child)):
        why.append("image_request + child")
    if has("threats") and child:
        why.append("threats + child")
    return "combination: " + ", ".join(why) if why else None


def _discounted(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    if not c.discounted:
        return None
    return "; ".join(f"{i.field}: «{i.quote}» [{i.category}: {i.discounted}]" for i in c.discounted[:3])


def _escalation(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    return f"escalateToHighPriority: {f.escalation.strip()[:200]}" if f.escalation.strip() else None


def _child_contact(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    adult = int(p.get("adult_age", 18))
    kids = [a for a in f.recipient_ages if a < adult]
    if kids:
        return f"intended recipient aged {min(kids)}"
    if f.incident_type in (ENTICEMENT, UNSOLICITED) and f.has_victim_or_recipient:
        return f"incidentType: {f.incident_type}; a child is named"
    return None


def _young_victim(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    limit = int(p.get("max_age", 12))
    young = [a for a in f.victim_ages + f.recipient_ages if a <= limit]
    return f"victim aged {min(young)}" if young else None


def _new_material_production(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    # New = not on a known list (media status known/viral/benign excluded);
    # production = the provider's annotations or an original with camera metadata.
    hits = []
    for i, x in enumerate(f.files, start=1):
        if x.status in ("known", "viral", "benign"):
            continue
        signs = [a for a in x.annotations if a in PRODUCTION_ANNOTATIONS]
        if x.exif and x.publicly_available is False:
            signs.append("camera metadata, not public")
        if signs:
            hits.append(f"file {i} ({x.status}, no known-list match): {', '.join(signs)}")
    return "; ".join(hits) if hits else None


def _file_count(f: Facts, p: Mapping[str, Any], c: _Ctx) -> tuple[str, int] | None:
    n = len(f.files)
    if n < int(p.get("min", 2)):
        return None
    # The rule's weight is per file, up to the cap.
    per, cap = int(p.get("_weight", 1)), int(p.get("cap", 10))
    return f"{n} files", min(cap, per * n)


def _repeat(f: Facts, p: Mapping[str, Any], c: _Ctx) -> tuple[str, int] | None:
    if f.cluster_size < 2 and not f.previously_reported:
        return None
    # The rule's weight is per other report, up to the cap.
    per, cap = int(p.get("_weight", 3)), int(p.get("cap", 20))
    n = max(f.cluster_size - 1, f.previously_reported)
    parts = []
    if f.cluster_size > 1:
        parts.append(f"{f.cluster_size} linked reports in the cluster")
    if f.previously_reported:
        parts.append(f"previously reported {f.previously_reported} time(s)")
    return "; ".join(parts), min(cap, per * n)


def _recent(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    days = int(p.get("days", 7))
    if f.age_days is not None and f.age_days <= days:
        return f"incident {max(0, int(f.age_days))} day(s) ago"
    return None


def _old(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    days = int(p.get("days", 365))
    if f.age_days is not None and f.age_days > days:
        return f"incident {int(f.age_days)} days ago"
    return None


def _ours(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    return f"jurisdiction: ours ({f.jurisdiction_country})" if f.jurisdiction == "ours" else None


def _foreign(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    return f"jurisdiction: foreign ({f.jurisdiction_country}) → referral" if f.jurisdiction == "foreign" else None


def _viral(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    if f.batched_reason:
        return f"batchedReport reason={f.batched_reason}"
    if f.files and all(x.status == "viral" or any(a in VIRAL_ANNOTATIONS for a in x.annotations) for x in f.files):
        return "every file is viral or a meme"
    return None


def _known_only(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    if f.files and all(x.status == "known" for x in f.files):
        return f"all {len(f.files)} files match known lists"
    return None


def _no_data(f: Facts, p: Mapping[str, Any], c: _Ctx) -> str | None:
    return "no identifier of a reported person and no location" if f.actionable_identifiers == 0 and f.jurisdiction == "unknown" else None


PREDICATES: dict[str, Predicate] = {
    "provider_escalation": _escalation,
    "annotation_sextortion": _ann("sextortion"),
    "annotation_csam_solicitation": _ann("csamSolicitation"),
    "annotation_minor_to_minor": _ann("minorToMinorInteraction"),
    "annotation_sadistic_exploitation": _ann("sadisticOnlineExploitation"),
    "file_infant": _file_ann("infant"),
    "file_physical_harm": _file_ann("physicalHarm"),
    "file_violence_gore": _file_ann("violenceGore"),
    "file_live_streaming": _file_ann("liveStreaming"),
    "file_possible_self_production": _file_ann("possibleSelfProduction"),
    "file_generative_ai": _file_ann("generativeAi"),
    "file_count": _file_count,
    "new_material_production": _new_material_production,
    "known_material_only": _known_only,
    "viral_or_meme": _viral,
    "incident_enticement": _incident(ENTICEMENT),
    "incident_trafficking": _incident(TRAFFICKING, TOURISM),
    "incident_molestation": _incident(MOLESTATION),
    "incident_unsolicited_to_child": _incident(UNSOLICITED),
    "contact_with_child": _child_contact,
    "young_victim": _young_victim,
    "repeat_reporting": _repeat,
    "recent_incident": _recent,
    "old_incident": _old,
    "jurisdiction_ours": _ours,
    "jurisdiction_foreign": _foreign,
    "no_actionable_data": _no_data,
    "text_grooming": _phrases("grooming"),
    "text_sextortion": _phrases("sextortion"),
    "text_meeting": _phrases("meeting"),
    "text_threats": _phrases("threats"),
    "text_self_harm": _phrases("self_harm"),
    "text_access_to_children": _phrases("access_to_children"),
    "text_payment": _phrases("payment"),
    "text_image_request": _phrases("image_request"),
    "text_secrecy": _phrases("secrecy"),
    "text_age_statement": _age_statement,
    "text_child_in_danger": _child_in_danger,
    "text_context": _discounted,
}


# What a rule's predicate needs of a report to fire at all: without it the predicate
# returns None, so a report's rules skip it (`_local_rules`). "text": a phrase,
# pattern or discounted match in its texts; "files", "annotations", "escalation";
# "people": a victim or recipient (or their ages). The incident rules need their
# incident types (the predicate's `incident_types`). Most reports have none of
# these, and 40 predicate calls were a quarter of the rules' cost. A test holds every
# rule named here to None on a report without what it needs.
NEEDS: dict[str, str] = {
    **dict.fromkeys(("text_grooming", "text_sextortion", "text_meeting", "text_threats", "text_self_harm", "text_access_to_children", "text_payment",
                     "text_image_request", "text_secrecy", "text_age_statement", "text_child_in_danger", "text_context"), "text"),
    **dict.fromkeys(("file_infant", "file_physical_harm", "file_violence_gore", "file_live_streaming", "file_possible_self_production", "file_generative_ai",
                     "new_material_production", "known_material_only"), "files"),
    **dict.fromkeys(("annotation_sextortion", "annotation_csam_solicitation", "annotation_minor_to_minor", "annotation_sadistic_exploitation"), "annotations"),
    "provider_escalation": "escalation",
    "contact_with_child": "people", "young_victim": "people",
}
_NEED_KEYS = ("text", "files", "annotations", "escalation", "people")
_P4, _P1 = TIERS.index("P4"), TIERS.index("P1")  # the loosest floor and cap a partial verdict starts from


def _local_rules(compiled: dict[str, Any], facts: Facts, ctx: _Ctx) -> tuple[tuple[int, _Prepared], ...]:
    """The report's own rules that may fire on it, in the rule set's order (one tuple
    per kind of report, made the first time one is seen)."""
    key = (bool(ctx.matches or ctx.indicators or ctx.discounted), bool(facts.files), bool(facts.annotations), bool(facts.escalation),
           bool(facts.victim_ages or facts.recipient_ages or facts.has_victim_or_recipient), facts.incident_type)
    by = compiled["local_by"]
    rules = by.get(key)
    if rules is None:
        have = dict(zip(_NEED_KEYS, key))
        rules = tuple((i, p) for i, p in compiled["local"]
                      if (p.rule not in NEEDS or have[NEEDS[p.rule]]) and key[-1] in getattr(p.predicate, "incident_types", (key[-1],)))
        if len(by) < 4096:
            by[key] = rules
    return rules


def _tier_for(score: int, thresholds: Mapping[str, int]) -> str:
    for tier in ("P1", "P2", "P3"):
        if score >= int(thresholds[tier]):
            return tier
    return "P4"


_COMPILED: dict[int, dict[str, Any]] = {}


@dataclass(frozen=True, slots=True)
class _Prepared:
    rule: str
    predicate: Predicate
    params: Mapping[str, Any]  # with the rule's weight under "_weight"
    weight: int
    floor: int | None  # index in TIERS
    cap: int | None


def _compiled(ruleset: Mapping[str, Any]) -> dict[str, Any]:
    """The phrase patterns and the enabled, known rules of a rule set, prepared once
    per rule-set object (they are data, not code; a rebuild evaluates them a million times)."""
    key = id(ruleset)
    hit = _COMPILED.get(key)
    if hit is None or hit["src"] is not ruleset or hit["phrases"] is not ruleset.get("phrases") or hit["rules"] is not ruleset.get("rules"):
        prepared = []
        for spec in ruleset.get("rules", []):
            predicate = PREDICATES.get(spec["rule"])
            if not spec.get("enabled", True) or predicate is None:
                continue  # a rule of a newer version this code does not know: ignored, not fatal
            weight = int(spec.get("weight", 0))
            prepared.append(_Prepared(spec["rule"], predicate, {**(spec.get("params") or {}), "_weight": weight}, weight,
                                      TIERS.index(spec["floor"]) if spec.get("floor") in TIERS else None,
                                      TIERS.index(spec["cap"]) if spec.get("cap") in TIERS else None))
        local = tuple((i, p) for i, p in enumerate(prepared) if p.rule not in CLUSTER_RULES)
        hit = {"src": ruleset, "phrases": ruleset.get("phrases"), "rules": ruleset.get("rules"),
               "re": compile_phrases(ruleset.get("phrases") or {}),
               "local": local,
               "local_by": {},  # _local_rules
               "cluster": tuple((i, p) for i, p in enumerate(prepared) if p.rule in CLUSTER_RULES)}
        if len(_COMPILED) > 32:
            _COMPILED.clear()
        _COMPILED[key] = hit
    return hit


# Rules that read what only the clusters tell (cluster_size, previously_reported).
# A from-scratch rebuild evaluates every other rule while it reads each report
# (`evaluate_partial`) and these once the clusters are known (`evaluate_finish`);
# `evaluate` is the two in one.
CLUSTER_RULES = frozenset({"repeat_reporting"})


@dataclass(frozen=True, slots=True)
class Partial:
    """A report's verdict so far: what fired among the rules that need no cluster."""

    reasons: tuple[tuple[int, Reason], ...]  # (the rule's place in the rule set, reason)
    floor: int  # index in TIERS
    cap: int
    classification: dict[str, Any]
    refer_to: str | None = None  # another country's code ("" unknown) when the report is for referral, else None

    def packed(self) -> tuple[Any, ...]:
        """Plain tuples, for a million partial verdicts to cross from worker
        processes: pickling the dataclasses cost 2.5× as much."""
        return tuple((place, r.rule, r.weight, r.evidence) for place, r in self.reasons), self.floor, self.cap, self.classification, self.refer_to

    @classmethod
    def unpacked(cls, packed: tuple[Any, ...]) -> Partial:
        reasons, floor, cap, classification, refer_to = packed
        return cls(tuple((place, Reason(rule, weight, evidence)) for place, rule, weight, evidence in reasons), floor, cap, classification, refer_to)


def _fire(prepared: tuple[tuple[int, _Prepared], ...], facts: Facts, ctx: _Ctx, reasons: list[tuple[int, str, int, str]], floor: int, cap: int) -> tuple[int, int]:
    """The rules that fire, appended as (place, rule, weight, evidence): plain tuples,
    as they cross from a rebuild's workers (Partial.packed)."""
    for place, rule in prepared:
        out = rule.predicate(facts, rule.params, ctx)
        if out is None:
            continue
        evidence, weight = (out if isinstance(out, tuple) else (out, rule.weight))
        reasons.append((place, rule.rule, int(weight), evidence))
        if rule.floor is not None and rule.floor < floor:
            floor = rule.floor
        if rule.cap is not None and rule.cap > cap:
            cap = rule.cap
    return floor, cap


def evaluate_partial(facts: Facts, ruleset: Mapping[str, Any]) -> Partial:
    return Partial.unpacked(evaluate_partial_packed(facts, ruleset))


def evaluate_partial_packed(facts: Facts, ruleset: Mapping[str, Any]) -> tuple[Any, ...]:
    """`evaluate_partial(facts, ruleset).packed()`, without making the Partial and
    its Reasons only to take them apart again (a rebuild's workers, a million times)."""
    compiled = _compiled(ruleset)
    ctx = text_context(facts, compiled["re"])
    reasons: list[tuple[int, str, int, str]] = []
    floor, cap = _fire(_local_rules(compiled, facts, ctx), facts, ctx, reasons, _P4, _P1)
    return tuple(reasons), floor, cap, classify(facts, ctx), facts.jurisdiction_country if facts.jurisdiction == "foreign" else None


def evaluate_finish(partial: Partial, facts: Facts, ruleset: Mapping[str, Any]) -> Verdict:
    """The verdict, from a partial one and the cluster facts (`facts.cluster_size`,
    `facts.previously_reported`; its other fields are not read: the jurisdiction
    comes with the partial verdict)."""
    compiled = _compiled(ruleset)
    reasons = list(partial.reasons)
    fired: list[tuple[int, str, int, str]] = []
    floor, cap = _fire(compiled["cluster"], facts, _Ctx({}), fired, partial.floor, partial.cap)
    reasons += [(place, Reason(rule, weight, evidence)) for place, rule, weight, evidence in fired]
    raw = sum(r.weight for _, r in reasons)
    score = max(0, min(100, raw))
    thresholds = ruleset.get("thresholds") or {"P1": 70, "P2": 45, "P3": 20}
    by_score = tier = _tier_for(score, thresholds)
    if TIERS.index(tier) < cap:
        tier = TIERS[cap]
    if TIERS.index(tier) > floor:
        tier = TIERS[floor]
    reasons.sort(key=lambda pr: (-abs(pr[1].weight), pr[0]))  # heaviest first; the rule set's order among equals
    out = [r for _, r in reasons]
    if tier != by_score:
        # A floor or a cap set the tier: the rules that did come first, and the
        # difference that brings the score into the tier's band comes last.
        bound = "floor" if TIERS.index(tier) < TIERS.index(by_score) else "cap"
        drivers = {p.rule for _, p in compiled["local"] + compiled["cluster"] if getattr(p, bound) == TIERS.index(tier)}
        first = [r for r in out if r.rule in drivers]
        out = first + [r for r in out if r.rule not in drivers]
        low, high = _band(tier, thresholds)
        banded = max(low, min(high, score))
        names = ", ".join(r.rule for r in first)
        out.append(Reason(f"tier_{bound}", banded - raw, f"{'at least' if bound == 'floor' else 'at most'} {tier}: {names}"))
        score = banded
    classification = partial.classification
    if partial.refer_to is not None:
        code = "refer_now" if tier in ("P1", "P2") else "refer"
        out.insert(0, Reason("referral_now" if code == "refer_now" else "referral", 0,
                             f"{'refer now' if code == 'refer_now' else 'refer'} to {partial.refer_to or '?'}"))
        classification = {**classification, "action": {"code": code, "country": partial.refer_to}}
    return Verdict(tier, score, out, classification)


def _band(tier: str, thresholds: Mapping[str, Any]) -> tuple[int, int]:
    """The scores of a tier: P1 from its threshold to 100, P4 from 0 to below P3's."""
    i = TIERS.index(tier)
    low = int(thresholds[tier]) if tier != "P4" else 0
    high = int(thresholds[TIERS[i - 1]]) - 1 if i else 100
    return low, high


def evaluate(facts: Facts, ruleset: Mapping[str, Any]) -> Verdict:
    return evaluate_finish(evaluate_partial(facts, ruleset), facts, ruleset)


OFFENCE_RULES: tuple[tuple[str, Callable[[Facts, _Ctx], bool]], ...] = (
    ("possession_distribution", lambda f, m: f.incident_type == POSSESSION),
    ("production", lambda f, m: any(a in PRODUCTION_ANNOTATIONS for x in f.files for a in x.annotations) or f.incident_type == MOLESTATION),
    ("enticement_grooming", lambda f, m: f.incident_type in (ENTICEMENT, UNSOLICITED) or "csamSolicitation" in f.annotations or m.has("grooming") or m.has("meeting")
     or m.has("image_request") or m.has("secrecy")),
    ("sextortion", lambda f, m: "sextortion" in f.annotations or m.has("sextortion") or (m.has("payment") and m.has("image_request"))),
    ("trafficking", lambda f, m: f.incident_type in (TRAFFICKING, TOURISM)),
    ("self_generated", lambda f, m: "minorToMinorInteraction" in f.annotations or any("possibleSelfProduction" in x.annotations for x in f.files)),
    ("ai_generated", lambda f, m: any("generativeAi" in x.annotations for x in f.files)),
)


def classify(facts: Facts, matches: _Ctx | dict[str, list[PhraseMatch]] | None = None) -> dict[str, Any]:
    """SPEC §3.5 classification: incident type, offence categories, annotations."""
    m = matches if isinstance(matches, _Ctx) else _Ctx(matches or {})
    file_annotations = sorted({a for x in facts.files for a in x.annotations})
    return {
        "incident_type": facts.incident_type,
        "offences": [name for name, test in OFFENCE_RULES if test(facts, m)],
        "annotations": list(facts.annotations),
        "file_annotations": file_annotations,
    }
