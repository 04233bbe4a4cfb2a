"""Case pages (Arabic first): the list, the case page (the child first), "my work".
Views parse the form and call a service; a refused request comes back as a
message on the same page, never as a traceback."""
from __future__ import annotations

import csv
import datetime
import functools
import io
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db.models import Choices
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.cases import selectors, services
from himaya.cases.errors import CaseError
from himaya.cases.models import (
    AgeRange, Case, CaseOutcome, CaseStatus, Identification, LegalRequestKind, LegalRequestResult, ReferralKind, ReferralState,
    Sex, SuspectIdentifierKind, SuspectStatus, TaskKind,
)
from himaya.cases.presentation import actor_name, event_summary, next_moves
from himaya.core.rendering import escape_text, object_address
from himaya.core.storage import FileTooLarge, IncomingFile
from himaya.intake.uploads import HashingFileUploadHandler


def _date(value: str | None) -> datetime.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CaseError(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}) from None


def _ids(values: list[str]) -> list[int]:
    """Ids from a form; what is not a database id is dropped (never a database error)."""
    return [int(v) for v in values if v.strip().isdigit() and 0 < int(v) <= selectors.MAX_ID]


def _back(case_id: int, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("cases:detail", args=[case_id]) + (f"#{anchor}" if anchor else ""))


def _act(request: HttpRequest, case_id: int, anchor: str, action: Callable[[], Any], done: str) -> HttpResponseRedirect:
    try:
        action()
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _back(case_id, anchor)


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    between = {}  # opened or closed within dates: what a statistics figure links with
    for name in ("opened_from", "opened_before", "closed_from", "closed_before"):
        try:
            day = datetime.date.fromisoformat(request.GET.get(name, "")[:10])
        except ValueError:
            continue
        between[name] = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    cases = selectors.case_list_for_user(user=request.user, status=status if status != "all" else "", between=between)[:500]
    return render(request, "cases/list.html", {"cases": cases, "status": status, "statuses": CaseStatus.choices, "between": between,
                                               "overdue_requests": list(selectors.legal_requests_overdue(user=request.user)[:100])})


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    """Each section is a page of its rows with its count; `?overdue=2` (or due, referrals,
    legal, cases) turns that section's page, the others stay where they were."""
    pages = {name: _page_number(request.GET.get(name)) for name in selectors.MY_WORK_SECTIONS}
    context = selectors.my_work(user=request.user, pages=pages)
    key_of = {"legal": "legal_requests"}
    context["pagers"] = {name: _pager_links(request, name, context[key_of.get(name, name)]) for name in selectors.MY_WORK_SECTIONS}
    return render(request, "cases/my_work.html", context)


def _page_number(value: str | None) -> int:
    """A page number from the address; anything else is the first page (never an error)."""
    value = (value or "").strip()
    return min(int(value), 10**6) if value.isdigit() and int(value) > 0 else 1


def _pager_links(request: HttpRequest, name: str, section: selectors.Section) -> dict[str, str]:
    """The addresses of a section's previous and next pages, keeping the other sections' pages."""
    links = {}
    for label, page, wanted in (("previous", section.page - 1, section.has_previous), ("next", section.page + 1, section.has_next)):
        if wanted:
            query = request.GET.copy()
            query[name] = str(page)
            links[label] = f"?{query.urlencode()}#{'my-' + name if name in ('referrals', 'legal', 'cases') else name}"
    return links


def _options(choices: Any, selected: Any = None, *, chosen: Any = ()) -> SafeString:
    """<option>s of a select (`selected`, or each of `chosen`, selected), rendered once for
    every form of the page that shows them; values and labels escaped."""
    return mark_safe("".join(f'<option value="{escape_text(value)}"{" selected" if value == selected or value in chosen else ""}>{escape_text(label)}</option>'
                             for value, label in choices))


@functools.lru_cache(maxsize=256)
def _choice_options(choices: type[Choices], language: str, selected: Any = None, without: frozenset[str] = frozenset()) -> SafeString:
    """The <option>s of one of the models' fixed choices, in one language: the same for
    every page, so rendered (and translated) once per process, not on every page."""
    return _options([(v, lbl) for v, lbl in choices.choices if v not in without], selected)


