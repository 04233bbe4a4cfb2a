"""The case API (SPEC §4.3): input serializer → service → output serializer.

Errors are JSON `{"detail": ...}`: 400 for invalid input or a move the workflow
does not allow (CaseError), 403 for a role that may not, 404 for what does not
exist for the caller (another unit's objects included)."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from himaya.cases import selectors, services
from himaya.cases.api import serializers as s
from himaya.cases.errors import CaseError
from himaya.cases.models import Case, Suspect, Victim
from himaya.cases.views import AttachmentUploadHandler, attachment_response

ERR_400 = OpenApiResponse(s.ErrorSerializer, description="invalid input, or a move the workflow does not allow")
ERR_403 = OpenApiResponse(s.ErrorSerializer, description="the caller's role may not do this")
ERR_404 = OpenApiResponse(s.ErrorSerializer, description="no such object for the caller (another unit's objects included)")
READ_ERRORS = {403: ERR_403, 404: ERR_404}
WRITE_ERRORS = {400: ERR_400, 403: ERR_403, 404: ERR_404}


def _first_message(errors: Any) -> str:
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _first_message(value)
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors)


class CaseApiView(APIView):
    """Maps CaseError to 400 and invalid input to 400 `{"detail", "errors"}`."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, CaseError):
            return Response({"detail": exc.message}, status=http.HTTP_400_BAD_REQUEST)
        if isinstance(exc, ValidationError):
            return Response({"detail": _first_message(exc.detail), "errors": exc.detail}, status=http.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def valid(self, serializer_class: type[Any], *, partial: bool = False) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def case_answer(case: Case, *, status: int = http.HTTP_200_OK) -> Response:
    return Response(s.CaseOut(selectors.case_detail_prefetched(case)).data, status=status)


def victim_answer(request: Request, victim: Victim, *, status: int = http.HTTP_200_OK) -> Response:
    victim = selectors.victim_get_for_user(user=request.user, victim_id=victim.pk)
    identity = selectors.victim_identity(user=request.user, victim=victim)
    return Response(s.VictimOut(victim, context={"identity": identity}).data, status=status)


def suspect_answer(request: Request, suspect: Suspect, *, status: int = http.HTTP_200_OK) -> Response:
    suspect = selectors.suspect_get_for_user(user=request.user, suspect_id=suspect.pk)
    appearances = selectors.suspect_appearances(user=request.user, suspect=suspect)
    return Response(s.SuspectOut(suspect, context={"appearances": appearances}).data, status=status)


class CaseListView(CaseApiView, GenericAPIView):
    serializer_class = s.CaseOut
    queryset = Case.objects.none()  # for the schema; reads go through the selector

    @extend_schema(operation_id="cases_list", responses={200: s.CaseOut(many=True), **READ_ERRORS},
                   summary="Cases of the caller's unit, newest first")
    def get(self, request: Request) -> Response:
        qs = selectors.case_list_for_user(user=request.user, status=request.query_params.get("status", ""))
        page = self.paginate_queryset(qs.prefetch_related("case_reports", "victims", "suspects", "tasks", "timeline__actor"))
        return self.get_paginated_response(s.CaseOut(page, many=True).data)

    @extend_schema(operation_id="cases_create", request=s.CaseCreateIn, responses={201: s.CaseOut, **WRITE_ERRORS},
                   summary="Open a case from reports (or a cluster) of the caller's unit")
    def post(self, request: Request) -> Response:
        data = self.valid(s.CaseCreateIn)
        case = services.case_open(actor=request.user, title=data["title"], report_ids=data.get("reports"),
                                  cluster=data.get("cluster"), deadline=data.get("deadline"))
        return case_answer(case, status=http.HTTP_201_CREATED)


class CaseDetailView(CaseApiView):
    @extend_schema(operation_id="cases_retrieve", responses={200: s.CaseOut, **READ_ERRORS})
    def get(self, request: Request, case_id: int) -> Response:
        return case_answer(selectors.case_get_for_user(user=request.user, case_id=case_id))


class CaseStatusView(CaseApiView):
    @extend_schema(operation_id="cases_status", request=s.CaseStatusIn, responses={200: s.CaseOut, **WRITE_ERRORS},
                   summary="Move the case along its workflow; closing needs an outcome")
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.CaseStatusIn)
        return case_answer(services.case_set_status(actor=request.user, case=case, status=data["status"], outcome=data.get("outcome") or ""))


