"""Safe viewing and hash-list pages. Views parse input and call selectors/services.

A file is never shown unasked: the viewer page holds no image until the user asks
(POST), and the preview endpoint serves only the file and level revealed in the
session — one file at a time, blurred greyscale first, clearer only as a second step.
"""
from __future__ import annotations

import io
from typing import Any, BinaryIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from himaya.accounts.permissions import Action
from himaya.media import selectors, services
from himaya.media.forms import AuthorisationForm, HashListImportForm, HashListRetireForm
from himaya.media.vics import ListFormatError

SESSION_KEY = "media_reveal"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, max-age=0"
    response["Pragma"] = "no-cache"
    return response


def _revealed(request: HttpRequest, file_id: str) -> str | None:
    reveal = request.session.get(SESSION_KEY) or {}
    return reveal.get("level") if reveal.get("file_id") == file_id else None


@login_required
@require_GET
def file_viewer(request: HttpRequest, file_id: str) -> HttpResponse:
    report_file = selectors.report_file_for_user(user=request.user, file_id=file_id)  # another unit's: 404 before any 403
    if not selectors.can_view_media(request.user):
        raise PermissionDenied
    locked = selectors.file_is_locked(report_file)
    return _no_store(render(request, "media/viewer.html", {
        "f": report_file,
        "report": report_file.report,
        "summary": selectors.file_media_summary(report_file),
        "state": selectors.file_media_state(report_file),
        "locked": locked,
        "level": None if locked else _revealed(request, file_id),
        "authorisations": selectors.file_authorisations(report_file),
        "can_authorise": selectors.can_record_authorisation(request.user),
        "form": AuthorisationForm(),
    }))


@login_required
@require_POST
def file_reveal(request: HttpRequest, file_id: str) -> HttpResponse:
    report_file = selectors.report_file_for_user(user=request.user, file_id=file_id)
    if not selectors.can_view_media(request.user):
        raise PermissionDenied
    level = request.POST.get("level", "blurred")
    if level == "hide":
        request.session.pop(SESSION_KEY, None)
    elif level in ("blurred", "clear") and not selectors.file_is_locked(report_file):
        if level == "clear" and _revealed(request, file_id) is None:
            level = "blurred"  # clearer is only ever the second step
        # Revealing this file hides whichever file was revealed before: one at a time.
        request.session[SESSION_KEY] = {"file_id": file_id, "level": level}
        services.media_reveal_record(user=request.user, report_file=report_file, level=level)
    return redirect("media:viewer", file_id=file_id)


@login_required
@require_GET
def file_preview(request: HttpRequest, file_id: str, level: str) -> HttpResponse:
    if _revealed(request, file_id) != level:
        raise Http404("not revealed")
    png = selectors.media_preview_for_user(user=request.user, file_id=file_id, level=level)
    return _no_store(HttpResponse(png, content_type="image/png"))


@login_required
@require_POST
def file_authorise(request: HttpRequest, file_id: str) -> HttpResponse:
    selectors.report_file_for_user(user=request.user, file_id=file_id)  # another unit's: 404 before any 403
    if not selectors.can_record_authorisation(request.user):
        raise PermissionDenied
    form = AuthorisationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The authorisation needs a warrant number, its date and who granted it."))
        return redirect("media:viewer", file_id=file_id)
    try:
        services.authorisation_record(user=request.user, file_id=file_id, **form.cleaned_data)
    except services.MediaError as exc:
        messages.error(request, error_text(exc))
        return redirect("media:viewer", file_id=file_id)
    messages.success(request, _("The legal authorisation is recorded; the file can be opened."))
    return redirect("media:viewer", file_id=file_id)


class _DecryptedUpload(io.RawIOBase):
    """The plaintext of an uploaded list, decrypted a chunk at a time as the import reads it: the
    upload streamed to disk encrypted (intake's handler), and a list of millions never sits whole in
    memory (issue 18: a 200 MB list took 6.3 GiB)."""

    def __init__(self, fh: BinaryIO) -> None:
        from himaya.core.crypto import decrypt_stream

        self._chunks, self._left = decrypt_stream(fh), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            self._left = next(self._chunks, None)  # type: ignore[arg-type]
            if self._left is None:
                self._left = b""
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


def error_text(exc: Exception) -> str:
    """A service or format error in the user's language."""
    render = getattr(exc, "render", None)
    return render(_) if render else str(exc)


@login_required
def hashlists(request: HttpRequest) -> HttpResponse:
    """The national lists with their provenance and the re-matching they started, for every unit's
    staff; import, export and retire for those the table allows (supervisors of the national unit)."""
    lists = selectors.hashlist_list_for_user(user=request.user)
    form = HashListImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if not selectors.can_manage_hashlists(request.user):
            raise PermissionDenied
        if form.is_valid():
            pending = form.cleaned_data["file"].pending
            try:
                with open(pending.temp_path, "rb") as fh:
                    hash_list = services.hashlist_import(
                        source=_DecryptedUpload(fh), name=form.cleaned_data["name"], kind=form.cleaned_data["kind"], fmt=form.cleaned_data["format"],
                        scheme=form.scheme_or_none(), provenance=form.cleaned_data["provenance"], algorithm=form.cleaned_data["algorithm"],
                        source_name=form.cleaned_data["file"].name, actor=request.user,
                    )
            except (services.MediaError, ListFormatError) as exc:
                messages.error(request, _("Nothing was imported: %(error)s") % {"error": error_text(exc)})
            else:
                messages.success(request, _("%(name)s: version %(version)s, %(count)s hashes. Stored files are being re-matched.") % {
                    "name": hash_list.name, "version": hash_list.version, "count": hash_list.entry_count})
                return redirect("media:hashlists")
            finally:
                pending.discard()
        status = 400
    return render(request, "media/hashlists.html", {
        "lists": lists, "jobs": selectors.rematch_jobs_for_user(user=request.user), "form": form,
        "retired": selectors.hashlists_retired_for_user(user=request.user),
    }, status=status)


@login_required
def hashlist_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirmation with a mandatory reason, then the list goes and every stored file is re-matched without it."""
    hash_list = selectors.hashlist_get_for_user(user=request.user, pk=pk, action=Action.MANAGE)
    form = HashListRetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.hashlist_delete(name=hash_list.name, reason=form.cleaned_data["reason"], actor=request.user)
        except services.MediaError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("%(name)s is retired. Stored files are being re-matched without it.") % {"name": hash_list.name})
            return redirect("media:hashlists")
    return render(request, "media/hashlist_retire.html", {
        "list": hash_list, "form": form, "matched_files": selectors.hashlist_matched_files(hash_list),
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_GET
def hashlist_export(request: HttpRequest, pk: int) -> HttpResponse:
    hash_list = selectors.hashlist_get_for_user(user=request.user, pk=pk, action=Action.EXPORT)
    try:
        data = services.hashlist_export(name=hash_list.name, actor=request.user)
    except services.MediaError as exc:
        raise Http404(str(exc)) from exc
    response = HttpResponse(data, content_type="application/json")
    filename = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in hash_list.name) or "hashlist"
    response["Content-Disposition"] = f'attachment; filename="{filename}.vics.json"'
    return _no_store(response)