TIMELINE_SHOWN = 100  # the latest events on the case page; the rest on request (?timeline=all) and in the printable timeline
APPEARANCES_SHOWN = 20  # a suspect's identifier can be in thousands of reports: the page lists the latest, with the count


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case, lists = selectors.case_page_prefetched(selectors.case_get_for_user(user=request.user, case_id=case_id))
    user = request.user
    language = translation.get_language() or ""
    victims = selectors.case_victims_shown(user=user, case=case)
    # The forms' option lists are built once per page (per distinct choice), not per
    # object, and a fixed choice list once per process and language.
    victim_url, referral_url, move_url = object_address("cases:victim_update"), object_address("cases:referral_create"), object_address("cases:referral_move")
    for item in victims:
        item["identification_options"] = _choice_options(Identification, language, item["victim"].identification)
        item["update_url"], item["referral_url"] = victim_url(item["victim"].pk), referral_url(item["victim"].pk)
        for ref in item["victim"].referrals.all():
            ref.moves = next_moves(ReferralState, services.REFERRAL_MOVES, ref.state)
            ref.move_options = _options(ref.moves)
            ref.move_url = move_url(ref.pk)
    appearances = selectors.suspects_appearances(user=user, suspects=list(case.suspects.all()))
    suspects = []
    status_url, case_url = object_address("cases:suspect_status"), object_address("cases:detail")
    for s in case.suspects.all():
        seen = appearances[s.pk]
        moves = next_moves(SuspectStatus, services.SUSPECT_MOVES, s.status)
        for other in seen["cases"][:APPEARANCES_SHOWN]:
            other.url = case_url(other.pk)
        suspects.append({"suspect": s, "moves": moves, "move_options": _options(moves), "status_url": status_url(s.pk),
                         # the latest reports and cases first; the rest counted
                         "reports": seen["reports"][::-1][:APPEARANCES_SHOWN], "more_reports": max(0, len(seen["reports"]) - APPEARANCES_SHOWN),
                         "clusters": seen["clusters"],
                         "cases": seen["cases"][:APPEARANCES_SHOWN], "more_cases": max(0, len(seen["cases"]) - APPEARANCES_SHOWN)})
    for url, objects, attr in ((object_address("cases:task_status"), lists["tasks"], "status_url"),
                               (object_address("cases:legal_answer"), lists["legal_requests"], "answer_url"),
                               (object_address("cases:legal_document"), lists["legal_requests"], "document_url"),
                               (object_address("cases:attachment_download"), lists["attachments"], "download_url")):
        for obj in objects:
            setattr(obj, attr, url(obj.pk))
    report_ids = lists["report_ids"]
    reported = selectors.case_reported_parties(case).only("id", "report_id", "position", "screen_name", "esp_identifier")
    # The timeline grows with the case's life: the page shows its latest events (all on
    # request, and always in the printable timeline); their times are formatted here,
    # once, rather than through a template filter per event.
    events = lists["timeline"]
    earlier = 0 if request.GET.get("timeline") == "all" else max(0, len(events) - TIMELINE_SHOWN)
    # Up to TIMELINE_SHOWN (or all) items: rendered here in one pass, not through
    # template nodes per event (bench/RESULTS.md, session 11); every value escaped.
    timeline = mark_safe("".join(
        f'\n    <li data-type="{escape_text(e.type)}"><bdi dir="ltr" class="muted">{timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M")}</bdi>'
        f' · <bdi>{escape_text(actor_name(e))}</bdi> · {escape_text(event_summary(e))}</li>\n  ' for e in events[earlier:]))
    unit_users = [u.username for u in selectors.case_unit_users(case).only("id", "username")]
    assignee_names = {u.username for u in case.assignees.all()}
    return render(request, "cases/detail.html", {
        "case": case, "victims": victims, "suspects": suspects, "report_ids": report_ids, "reported": reported,
        "offered": list(selectors.case_offered_reports(user=user, case=case).values_list("id", flat=True)[:100]),
        "timeline": timeline, "timeline_earlier": earlier, "notes": lists["notes"],
        "tasks": lists["tasks"], "legal_requests": lists["legal_requests"], "attachments": lists["attachments"],
        "moves": next_moves(CaseStatus, services.CASE_MOVES, case.status),
        "outcome_options": _choice_options(CaseOutcome, language, without=frozenset({CaseOutcome.MERGED.value})),
        "assign_options": _options([(name, name) for name in unit_users], chosen=assignee_names),
        "assignee_options": _options([(name, name) for name in unit_users]),
        "report_options": _options([(rid, f"#{rid}") for rid in report_ids]),
        "task_kind_options": _choice_options(TaskKind, language), "identification_choice_options": _choice_options(Identification, language),
        "age_range_options": _choice_options(AgeRange, language), "sex_options": _choice_options(Sex, language),
        "referral_kind_options": _choice_options(ReferralKind, language), "identifier_kind_options": _choice_options(SuspectIdentifierKind, language),
        "legal_kind_options": _choice_options(LegalRequestKind, language),
        "legal_result_options": _choice_options(LegalRequestResult, language, without=frozenset({LegalRequestResult.PENDING.value})),
        "officer_options": _options([(name, name) for name in unit_users], user.get_username()),
        "may": {name: allowed(user, action, kind) for name, action, kind in (
            ("change_case", Action.CHANGE, Kind.CASE), ("assign_case", Action.ASSIGN, Kind.CASE),
            ("create_task", Action.CREATE, Kind.TASK), ("change_task", Action.CHANGE, Kind.TASK),
            ("create_victim", Action.CREATE, Kind.VICTIM), ("change_victim", Action.CHANGE, Kind.VICTIM),
            ("create_referral", Action.CREATE, Kind.REFERRAL), ("change_referral", Action.CHANGE, Kind.REFERRAL),
            ("create_suspect", Action.CREATE, Kind.SUSPECT), ("change_suspect", Action.CHANGE, Kind.SUSPECT),
            ("create_legal", Action.CREATE, Kind.LEGAL_REQUEST), ("change_legal", Action.CHANGE, Kind.LEGAL_REQUEST),
            ("export_legal", Action.EXPORT, Kind.LEGAL_REQUEST), ("export_case", Action.EXPORT, Kind.CASE),
            ("create_attachment", Action.CREATE, Kind.ATTACHMENT), ("export_attachment", Action.EXPORT, Kind.ATTACHMENT))},
        "attachment_max_mb": services.attachment_max_bytes() // (1024 * 1024),
        "may_identity": services.may_view_identity(user, case),
    })


