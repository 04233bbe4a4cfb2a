"""The provider API at /ispws/, compatible with NCMEC's CyberTipline Reporting API.

Views only parse the request and call intake services; every answer is one of the
documented response documents with its code, and never a traceback.
"""
from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from himaya.accounts.models import Reporter
from himaya.accounts.services import AuthThrottled, reporter_authenticate
from himaya.accounts.throttle import client_address
from himaya.core.storage import FileTooLarge
from himaya.intake import services
from himaya.intake.cybertip import XSD_PATH, report_done_response, report_response, status_response
from himaya.intake.errors import IntakeError
from himaya.intake.uploads import StoredUpload

log = logging.getLogger(__name__)
XML = "application/xml; charset=utf-8"

# HTTP statuses that go with the documented application codes; the body always
# carries the code itself, which is what clients act on.
HTTP_STATUS = {
    0: 200, 1000: 500, 1100: 500, 1110: 500, 1111: 500, 1210: 404, 1300: 500,
    2000: 401, 3000: 403, 3100: 403, 3300: 403,
    4000: 400, 4100: 400, 4110: 400, 4200: 400,
    5001: 404, 5002: 404, 5101: 409, 5102: 409,
}


def _xml(body: bytes, code: int) -> HttpResponse:
    response = HttpResponse(body, content_type=XML, status=HTTP_STATUS.get(code, 400))
    response["Cache-Control"] = "no-store"
    if code == 2000:
        response["WWW-Authenticate"] = 'Basic realm="Himaya provider API", charset="UTF-8"'
    return response


def _error(exc: IntakeError, *, done: bool = False) -> HttpResponse:
    if done:
        return _xml(report_done_response(exc.code, report_id=exc.report_id or 0, file_ids=[]), exc.code)
    description = None
    if exc.detail:
        from himaya.intake.cybertip import RESPONSE_CODES

        description = f"{RESPONSE_CODES.get(exc.code, 'Error')}: {exc.detail}"
    return _xml(report_response(exc.code, report_id=exc.report_id, description=description), exc.code)


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _throttled(exc: AuthThrottled, *, done: bool = False) -> HttpResponse:
    """Too many failed authentications for the name or from the address: the documented
    answer for bad authentication (2000), with HTTP 429 and when to come back."""
    import math

    from django.utils import timezone

    response = _error(IntakeError(2000, "too many failed authentications; try again later"), done=done)
    response.status_code = 429
    del response["WWW-Authenticate"]
    response["Retry-After"] = str(max(1, math.ceil((exc.until - timezone.now()).total_seconds())))
    return response


def _authenticate(request: HttpRequest) -> Reporter | None:
    """The reporter for the request's HTTP Basic credentials (None for missing or wrong
    ones, which count toward the lockout of the name and the address)."""
    credentials = _basic_credentials(request)
    if not credentials:
        return None
    return reporter_authenticate(username=credentials[0], password=credentials[1], address=client_address(request))


def provider_endpoint(*, methods: tuple[str, ...], done: bool = False) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                reporter = _authenticate(request)
                if reporter is None:
                    raise IntakeError(2000)
                if request.method not in methods:
                    raise IntakeError(4000, f"use {' or '.join(methods)} for this endpoint")
                return view(request, reporter, *args, **kwargs)
            except IntakeError as exc:
                return _error(exc, done=done)
            except AuthThrottled as exc:
                return _throttled(exc, done=done)
            except Exception:
                log.exception("provider API fault")
                return _error(IntakeError(1000), done=done)

        return wrapper

    return decorate


def _form_value(request: HttpRequest, name: str) -> str:
    """`id` from a urlencoded or multipart form, or the query string."""
    try:
        value = request.POST.get(name) or request.GET.get(name)
    except MultiPartParserError as exc:
        raise IntakeError(4000, f"unreadable form: {exc}") from None
    if not value:
        raise IntakeError(4000, f"the parameter {name!r} is required")
    return value


