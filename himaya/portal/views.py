"""The public portal's pages (SPEC §3.9) and the staff's two portal actions.

Public pages set no cookie at all: no session, no CSRF cookie, no language
cookie (English is the `/portal/en/` prefix). The report form is CSRF-exempt
and protected instead by a signed proof-of-work challenge used once; the reply
form by a sealed access token in a hidden field. A submission without a solved
proof of work is refused before its body is read.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from himaya.core.storage import FileTooLarge
from himaya.intake.uploads import HashingFileUploadHandler, StoredUpload
from himaya.portal import pow, selectors, services, throttle
from himaya.portal.conf import setting
from himaya.portal.crypto import PortalKeyMissing, receipt_grouped
from himaya.portal.forms import MessageForm, ReceiptForm, ReportForm

TOPICS = ("sextortion", "grooming", "sharing-images")
MAX_FILES = 5


def max_file_bytes() -> int:
    return setting("HIMAYA_PORTAL_MAX_FILE_BYTES", 25 * 1024 * 1024, int)


def max_body_bytes() -> int:
    return MAX_FILES * max_file_bytes() + 1024 * 1024


def portal_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Arabic unless the path says /en/; nothing cached, nothing referred, no cookie."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, lang: str | None = None, **kwargs: Any) -> HttpResponse:
        language = "en" if lang == "en" else "ar"
        with translation.override(language):
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
            response = view(request, *args, **kwargs)
        response["Content-Language"] = language
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response

    return csrf_exempt(wrapped)


def _page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    ctx = {"exit_url": setting("HIMAYA_PORTAL_EXIT_URL", "https://www.google.com/search?q=%D8%A7%D9%84%D8%B7%D9%82%D8%B3"),
           "max_file_mb": max_file_bytes() // (1024 * 1024), "max_files": MAX_FILES, **(context or {})}
    return render(request, template, ctx, status=status)


@portal_page
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    return _page(request, "portal/home.html")


@portal_page
@require_http_methods(["GET"])
def advice(request: HttpRequest, topic: str) -> HttpResponse:
    if topic not in TOPICS:
        raise Http404("no such page")
    return _page(request, f"portal/advice_{topic.replace('-', '_')}.html", {"topic": topic})


_REFUSALS: dict[str, bytes] = {}


def _refused(request: HttpRequest) -> HttpResponse:
    """The answer to a submission without a solved proof of work: rendered once per
    language, so that a flood of them costs the server as little as possible."""
    language = translation.get_language()
    if language not in _REFUSALS:
        _REFUSALS[language] = _page(request, "portal/refused.html").content
    return HttpResponse(_REFUSALS[language], status=403, content_type="text/html; charset=utf-8")


def _form_page(request: HttpRequest, form: ReportForm, *, notice: str = "", status: int = 200) -> HttpResponse:
    throttle.challenge_issued()
    challenge = pow.challenge_new(difficulty=throttle.pow_difficulty())
    return _page(request, "portal/report.html", {"form": form, "challenge": challenge, "notice": notice}, status=status)


class PortalUploadHandler(HashingFileUploadHandler):
    """Provider uploads' handler (encrypted on the way in), with the portal's limits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.done: list[StoredUpload] = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        if len(self.done) >= MAX_FILES:
            raise FileTooLarge("too many files")
        super().new_file(*args, **kwargs)
        self.incoming._max = max_file_bytes()

    def file_complete(self, file_size: int) -> StoredUpload:
        upload = super().file_complete(file_size)
        self.done.append(upload)
        return upload

    def discard_all(self) -> None:
        for upload in self.done:
            upload.pending.discard()


@portal_page
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        address = throttle.address_of(request)
        if throttle.hit("challenges", address) > throttle.limit("challenges")[0]:
            return _page(request, "portal/busy.html", status=429)
        return _form_page(request, ReportForm())
    # The proof of work travels in the query string, so that a flood is refused
    # before its body (and its files) is read.
    try:
        solved = pow.verify(request.GET.get("c", ""), request.GET.get("n", ""))
    except pow.PowRefused as refused:
        if str(refused) != "expired":
            return _refused(request)
        solved = None
    if solved is not None and not throttle.pow_spend(solved.nonce):
        return _refused(request)
    if int(request.META.get("CONTENT_LENGTH") or 0) > max_body_bytes():
        return _page(request, "portal/too_big.html", status=413)
    handler = PortalUploadHandler(request)
    request.upload_handlers = [handler]
    try:
        form = ReportForm(request.POST)
        request.FILES  # noqa: B018 - reads the body now, so its errors land here
    except (FileTooLarge, RequestDataTooBig):
        handler.discard_all()
        return _page(request, "portal/too_big.html", status=413)
    if solved is None:
        handler.discard_all()
        return _form_page(request, form, notice=_("This page was open for a long time. Please press Send again."))
    if throttle.hit("submissions", throttle.address_of(request)) > throttle.limit("submissions")[0]:
        handler.discard_all()
        return _form_page(request, form, notice=_("Many reports were sent from this connection. Please wait a little and press Send again."), status=429)
    if not form.is_valid():
        handler.discard_all()
        return _form_page(request, form, status=400)
    uploads = [services.Upload(pending=u.pending, name=u.name or "") for u in handler.done if u.size]
    for u in handler.done:
        if not u.size:  # an empty file input sends an empty part
            u.pending.discard()
    device = form.cleaned_data["device_hashes"]
    receipt = services.portal_report_submit(answers=form.answers(), contact=form.contact(), uploads=uploads, device=device)[1]
    return _page(request, "portal/receipt.html", {"receipt": receipt_grouped(receipt), "files": len(uploads), "device_hashed": len(device)})