@login_required
@require_POST
def case_open(request: HttpRequest) -> HttpResponse:
    cluster = request.POST.get("cluster", "").strip()
    report_ids = _ids(request.POST.getlist("report"))
    title = request.POST.get("title", "").strip() or (_("Cluster %(id)s") % {"id": cluster} if cluster else "")
    try:
        case = services.case_open(actor=request.user, title=title, cluster=(_ids([cluster]) or [0])[0] if cluster else None,
                                  report_ids=report_ids if not cluster else None)
    except CaseError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(request.META.get("HTTP_REFERER") or reverse("cases:index"))
    messages.success(request, _("Case %(reference)s opened.") % {"reference": case.reference})
    return HttpResponseRedirect(reverse("cases:detail", args=[case.pk]))


def _case(request: HttpRequest, case_id: int) -> Case:
    return selectors.case_get_for_user(user=request.user, case_id=case_id)


@login_required
@require_POST
def case_status(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    return _act(request, case_id, "", lambda: services.case_set_status(
        actor=request.user, case=case, status=request.POST.get("status", ""), outcome=request.POST.get("outcome", "")),
        _("Status changed."))


@login_required
@require_POST
def case_assign(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    return _act(request, case_id, "", lambda: services.case_assign(actor=request.user, case=case, usernames=request.POST.getlist("users")),
                _("Assignees saved."))


@login_required
@require_POST
def case_add_reports(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    ids = _ids(request.POST.getlist("report"))
    return _act(request, case_id, "reports", lambda: services.case_add_reports(actor=request.user, case=case, report_ids=ids),
                _("Reports added."))


@login_required
@require_POST
def case_merge(request: HttpRequest, case_id: int) -> HttpResponse:
    source = _case(request, case_id)
    into = request.POST.get("into", "").strip()
    target = selectors.case_find_for_user(user=request.user, reference_or_id=into)
    if target is None:
        messages.error(request, _("No such case: %(ref)s.") % {"ref": into})
        return _back(case_id)
    try:
        services.case_merge(actor=request.user, source=source, target=target)
    except CaseError as exc:
        messages.error(request, exc.message)
        return _back(case_id)
    messages.success(request, _("Case %(a)s merged into %(b)s.") % {"a": source.reference, "b": target.reference})
    return _back(target.pk)


@login_required
@require_POST
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    return _act(request, case_id, "notes", lambda: services.case_add_note(actor=request.user, case=case, text=request.POST.get("text", "")),
                _("Note added."))


@login_required
@require_POST
def task_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    p = request.POST
    return _act(request, case_id, "tasks", lambda: services.task_create(
        actor=request.user, case=case, kind=p.get("kind", ""), title=p.get("title", ""), due=_date(p.get("due")),
        assignee=p.get("assignee") or None), _("Task created."))


@login_required
@require_POST
def task_status(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.task_get_for_user(user=request.user, task_id=task_id)
    return _act(request, task.case_id, "tasks", lambda: services.task_set_status(actor=request.user, task=task, status=request.POST.get("status", "")),
                _("Task updated."))


def _victim_form_values(post: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("first_name", "last_name", "date_of_birth", "address", "contact"):
        if name in post:
            values[name] = post.get(name, "")
    if post.get("age", "").strip():
        try:
            values["age"] = int(post["age"])
        except ValueError:
            raise CaseError(_("The age must be a whole number of years.")) from None
    for name in ("age_range", "sex"):
        if name in post:
            values[name] = post.get(name, "")
    for name in ("child_consents_disclosure", "child_consents_services", "guardian_consents_disclosure", "guardian_consents_services"):
        if name in post:
            values[name] = {"yes": True, "no": False}.get(post.get(name, ""))
    return values


@login_required
@require_POST
def victim_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    return _act(request, case_id, "victims", lambda: services.victim_create(
        actor=request.user, case=case, identification=request.POST.get("identification") or "unidentified",
        report_ids=_ids(request.POST.getlist("report")), **_victim_form_values(request.POST)),
        _("Victim added."))


@login_required
@require_POST
def victim_update(request: HttpRequest, victim_id: int) -> HttpResponse:
    victim = selectors.victim_get_for_user(user=request.user, victim_id=victim_id)
    values = _victim_form_values(request.POST)
    if not services.may_view_identity(request.user, victim):
        for name in services.IDENTITY_FIELDS:
            values.pop(name, None)
    return _act(request, victim.case_id, f"victim-{victim.pk}", lambda: services.victim_update(
        actor=request.user, victim=victim, identification=request.POST.get("identification") or None, **values), _("Victim record saved."))


@login_required
@require_POST
def referral_create(request: HttpRequest, victim_id: int) -> HttpResponse:
    victim = selectors.victim_get_for_user(user=request.user, victim_id=victim_id)
    p = request.POST
    return _act(request, victim.case_id, f"victim-{victim.pk}", lambda: services.referral_create(
        actor=request.user, victim=victim, kind=p.get("kind", ""), service=p.get("service", ""), officer=p.get("officer") or None),
        _("Referral requested."))


@login_required
@require_POST
def referral_move(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = selectors.referral_get_for_user(user=request.user, referral_id=referral_id)
    p = request.POST
    return _act(request, referral.victim.case_id, f"victim-{referral.victim_id}", lambda: services.referral_move(
        actor=request.user, referral=referral, state=p.get("state", ""), outcome=p.get("outcome", ""), reason=p.get("reason", "")),
        _("Referral updated."))


@login_required
@require_POST
def suspect_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    p = request.POST
    identifiers = [{"kind": k, "value": v, "platform": p.get("platform", "")}
                   for k, v in zip(p.getlist("identifier_kind"), p.getlist("identifier_value")) if v.strip()]
    return _act(request, case_id, "suspects", lambda: services.suspect_create(
        actor=request.user, case=case, label=p.get("label", ""), identifiers=identifiers), _("Suspect added."))


@login_required
@require_POST
def suspect_from_party(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    party = selectors.case_party(case=case, party_id=request.POST.get("party", ""))

    def run() -> None:
        if party is None:
            raise CaseError(_("That person is not named in a report of this case."))
        services.suspect_from_party(actor=request.user, case=case, party=party)
    return _act(request, case_id, "suspects", run, _("Suspect added from the report."))


@login_required
@require_POST
def suspect_status(request: HttpRequest, suspect_id: int) -> HttpResponse:
    suspect = selectors.suspect_get_for_user(user=request.user, suspect_id=suspect_id)
    p = request.POST
    return _act(request, suspect.case_id, f"suspect-{suspect.pk}", lambda: services.suspect_update(
        actor=request.user, suspect=suspect, status=p.get("status", ""), status_date=_date(p.get("on")), legal_basis=p.get("legal_basis", "")),
        _("Suspect status recorded."))


@login_required
@require_POST
def legal_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    p = request.POST
    return _act(request, case_id, "legal", lambda: services.legal_request_create(
        actor=request.user, case=case, provider=p.get("provider", ""), kind=p.get("kind", ""), legal_basis=p.get("legal_basis", ""),
        account=p.get("account", ""), sent_on=_date(p.get("sent_on")), due_on=_date(p.get("due_on")),
        report_id=(_ids([p.get("report", "")]) or [None])[0]), _("Legal request recorded."))


@login_required
@require_POST
def legal_answer(request: HttpRequest, request_id: int) -> HttpResponse:
    legal = selectors.legal_request_get_for_user(user=request.user, request_id=request_id)
    p = request.POST
    return _act(request, legal.case_id, "legal", lambda: services.legal_request_answer(
        actor=request.user, request=legal, result=p.get("result", ""), answer=p.get("answer", ""), answered_on=_date(p.get("answered_on"))),
        _("Answer recorded."))


@login_required
@require_POST
def case_deadline(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    return _act(request, case_id, "", lambda: services.case_set_deadline(actor=request.user, case=case, deadline=_date(request.POST.get("deadline"))),
                _("Deadline saved."))


@csrf_exempt  # checked below, once the upload handler is ours (Django's documented way to swap handlers)
@login_required
@require_POST
def attachment_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    handler = AttachmentUploadHandler(request)
    request.upload_handlers = [handler]
    return _attachment_upload(request, case_id, handler)


@csrf_protect
def _attachment_upload(request: HttpRequest, case_id: int, handler: "AttachmentUploadHandler") -> HttpResponse:
    case = _case(request, case_id)
    upload = request.FILES.get("file")

    def run() -> None:
        if handler.too_large:
            raise CaseError(_("The file is too large: at most %(mb)d MB.") % {"mb": services.attachment_max_bytes() // (1024 * 1024)})
        if upload is None or not hasattr(upload, "pending"):
            raise CaseError(_("Choose a file to attach."))
        services.attachment_add(actor=request.user, case=case, pending=upload.pending, name=upload.name or "",
                                description=request.POST.get("description", ""))
    try:
        return _act(request, case_id, "attachments", run, _("File attached."))
    finally:
        for extra in request.FILES.getlist("file")[1:]:
            extra.pending.discard()


@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    return attachment_response(selectors.attachment_content(user=request.user, attachment=attachment), attachment)


def attachment_response(content: Any, attachment: Any) -> StreamingHttpResponse:
    """Always a download, never rendered by the browser (an attached page cannot run in Himaya's origin)."""
    response = StreamingHttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=attachment.name)
    response["Content-Length"] = str(attachment.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@login_required
def timeline_csv(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    rows = selectors.case_timeline_rows(user=request.user, case=case, format="csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Time"), _("Event"), _("By"), _("What happened"), "type"])
    for row in rows:
        writer.writerow([_csv_cell(row["at"]), _csv_cell(row["type_label"]), _csv_cell(row["actor"]), _csv_cell(row["summary"]), row["type"]])
    # UTF-8 with a byte-order mark, so spreadsheet programs read the Arabic right.
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{case.reference}-timeline.csv")
    response["Cache-Control"] = "no-store"
    return response


def _csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
def timeline_print(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    rows = selectors.case_timeline_rows(user=request.user, case=case, format="print")
    return render(request, "cases/timeline_print.html", {"case": case, "rows": rows, "printed_by": request.user.get_username()})


@login_required
def legal_document(request: HttpRequest, request_id: int) -> HttpResponse:
    """The request as a printable document, in Arabic or English (`?lang=`)."""
    legal = selectors.legal_request_get_for_user(user=request.user, request_id=request_id)
    language = request.GET.get("lang", translation.get_language() or "ar")
    language = "en" if language.startswith("en") else "ar"
    data = selectors.legal_request_document(user=request.user, request=legal, language=language)
    with translation.override(language):
        return render(request, "cases/legal_document.html", {**data, "doc_lang": language, "doc_dir": "rtl" if language == "ar" else "ltr",
                                                             "today": timezone.localdate(), "printed_by": request.user.get_username()})


class AttachmentUploadHandler(HashingFileUploadHandler):
    """The project's encrypting upload handler, with the attachment limit: a larger
    file is cut off (and its encrypted part removed) as it streams in, and the page
    says so, instead of receiving gigabytes first."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.too_large = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.incoming = IncomingFile(max_bytes=services.attachment_max_bytes())

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        try:
            self.incoming.write(raw_data)
        except FileTooLarge:
            self.too_large = True
            raise StopUpload(connection_reset=False) from None
        return None