class CaseAssignView(CaseApiView):
    @extend_schema(operation_id="cases_assign", request=s.CaseAssignIn, responses={200: s.CaseOut, **WRITE_ERRORS},
                   summary="The case's assignees become these users of the unit")
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.CaseAssignIn)
        return case_answer(services.case_assign(actor=request.user, case=case, usernames=data["users"]))


class CaseMergeView(CaseApiView):
    @extend_schema(operation_id="cases_merge", request=s.CaseMergeIn, responses={200: s.CaseOut, **WRITE_ERRORS},
                   summary="Merge this case into another; answers the case that remains")
    def post(self, request: Request, case_id: int) -> Response:
        source = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.CaseMergeIn)
        target = selectors.case_get_for_user(user=request.user, case_id=data["into"])
        return case_answer(services.case_merge(actor=request.user, source=source, target=target))


class CaseReportsView(CaseApiView):
    @extend_schema(operation_id="cases_offered_reports", responses={200: s.OfferedOut, **READ_ERRORS},
                   summary="Reports offered to the case: they joined its clusters later and are in no case")
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        return Response({"reports": list(selectors.case_offered_reports(user=request.user, case=case).values_list("id", flat=True))})

    @extend_schema(operation_id="cases_add_reports", request=s.CaseReportsIn, responses={200: s.CaseOut, **WRITE_ERRORS})
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.CaseReportsIn)
        return case_answer(services.case_add_reports(actor=request.user, case=case, report_ids=data["reports"]))


class CaseNotesView(CaseApiView):
    @extend_schema(operation_id="cases_add_note", request=s.NoteIn, responses={201: s.CaseOut, **WRITE_ERRORS})
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.NoteIn)
        services.case_add_note(actor=request.user, case=case, text=data["text"])
        return case_answer(case, status=http.HTTP_201_CREATED)


class CaseTasksView(CaseApiView):
    @extend_schema(operation_id="cases_tasks_create", request=s.TaskCreateIn, responses={201: s.TaskOut, **WRITE_ERRORS})
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.TaskCreateIn)
        task = services.task_create(actor=request.user, case=case, kind=data["kind"], title=data["title"], due=data.get("due"),
                                    assignee=data.get("assignee") or None)
        return Response(s.TaskOut(task).data, status=http.HTTP_201_CREATED)


class TaskDetailView(CaseApiView):
    @extend_schema(operation_id="tasks_retrieve", responses={200: s.TaskOut, **READ_ERRORS})
    def get(self, request: Request, task_id: int) -> Response:
        return Response(s.TaskOut(selectors.task_get_for_user(user=request.user, task_id=task_id)).data)

    @extend_schema(operation_id="tasks_update", request=s.TaskUpdateIn, responses={200: s.TaskOut, **WRITE_ERRORS},
                   summary="Mark a task done (or open again), or cancel it")
    def patch(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(user=request.user, task_id=task_id)
        data = self.valid(s.TaskUpdateIn)
        if "done" in data:
            task = services.task_set_done(actor=request.user, task=task, done=data["done"])
        else:
            task = services.task_set_status(actor=request.user, task=task, status=data["status"])
        return Response(s.TaskOut(task).data)


class CaseLegalRequestsView(CaseApiView):
    @extend_schema(operation_id="cases_legal_requests_create", request=s.LegalRequestCreateIn,
                   responses={201: s.LegalRequestOut, **WRITE_ERRORS})
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.LegalRequestCreateIn)
        data["report_id"] = data.pop("report", None)
        legal = services.legal_request_create(actor=request.user, case=case, **data)
        return Response(s.LegalRequestOut(legal).data, status=http.HTTP_201_CREATED)