def _thread_page(request: HttpRequest, access: services.ReporterAccess, *, form: MessageForm | None = None, sent: bool = False, status: int = 200) -> HttpResponse:
    thread = selectors.reporter_thread(access)
    return _page(request, "portal/status.html", {**thread, "token": access.token(), "form": form or MessageForm(), "sent": sent}, status=status)


@portal_page
@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest) -> HttpResponse:
    """Come back with the receipt: the status and the conversation."""
    if request.method == "GET":
        return _page(request, "portal/receipt_form.html", {"form": ReceiptForm()})
    address = throttle.address_of(request)
    if throttle.over("wrong_receipts", address):
        return _page(request, "portal/receipt_form.html", {"form": ReceiptForm(), "throttled": True}, status=429)
    form = ReceiptForm(request.POST)
    access = services.access_by_receipt(receipt=form.data.get("receipt", "")) if form.is_valid() else None
    if access is None:
        throttle.hit("wrong_receipts", address)
        return _page(request, "portal/receipt_form.html", {"form": ReceiptForm(), "wrong": True}, status=404)
    return _thread_page(request, access)


@portal_page
@require_POST
def reply(request: HttpRequest) -> HttpResponse:
    access = services.access_by_token(token=request.POST.get("token", ""))
    if access is None:
        return _page(request, "portal/receipt_form.html", {"form": ReceiptForm(), "expired": True}, status=403)
    form = MessageForm(request.POST)
    if not form.is_valid():
        return _thread_page(request, access, form=form, status=400)
    if throttle.hit("replies", f"s{access.submission.pk}") > throttle.limit("replies")[0]:
        form.add_error("text", _("You sent many messages. Please wait a little before you write again."))
        return _thread_page(request, access, form=form, status=429)
    try:
        services.portal_reporter_message(access=access, text=form.cleaned_data["text"])
    except services.PortalError as exc:
        form.add_error("text", str(exc))
        return _thread_page(request, access, form=form, status=400)
    return _thread_page(request, access, sent=True)


# Staff ------------------------------------------------------------------------


def staff_verified(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login with its second factor: the second-factor middleware leaves all of
    /portal/ open for the public, so the staff's portal actions check it here."""

    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        is_verified = getattr(request.user, "is_verified", None)
        if is_verified is not None and not is_verified():
            return HttpResponseRedirect(reverse("accounts:verify"))
        return view(request, *args, **kwargs)

    return wrapped


@staff_verified
@require_POST
def staff_reply(request: HttpRequest, report_id: int) -> HttpResponse:
    try:
        services.portal_reply(actor=request.user, report_id=report_id, text=request.POST.get("text", ""))
    except services.PortalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your message was sent. The reporter reads it with their receipt."))
    return HttpResponseRedirect(reverse("portal:staff_thread", kwargs={"report_id": report_id}))


@staff_verified
@require_http_methods(["GET"])
def staff_thread(request: HttpRequest, report_id: int) -> HttpResponse:
    """The conversation with the reporter, opened on purpose from the report page."""
    try:
        thread = selectors.staff_thread(user=request.user, report_id=report_id)
    except PortalKeyMissing:
        thread = None
    else:
        services.portal_thread_seen(actor=request.user, report_id=report_id)
    response = render(request, "portal/staff_thread.html", {"thread": thread, "report_id": report_id}, status=200 if thread else 503)
    response["Cache-Control"] = "no-store"
    return response


@staff_verified
@require_http_methods(["GET"])
def staff_contact(request: HttpRequest, report_id: int) -> HttpResponse:
    contact = selectors.staff_contact(user=request.user, report_id=report_id)
    response = render(request, "portal/staff_contact.html", {"contact": contact, "report_id": report_id})
    response["Cache-Control"] = "no-store"
    return response

