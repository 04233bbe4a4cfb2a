"""The evidence of a reason, in the reader's language.

A reason's `evidence` stays what the rule wrote (machine-readable English, SPEC
§4.3: field names and values as the report gives them). The panel reads it
back through these patterns — one per shape a rule in rules.py writes — and
shows a translated sentence with the same values; what the report itself says
(a quoted phrase, the escalation text) is kept as written. A shape not listed
here is shown as stored.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from himaya.reports.presentation import incident_type_label, label_for

# A quote may be followed by the built-in pattern that found it ("[sextortion.conditional]")
# or, for words that did not count, by why ("[meeting: context: football]").
_QUOTE = re.compile(r"([\w/]+): «(.*?)»(?: \[([\w.]+)(?:: ([^\]]*))?\])?", re.S)
_QUOTES = re.compile(r"(?:stated age \d+: )?[\w/]+: «.*?»(?: \[[^\]]*\])?(?:; [\w/]+: «.*?»(?: \[[^\]]*\])?)*", re.S)
_CAMERA = "camera metadata, not public"


def _field(path: str) -> str:
    names = {"escalateToHighPriority": _("provider escalation"), "content": _("content"), "additionalInfo": _("additional information")}
    parts = path.split("/")
    last = str(names.get(parts[-1], label_for(parts[-1])))
    return f"{label_for(parts[0])} — {last}" if len(parts) > 1 else last


def _annotation(name: str) -> str:
    if name == _CAMERA:
        return _("camera metadata, not public")
    return str(label_for(name))


# (pattern of one part, its sentence); parts are joined by "; " in rules.py.
_PARTS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"reportAnnotations/(\w+)$"), lambda m: _("report annotation: %(name)s") % {"name": _annotation(m[1])}),
    (re.compile(r"fileAnnotations/(\w+) on (\d+) of (\d+) files$"),
     lambda m: ngettext("%(name)s on %(k)s of %(n)d file", "%(name)s on %(k)s of %(n)d files", int(m[3])) % {"n": int(m[3]), "name": _annotation(m[1]), "k": m[2]}),
    (re.compile(r"incidentType: (.+)$"), lambda m: _("incident type: %(type)s") % {"type": incident_type_label(m[1])}),
    (re.compile(r"a child is named$"), lambda m: _("a child is named")),
    (re.compile(r"escalateToHighPriority: (.*)$", re.S), lambda m: _("the provider escalated: %(text)s") % {"text": m[1]}),
    (re.compile(r"intended recipient aged (\d+)$"), lambda m: _("intended recipient aged %(age)s") % {"age": m[1]}),
    (re.compile(r"victim aged (\d+)$"), lambda m: _("victim aged %(age)s") % {"age": m[1]}),
    (re.compile(r"file (\d+) \((\w+), no known-list match\): (.+)$"),
     lambda m: _("file %(i)s (%(status)s, on no known list): %(signs)s") % {
         "i": m[1], "status": _status(m[2]), "signs": _signs(m[3])}),
    (re.compile(r"(\d+) files$"), lambda m: ngettext("%(n)d file", "%(n)d files", int(m[1])) % {"n": int(m[1])}),
    (re.compile(r"(\d+) linked reports in the cluster$"), lambda m: ngettext("%(n)d linked report in the cluster", "%(n)d linked reports in the cluster", int(m[1])) % {"n": int(m[1])}),
    (re.compile(r"previously reported (\d+) time\(s\)$"), lambda m: ngettext("previously reported %(n)d time", "previously reported %(n)d times", int(m[1])) % {"n": int(m[1])}),
    (re.compile(r"incident (\d+) days? ago$"), lambda m: ngettext("incident %(n)d day ago", "incident %(n)d days ago", int(m[1])) % {"n": int(m[1])}),
    (re.compile(r"incident (\d+) day\(s\) ago$"), lambda m: ngettext("incident %(n)d day ago", "incident %(n)d days ago", int(m[1])) % {"n": int(m[1])}),
    (re.compile(r"jurisdiction: ours \((\w*)\)$"), lambda m: _("jurisdiction: ours (%(country)s)") % {"country": m[1]}),
    (re.compile(r"jurisdiction: foreign \((\w*)\) → referral$"), lambda m: _("jurisdiction: another country (%(country)s), for referral") % {"country": m[1]}),
    (re.compile(r"batchedReport reason=(.*)$"), lambda m: _("batched report, reason: %(reason)s") % {"reason": m[1]}),
    (re.compile(r"every file is viral or a meme$"), lambda m: _("every file is viral or a meme")),
    (re.compile(r"all (\d+) files match known lists$"), lambda m: ngettext("the file matches a known list", "all %(n)d files match known lists", int(m[1])) % {"n": int(m[1])}),
    (re.compile(r"no identifier of a reported person and no location$"), lambda m: _("no identifier of a reported person and no location")),
]


def _quoted(field: str, quote: str, tag: str, why_not: str) -> str:
    from himaya.triage.labels import PHRASE_LABELS, pattern_why

    text = f"{_field(field)}: «{quote}»"
    if why_not:
        return text + " — " + _("not counted: %(why)s") % {"why": _why_not(why_not)}
    why = pattern_why(tag) if tag else ""
    return text + (f" — {why}" if why else "") if tag not in PHRASE_LABELS else text


def _why_not(text: str) -> str:
    """Why words did not count (arabic._context), in the reader's language; the words quoted stay as written."""
    if text == "negated":
        return _("negated")
    if text == "not a current age":
        return _("not a current age")
    for prefix, label in (("context: ", _("a harmless setting: %(words)s")), ("a mention, not a use: ", _("a mention, not a use: %(words)s"))):
        if text.startswith(prefix):
            return label % {"words": text[len(prefix):]}
    return text