class LegalRequestDetailView(CaseApiView):
    @extend_schema(operation_id="legal_requests_retrieve", responses={200: s.LegalRequestOut, **READ_ERRORS})
    def get(self, request: Request, request_id: int) -> Response:
        return Response(s.LegalRequestOut(selectors.legal_request_get_for_user(user=request.user, request_id=request_id)).data)


class LegalRequestAnswerView(CaseApiView):
    @extend_schema(operation_id="legal_requests_answer", request=s.LegalRequestAnswerIn, responses={200: s.LegalRequestOut, **WRITE_ERRORS})
    def post(self, request: Request, request_id: int) -> Response:
        legal = selectors.legal_request_get_for_user(user=request.user, request_id=request_id)
        data = self.valid(s.LegalRequestAnswerIn)
        legal = services.legal_request_answer(actor=request.user, request=legal, **data)
        return Response(s.LegalRequestOut(legal).data)


VICTIM_SERVICE_FIELDS = (*services.IDENTITY_FIELDS, *services.VICTIM_FIELDS)


def _victim_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: data[k] for k in VICTIM_SERVICE_FIELDS if k in data}
    if "reports" in data:
        values["report_ids"] = data["reports"]
    if "identification" in data:
        values["identification"] = data["identification"]
    return values


class VictimCreateView(CaseApiView):
    @extend_schema(operation_id="victims_create", request=s.VictimCreateIn, responses={201: s.VictimOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        data = self.valid(s.VictimCreateIn)
        case = selectors.case_get_for_user(user=request.user, case_id=data["case"])
        victim = services.victim_create(actor=request.user, case=case, **_victim_values(data))
        return victim_answer(request, victim, status=http.HTTP_201_CREATED)


class VictimDetailView(CaseApiView):
    @extend_schema(operation_id="victims_retrieve", responses={200: s.VictimOut, **READ_ERRORS},
                   summary="A victim; names and date of birth only for the roles that need them (each such read is audited)")
    def get(self, request: Request, victim_id: int) -> Response:
        return victim_answer(request, selectors.victim_get_for_user(user=request.user, victim_id=victim_id))

    @extend_schema(operation_id="victims_update", request=s.VictimPatchIn, responses={200: s.VictimOut, **WRITE_ERRORS})
    def patch(self, request: Request, victim_id: int) -> Response:
        victim = selectors.victim_get_for_user(user=request.user, victim_id=victim_id)
        data = self.valid(s.VictimPatchIn, partial=True)
        victim = services.victim_update(actor=request.user, victim=victim, **_victim_values(data))
        return victim_answer(request, victim)


class VictimReferralsView(CaseApiView):
    @extend_schema(operation_id="victims_referrals_create", request=s.ReferralCreateIn, responses={201: s.ReferralOut, **WRITE_ERRORS})
    def post(self, request: Request, victim_id: int) -> Response:
        victim = selectors.victim_get_for_user(user=request.user, victim_id=victim_id)
        data = self.valid(s.ReferralCreateIn)
        referral = services.referral_create(actor=request.user, victim=victim, kind=data["kind"], service=data["service"],
                                            officer=data.get("officer") or None)
        return Response(s.ReferralOut(referral).data, status=http.HTTP_201_CREATED)


class ReferralStateView(CaseApiView):
    @extend_schema(operation_id="referrals_move", request=s.ReferralMoveIn, responses={200: s.ReferralOut, **WRITE_ERRORS},
                   summary="Move a referral: requested → accepted/declined → in_progress → completed (outcome) or withdrawn (reason)")
    def post(self, request: Request, referral_id: int) -> Response:
        referral = selectors.referral_get_for_user(user=request.user, referral_id=referral_id)
        data = self.valid(s.ReferralMoveIn)
        referral = services.referral_move(actor=request.user, referral=referral, state=data["state"], outcome=data.get("outcome", ""),
                                          reason=data.get("reason", ""))
        return Response(s.ReferralOut(referral).data)


class SuspectCreateView(CaseApiView):
    @extend_schema(operation_id="suspects_create", request=s.SuspectCreateIn, responses={201: s.SuspectOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        data = self.valid(s.SuspectCreateIn)
        case = selectors.case_get_for_user(user=request.user, case_id=data["case"])
        suspect = services.suspect_create(actor=request.user, case=case, label=data.get("label", ""),
                                          identifiers=data.get("identifiers", []), status=data.get("status", "unidentified"),
                                          status_date=data.get("status_date"))
        return suspect_answer(request, suspect, status=http.HTTP_201_CREATED)


class SuspectDetailView(CaseApiView):
    @extend_schema(operation_id="suspects_retrieve", responses={200: s.SuspectOut, **READ_ERRORS})
    def get(self, request: Request, suspect_id: int) -> Response:
        return suspect_answer(request, selectors.suspect_get_for_user(user=request.user, suspect_id=suspect_id))

    @extend_schema(operation_id="suspects_update", request=s.SuspectPatchIn, responses={200: s.SuspectOut, **WRITE_ERRORS},
                   summary="Change the label, replace the identifiers, or take one status step (with its date and legal basis)")
    def patch(self, request: Request, suspect_id: int) -> Response:
        suspect = selectors.suspect_get_for_user(user=request.user, suspect_id=suspect_id)
        data = self.valid(s.SuspectPatchIn, partial=True)
        suspect = services.suspect_update(actor=request.user, suspect=suspect, label=data.get("label"), identifiers=data.get("identifiers"),
                                          status=data.get("status"), status_date=data.get("status_date"),
                                          legal_basis=data.get("legal_basis", ""))
        return suspect_answer(request, suspect)



class CaseDeadlineView(CaseApiView):
    @extend_schema(operation_id="cases_deadline", request=s.CaseDeadlineIn, responses={200: s.CaseOut, **WRITE_ERRORS},
                   summary="Set (or with null, remove) the case's deadline")
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = self.valid(s.CaseDeadlineIn)
        services.case_set_deadline(actor=request.user, case=case, deadline=data["deadline"])
        return case_answer(case)


class CaseAttachmentsView(CaseApiView):
    """Multipart upload (`file`, optional `description`): the file streams into the
    encrypted store and is cut off past the attachment limit (400, nothing kept)."""

    parser_classes = [MultiPartParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.upload_handler = AttachmentUploadHandler(request._request)
        request._request.upload_handlers = [self.upload_handler]
        super().initial(request, *args, **kwargs)

    @extend_schema(operation_id="cases_attachments_list", responses={200: s.AttachmentOut(many=True), **READ_ERRORS})
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        return Response(s.AttachmentOut(selectors.case_attachments(user=request.user, case=case), many=True).data)

    @extend_schema(operation_id="cases_attachments_create", request={"multipart/form-data": s.AttachmentIn},
                   responses={201: s.AttachmentOut, **WRITE_ERRORS})
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        files = request.FILES.getlist("file")
        try:
            if self.upload_handler.too_large:
                raise CaseError(_("The file is too large: at most %(mb)d MB.") % {"mb": services.attachment_max_bytes() // (1024 * 1024)})
            if len(files) != 1 or not hasattr(files[0], "pending"):
                raise CaseError(_("Send exactly one file, as the form field “file”."))
            upload = files.pop()
            description = request.data.get("description", "")
            attachment = services.attachment_add(actor=request.user, case=case, pending=upload.pending, name=upload.name or "",
                                                 description=description if isinstance(description, str) else "")
        finally:
            for extra in files:
                if hasattr(extra, "pending"):
                    extra.pending.discard()
        return Response(s.AttachmentOut(attachment).data, status=http.HTTP_201_CREATED)


class AttachmentDetailView(CaseApiView):
    @extend_schema(operation_id="attachments_retrieve", responses={200: s.AttachmentOut, **READ_ERRORS})
    def get(self, request: Request, attachment_id: int) -> Response:
        return Response(s.AttachmentOut(selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)).data)


class AttachmentContentView(CaseApiView):
    @extend_schema(operation_id="attachments_content", responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **READ_ERRORS},
                   summary="The attachment's content, decrypted (audited)")
    def get(self, request: Request, attachment_id: int) -> Any:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return attachment_response(selectors.attachment_content(user=request.user, attachment=attachment), attachment)
