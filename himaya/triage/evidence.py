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

_QUOTE = re.compile(r"([\w/]+): «(.*?)»", re.S)
_QUOTES = re.compile(r"[\w/]+: «.*?»(?:; [\w/]+: «.*?»)*", re.S)
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
        return _sep(";").join(f"{_field(field)}: «{quote}»" for field, quote in _QUOTE.findall(evidence))
    if evidence.startswith("escalateToHighPriority: "):
        return _part(evidence)
    return _sep(";").join(_part(p) for p in evidence.split("; "))


def _sep(mark: str) -> str:
    if get_language_bidi():
        return {";": "؛ ", ",": "، "}[mark]
    return f"{mark} "