def _xml_body(request: HttpRequest) -> bytes:
    """`submit`/`fileinfo` bodies arrive raw (text/xml, application/xml, or curl's
    default application/x-www-form-urlencoded with --data @file)."""
    from django.conf import settings

    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.HIMAYA_MAX_XML_BYTES:
        raise IntakeError(4110, f"the document exceeds the maximum of {settings.HIMAYA_MAX_XML_BYTES} bytes")
    body = request.read(settings.HIMAYA_MAX_XML_BYTES + 1)
    if len(body) > settings.HIMAYA_MAX_XML_BYTES:
        raise IntakeError(4110, f"the document exceeds the maximum of {settings.HIMAYA_MAX_XML_BYTES} bytes")
    return body


@provider_endpoint(methods=("GET",))
def status(request: HttpRequest, reporter: Reporter) -> HttpResponse:
    return _xml(status_response(username=reporter.username, ip=client_address(request)), 0)


@csrf_exempt
def xsd(request: HttpRequest) -> HttpResponse:
    # Authentication is required on every endpoint (documentation §2).
    try:
        if _authenticate(request) is None:
            return _error(IntakeError(2000))
    except AuthThrottled as exc:
        return _throttled(exc)
    response = FileResponse(open(XSD_PATH, "rb"), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="cybertipline-report.xsd"'
    return response


@provider_endpoint(methods=("POST",))
def submit(request: HttpRequest, reporter: Reporter) -> HttpResponse:
    report = services.report_open(reporter=reporter, raw=_xml_body(request))
    return _xml(report_response(0, report_id=report.id), 0)


@provider_endpoint(methods=("POST",))
def upload(request: HttpRequest, reporter: Reporter) -> HttpResponse:
    if not request.content_type.startswith("multipart/form-data"):
        raise IntakeError(4200, "send the file as multipart/form-data with fields 'id' and 'file'")
    try:
        files = request.FILES
        report_id = request.POST.get("id") or request.GET.get("id")
    except FileTooLarge as exc:
        raise IntakeError(4200, str(exc)) from None
    except MultiPartParserError as exc:
        # The client's body is not valid multipart (no boundary, broken framing): its error, not ours.
        raise IntakeError(4000, f"the upload is not valid multipart/form-data: {exc}") from None
    except OSError as exc:
        raise IntakeError(1110, f"the upload could not be read: {exc}") from None
    uploads = [f for f in files.values() if isinstance(f, StoredUpload)]
    try:
        stored = files.get("file")
        if not isinstance(stored, StoredUpload):
            raise IntakeError(4200, "the multipart field 'file' is missing")
        if not report_id:
            raise IntakeError(4000, "the parameter 'id' is required")
        rf = services.report_file_add(reporter=reporter, report_id=report_id, pending=stored.pending, upload_name=stored.name or "")
    finally:
        for f in uploads:
            f.pending.discard()
    return _xml(report_response(0, report_id=rf.report_id, file_id=rf.file_id, md5=rf.md5), 0)


@provider_endpoint(methods=("POST",))
def fileinfo(request: HttpRequest, reporter: Reporter) -> HttpResponse:
    rf = services.report_file_details(reporter=reporter, raw=_xml_body(request))
    return _xml(report_response(0, report_id=rf.report_id), 0)


@provider_endpoint(methods=("POST",), done=True)
def finish(request: HttpRequest, reporter: Reporter) -> HttpResponse:
    report_id = _form_value(request, "id")
    try:
        report, file_ids = services.report_finish(reporter=reporter, report_id=report_id)
    except IntakeError as exc:
        exc.report_id = exc.report_id or _maybe_int(report_id)
        raise
    return _xml(report_done_response(0, report_id=report.id, file_ids=file_ids), 0)


@provider_endpoint(methods=("POST",))
def retract(request: HttpRequest, reporter: Reporter) -> HttpResponse:
    report = services.report_retract(reporter=reporter, report_id=_form_value(request, "id"))
    return _xml(report_response(0, report_id=report.id), 0)


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return _error(IntakeError(1210, f"no endpoint /ispws/{rest}"))


def _maybe_int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