def _combination(m: re.Match[str]) -> str:
    from himaya.triage.labels import PHRASE_LABELS

    def part(p: str) -> str:
        return " + ".join(str(PHRASE_LABELS.get(x, x)) if x != "child" else _("a child") for x in p.split(" + "))
    return _("in combination: %(parts)s") % {"parts": _sep(",").join(part(p) for p in m[1].split(", "))}


def _bound(m: re.Match[str]) -> str:
    from himaya.triage.labels import rule_label

    text = _("at least %(tier)s because of: %(rules)s") if m[1] == "at least" else _("at most %(tier)s because of: %(rules)s")
    return text % {"tier": m[2], "rules": _sep(",").join(rule_label(r) for r in m[3].split(", ") if r)}


# Evidence written whole by rules.evaluate_finish and the combination rule.
_WHOLE: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"combination: (.+)"), _combination),
    (re.compile(r"(at least|at most) (P\d): (.*)"), _bound),
    (re.compile(r"refer now to (\w*|\?)"), lambda m: _("refer now to %(country)s") % {"country": m[1]}),
    (re.compile(r"refer to (\w*|\?)"), lambda m: _("refer to %(country)s") % {"country": m[1]}),
]


def _signs(text: str) -> str:
    camera = _CAMERA in text
    names = [s for s in text.replace(_CAMERA, "").split(", ") if s]
    return _sep(",").join([_annotation(s) for s in names] + ([_annotation(_CAMERA)] if camera else []))


def _status(status: str) -> str:
    return str({"new": _("new"), "pending": _("not yet matched"), "known": _("known"), "viral": _("viral"), "benign": _("benign")}.get(status, status))


def _part(text: str) -> str:
    for pattern, render in _PARTS:
        m = pattern.match(text)
        if m:
            return render(m)
    return text


def evidence_display(evidence: str) -> str:
    """The evidence as a sentence in the active language."""
    if not evidence:
        return ""
    if _QUOTES.fullmatch(evidence):
        # Phrase matches, "field: «quote»; ...": the quote is the report's own words.
        age = re.match(r"stated age (\d+): ", evidence)
        shown = _sep(";").join(_quoted(*q) for q in _QUOTE.findall(evidence))
        return (_("stated age %(age)s") % {"age": age[1]} + " — " + shown) if age else shown
    for pattern, render in _WHOLE:
        m = pattern.fullmatch(evidence)
        if m:
            return render(m)
    if evidence.startswith("escalateToHighPriority: "):
        return _part(evidence)
    return _sep(";").join(_part(p) for p in evidence.split("; "))


def _sep(mark: str) -> str:
    if get_language_bidi():
        return {";": "؛ ", ",": "، "}[mark]
    return f"{mark} "
